"""Render the managed MediaMTX's YAML from the template plus the service settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from camera_service.config.sections import MediaMTXConfig, StorageConfig
from camera_service.core.dicts import deep_merge
from camera_service.core.types import JsonObject

# %f is required by MediaMTX when the playback server is on; the name sorts by time.
RECORD_PATH_PATTERN = "%path/%Y-%m-%d_%H-%M-%S-%f"


def render_mediamtx_config_dict(
    template_path: Path,
    cfg: MediaMTXConfig,
    storage: StorageConfig,
    extra: JsonObject | None = None,
    *,
    log_file: Path | None = None,
    paths: dict[str, JsonObject] | None = None,
) -> JsonObject:
    """The config as data. `log_file`: MediaMTX logs into this file (never to a pipe to the service, which
    would kill MediaMTX with SIGPIPE once the service is gone; see ADR 0011). `paths`: path configs the
    process starts with (added to the template's; ADR 0010)."""
    loaded = yaml.safe_load(template_path.read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{template_path}: expected a YAML mapping")
    conf: JsonObject = loaded
    # PyYAML's YAML 1.1 loader turns yes/no into booleans; MediaMTX accepts true/false too.
    conf.update(
        {
            "logLevel": cfg.log_level,
            "api": True,
            "apiAddress": f"127.0.0.1:{cfg.api_port}",  # the API never leaves loopback
            "metricsAddress": f"127.0.0.1:{cfg.metrics_port}",
            "playbackAddress": f"{cfg.host}:{cfg.playback_port}",
            "rtspAddress": f":{cfg.rtsp_port}",
            "rtmp": cfg.enable_rtmp,
            "rtmpAddress": f":{cfg.rtmp_port}",
            "hls": cfg.enable_hls,
            "hlsAddress": f":{cfg.hls_port}",
            "webrtc": cfg.enable_webrtc,
            "webrtcAddress": f":{cfg.webrtc_port}",
            "webrtcLocalUDPAddress": f":{cfg.webrtc_ice_udp_port}",
            "srt": cfg.enable_srt,
            "srtAddress": f":{cfg.srt_port}",
        }
    )
    if log_file is not None:
        conf["logDestinations"] = ["file"]
        conf["logFile"] = str(log_file)
    found = conf.get("pathDefaults")
    defaults: JsonObject = found if isinstance(found, dict) else {}
    record_root = storage.recordings_path.expanduser().resolve()
    defaults["recordPath"] = f"{record_root}/{RECORD_PATH_PATTERN}"
    conf["pathDefaults"] = defaults
    if conf.get("paths") is None:
        conf["paths"] = {}
    if extra:
        conf = deep_merge(conf, extra)
    if paths:
        template_paths = conf.get("paths")
        conf["paths"] = {**(template_paths if isinstance(template_paths, dict) else {}), **paths}
    return conf


def render_mediamtx_config(
    template_path: Path,
    cfg: MediaMTXConfig,
    storage: StorageConfig,
    extra: JsonObject | None = None,
    *,
    log_file: Path | None = None,
    paths: dict[str, JsonObject] | None = None,
) -> str:
    conf = render_mediamtx_config_dict(template_path, cfg, storage, extra, log_file=log_file, paths=paths)
    return yaml.safe_dump(conf, sort_keys=False, default_flow_style=False)
