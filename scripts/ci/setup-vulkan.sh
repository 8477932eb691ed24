#!/usr/bin/env bash
# The webgpu test tier needs a Vulkan driver Dawn accepts. On a machine without a GPU that is Mesa's
# software driver (lavapipe/llvmpipe) from Mesa 25, which Debian 12 has in bookworm-backports only
# (bookworm's own Mesa 22.3 lacks a feature Dawn requires). Idempotent; exits 0 with a reason on
# stderr when it cannot install (no apt, not root, no network), so the tier then skips.
set -uo pipefail

have_mesa25() {
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null) || return 1
  dpkg --compare-versions "$v" ge 25 && dpkg-query -W libvulkan1 >/dev/null 2>&1
}

if have_mesa25; then
  echo "vulkan: mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers) already installed" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null; then echo 'vulkan: no apt-get here; the webgpu tier will skip' >&2; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo 'vulkan: not root, cannot apt-get install; the webgpu tier will skip' >&2; exit 0; fi
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
if [ "$codename" = bookworm ] && ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' >/etc/apt/sources.list.d/reclf-bookworm-backports.list
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || { echo 'vulkan: apt-get update failed; the webgpu tier will skip' >&2; exit 0; }
apt-get install -y -qq libvulkan1 >/dev/null 2>&1 || { echo 'vulkan: libvulkan1 could not be installed; the webgpu tier will skip' >&2; exit 0; }
if [ "$codename" = bookworm ]; then
  apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers >/dev/null 2>&1
else
  apt-get install -y -qq mesa-vulkan-drivers >/dev/null 2>&1
fi
if have_mesa25; then
  echo "vulkan: installed mesa-vulkan-drivers $(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)" >&2
else
  echo 'vulkan: Mesa >= 25 Vulkan driver not available from apt; the webgpu tier will skip' >&2
fi
exit 0
