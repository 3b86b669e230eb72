#!/usr/bin/env bash
# `make run`: the embedded default on one machine. Starts the kernel broker, one attach agent (a
# simulated pool where no NVIDIA device exists), a Jupyter Notebook server and the gateway in front of
# them, all on 127.0.0.1; prints the URL to open. Ctrl-C stops everything it started.
set -euo pipefail
# With `make run | tee log`, Ctrl-C kills the reader too: a write must not kill this script before it
# has stopped the services.
trap '' PIPE

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
state=${ATTACH_STATE_DIR:-$root/.attach}
configuration=${ATTACH_CONFIGURATION:-Release}
logs="$state/logs"
mkdir -p "$logs" "$state/keys"
chmod 700 "$state"

gateway_port=${ATTACH_PORT:-8000}
broker_port=${ATTACH_BROKER_PORT:-5100}
agent_port=${ATTACH_AGENT_PORT:-5200}
jupyter_port=${ATTACH_JUPYTER_PORT:-8888}
idle_timeout=${ATTACH_IDLE_TIMEOUT:-00:01:00}
notebooks=${ATTACH_NOTEBOOK_DIR:-$root/samples/notebooks}
py=/usr/bin/python3

secret() { # a secret kept across runs, so browser sessions survive a restart
  local file="$state/$1"
  [ -s "$file" ] || (umask 077; "$py" -c 'import secrets; print(secrets.token_urlsafe(32))' > "$file")
  cat "$file"
}
token=$(secret token)
internal_key=$(secret internal.key)
jupyter_token=$(secret jupyter.token)

for port in "$gateway_port" "$broker_port" "$agent_port" "$jupyter_port"; do
  "$py" - "$port" <<'PY' || { echo "attach: port $port on 127.0.0.1 is in use. Stop what uses it, or choose other ports with ATTACH_PORT, ATTACH_BROKER_PORT, ATTACH_AGENT_PORT, ATTACH_JUPYTER_PORT." >&2; exit 1; }
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
PY
done

echo "attach: building ($configuration)…"
for project in kernel-broker/Attach.Broker attach-agent/Attach.Agent gateway/Attach.Gateway; do
  dotnet build "$project" -c "$configuration" -nologo -v quiet -clp:ErrorsOnly >/dev/null || { dotnet build "$project" -c "$configuration" -nologo -v quiet -clp:ErrorsOnly; exit 1; }
done
bin() { echo "$root/$1/bin/$configuration/net10.0/$(basename "$1").dll"; }

pids=()
stop() {
  trap - INT TERM EXIT
  set +e  # a failed write (its reader is gone) must not end the stopping
  echo
  echo "attach: stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  echo "attach: stopped."
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

# Each in its own session, so Ctrl-C reaches only this script, which then stops them in order.
start() { local name=$1; shift; setsid "$@" >"$logs/$name.log" 2>&1 < /dev/null & pids+=($!); }

export Attach__InternalKey="$internal_key"
start broker env Broker__IdleTimeout="$idle_timeout" Broker__Store__Path="$state/broker.db" \
  dotnet "$(bin kernel-broker/Attach.Broker)" --urls "http://127.0.0.1:$broker_port"
# The shim socket: /run/attach/agent.sock as root, else $XDG_RUNTIME_DIR/attach/ or .attach/ (ATTACH_AGENT_SOCKET overrides).
if [ -n "${ATTACH_AGENT_SOCKET:-}" ]; then export Agent__Shim__SocketPath="$ATTACH_AGENT_SOCKET"; fi
start agent env Agent__BrokerUrl="http://127.0.0.1:$broker_port/" Agent__AdvertisedUrl="http://127.0.0.1:$agent_port/" \
  Agent__StateDirectory="$state/agent" \
  dotnet "$(bin attach-agent/Attach.Agent)" --urls "http://127.0.0.1:$agent_port"
# The default UI is JupyterLab 4 (notebook-extension/lab-app, built by `make lab`) with the Attach extension,
# installed as users install a prebuilt labextension: copied into a share/jupyter/labextensions folder.
# ATTACH_UI=notebook6 starts Debian's Notebook 6 instead.
ui=${ATTACH_UI:-lab}
if [ "$ui" = "notebook6" ]; then
  start jupyter env PATH="/usr/bin:$PATH" "$py" -m notebook --no-browser --allow-root --ip=127.0.0.1 --port="$jupyter_port" \
    --port-retries=0 --NotebookApp.token="$jupyter_token" --NotebookApp.notebook_dir="$notebooks"
else
  [ -f "$root/notebook-extension/lab-app/build/bundle.js" ] && [ -f "$root/notebook-extension/labextension/package.json" ] \
    || { echo "attach: the JupyterLab front end is not built; run \`make lab\` (make run does), or ATTACH_UI=notebook6." >&2; exit 1; }
  rm -rf "$state/jupyter/labextensions/attach-jupyterlab"
  mkdir -p "$state/jupyter/labextensions"
  cp -r "$root/notebook-extension/labextension" "$state/jupyter/labextensions/attach-jupyterlab"
  start jupyter env PATH="/usr/bin:$PATH" JUPYTER_PATH="$state/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}" \
    "$py" "$root/notebook-extension/lab-app/attach_lab.py" --no-browser --allow-root --ip=127.0.0.1 --port="$jupyter_port" \
    --port-retries=0 --ServerApp.token="$jupyter_token" --ServerApp.root_dir="$notebooks"
fi
start gateway env Gateway__JupyterUrl="http://127.0.0.1:$jupyter_port/" Gateway__JupyterToken="$jupyter_token" \
  Gateway__BrokerUrl="http://127.0.0.1:$broker_port/" Gateway__Token="$token" Gateway__User="${USER:-developer}" \
  Gateway__KeysDirectory="$state/keys" \
  dotnet "$(bin gateway/Attach.Gateway)" --urls "http://127.0.0.1:$gateway_port"

wait_for() { # name url header
  "$py" - "$@" <<'PY' || { echo "attach: $1 did not start; its log: $2" >&2; tail -n 20 "$2" >&2; exit 1; }
import sys, time, urllib.request
name, log, url, header = sys.argv[1:5]
k, v = header.split(": ", 1)
deadline = time.time() + 60
while time.time() < deadline:
    try:
        req = urllib.request.Request(url, headers={k: v})
        body = urllib.request.urlopen(req, timeout=2).read().decode()
        if name != "agent" or '"gpus"' in body:
            sys.exit(0)
    except Exception:
        pass
    time.sleep(0.3)
sys.exit(1)
PY
}
echo "attach: starting the broker, the agent, Jupyter and the gateway…"
wait_for broker "$logs/broker.log" "http://127.0.0.1:$broker_port/api/v1/pool" "Authorization: Bearer $internal_key"
wait_for agent "$logs/agent.log" "http://127.0.0.1:$broker_port/api/v1/pool" "Authorization: Bearer $internal_key"
wait_for jupyter "$logs/jupyter.log" "http://127.0.0.1:$jupyter_port/api/status" "Authorization: token $jupyter_token"
wait_for gateway "$logs/gateway.log" "http://127.0.0.1:$gateway_port/api/status" "Authorization: token $token"

pool=$("$py" - "http://127.0.0.1:$broker_port/api/v1/pool" "$internal_key" <<'PY'
import json, sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={"Authorization": "Bearer " + sys.argv[2]})
pool = json.load(urllib.request.urlopen(req))
for node in pool["nodes"]:
    names = {}
    for g in node["gpus"]:
        names[g["gpu"]["displayName"]] = names.get(g["gpu"]["displayName"], 0) + 1
    print(f'{node["nodeId"]}: ' + ", ".join(f"{n} x {name}" for name, n in names.items()) + f' — backend {node["backend"]["name"]}: {node["backend"]["reason"]}')
PY
)

cat <<MSG

  Attach is running.
  Pool:   $pool
  Idle slices go back to the pool after $idle_timeout (ATTACH_IDLE_TIMEOUT).

  Open:   http://127.0.0.1:$gateway_port/?token=$token
  Pool dashboard (after you have opened the link above): http://127.0.0.1:$gateway_port/attach/

  Try samples/notebooks/attach-demo.ipynb: a GPU cell attaches a slice before it runs; the status bar
  shows the kernel's GPU (click it for details, Release now and the next slice size).
  Logs:   $logs/   (broker, agent, gateway and jupyter; the service logs follow below)
  Stop:   Ctrl-C

MSG
tail -n 0 -F "$logs/broker.log" "$logs/agent.log" "$logs/gateway.log" 2>/dev/null &
pids+=($!)
# Any service exiting ends the run (and the EXIT trap stops the rest).
wait -n "${pids[@]}" || true
echo "attach: a service exited unexpectedly; see $logs/" >&2
exit 1
