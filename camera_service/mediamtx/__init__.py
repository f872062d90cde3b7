"""MediaMTX integration: Control API client, config rendering and the process supervisor."""

from camera_service.core.dicts import deep_merge
from camera_service.mediamtx.client import MediaMTXClient
from camera_service.mediamtx.config_render import render_mediamtx_config
from camera_service.mediamtx.errors import (
    MediaMTXError,
    MediaMTXNotFound,
    MediaMTXRejected,
    MediaMTXUnavailable,
    mask_url_credentials,
)
from camera_service.mediamtx.models import (
    MtxInfo,
    MtxPath,
    MtxPathSource,
    MtxPlaybackSegment,
    MtxReader,
    MtxRecording,
    MtxRecordingSegment,
    MtxTrack,
)
from camera_service.mediamtx.process import ManagedProcess
from camera_service.mediamtx.supervisor import (
    MediaMTXStartError,
    MediaMTXSupervisor,
    find_mediamtx_binary,
)

__all__ = [
    "ManagedProcess",
    "MediaMTXClient",
    "MediaMTXError",
    "MediaMTXNotFound",
    "MediaMTXRejected",
    "MediaMTXStartError",
    "MediaMTXSupervisor",
    "MediaMTXUnavailable",
    "MtxInfo",
    "MtxPath",
    "MtxPathSource",
    "MtxPlaybackSegment",
    "MtxReader",
    "MtxRecording",
    "MtxRecordingSegment",
    "MtxTrack",
    "deep_merge",
    "find_mediamtx_binary",
    "mask_url_credentials",
    "render_mediamtx_config",
]
