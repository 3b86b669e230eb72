#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and driver: the shim in front of the REAL libcuda.so.1, with a minimal agent
# (Python, the documented protocol) that grants the first GPU by UUID. Checks that the real cuInit succeeds after
# the grant, sees the granted CUDA_VISIBLE_DEVICES, and — when PyTorch is installed — that the CUDA runtime's
# cuGetProcAddress path makes exactly one request. Not run in CI (no GPU there); exit 0 when all checks hold.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
make -s -C "$here" all
uuid=$(nvidia-smi --query-gpu=uuid --format=csv,noheader | head -n1)
dir=$(mktemp -d /tmp/attach-real.XXXX)
trap 'kill "$agent" 2>/dev/null || true; rm -rf "$dir"' EXIT

python3 - "$dir/agent.sock" "$uuid" >"$dir/agent.log" 2>&1 <<'PY' &
import socket, struct, sys, threading
path, uuid = sys.argv[1], sys.argv[2]
server = socket.socket(socket.AF_UNIX); server.bind(path); server.listen(16)
def exactly(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data
def receive(s):
    header = exactly(s, 5)
    if header is None:
        return None, None
    length, kind = struct.unpack(">IB", header)
    return kind, dict(f.decode().split("=", 1) for f in exactly(s, length).split(b"\0")[:-1])
def send(s, kind, fields):
    body = b"".join(k.encode() + b"=" + v.encode() + b"\0" for k, v in fields)
    s.sendall(struct.pack(">IB", len(body), kind) + body)
def serve(s):
    kind, hello = receive(s)
    send(s, 0x81, [("version", "1"), ("node", "real"), ("pid", "0"), ("max_body", "65536")])
    kind, request = receive(s)
    print("request", hello.get("session"), flush=True)
    send(s, 0x83, [("lease_id", "L1"), ("gpu_index", "0"), ("gpu_uuid", uuid), ("gpu_name", "real"), ("simulated", "0"),
                   ("memory_mib", "4096"), ("compute_percent", "100"), ("waited_ms", "0"),
                   ("env.CUDA_VISIBLE_DEVICES", uuid), ("env.ATTACH_LEASE_ID", "L1")])
    receive(s)
    print("closed", flush=True)
while True:
    client, _ = server.accept()
    threading.Thread(target=serve, args=(client,), daemon=True).start()
PY
agent=$!
for _ in $(seq 100); do [ -S "$dir/agent.sock" ] && break; sleep 0.1; done

export ATTACH_AGENT_SOCKET=$dir/agent.sock ATTACH_VERBOSE=1
unset CUDA_VISIBLE_DEVICES
LD_PRELOAD=$here/build/libattach.so ATTACH_SESSION=real-ctypes python3 - "$uuid" <<'PY'
import ctypes, os, sys
cuda = ctypes.CDLL("libcuda.so.1")
assert cuda.cuInit(0) == 0, "cuInit failed"
count = ctypes.c_int()
assert cuda.cuDeviceGetCount(ctypes.byref(count)) == 0
assert os.environ["CUDA_VISIBLE_DEVICES"] == sys.argv[1], os.environ.get("CUDA_VISIBLE_DEVICES")
assert count.value == 1, count.value
print("ctypes: ok, 1 device visible")
PY
test "$(grep -c '^request real-ctypes' "$dir/agent.log")" = 1

if python3 -c "import torch" 2>/dev/null; then
    LD_PRELOAD=$here/build/libattach.so ATTACH_SESSION=real-torch python3 -c \
        "import torch; assert torch.cuda.device_count() == 1; torch.zeros(1, device='cuda'); print('torch: ok')"
    test "$(grep -c '^request real-torch' "$dir/agent.log")" = 1
else
    echo "torch: not installed, the CUDA runtime path is not checked"
fi
echo "real driver: all checks hold"
