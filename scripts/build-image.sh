#!/usr/bin/env bash
# Builds the container image from the real Dockerfile with buildah: no Docker daemon, runs as root.
#   bash scripts/build-image.sh [TAG]        (default TAG: localhost/camera-service:dev)
# The build context is staged from git's view of the tree (tracked + untracked-not-ignored files), plus the
# web console build (clients/web/dist) when there is one, plus the MediaMTX binary scripts/install-mediamtx.sh
# resolves (MEDIAMTX_BIN wins) and the analytics models (scripts/install-models.sh), so a worktree whose
# MediaMTX lives elsewhere builds the same image.
# Environment:
#   IMAGE_BASE     FROM this image (e.g. debian:bookworm-slim where a registry is reachable). Unset: a debootstrapped
#                  bookworm minbase (scripts/image-base.sh, cached in ~/.cache/camera-service/image/), imported
#                  as localhost/bookworm-minbase.
#   BUILDAH_ROOT, BUILDAH_RUNROOT   private buildah storage (default: buildah's own).
#   BUILDAH_DRIVER   storage driver (default: overlay where the kernel allows it, else vfs: scripts/buildah-driver.sh).
#   IMAGE_BUILD_CACHE   apt's download cache and lists, mounted into the RUN step (default
#                  ~/.cache/camera-service/image/apt; "none": no cache).
#   IMAGE_LAYER_CACHE=0   build every step afresh (buildah bud --no-cache), e.g. to pick up new Debian packages
#                  or wheels while pyproject.toml and scripts/setup.sh are unchanged.
# Prints "build_seconds=N" and "image_bytes=N" on stderr, the image name on stdout.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
TAG="${1:-localhost/camera-service:dev}"
MTX_VERSION="$(sed -n 's/^ARG MEDIAMTX_VERSION=//p' Dockerfile)"
DRIVER="$(bash scripts/buildah-driver.sh "${BUILDAH_ROOT:-/var/lib/containers/storage}")"
BUILDAH=(buildah --storage-driver "$DRIVER")
# No private bind mount of the storage home: it would outlive buildah (a mount left in a deleted temp dir).
[[ "$DRIVER" == "overlay" ]] && BUILDAH+=(--storage-opt overlay.skip_mount_home=true)
[[ -n "${BUILDAH_ROOT:-}" ]] && BUILDAH+=(--root "$BUILDAH_ROOT")
[[ -n "${BUILDAH_RUNROOT:-}" ]] && BUILDAH+=(--runroot "$BUILDAH_RUNROOT")
log() { printf '[build-image] %s\n' "$*" >&2; }

command -v buildah >/dev/null || { log "buildah is required (bash scripts/setup.sh installs it)"; exit 1; }
MEDIAMTX="$(bash scripts/install-mediamtx.sh | tail -n 1)"
[[ -x "$MEDIAMTX" ]] || { log "no MediaMTX binary ($MEDIAMTX)"; exit 1; }

CTX="$(mktemp -d "${TMPDIR:-/tmp}/camera-service-context.XXXXXX")"
trap 'rm -rf "$CTX"' EXIT
git ls-files -z --cached --others --exclude-standard \
  | tar --null --ignore-failed-read -T - -cf - 2>/dev/null | tar -C "$CTX" -xf -
if [[ -d clients/web/dist ]]; then mkdir -p "$CTX/clients/web" && cp -a clients/web/dist "$CTX/clients/web/"; fi
mkdir -p "$CTX/.cache/mediamtx/$MTX_VERSION"
cp "$MEDIAMTX" "$CTX/.cache/mediamtx/$MTX_VERSION/mediamtx"
# Analytics models, prepared here (cached, checksummed): the image's setup run then only verifies them instead
# of converting one inside the build (tensorflow, ~1 GB of downloads).
MODELS="$(nice -n 10 bash scripts/install-models.sh | tail -n 1)"
[[ -d "$MODELS" ]] || { log "no models folder ($MODELS)"; exit 1; }
mkdir -p "$CTX/.cache" && cp -a "$MODELS" "$CTX/.cache/models"

BASE="${IMAGE_BASE:-}"
if [[ -z "$BASE" ]]; then
  BASE=localhost/bookworm-minbase
  if ! "${BUILDAH[@]}" inspect --type image "$BASE" >/dev/null 2>&1; then
    TARBALL="$(bash scripts/image-base.sh | tail -n 1)"
    log "importing $TARBALL as $BASE"
    ctr="$("${BUILDAH[@]}" from scratch)"
    mnt="$("${BUILDAH[@]}" mount "$ctr")"
    tar -C "$mnt" --numeric-owner -xf "$TARBALL"
    # As in Debian's images for Docker (debian:bookworm-slim): dpkg skips its per-file fsync; a build that
    # fails is thrown away anyway. Saves most of the package install time on a loaded disk.
    echo force-unsafe-io >"$mnt/etc/dpkg/dpkg.cfg.d/docker-apt-speedup"
    # And as debian:bookworm-slim: no documentation, manual pages or translations (75 MB of the Debian
    # packages the image installs, with ffmpeg's), but every package's copyright file.
    cat >"$mnt/etc/dpkg/dpkg.cfg.d/docker-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
SLIM
    find "$mnt/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
    rm -rf "$mnt/usr/share/man/"* "$mnt/usr/share/info/"* "$mnt/usr/share/locale/"* "$mnt/usr/share/lintian/"*
    "${BUILDAH[@]}" umount "$ctr" >/dev/null
    "${BUILDAH[@]}" config --cmd /bin/bash "$ctr"
    "${BUILDAH[@]}" commit --rm -q "$ctr" "$BASE" >/dev/null
  fi
fi

# RUN steps trust what this host trusts (a TLS-intercepting proxy's CA in front of PyPI); build-time only,
# the image keeps the bundle of its own ca-certificates package.
MOUNTS=()
HOST_CA=/etc/ssl/certs/ca-certificates.crt
[[ -s "$HOST_CA" ]] && MOUNTS+=(--volume "$HOST_CA:$HOST_CA:ro")
# apt's download cache and package lists for the RUN step, kept in the user cache (never in the image:
# setup.sh leaves a mounted cache folder alone), so a second build on this machine downloads no Debian
# package; an empty or missing cache only means downloading. apt locks these folders and would fail a second
# build sharing them at the same moment: that build runs without the cache. IMAGE_BUILD_CACHE=none: no cache.
CACHE="${IMAGE_BUILD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/camera-service/image/apt}"
if [[ "$CACHE" != "none" ]]; then
  mkdir -p "$CACHE/cache" "$CACHE/lists"
  exec 9>"$CACHE/lock"
  if flock -n 9; then
    MOUNTS+=(--volume "$CACHE/cache:/var/cache/apt" --volume "$CACHE/lists:/var/lib/apt/lists")
  else
    log "another build is using the apt cache ($CACHE): downloading the Debian packages"
  fi
fi

log "building $TAG from the Dockerfile (FROM $BASE)"
start=$SECONDS
log "storage driver: $DRIVER"
# docker format: OCI image configs have no HEALTHCHECK. chroot isolation: no user namespaces needed.
# --layers: every step is kept in the storage and reused while its inputs are unchanged, as docker build does
# (the Dockerfile installs the dependencies before it copies the code).
LAYERS=(--layers)
[[ "${IMAGE_LAYER_CACHE:-1}" == "0" ]] && LAYERS+=(--no-cache)
"${BUILDAH[@]}" bud "${LAYERS[@]}" --isolation chroot --network host --format docker "${MOUNTS[@]}" \
  --build-arg "BASE=$BASE" -t "$TAG" -f "$CTX/Dockerfile" "$CTX" >&2
log "build_seconds=$((SECONDS - start))"
# Uncompressed size: the sum of the image's layers (what `docker images` shows).
log "image_bytes=$("${BUILDAH[@]}" inspect --type image "$TAG" | python3 -c \
  'import json, sys; print(sum(x["size"] for x in json.loads(json.load(sys.stdin)["Manifest"])["layers"]))')"
echo "$TAG"
