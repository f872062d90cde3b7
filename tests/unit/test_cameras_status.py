"""Status evaluation rules (pure function over what MediaMTX reports)."""

from __future__ import annotations

from camera_service.cameras.models import Camera, CameraStatus, CameraStatusInfo
from camera_service.cameras.status import evaluate
from camera_service.mediamtx.models import MtxPath

OFF = CameraStatusInfo(status=CameraStatus.OFFLINE)


def _path(available: bool = True, readers: int = 0, inbound: int = 1000) -> MtxPath:
    return MtxPath.model_validate(
        {
            "name": "c",
            "available": available,
            "online": True,
            "source": {"type": "rtspSource", "id": ""},
            "tracks2": [
                {"codec": "H264", "codecProps": {"width": 640, "height": 360, "profile": "High"}},
                {"codec": "MPEG-4 Audio", "codecProps": {}},
            ],
            "readers": [{"type": "rtspSession", "id": str(i)} for i in range(readers)],
            "inboundBytes": inbound,
            "outboundBytes": 5,
            "inboundFramesInError": 2,
        }
    )


def _eval(
    camera: Camera, path: MtxPath | None, prev: CameraStatusInfo = OFF, **kw: object
) -> CameraStatusInfo:
    args = {"mtx_up": True, "provisioning_error": None, "now": 100.0, "bitrate_kbps": 800.0, **kw}
    return evaluate(camera, path, prev, **args)  # type: ignore[arg-type]


CAM = Camera(id="c", name="c", source="rtsp://h/x")
ONDEMAND = Camera(id="c", name="c", source="rtsp://h/x", on_demand=True)


def test_available_path_is_online_with_stream_facts() -> None:
    info = _eval(CAM, _path(readers=2))
    assert info.status == CameraStatus.ONLINE and info.streaming
    assert (info.codec, info.width, info.height, info.profile, info.audio_codec) == (
        "H264",
        640,
        360,
        "High",
        "MPEG-4 Audio",
    )
    assert (info.readers, info.frames_in_error, info.bitrate_kbps, info.online_since) == (2, 2, 800.0, 100.0)
    again = _eval(CAM, _path(), info.model_copy(update={"fps": 25.0}), now=105.0)
    assert again.online_since == 100.0 and again.fps == 25.0 and again.last_seen == 105.0


def test_static_source_online_flag_alone_is_not_online() -> None:
    # MediaMTX v1.20.1 reports online=true for a static source that never connected.
    assert _eval(CAM, _path(available=False)).status == CameraStatus.OFFLINE


def test_offline_error_disabled_and_mediamtx_down() -> None:
    online = _eval(CAM, _path())
    gone = _eval(CAM, _path(available=False), online)
    assert gone.status == CameraStatus.OFFLINE and gone.codec == "H264" and gone.last_seen == 100.0
    assert _eval(CAM, None, online, mtx_up=False).error == "MediaMTX is not reachable"
    assert _eval(CAM, _path(), provisioning_error="bad").status == CameraStatus.ERROR
    assert _eval(CAM.model_copy(update={"enabled": False}), _path()).status == CameraStatus.DISABLED
    broken = CAM.model_copy(update={"credentials_error": "cannot decrypt"})
    assert _eval(broken, _path()).status == CameraStatus.ERROR


def test_on_demand_idle_close_stays_online_but_failure_while_read_is_offline() -> None:
    assert _eval(ONDEMAND, _path(available=False)).status == CameraStatus.OFFLINE  # never pulled
    read = _eval(ONDEMAND, _path(readers=1))
    idle = _eval(ONDEMAND, _path(readers=0), read)
    closed = _eval(ONDEMAND, _path(available=False), idle)
    assert closed.status == CameraStatus.ONLINE and not closed.streaming and closed.online_since == 100.0
    dropped = _eval(ONDEMAND, _path(available=False), read)  # readers were there: a real failure
    assert dropped.status == CameraStatus.OFFLINE


def test_unchanged_idle_camera_returns_the_same_object() -> None:
    off = _eval(ONDEMAND, _path(available=False))
    assert _eval(ONDEMAND, _path(available=False), off) is off
