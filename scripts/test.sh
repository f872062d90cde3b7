#!/usr/bin/env bash
# Sets everything up (idempotent), then runs the test suite: bash scripts/test.sh [pytest args...]
# MEDIAMTX_BIN points the tests at the built MediaMTX. Timeouts come from pyproject.toml.
# TEST_WORKERS=N runs the test files in N parallel pytest-xdist workers (default 5; 0: serial, in this process).
# The suite mostly waits on real MediaMTX/ffmpeg/browser/buildah processes, but on 2 cores more workers are
# not faster: each one starts by importing the service and every test module, and the media tests spend CPU
# in proportion to their wall time (encoders, MediaMTX, browsers), so contention feeds itself. Clean clones,
# 2 cores, quiet machine (docs/performance.md, "Worker count"): 4 workers 275 s of pytest (the 2 cores not
# kept busy), 5 workers 227 s, 6 workers 232 s, 8 workers 222-244 s with 70-120 CPU-s more in the whole run.
# One file never spans two workers (--dist loadfile: module fixtures stay shared); tests/harness/schedule.py
# hands the files out longest first. Each worker has its own tmp dirs and its own slice of free ports (tests/harness/ports.py).
# Exit code: pytest's, except "no tests collected" (5) which is reported and mapped to 1.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
# The browser tests (tests/web) drive Debian's chromium: install it too.
SETUP_BROWSER="${SETUP_BROWSER:-1}" bash scripts/setup.sh
MEDIAMTX_BIN="$(bash scripts/install-mediamtx.sh 2>/dev/null | tail -n 1)"
[[ -x "$MEDIAMTX_BIN" ]] || { echo "[test] ERROR: no MediaMTX binary ($MEDIAMTX_BIN)" >&2; exit 1; }
export MEDIAMTX_BIN
# Bytecode caches (git-ignored __pycache__) are written even where the environment says not to (CI machines
# set PYTHONDONTWRITEBYTECODE=1): otherwise every worker rewrites every test module's asserts and every
# spawned service or worker compiles the project again (about 3.5 s of CPU per worker at collection).
unset PYTHONDONTWRITEBYTECODE
rc=0
WORKERS="${TEST_WORKERS:-5}"
XDIST=()
if [[ "$WORKERS" != "0" ]]; then XDIST=(-n "$WORKERS" --dist loadfile --no-loadscope-reorder); fi
"$ROOT/.venv/bin/pytest" -q "${XDIST[@]}" "$@" </dev/null || rc=$?
if [[ "$rc" == "5" ]]; then
  echo "[test] ERROR: no tests ran (pytest exit code 5)" >&2
  exit 1
fi
exit "$rc"
