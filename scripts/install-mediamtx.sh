#!/usr/bin/env bash
# Builds the pinned MediaMTX release from the Go module proxy into a git-ignored cache (idempotent).
# Why a build: MediaMTX is packaged nowhere we can reach, and `go install` fails because two embedded
# files (VERSION, hls.min.js) are generated upstream and absent from the module zip. We supply them.
# Prints the path of the binary on its last line. MEDIAMTX_BIN or a `mediamtx` on PATH win when set.
set -euo pipefail
MTX_VERSION="${MTX_VERSION:-v1.20.1}"
HLSJS_VERSION="${HLSJS_VERSION:-1.7.0}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="${MEDIAMTX_CACHE:-$ROOT/.cache/mediamtx/$MTX_VERSION}"

if [[ -n "${MEDIAMTX_BIN:-}" && -x "${MEDIAMTX_BIN}" ]]; then echo "$MEDIAMTX_BIN"; exit 0; fi
if command -v mediamtx >/dev/null 2>&1; then command -v mediamtx; exit 0; fi
if [[ -x "$OUT/mediamtx" ]] && [[ "$("$OUT/mediamtx" --version 2>/dev/null || true)" == *"$MTX_VERSION"* ]]; then
  echo "$OUT/mediamtx"; exit 0
fi

command -v go >/dev/null || { echo "go (>= 1.26) is required to build MediaMTX" >&2; exit 1; }
command -v npm >/dev/null || { echo "npm is required to fetch hls.js" >&2; exit 1; }
WORK="$(mktemp -d)"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
mkdir -p "$OUT"
echo "building MediaMTX $MTX_VERSION (a few minutes on first run)..." >&2
GOFLAGS=-mod=mod go mod download "github.com/bluenviron/mediamtx@${MTX_VERSION}" >&2
SRC="$(go env GOMODCACHE)/github.com/bluenviron/mediamtx@${MTX_VERSION}"
cp -r "$SRC" "$WORK/mediamtx"
chmod -R u+w "$WORK/mediamtx"   # module cache files are read-only
( cd "$WORK" && npm pack --silent "hls.js@${HLSJS_VERSION}" >/dev/null \
  && tar -xzf "hls.js-${HLSJS_VERSION}.tgz" package/dist/hls.min.js )
cp "$WORK/package/dist/hls.min.js" "$WORK/mediamtx/internal/servers/hls/hls.min.js"
printf '%s' "$MTX_VERSION" > "$WORK/mediamtx/internal/core/VERSION"
( cd "$WORK/mediamtx" && CGO_ENABLED=0 go build -trimpath -o "$OUT/mediamtx.tmp" . ) >&2
mv "$OUT/mediamtx.tmp" "$OUT/mediamtx"
"$OUT/mediamtx" --version >&2
echo "$OUT/mediamtx"
