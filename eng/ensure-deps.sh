#!/usr/bin/env bash
# Makes sure what Attach needs from Debian is installed: the .NET SDK (not installable from Debian),
# and Debian's Jupyter Server, Notebook 6 and IPython kernel. As root it installs what is missing;
# otherwise it names the packages and stops.
set -euo pipefail

packages=(jupyter-server jupyter-notebook python3-ipykernel)
# The JupyterLab front end (notebook-extension/lab-app) is served by Debian's jupyterlab-server.
packages+=(python3-jupyterlab-server)
# Node and npm build the page badge and the dashboard script (notebook-extension/badge); Debian's, unless a Node
# with its own npm is already installed (NodeSource's nodejs conflicts with Debian's npm).
command -v npm >/dev/null 2>&1 || packages+=(nodejs npm)
# `make test` also drives Debian's Chromium (the browser tests).
if [ "${1:-}" = "test" ]; then
  packages+=(chromium)
  # The broker's store tests run against a real PostgreSQL (eng/start-postgres.sh, below).
  packages+=(postgresql)
fi
# `make bench` draws docs/images/consolidation.png (ScottPlot on SkiaSharp): it needs a font on disk.
packages+=(fonts-dejavu-core)

if ! command -v dotnet >/dev/null 2>&1; then
  echo "attach: the .NET 10 SDK is not installed (dotnet is not on PATH). Install it: https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "attach: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}"; }
  else
    echo "attach: missing Debian packages: ${missing[*]}" >&2
    echo "attach: install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

# Debian's Jupyter runs on Debian's Python, whatever python3 is first on PATH.
/usr/bin/python3 -c 'import jupyter_server, notebook, ipykernel, jupyterlab_server' 2>/dev/null || {
  echo "attach: /usr/bin/python3 cannot import jupyter_server, notebook, ipykernel and jupyterlab_server; reinstall: apt-get install --reinstall ${packages[*]}" >&2
  exit 1
}

# `make test` passes "test": the container tests also need a Docker engine and a locally built image.
# `make run` passes nothing and does not need Docker. Outside CI an engine that cannot start only skips those
# tests (they say why); under CI (CI set) it fails here.
if [ "${1:-}" = "test" ]; then
  eng_dir="$(dirname "$0")"
  if ! { bash "$eng_dir/start-dockerd.sh" && bash "$eng_dir/docker-test-image.sh"; }; then
    if [ -n "${CI:-}" ]; then
      echo "attach: CI needs the Docker engine for the container tests (see above)." >&2
      exit 1
    fi
    echo "attach: no Docker engine; the container tests will be skipped." >&2
  fi
fi

# `make test`: a private PostgreSQL cluster for the broker's store tests; its connection string goes to
# .attach/test-postgres, which the Makefile passes as ATTACH_TEST_POSTGRES. Outside CI a cluster that cannot start
# only skips those tests (they say why); under CI it fails here.
if [ "${1:-}" = "test" ]; then
  if ! bash "$(dirname "$0")/start-postgres.sh"; then
    if [ -n "${CI:-}" ]; then
      echo "attach: CI needs PostgreSQL for the broker's store tests (see above)." >&2
      exit 1
    fi
    echo "attach: no PostgreSQL; the broker's PostgreSQL store tests will be skipped." >&2
  fi
fi
