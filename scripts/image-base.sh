#!/usr/bin/env bash
# Builds a Debian bookworm minbase root filesystem with debootstrap, cached as a tarball (idempotent) in the user
# cache ~/.cache/camera-service/image, so fresh clones (CI) reuse it; delete it to refresh the base packages.
# It stands in for `debian:bookworm-slim` where no registry is reachable (docs/deployment.md).
# Prints the tarball's path on its last line. Needs root (debootstrap).
set -euo pipefail
SUITE="${IMAGE_BASE_SUITE:-bookworm}"
MIRROR="${IMAGE_BASE_MIRROR:-http://deb.debian.org/debian}"
OUT="${IMAGE_BASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/camera-service/image}/${SUITE}-minbase.tar"

if [[ -s "$OUT" ]]; then echo "$OUT"; exit 0; fi
command -v debootstrap >/dev/null || { echo "debootstrap is required (bash scripts/setup.sh installs it)" >&2; exit 1; }
[[ "$(id -u)" == "0" ]] || { echo "debootstrap needs root" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
WORK="$(mktemp -d "$(dirname "$OUT")/rootfs.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
echo "debootstrapping $SUITE minbase (about a minute on first run)..." >&2
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$WORK/rootfs" "$MIRROR" >&2
# debian:bookworm-slim ships without the package cache and lists; do the same.
rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*_Packages
tar -C "$WORK/rootfs" --numeric-owner -cf "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
echo "$OUT"
