#!/usr/bin/env bash
# `make lab`: builds the Attach JupyterLab extension (notebook-extension/labextension, a prebuilt federated
# labextension with install.json) and the minimal JupyterLab 4 front end it runs in for `make run` and the
# browser tests (notebook-extension/lab-app/build). Node 20 and npm; packages exactly as the committed
# package-lock.json says (npm ci). Skipped when nothing it builds from changed since the last build.
# `build-lab.sh test` also runs the extension's unit tests (jest).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
ext="$root/notebook-extension"
cd "$ext"

for tool in node npm; do
  command -v "$tool" >/dev/null 2>&1 || { echo "attach: $tool is not installed; the JupyterLab extension needs Node.js 20 and npm (Debian: apt-get install nodejs npm)." >&2; exit 1; }
done
major=$(node -p 'process.versions.node.split(".")[0]')
[ "$major" -ge 18 ] || { echo "attach: Node.js $(node --version) is too old for JupyterLab 4's build; install Node.js 20." >&2; exit 1; }

# What the outputs are built from; a change to any of them rebuilds.
stamp=$( { find package.json package-lock.json tsconfig.json src style scripts lab-app \
             -path lab-app/build -prune -o -path lab-app/node_modules -prune -o -name '__pycache__' -prune -o -type f -print0 \
           | sort -z | xargs -0 sha256sum; node --version; } | sha256sum | cut -d' ' -f1)

if [ ! -f .build-stamp ] || [ "$(cat .build-stamp)" != "$stamp" ] \
   || [ ! -f labextension/package.json ] || [ ! -f lab-app/build/bundle.js ]; then
  start=$SECONDS
  rm -f .build-stamp
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "attach: npm ci (notebook-extension, lab-app)…"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  log="$ext/.build.log"
  echo "attach: building the JupyterLab extension and the JupyterLab front end (tsc, webpack)…"
  { npm run --silent build && npm run --silent build:app; } >"$log" 2>&1 || { cat "$log" >&2; echo "attach: the JupyterLab build failed (above)." >&2; exit 1; }
  echo "$stamp" > .build-stamp
  echo "attach: JupyterLab extension and front end built in $((SECONDS - start)) s."
fi

if [ "${1:-}" = "test" ]; then
  npx jest --ci
fi
