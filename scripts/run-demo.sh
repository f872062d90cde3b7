#!/usr/bin/env bash
# Sets everything up (idempotent), then runs the service in the foreground:
#   bash scripts/run-demo.sh [camera-service serve options...]
# The default config runs a managed MediaMTX and a demo test-pattern camera; JSON-RPC at ws://HOST:8002/ws.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
bash scripts/setup.sh
if [[ -z "${MEDIAMTX_BIN:-}" ]]; then
  MEDIAMTX_BIN="$(bash scripts/install-mediamtx.sh 2>/dev/null | tail -n 1)"
  export MEDIAMTX_BIN
fi
exec "$ROOT/.venv/bin/camera-service" serve "$@"
