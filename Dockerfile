# camera-service container image: the service, its supervised MediaMTX and ffmpeg, configured by environment.
#
#   bash scripts/setup.sh                  # MediaMTX and the analytics models into .cache/ (copied, not redone)
#   docker build -t camera-service .       # or: bash scripts/build-image.sh (buildah, no daemon)
#   docker run -p 8002:8002 -p 8554:8554 -v cs-data:/data camera-service
#
# BASE is any Debian bookworm: the public slim image, or the debootstrapped one CI builds with (tests/image/).
ARG BASE=debian:bookworm-slim
FROM ${BASE}

ARG MEDIAMTX_VERSION=v1.20.1
ARG APP_UID=10001

LABEL org.opencontainers.image.title="camera-service" \
      org.opencontainers.image.description="JSON-RPC 2.0 WebSocket control plane for cameras, fronting MediaMTX" \
      org.opencontainers.image.licenses="MIT"

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

ENV LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    PATH=/opt/camera-service/.venv/bin:$PATH \
    CAMERA_SERVICE_SERVER__HOST=0.0.0.0 \
    CAMERA_SERVICE_STORAGE__DATA_DIR=/data \
    CAMERA_SERVICE_LOGGING__FORMAT=json

WORKDIR /opt/camera-service

# Debian packages, python3 + venv and the pinned dependencies first, from pyproject.toml and the setup script
# alone: this layer is cached (docker build; buildah bud --layers) until one of them changes, so a code change
# rebuilds only the layers below.
COPY pyproject.toml /opt/camera-service/
COPY scripts/setup.sh /opt/camera-service/scripts/
RUN SETUP_PROFILE=image SETUP_STAGE=deps SETUP_VENV=/opt/camera-service/.venv PYTHON=python3 PIP_NO_CACHE_DIR=1 \
        bash scripts/setup.sh

# MediaMTX: the binary scripts/install-mediamtx.sh built from the Go module proxy (one recipe, not two).
COPY .cache/mediamtx/${MEDIAMTX_VERSION}/mediamtx /usr/local/bin/mediamtx

# The whole project (see .dockerignore): code, config, the prepared analytics models (.cache/models: setup only
# verifies their checksums) and whatever web console build exists (clients/web/dist).
COPY . /opt/camera-service

# The same install steps as development and CI: scripts/setup.sh, in its image profile (Debian packages from
# the one list in that script, python3 + venv, the pinned project without dev extras); here it finds the
# packages and dependencies in place and installs the project itself.
RUN SETUP_PROFILE=image SETUP_VENV=/opt/camera-service/.venv PYTHON=python3 PIP_NO_CACHE_DIR=1 \
        bash scripts/setup.sh \
    && groupadd --system --gid "${APP_UID}" camera \
    && useradd --system --uid "${APP_UID}" --gid camera --home-dir /data --shell /usr/sbin/nologin camera \
    && mkdir -p /data \
    && chown camera:camera /data \
    && camera-service --version

USER ${APP_UID}:${APP_UID}
VOLUME ["/data"]

# 8002: JSON-RPC WebSocket + HTTP (/health, /metrics, downloads). MediaMTX: 8554 RTSP, 1935 RTMP, 8888 HLS,
# 8889 WebRTC (HTTP) + 8189/udp (ICE), 8890/udp SRT, 9996 playback. The Control API and metrics stay on loopback.
EXPOSE 8002 8554 1935 8888 8889 8189/udp 8890/udp 9996

HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
    CMD ["/bin/sh", "-c", "curl -fsS -o /dev/null http://127.0.0.1:${CAMERA_SERVICE_SERVER__PORT:-8002}/health/ready"]

ENTRYPOINT ["camera-service"]
CMD ["serve"]
