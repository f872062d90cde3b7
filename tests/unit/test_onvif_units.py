"""ONVIF pure parts: WS-Discovery messages and host ranges, fault mapping, PTZ range checks, config."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from types import ModuleType

import aiohttp
import pytest
from lxml import etree
from pydantic import ValidationError

from camera_service.core.errors import DomainError
from camera_service.onvif.client import map_error, parse_xaddr
from camera_service.onvif.config import OnvifConfig
from camera_service.onvif.discovery import NS, build_probe, expand_hosts, parse_probe_matches
from camera_service.onvif.importer import slugify
from camera_service.onvif.models import PtzRanges, Range, check_vector, ranges_from_options
from camera_service.rpc.errors import to_rpc_error
from tests.harness.onvif_sim import OnvifSim, SimConfig


def test_probe_is_a_ws_discovery_probe_for_video_transmitters() -> None:
    root = ET.fromstring(build_probe("1234"))
    assert root.findtext(".//a:MessageID", namespaces=NS) == "urn:uuid:1234"
    assert root.findtext(".//d:Probe/d:Types", namespaces=NS) == "dn:NetworkVideoTransmitter"


def test_probe_matches_are_parsed_and_filtered_by_relates_to() -> None:
    sim = OnvifSim(SimConfig(host="10.1.2.3", port=8080, name="Gate%20Cam", model="M1", location="north"))
    reply = sim.probe_reply(build_probe("abc"))
    assert reply is not None
    [dev] = parse_probe_matches(reply, "10.1.2.3", relates_to="urn:uuid:abc")
    assert dev.xaddrs == ["http://10.1.2.3:8080/onvif/device_service"]
    assert (dev.name, dev.hardware, dev.location) == ("Gate Cam", "M1", "north")
    assert dev.address == f"urn:uuid:{sim.cfg.endpoint_uuid}" and "dn:NetworkVideoTransmitter" in dev.types
    assert parse_probe_matches(reply, "10.1.2.3", relates_to="urn:uuid:other") == []
    assert parse_probe_matches(b"<not xml", "x") == []
    assert parse_probe_matches(b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "x") == []
    assert sim.probe_reply(b"<x/>") is None  # not a Probe: no answer


def test_expand_hosts() -> None:
    assert expand_hosts(["10.0.0.5", "10.0.0.6:4000", "cam.local"], 10) == [
        ("10.0.0.5", 3702),
        ("10.0.0.6", 4000),
        ("cam.local", 3702),
    ]
    assert expand_hosts(["192.168.1.0/30"], 10) == [("192.168.1.1", 3702), ("192.168.1.2", 3702)]
    assert [h for h, _ in expand_hosts(["10.0.0.250-10.0.1.1"], 10)] == [
        "10.0.0.250",
        "10.0.0.251",
        "10.0.0.252",
        "10.0.0.253",
        "10.0.0.254",
        "10.0.0.255",
        "10.0.1.0",
        "10.0.1.1",
    ]
    with pytest.raises(ValueError, match="more than 10"):
        expand_hosts(["10.0.0.0/24"], 10)
    with pytest.raises(ValueError, match="before start"):
        expand_hosts(["10.0.0.9-10.0.0.1"], 10)


def test_parse_xaddr() -> None:
    assert parse_xaddr("http://10.0.0.1/onvif/device_service") == ("10.0.0.1", 80)
    assert parse_xaddr("https://cam:8443/onvif/device_service") == ("cam", 8443)
    assert parse_xaddr("10.0.0.1:8000") == ("10.0.0.1", 8000)
    with pytest.raises(ValueError):
        parse_xaddr("ftp://x/")


def _zeep() -> ModuleType:
    # zeep (with httpx) takes 0.3 s to import: only when these cases run, not in every worker's collection.
    import zeep.exceptions

    return zeep.exceptions


def _fault(subcode: str, message: str = "nope") -> Exception:
    return _zeep().Fault(  # type: ignore[no-any-return]
        message, code="s:Sender", subcodes=[etree.QName("http://www.onvif.org/ver10/error", subcode)]
    )


@pytest.mark.parametrize(
    ("make_exc", "code", "reason"),
    [
        (TimeoutError, -32010, None),
        (lambda: _fault("NotAuthorized"), -32012, "auth_failed"),
        (lambda: _zeep().TransportError("x", status_code=401), -32012, "auth_failed"),
        (lambda: _fault("ActionNotSupported"), -32008, None),
        (lambda: _fault("InvalidArgVal", "bad token"), -32012, "fault"),
        (
            lambda: aiohttp.ClientConnectorError(connection_key=None, os_error=OSError(111, "refused")),  # type: ignore[arg-type]
            -32009,
            "unreachable",
        ),
        (ConnectionRefusedError, -32009, "unreachable"),
        (lambda: _zeep().XMLSyntaxError("junk"), -32012, "bad_reply"),
    ],
)
def test_faults_map_to_documented_errors(
    make_exc: Callable[[], BaseException], code: int, reason: str | None
) -> None:
    err = to_rpc_error(map_error(make_exc(), "GetStatus", 5.0))
    assert err.code == code
    if reason is not None:
        assert err.data is not None and err.data["reason"] == reason


def test_wrapped_causes_are_found() -> None:
    try:
        try:
            raise TimeoutError
        except TimeoutError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError as outer:
        assert to_rpc_error(map_error(outer, "Stop", 2.0)).code == -32010


def test_ranges_from_options_and_checks() -> None:
    options = {
        "Spaces": {
            "ContinuousPanTiltVelocitySpace": [
                {"XRange": {"Min": -0.5, "Max": 0.5}, "YRange": {"Min": -1, "Max": 1}}
            ],
            "AbsoluteZoomPositionSpace": [{"XRange": {"Min": 0, "Max": 1}}],
        },
        "PTZTimeout": {"Max": "PT60S"},
    }
    ranges = ranges_from_options(options)
    assert ranges.pan_velocity == Range(min=-0.5, max=0.5) and ranges.tilt_velocity == Range(min=-1, max=1)
    assert ranges.zoom == Range(min=0, max=1) and ranges.pan is None and ranges.timeout_max_s == 60.0
    check_vector("velocity", ranges, 0.5, -1.0, None)
    with pytest.raises(DomainError) as err:
        check_vector("velocity", ranges, 0.51, None, None)
    assert to_rpc_error(err.value).code == -32602 and err.value.data["errors"][0]["field"] == "pan"  # type: ignore[index]
    with pytest.raises(DomainError) as err:
        check_vector("position", ranges, 0.1, None, None)  # no absolute pan space
    assert to_rpc_error(err.value).code == -32008
    with pytest.raises(DomainError) as err:
        check_vector("position", PtzRanges(), None, None, None)
    assert to_rpc_error(err.value).code == -32602


def test_slugify_and_config_bounds() -> None:
    assert slugify("ACME  PTZ/900!") == "acme-ptz-900"
    assert slugify("!!!") == "onvif-camera"
    assert OnvifConfig().call_timeout_s == 5.0
    with pytest.raises(ValidationError):
        OnvifConfig(call_timeout_s=0)
    with pytest.raises(ValidationError):
        OnvifConfig(unknown_key=1)  # type: ignore[call-arg]
