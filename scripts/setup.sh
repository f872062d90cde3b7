#!/usr/bin/env bash
# Idempotent developer/CI setup. Safe to re-run; a second run only checks and prints a summary.
#   1. Debian packages (ffmpeg; maven + JDK for clients/android; chromium when SETUP_BROWSER=1), only when missing.
#   2. .venv (python3.11) with `pip install -e '.[dev]'`, redone only when pyproject.toml changed.
#   3. MediaMTX built into .cache/ by scripts/install-mediamtx.sh.
#   4. Analytics models into .cache/models/ by scripts/install-models.sh (checksums only when cached).
#   5. The web console built into clients/web/dist (npm ci + vite build) when its sources changed.
# Environment: SETUP_BROWSER=1 (also install a browser), SETUP_SKIP_APT=1 (never touch apt),
#              PYTHON (interpreter for the venv, default python3.11).
#              SETUP_PROFILE=image: what the container image runs (Dockerfile): runtime packages plus Debian's
#              python3, no test tools, `pip install -e .` without dev extras, apt lists removed afterwards.
#              SETUP_VENV: where the venv goes (default .venv).
#              SETUP_STAGE=deps (image profile): Debian packages, the venv and the project's dependencies only, then
#              stop. The Dockerfile runs it before it copies the code, so that layer is rebuilt only when
#              pyproject.toml or this script changes.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3.11}"
PROFILE="${SETUP_PROFILE:-dev}"
[[ "$PROFILE" == "dev" || "$PROFILE" == "image" ]] || { echo "SETUP_PROFILE must be dev or image" >&2; exit 1; }
STAGE="${SETUP_STAGE:-all}"
[[ "$STAGE" == "all" || ( "$STAGE" == "deps" && "$PROFILE" == "image" ) ]] \
  || { echo "SETUP_STAGE must be all, or deps with SETUP_PROFILE=image" >&2; exit 1; }
VENV="${SETUP_VENV:-$ROOT/.venv}"
HASH_FILE="$VENV/.installed-hash"

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- 1. Debian packages
# Extend these lists to add system dependencies.
APT_PACKAGES=(ffmpeg curl)  # curl: MediaMTX hook commands call back into the service
TEST_PACKAGES=(iproute2)  # ip: the ONVIF tests run their test camera in a network namespace
TEST_PACKAGES+=(fonts-dejavu-core)  # the analytics tests draw a licence plate with ffmpeg drawtext
TEST_PACKAGES+=(redis-server)  # shared-quota tests: tests/harness/redis.py runs private servers
# Kotlin client (clients/android): Maven and a JDK, installed only when `mvn` or `java` is missing.
if ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then TEST_PACKAGES+=(maven default-jdk-headless); fi
# The container image test (tests/image/): debootstrap builds the base, buildah builds and runs the image.
TEST_PACKAGES+=(debootstrap buildah)
TEST_PACKAGES+=(prometheus)  # promtool checks deploy/prometheus/alerts.yml; a test scrapes the service
# PostgreSQL backend tests: tests/harness/postgres.py starts private servers (the system cluster is stopped below).
TEST_PACKAGES+=(postgresql)
IMAGE_PACKAGES=(python3 python3-venv)  # the image's interpreter (dev machines bring their own python3.11)
BROWSER_PACKAGES=(chromium)
if [[ "$PROFILE" == "image" ]]; then
  APT_PACKAGES+=("${IMAGE_PACKAGES[@]}")
else
  APT_PACKAGES+=("${TEST_PACKAGES[@]}")
fi
if [[ "${SETUP_BROWSER:-0}" == "1" ]]; then APT_PACKAGES+=("${BROWSER_PACKAGES[@]}"); fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  if [[ "${SETUP_SKIP_APT:-0}" == "1" ]]; then
    die "missing Debian packages: ${missing[*]} (SETUP_SKIP_APT=1, install them yourself)"
  fi
  command -v apt-get >/dev/null 2>&1 || die "missing packages (${missing[*]}) and no apt-get on this machine"
  SUDO=()
  if [[ "$(id -u)" != "0" ]]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo -n); else die "need root or sudo to install: ${missing[*]}"; fi
  fi
  log "installing Debian packages: ${missing[*]}"
  apt_log="$(mktemp)"
  if ! { "${SUDO[@]}" apt-get update -q \
        && "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
           "${missing[@]}"; } >"$apt_log" 2>&1 </dev/null; then
    tail -n 30 "$apt_log" >&2
    rm -f "$apt_log"
    die "apt-get install failed for: ${missing[*]}"
  fi
  # Debian may start a system redis-server on install: the tests run private ones, so stop and disable
  # it (only one we just installed; an operator's own server is left alone on later runs).
  if [[ " ${missing[*]} " == *" redis-server "* ]]; then
    if [[ -d /run/systemd/system ]]; then
      "${SUDO[@]}" systemctl disable --now redis-server >/dev/null 2>&1 || true
    elif [[ -x /etc/init.d/redis-server ]]; then
      "${SUDO[@]}" /etc/init.d/redis-server stop >/dev/null 2>&1 || true
      "${SUDO[@]}" update-rc.d redis-server disable >/dev/null 2>&1 || true
    fi
  fi
  rm -f "$apt_log"
  # Debian starts a "main" cluster when it installs postgresql: the tests run their own servers, so stop it
  # (only one we just installed; an operator's running cluster is left alone on later runs).
  if [[ " ${missing[*]} " == *" postgresql "* ]] && command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters --no-header 2>/dev/null | awk '$4 == "online" {print $1, $2}' | while read -r ver name; do
      log "stopping the PostgreSQL cluster $ver/$name that the package started"
      "${SUDO[@]}" pg_ctlcluster "$ver" "$name" stop || true
    done
  fi
  if [[ "$PROFILE" == "image" ]]; then
    # A build cache mounted over apt's folders (scripts/build-image.sh) is not part of the image: keep it.
    is_mount() { command -v mountpoint >/dev/null 2>&1 && mountpoint -q "$1"; }
    is_mount /var/cache/apt || "${SUDO[@]}" apt-get clean
    is_mount /var/lib/apt/lists || "${SUDO[@]}" rm -rf /var/lib/apt/lists/*
  fi
fi

# ---------------------------------------------------------------- 2. Python venv
command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (set PYTHON=/path/to/python3.11)"
if [[ ! -x "$VENV/bin/python" ]]; then
  log "creating $VENV with $PYTHON"
  "$PYTHON" -m venv "$VENV" || die "could not create the venv (Debian: apt-get install python3.11-venv)"
fi
PIP_TARGET_SPEC='.[dev]'
[[ "$PROFILE" == "image" ]] && PIP_TARGET_SPEC='.'
# The dependencies (and the build backend) without the project: only pyproject.toml is needed. A later full run
# then installs the project without build isolation (no second download of the backend).
DEPS_HASH_FILE="$VENV/.deps-hash"
deps_hash="$( { cat pyproject.toml; "$VENV/bin/python" -VV; } | sha256sum | cut -d' ' -f1)"
if [[ "$STAGE" == "deps" ]]; then
  if [[ "$deps_hash" != "$(cat "$DEPS_HASH_FILE" 2>/dev/null || true)" ]]; then
    log "installing the project's dependencies from pyproject.toml"
    mapfile -t reqs < <("$VENV/bin/python" -c 'import tomllib
doc = tomllib.load(open("pyproject.toml", "rb"))
print("\n".join(doc["build-system"]["requires"] + doc["project"]["dependencies"]))')
    pip_log="$(mktemp)"
    if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${reqs[@]}" >"$pip_log" 2>&1 </dev/null; then
      tail -n 40 "$pip_log" >&2
      rm -f "$pip_log"
      die "pip install of the dependencies failed"
    fi
    rm -f "$pip_log"
    echo "$deps_hash" >"$DEPS_HASH_FILE"
  fi
  log "ok: dependencies installed (SETUP_STAGE=deps)"
  exit 0
fi
PIP_ISOLATION=()
[[ "$deps_hash" == "$(cat "$DEPS_HASH_FILE" 2>/dev/null || true)" ]] && PIP_ISOLATION=(--no-build-isolation)
want_hash="$(echo "$deps_hash $PIP_TARGET_SPEC" | sha256sum | cut -d' ' -f1)"
have_hash="$(cat "$HASH_FILE" 2>/dev/null || true)"
if [[ "$want_hash" != "$have_hash" || ! -x "$VENV/bin/camera-service" ]]; then
  log "installing Python dependencies (pip install -e '$PIP_TARGET_SPEC')"
  pip_log="$(mktemp)"
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PIP_ISOLATION[@]}" -e "$PIP_TARGET_SPEC" \
        >"$pip_log" 2>&1 </dev/null; then
    tail -n 40 "$pip_log" >&2
    rm -f "$pip_log"
    rm -f "$HASH_FILE"
    die "pip install -e '$PIP_TARGET_SPEC' failed"
  fi
  rm -f "$pip_log"
  echo "$want_hash" >"$HASH_FILE"
fi

# The project's own modules, compiled once: pip compiles what it installs but not an editable install's
# sources, so where PYTHONDONTWRITEBYTECODE is set (as on CI machines) or the sources are read-only (the
# image's non-root user) every process (each service start, analytics worker, camctl call) compiled them
# again. compileall skips what is up to date.
"$VENV/bin/python" -m compileall -q -j 0 "$ROOT/camera_service" >/dev/null </dev/null \
  || die "compiling camera_service failed (python -m compileall)"

# ---------------------------------------------------------------- 3. MediaMTX
mtx_log="$(mktemp)"
if ! bash "$ROOT/scripts/install-mediamtx.sh" >"$mtx_log.out" 2>"$mtx_log" </dev/null; then
  tail -n 40 "$mtx_log" >&2
  rm -f "$mtx_log" "$mtx_log.out"
  die "building MediaMTX failed (scripts/install-mediamtx.sh)"
fi
MEDIAMTX_PATH="$(tail -n 1 "$mtx_log.out")"
rm -f "$mtx_log" "$mtx_log.out"
[[ -x "$MEDIAMTX_PATH" ]] || die "install-mediamtx.sh did not produce an executable ($MEDIAMTX_PATH)"

# ---------------------------------------------------------------- 4. Analytics models
models_log="$(mktemp)"
if ! PYTHON="$PYTHON" nice -n 10 bash "$ROOT/scripts/install-models.sh" >/dev/null 2>"$models_log" </dev/null; then
  tail -n 40 "$models_log" >&2
  rm -f "$models_log"
  die "preparing the analytics models failed (scripts/install-models.sh)"
fi
rm -f "$models_log"

# ---------------------------------------------------------------- 5. Web console (clients/web -> dist)
# Node >= 20.19 (Vite 8); `npm ci` from the committed lockfile (cache: ~/.npm), rebuilt only when its
# sources changed. Debian bookworm's nodejs is 18: too old (the error says so).
WEB="$ROOT/clients/web"
web_hash="$( { cat "$WEB/package-lock.json" "$WEB/index.html" "$WEB/vite.config.ts" "$WEB/tsconfig.json";
               find "$WEB/src" -type f | sort | xargs cat; } | sha256sum | cut -d' ' -f1)"
web_stale=0
[[ "$(cat "$WEB/dist/.build-hash" 2>/dev/null || true)" != "$web_hash" ]] && web_stale=1
# axe-core: used by tests/web (not in the image, which gets the built dist/ only)
[[ "$PROFILE" == "dev" && ! -f "$WEB/node_modules/axe-core/axe.min.js" ]] && web_stale=1
if [[ "$web_stale" == "1" ]]; then
  [[ "$PROFILE" == "image" ]] && die "clients/web/dist is missing or stale: run scripts/setup.sh before building the image"
  command -v node >/dev/null 2>&1 || die "the web console needs Node.js >= 20.19 (node not found)"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)' \
    || die "the web console needs Node.js >= 20.19 (found $(node --version))"
  log "building the web console (npm ci + vite build)"
  web_log="$(mktemp)"
  # *.gz next to each asset: the service (aiohttp FileResponse) sends it to browsers that accept gzip.
  if ! (cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build \
        && gzip -k -9 -f dist/assets/*.js dist/assets/*.css) >"$web_log" 2>&1 </dev/null; then
    tail -n 40 "$web_log" >&2
    rm -f "$web_log"
    die "building clients/web failed"
  fi
  rm -f "$web_log"
  echo "$web_hash" >"$WEB/dist/.build-hash"
fi

# ---------------------------------------------------------------- 6. Summary
log "ok: python $("$VENV/bin/python" -c 'import platform; print(platform.python_version())')" \
    "| ffmpeg $(ffmpeg -version 2>/dev/null | head -n1 | awk '{print $3}')" \
    "| mediamtx $("$MEDIAMTX_PATH" --version 2>/dev/null || echo '?') at $MEDIAMTX_PATH"
