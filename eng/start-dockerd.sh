#!/usr/bin/env bash
# Makes sure a Docker engine answers on /var/run/docker.sock for the container tests (tests/Attach.Agent.Tests/Containers).
# Installs Debian's docker.io when dockerd is missing (as root), then starts dockerd in the background unless
# `docker info` already succeeds. Idempotent: a second run finds the engine up and does nothing.
# The daemon's log goes to /tmp/attach-dockerd.log. Exit status 0 only when the engine answers.
set -euo pipefail

log=/tmp/attach-dockerd.log
socket=/var/run/docker.sock
export DOCKER_HOST="unix://$socket"

engine_up() { docker info >/dev/null 2>&1; }
# dockerd writes its pid here; a stale file from a dead daemon reads as not running.
daemon_running() { [ -s /var/run/docker.pid ] && kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "attach: installing Debian's docker.io (dockerd is not installed)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends docker.io >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends docker.io >/dev/null; }
  else
    echo "attach: dockerd is not installed; install it with: sudo apt-get install docker.io" >&2
    exit 1
  fi
fi

if engine_up; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "attach: the Docker engine does not answer on $socket and only root can start dockerd here; start it with: sudo bash eng/start-dockerd.sh" >&2
  exit 1
fi

# A daemon that is still starting (an earlier run of this script) is waited for, not started twice.
started=""
if ! daemon_running; then
  echo "attach: starting dockerd (log: $log)"
  # No registry is reachable here; the tests use a locally imported image (eng/docker-test-image.sh).
  nohup dockerd --host "unix://$socket" >>"$log" 2>&1 </dev/null &
  started=$!
fi

for _ in $(seq 1 60); do
  if engine_up; then
    echo "attach: dockerd is ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
  fi
  if ! daemon_running && ! { [ -n "$started" ] && kill -0 "$started" 2>/dev/null; }; then
    break
  fi
  sleep 1
done

echo "attach: dockerd did not become ready; the last lines of $log:" >&2
tail -n 20 "$log" >&2 || true
exit 1
