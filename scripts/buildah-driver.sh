#!/usr/bin/env bash
# Prints the buildah storage driver for the storage directory DIR: bash scripts/buildah-driver.sh [DIR]
# "overlay" when the kernel lets root mount an overlay with its upper directory there (layers share files:
# fast commits, little disk), else "vfs" (every layer and container a full copy: slower, works anywhere).
# BUILDAH_DRIVER set: printed as is. Used by scripts/build-image.sh and tests/image/.
set -euo pipefail
if [[ -n "${BUILDAH_DRIVER:-}" ]]; then echo "$BUILDAH_DRIVER"; exit 0; fi
dir="${1:-${TMPDIR:-/tmp}}"
# A storage that exists keeps its driver (containers/storage refuses to open it with another one).
for driver in overlay vfs; do [[ -d "$dir/$driver-layers" ]] && { echo "$driver"; exit 0; }; done
mkdir -p "$dir"
probe="$(mktemp -d "$dir/overlay-probe.XXXXXX")"
trap 'rm -rf "$probe"' EXIT
mkdir "$probe/lower" "$probe/upper" "$probe/work" "$probe/merged"
if [[ "$(id -u)" == "0" ]] && mount -t overlay overlay \
     -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" "$probe/merged" 2>/dev/null; then
  umount "$probe/merged"
  echo overlay
else
  echo vfs
fi
