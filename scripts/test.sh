#!/usr/bin/env bash
# Sets everything up (idempotent), then runs the test suite: bash scripts/test.sh [pytest args...]
# MEDIAMTX_BIN points the tests at the built MediaMTX. Timeouts come from pyproject.toml.
# Exit code: pytest's, except "no tests collected" (5) which is reported and mapped to 1.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# The browser tests (tests/web) drive Debian's chromium: install it too.
SETUP_BROWSER="${SETUP_BROWSER:-1}" bash scripts/setup.sh
MEDIAMTX_BIN="$(bash scripts/install-mediamtx.sh 2>/dev/null | tail -n 1)"
[[ -x "$MEDIAMTX_BIN" ]] || { echo "[test] ERROR: no MediaMTX binary ($MEDIAMTX_BIN)" >&2; exit 1; }
export MEDIAMTX_BIN
rc=0
"$ROOT/.venv/bin/pytest" -q "$@" </dev/null || rc=$?
if [[ "$rc" == "5" ]]; then
  echo "[test] ERROR: no tests ran (pytest exit code 5)" >&2
  exit 1
fi
exit "$rc"
