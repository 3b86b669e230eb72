#!/usr/bin/env bash
# Real-hardware check of the attach agent, for a machine with an NVIDIA GPU (never run by CI).
#
#   tests/gpu/verify.sh [OUTDIR]
#
# It records the machine's own nvidia-smi output (fixtures for the parsers), then runs the real broker
# and agent and checks, printing PASS/FAIL per step:
#   1. the agent's inventory against nvidia-smi;
#   2. a PyTorch process attached through the agent's shim socket sees exactly the granted GPU, and the
#      lease ends when the process exits; with libattach.so built, the same through LD_PRELOAD;
#   3. suspend to host and resume through the agent (cuda-checkpoint) with 1, 8 and 32 GiB of device
#      memory: timings, the GPU memory freed while suspended, and the data intact afterwards.
# Needs: nvidia-smi, python3 with torch, the .NET runtime (DOTNET, default `dotnet`), the broker and agent
# built (BROKER_DLL, AGENT_DLL; default the Release build output), cuda-checkpoint for step 3.
# Finishes in well under 5 minutes on one H200.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-${OUT:-/tmp/attach-verify}}
mkdir -p "$out/nvidia-smi"
DOTNET=${DOTNET:-dotnet}
PYTHON=${PYTHON:-python3}
BROKER_DLL=${BROKER_DLL:-$root/kernel-broker/Attach.Broker/bin/Release/net10.0/Attach.Broker.dll}
AGENT_DLL=${AGENT_DLL:-$root/attach-agent/Attach.Agent/bin/Release/net10.0/Attach.Agent.dll}
SIZES=${SIZES:-1 8 32}
work=$(mktemp -d /tmp/attach-verify.XXXXXX)
report="$out/verify.txt"
: > "$report"
failures=0
say() { echo "$*" | tee -a "$report"; }
pass() { say "PASS  $*"; }
fail() { say "FAIL  $*"; failures=$((failures + 1)); }
skip() { say "SKIP  $*"; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap cleanup EXIT

say "# attach tests/gpu/verify.sh — $(date -u +%Y-%m-%dT%H:%M:%SZ)"
say "host: $(uname -srm)"

# 0. Record what the real tools print (kept as parser fixtures under tests/).
fields=index,uuid,name,memory.total,memory.used,utilization.gpu,driver_version,mig.mode.current
nvidia-smi > "$out/nvidia-smi/plain.txt" 2>&1
nvidia-smi --query-gpu=$fields --format=csv,noheader,nounits > "$out/nvidia-smi/query-gpu.csv" 2>&1
nvidia-smi --query-gpu=$fields --format=csv > "$out/nvidia-smi/query-gpu-header.csv" 2>&1
nvidia-smi -q -x > "$out/nvidia-smi/q-x.xml" 2>&1
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -1)
say "driver: $driver; GPUs: $(nvidia-smi -L | tr '\n' ';')"
cc=$(command -v cuda-checkpoint || ls /usr/local/nvidia/bin/cuda-checkpoint /usr/bin/cuda-checkpoint 2>/dev/null | head -1 || true)
if [ -n "$cc" ]; then
  "$cc" --help > "$out/nvidia-smi/cuda-checkpoint-help.txt" 2>&1
  say "cuda-checkpoint: $cc ($(head -1 "$out/nvidia-smi/cuda-checkpoint-help.txt"))"
else
  say "cuda-checkpoint: not found"
fi
say "torch: $("$PYTHON" -c 'import torch; print(torch.__version__, torch.cuda.is_available())' 2>&1 | tail -1)"

# The services, on loopback, with their own state.
key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
broker_port=15100; agent_port=15200
sock="$work/agent.sock"
export Attach__InternalKey="$key"
Broker__IdleTimeout=01:00:00 "$DOTNET" "$BROKER_DLL" --urls "http://127.0.0.1:$broker_port" > "$out/broker.log" 2>&1 &
pids+=($!)
Agent__BrokerUrl="http://127.0.0.1:$broker_port/" Agent__AdvertisedUrl="http://127.0.0.1:$agent_port/" \
  Agent__NodeId=gpu-node Agent__HeartbeatInterval=00:00:02 Agent__Shim__SocketPath="$sock" \
  Agent__StateDirectory="$work/agent-state" ${cc:+Agent__Suspend__CudaCheckpointPath="$cc"} \
  "$DOTNET" "$AGENT_DLL" --urls "http://127.0.0.1:$agent_port" > "$out/agent.log" 2>&1 &
pids+=($!)

cat > "$work/api.py" <<'PY'
import sys, urllib.request, urllib.error
method, url, key = sys.argv[1:4]
data = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(url, data=data, method=method, headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
try:
    print(urllib.request.urlopen(req, timeout=600).read().decode())
except urllib.error.HTTPError as e:
    print(e.read().decode())
PY
api() { "$PYTHON" "$work/api.py" "$1" "$2" "$key" ${3:+"$3"}; }  # METHOD URL [JSON]; curl may be absent
for _ in $(seq 120); do
  api GET "http://127.0.0.1:$broker_port/api/v1/pool" 2>/dev/null | grep -q '"gpus"' && break
  sleep 0.5
done

# 1. Inventory against nvidia-smi.
api GET "http://127.0.0.1:$agent_port/api/v1/gpus" > "$out/agent-gpus.json"
if "$PYTHON" - "$out/agent-gpus.json" "$out/nvidia-smi/query-gpu.csv" >> "$report" 2>&1 <<'PY'
import csv, json, sys
agent = json.load(open(sys.argv[1]))
rows = list(csv.reader(open(sys.argv[2]), skipinitialspace=True))
gpus = {g["gpu"]["uuid"]: g["gpu"] for g in agent["gpus"]}
print(f"      agent backend: {agent['backend']}")
ok = len(gpus) == len(rows)
for index, uuid, name, total, *_ in rows:
    g = gpus.get(uuid)
    same = g is not None and g["index"] == int(index) and g["model"] == name and g["memoryTotalMiB"] == int(total) and not g["simulated"]
    print(f"      GPU {index} {uuid} {name} {total} MiB: agent {'agrees' if same else 'DIFFERS: ' + json.dumps(g)}")
    ok = ok and same
sys.exit(0 if ok and not agent["backend"]["simulated"] else 1)
PY
then pass "inventory: the agent reports exactly what nvidia-smi reports (real backend)"; else fail "inventory: see above and $out/agent-gpus.json"; fi

# 2. PyTorch through the agent's shim socket (the protocol of docs/shim-protocol.md, in Python).
cat > "$work/through_socket.py" <<'PY'
import os, socket, struct, sys, time
def frame(kind, **fields):
    body = b"".join(f"{k}={v}".encode() + b"\0" for k, v in fields.items())
    return struct.pack(">IB", len(body), kind) + body
def read(s):
    head = b""
    while len(head) < 5: head += s.recv(5 - len(head))
    n, kind = struct.unpack(">IB", head); body = b""
    while len(body) < n: body += s.recv(n - len(body))
    return kind, dict(f.split("=", 1) for f in body.decode().split("\0") if f)
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(frame(1, version=1, session=sys.argv[2], client="verify.sh"))
print("welcome", read(s))
t0 = time.perf_counter(); s.sendall(frame(2, memory_mib=20480))
while True:
    kind, f = read(s)
    if kind != 0x82: break
print(f"granted in {1000*(time.perf_counter()-t0):.1f} ms:", {k: v for k, v in f.items()})
if kind != 0x83: sys.exit(f"not granted: {f}")
for k, v in f.items():
    if k.startswith("env."): os.environ[k[4:]] = v
import torch  # CUDA initialises after the variables are set, as libattach.so arranges
n = torch.cuda.device_count(); p = torch.cuda.get_device_properties(0)
x = torch.ones(256 << 20, device="cuda"); s_ = float(x.sum())
print(f"torch sees {n} GPU(s): {p.name} uuid GPU-{p.uuid}; sum {s_}")
ok = n == 1 and f"GPU-{p.uuid}" == f["gpu_uuid"] and s_ == float(256 << 20)
sys.exit(0 if ok else 1)
PY
if "$PYTHON" "$work/through_socket.py" "$sock" verify-socket >> "$report" 2>&1; then
  pass "a PyTorch process attached through the agent's socket sees exactly the granted GPU"
else
  fail "PyTorch through the agent's socket (see above)"
fi
sleep 3
if api GET "http://127.0.0.1:$agent_port/api/v1/bindings" | grep -q verify-socket; then
  fail "the lease outlived its process"
else
  pass "the lease ended when the process exited"
fi

lib="$root/attach-agent/native/build/libattach.so"
if [ -f "$root/attach-agent/native/Makefile" ] && make -s -C "$root/attach-agent/native" >/dev/null 2>&1 && [ -f "$lib" ]; then
  if ATTACH_AGENT_SOCKET="$sock" ATTACH_SESSION=verify-preload LD_PRELOAD="$lib" "$PYTHON" - >> "$report" 2>&1 <<'PY'
import os, torch
x = torch.ones(1 << 20, device="cuda")
print("      LD_PRELOAD: CUDA_VISIBLE_DEVICES =", os.environ.get("CUDA_VISIBLE_DEVICES"), "ATTACH_LEASE_ID =", os.environ.get("ATTACH_LEASE_ID"), "devices:", torch.cuda.device_count())
assert os.environ.get("ATTACH_LEASE_ID") and torch.cuda.device_count() == 1
PY
  then pass "LD_PRELOAD=libattach.so: PyTorch's cuInit waited for a lease and saw its GPU"; else fail "LD_PRELOAD=libattach.so (see above)"; fi
else
  skip "LD_PRELOAD=libattach.so: attach-agent/native is not built here"
fi

# 3. Suspend to host and resume, through the agent's API.
if [ -z "$cc" ]; then
  skip "suspend/resume: cuda-checkpoint is not installed"
else
  cat > "$work/hold.py" <<'PY'
import os, sys, torch
n = int(sys.argv[1]) << 30
x = torch.arange(n // 4, dtype=torch.int32, device="cuda"); torch.cuda.synchronize()
before = int(x[:: 1 << 12].sum(dtype=torch.int64))
print("ready", os.getpid(), flush=True)
sys.stdin.readline()
after = int(x[:: 1 << 12].sum(dtype=torch.int64))
print("intact" if after == before else f"CORRUPT {before} {after}", flush=True)
PY
  total=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits -i 0 | tr -d ' ')
  epoch=1
  for gib in $SIZES; do
    lease="verify-$gib"
    api POST "http://127.0.0.1:$agent_port/api/v1/bindings" \
      "{\"leaseId\":\"$lease\",\"epoch\":$epoch,\"kernelId\":\"verify-$gib\",\"gpuIndex\":0,\"memoryMiB\":$total,\"computePercent\":100}" > /dev/null
    epoch=$((epoch + 1))
    fifo="$work/in-$gib"; mkfifo "$fifo"
    "$PYTHON" -u "$work/hold.py" "$gib" < "$fifo" > "$work/hold-$gib.out" 2>&1 &
    holder=$!; exec 3>"$fifo"
    for _ in $(seq 600); do grep -q ready "$work/hold-$gib.out" && break; kill -0 $holder 2>/dev/null || break; sleep 0.1; done
    used_before=$(nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits | awk -F', ' -v p=$holder '$1==p{print $2}')
    suspend=$(api POST "http://127.0.0.1:$agent_port/api/v1/bindings/$lease/suspend" "{\"pid\":$holder}")
    used_during=$(nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits | awk -F', ' -v p=$holder '$1==p{print $2}')
    resume=$(api POST "http://127.0.0.1:$agent_port/api/v1/bindings/$lease/resume" "{\"pid\":$holder}")
    echo >&3; exec 3>&-
    wait $holder
    verdict=$(tail -1 "$work/hold-$gib.out")
    echo "$suspend" > "$out/suspend-$gib.json"; echo "$resume" > "$out/resume-$gib.json"
    line=$("$PYTHON" - "$suspend" "$resume" <<'PY'
import json, sys
s, r = (json.loads(a) for a in sys.argv[1:3])
gb = lambda b: f"{b / 2**30:.2f} GiB" if b else "unknown"
print(f"suspend {s.get('seconds', '?')} s ({gb(s.get('bytesMoved'))}, state {s.get('state', s.get('detail'))}); "
      f"resume {r.get('seconds', '?')} s (state {r.get('state', r.get('detail'))})")
PY
)
    say "      $gib GiB: $line; GPU memory of the process: ${used_before:-none} MiB before, ${used_during:-none} MiB while suspended; data: $verdict"
    if [ "$verdict" = intact ] && [ -z "$used_during" ] && echo "$suspend" | grep -q '"state":"checkpointed"' && echo "$resume" | grep -q '"state":"running"'; then
      pass "suspend/resume $gib GiB: GPU freed while suspended, data intact"
    else
      fail "suspend/resume $gib GiB (see $out/suspend-$gib.json, $out/resume-$gib.json)"
    fi
    api DELETE "http://127.0.0.1:$agent_port/api/v1/bindings/$lease?epoch=$((epoch - 1))" > /dev/null
  done
  # The real tool's own words for wrong transitions, to check the fake cuda-checkpoint against.
  sleep 300 & idle=$!
  { "$cc" --get-state --pid $idle; echo "exit=$?"; "$cc" --action checkpoint --pid $$; echo "exit=$?"; } > "$out/nvidia-smi/cuda-checkpoint-errors.txt" 2>&1
  kill $idle
fi

say "# $failures failure(s)"
exit $((failures > 0))
