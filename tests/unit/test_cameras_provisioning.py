"""Desired MediaMTX path configs and the reconciler (against a fake MediaMTX client)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from camera_service.cameras.config import CamerasConfig
from camera_service.cameras.models import Camera
from camera_service.cameras.provisioning import PathConfigBuilder, Provisioner, config_matches
from camera_service.cameras.schemas import AddCameraParams
from camera_service.mediamtx.client import MediaMTXClient
from camera_service.mediamtx.errors import MediaMTXNotFound, MediaMTXRejected
from camera_service.server.internal import InternalHttpServer


def _builder() -> PathConfigBuilder:
    return PathConfigBuilder(CamerasConfig(), InternalHttpServer(port=1234, secret="s3"))


def test_desired_config_per_source_kind() -> None:
    b = _builder()
    pull = Camera(
        id="a", name="a", source="rtsp://h/x", on_demand=True, username="u", password=SecretStr("p w")
    )
    conf = b.desired(pull)
    assert conf is not None
    assert (conf["source"], conf["sourceOnDemand"], conf["rtspTransport"]) == (
        "rtsp://u:p%20w@h/x",
        True,
        "tcp",
    )
    assert "/hooks/camera_online?path=$MTX_PATH" in conf["runOnOnline"] and "secret=s3" in conf["runOnOnline"]
    assert "/hooks/camera_offline" in conf["runOnOffline"]
    rtmp = b.desired(Camera(id="b", name="b", source="rtmp://h/live", rtsp_transport="udp"))
    assert rtmp is not None and "rtspTransport" not in rtmp
    pub = b.desired(Camera(id="c", name="c", source="publisher"))
    assert pub is not None and pub["source"] == "publisher" and "runOnDemand" not in pub
    dev = b.desired(Camera(id="d", name="d", source="/dev/video2"))
    assert dev is not None and dev["source"] == "publisher" and dev["runOnDemandRestart"] is True
    assert "-f v4l2 -i /dev/video2" in dev["runOnDemand"]
    assert dev["runOnDemand"].endswith("rtsp://127.0.0.1:$RTSP_PORT/$MTX_PATH")
    assert b.desired(Camera(id="e", name="e", source="publisher", enabled=False)) is None
    assert b.desired(Camera(id="f", name="f", source="publisher", credentials_error="x")) is None


def test_contributors_merge_their_keys() -> None:
    b = _builder()
    b.contributors.append(lambda cam: {"record": cam.recording.get("mode") == "continuous"})
    b.contributors.append(lambda cam: 1 / 0)  # a broken contributor does not break provisioning
    conf = b.desired(Camera(id="a", name="a", source="publisher", recording={"mode": "continuous"}))
    assert conf is not None and conf["record"] is True


def test_config_matches_normalises_durations() -> None:
    assert config_matches(
        {"recordSegmentDuration": "1h", "record": True},
        {"recordSegmentDuration": "1h0m0s", "record": True, "other": 1},
    )
    assert not config_matches({"recordSegmentDuration": "10s"}, {"recordSegmentDuration": "1h0m0s"})
    assert not config_matches({"source": "publisher"}, {})
    # MediaMTX v1.20.1 reports a zero duration as "" (recordDeleteAfter: 0s).
    assert config_matches({"recordDeleteAfter": "0s"}, {"recordDeleteAfter": ""})
    assert not config_matches({"recordDeleteAfter": "1s"}, {"recordDeleteAfter": ""})
    assert not config_matches({"runOnDemand": ""}, {"runOnDemand": "ffmpeg"})


def test_startup_paths_leave_out_credentials_unless_allowed() -> None:
    b = _builder()
    cams = [
        Camera(id="a", name="a", source="rtsp://10.0.0.1/s", username="u", password=SecretStr("Pw-1")),
        Camera(id="b", name="b", source="rtsp://10.0.0.2/s"),
        Camera(id="c", name="c", source="publisher", enabled=False),
    ]
    assert set(b.startup_paths(cams, secrets_allowed=True)) == {"a", "b"}
    assert "Pw-1" in str(b.startup_paths(cams, secrets_allowed=True)["a"])
    assert set(b.startup_paths(cams, secrets_allowed=False)) == {"b"}


class FakeClient(MediaMTXClient):
    def __init__(self, paths: dict[str, dict[str, Any]]) -> None:
        super().__init__("http://fake")
        self.paths = paths
        self.calls: list[tuple[str, str]] = []

    async def list_path_configs(self) -> list[dict[str, Any]]:
        return [{"name": n, **c} for n, c in self.paths.items()]

    async def replace_path_config(self, name: str, conf: dict[str, Any]) -> None:
        if conf.get("source") == "bad":
            raise MediaMTXRejected("invalid source", 400)
        self.calls.append(("replace", name))
        self.paths[name] = dict(conf)

    async def delete_path_config(self, name: str) -> None:
        self.calls.append(("delete", name))
        if name not in self.paths:
            raise MediaMTXNotFound("path not found", 404)
        del self.paths[name]


async def test_reconcile_adds_repairs_deletes_and_leaves_equal_alone() -> None:
    client = FakeClient(
        {
            "same": {"source": "publisher", "x": 1},
            "drifted": {"source": "rtsp://old/x"},
            "foreign": {"source": "publisher"},
            "disabled": {"source": "publisher"},
        }
    )
    prov = Provisioner(client, concurrency=3)
    desired: dict[str, dict[str, Any] | None] = {
        "same": {"source": "publisher"},
        "drifted": {"source": "publisher"},
        "new": {"source": "publisher"},
        "disabled": None,
        "broken": {"source": "bad"},
    }
    report = await prov.reconcile(desired)
    assert sorted(report.applied) == ["drifted", "new"]
    assert sorted(report.deleted) == ["disabled", "foreign"]
    assert report.unchanged == 1 and set(report.failed) == {"broken"}
    assert prov.errors == {"broken": "invalid source"}
    assert set(client.paths) == {"same", "drifted", "new"}
    client.calls.clear()
    again = await prov.reconcile({k: v for k, v in desired.items() if k != "broken"})
    assert client.calls == [] and again.unchanged == 3 and prov.errors == {"broken": "invalid source"}
    await prov.apply("gone", None)  # deleting a missing path is fine


def test_substream_has_its_own_path_with_the_camera_credentials() -> None:
    b = _builder()
    b.contributors.append(lambda cam: {"record": True})
    cam = Camera(
        id="a",
        name="a",
        source="rtsp://h/main",
        substream="rtsp://h/sub",
        username="u",
        password=SecretStr("pw"),
    )
    paths = b.paths(cam)
    assert set(paths) == {"a", "a.sub"}
    sub = paths["a.sub"]
    assert sub is not None and sub["source"] == "rtsp://u:pw@h/sub" and sub["rtspTransport"] == "tcp"
    # Only the source: no status hooks, no recording (those follow the main stream).
    assert not {"runOnOnline", "runOnOffline", "record"} & sub.keys()
    assert b.paths(Camera(id="p", name="p", source="publisher", substream="publisher"))["p.sub"] == {
        "source": "publisher"
    }
    # No substream: its path is not named at all (deleting a path MediaMTX never had logs an error there).
    assert set(b.paths(Camera(id="n", name="n", source="publisher"))) == {"n"}
    off = Camera(id="o", name="o", source="publisher", substream="publisher", enabled=False)
    assert b.paths(off) == {"o": None, "o.sub": None}
    assert "a.sub" not in b.startup_paths([cam], secrets_allowed=False)
    assert b.startup_paths([cam], secrets_allowed=True)["a.sub"]["source"] == "rtsp://u:pw@h/sub"


def test_substream_params_refuse_credentials_and_devices() -> None:
    ok = AddCameraParams.model_validate({"source": "publisher", "substream": " rtsp://h/sub "})
    assert ok.substream == "rtsp://h/sub"
    for bad, words in (
        ("rtsp://u:p@h/sub", "no credentials"),
        ("rtsp://h/sub?token=x", "no credentials"),
        ("/dev/video0", "not a local device"),
        ("ftp://h/x", "unsupported URL scheme"),
    ):
        with pytest.raises(ValidationError, match=words):
            AddCameraParams.model_validate({"source": "publisher", "substream": bad})
