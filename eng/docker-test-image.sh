#!/usr/bin/env bash
# Builds the image the container tests run, attach-test/busybox:1, without a registry (none is reachable here):
# a rootfs holding Debian's statically linked busybox and the applets the tests call, brought in by `docker import`.
# Installs busybox-static when it is missing (as root). Idempotent: an existing image is kept.
# Needs a running engine (eng/start-dockerd.sh).
set -euo pipefail

image=attach-test/busybox:1
busybox=/bin/busybox

if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi

# busybox-static installs /bin/busybox; check the package, not the path (Debian's dynamic busybox uses the same one).
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed"; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "attach: installing Debian's busybox-static"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends busybox-static >/dev/null 2>&1 \
      || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends busybox-static >/dev/null; }
  else
    echo "attach: busybox-static is not installed; install it with: sudo apt-get install busybox-static" >&2
    exit 1
  fi
fi

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/bin" "$rootfs/tmp" "$rootfs/proc" "$rootfs/sys" "$rootfs/dev" "$rootfs/etc"
cp "$busybox" "$rootfs/bin/busybox"
for applet in sh echo sleep cat env ls printf true; do
  ln -s busybox "$rootfs/bin/$applet"
done
chmod 1777 "$rootfs/tmp"

tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/bin' \
  --change 'CMD ["/bin/sh"]' \
  --message 'attach: busybox-static rootfs for the container tests' \
  - "$image" >/dev/null
echo "attach: built $image from $(dpkg-query -W -f='busybox-static ${Version}' busybox-static)"
