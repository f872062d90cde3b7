"""A small ONVIF test camera: Device, Media (v1) and PTZ (v2) SOAP, WS-Discovery, and a call log.

Why our own and not ipycam: see docs/adr (ONVIF test camera). In short, tests need to see every call the
camera received (with its arguments), camera-specific PTZ ranges, RemovePreset and
GetConfigurationOptions, a device without PTZ, a camera clock that is off, and WS-Security that is
actually checked. RTSP is not served here: GetStreamUri returns the configured URL (a MediaMTX path a
TestCamera publishes to), as a camera fronted by an RTSP server would.

Run as a child process (inside a network namespace in the tests):
    python -m tests.harness.onvif_sim --config '{"host": "10.200.1.2", ...}'
It prints `READY <json>` once listening. Control endpoints (plain JSON, no auth): GET /sim/calls,
GET /sim/state, POST /sim/reset.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import socket
import struct
import sys
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web

from tests.harness import onvif_sim_xml as X

WSD_GROUP = "239.255.255.250"
WSD_PORT = 3702
WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"


@dataclass
class SimConfig:
    host: str = "127.0.0.1"  # address to bind and to advertise in XAddrs
    port: int = 0
    username: str | None = "admin"
    password: str | None = "secret"
    clock_offset_s: float = 0.0  # the camera's clock minus the real clock
    max_skew_s: float = 5.0  # WS-Security Created must be this close to the camera's clock
    ptz: bool = True
    name: str = "SimCam"
    manufacturer: str = "CameraService"
    model: str = "SimPTZ-1"
    location: str = "lab"
    serial: str = "SIM0001"
    endpoint_uuid: str = field(default_factory=lambda: str(uuid.uuid4()))
    main_uri: str = "rtsp://127.0.0.1:8554/main"
    sub_uri: str = "rtsp://127.0.0.1:8554/sub"
    velocity_range: tuple[float, float] = (-1.0, 1.0)
    zoom_velocity_range: tuple[float, float] = (-1.0, 1.0)
    pan_range: tuple[float, float] = (-1.0, 1.0)
    tilt_range: tuple[float, float] = (-1.0, 1.0)
    zoom_range: tuple[float, float] = (0.0, 1.0)
    stall_ops: list[str] = field(default_factory=list)  # operations that never answer in time
    stall_s: float = 30.0
    discovery: bool = True
    discovery_interface: str | None = None  # join the WS-Discovery group on this interface


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def element_to_data(el: ET.Element) -> Any:
    """Element -> plain data: attributes and children as keys (local names), leaves as text."""
    children = list(el)
    if not children and not el.attrib:
        return (el.text or "").strip()
    out: dict[str, Any] = {_local(k): v for k, v in el.attrib.items()}
    for child in children:
        out[_local(child.tag)] = element_to_data(child)
    if not children and el.text and el.text.strip():
        out["_text"] = el.text.strip()
    return out


class PtzState:
    def __init__(self) -> None:
        self.x = 0.0
        self.y = 0.0
        self.z = 0.0
        self.velocity = (0.0, 0.0, 0.0)
        self.moving_since: float | None = None
        self.presets: dict[str, tuple[str, tuple[float, float, float]]] = {}  # token -> (name, pos)
        self._next = 1

    def settle(self, cfg: SimConfig) -> None:
        """Integrate a continuous move up to now (the position the camera reports)."""
        if self.moving_since is None:
            return
        now = time.monotonic()
        elapsed, self.moving_since = now - self.moving_since, now
        vx, vy, vz = self.velocity
        self.x = min(max(self.x + vx * elapsed * 0.1, cfg.pan_range[0]), cfg.pan_range[1])
        self.y = min(max(self.y + vy * elapsed * 0.1, cfg.tilt_range[0]), cfg.tilt_range[1])
        self.z = min(max(self.z + vz * elapsed * 0.1, cfg.zoom_range[0]), cfg.zoom_range[1])

    def new_token(self) -> str:
        token = f"preset_{self._next}"
        self._next += 1
        return token

    def snapshot(self) -> dict[str, Any]:
        return {
            "x": self.x,
            "y": self.y,
            "z": self.z,
            "moving": self.moving_since is not None,
            "velocity": list(self.velocity),
            "presets": {t: {"name": n, "position": list(p)} for t, (n, p) in self.presets.items()},
        }


class AuthError(Exception):
    pass


def check_wsse(root: ET.Element, cfg: SimConfig) -> None:
    if cfg.username is None:
        return
    token = root.find(f".//{{{WSSE_NS}}}UsernameToken")
    if token is None:
        raise AuthError("no UsernameToken")
    user = token.findtext(f"{{{WSSE_NS}}}Username") or ""
    pw_el = token.find(f"{{{WSSE_NS}}}Password")
    nonce = token.findtext(f"{{{WSSE_NS}}}Nonce") or ""
    created = token.findtext(f"{{{WSU_NS}}}Created") or ""
    if pw_el is None or not created:
        raise AuthError("incomplete UsernameToken")
    when = dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    camera_now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=cfg.clock_offset_s)
    if abs((camera_now - when).total_seconds()) > cfg.max_skew_s:
        raise AuthError("Created outside the allowed clock skew")
    expected = base64.b64encode(
        hashlib.sha1(base64.b64decode(nonce) + created.encode() + (cfg.password or "").encode()).digest()
    ).decode()
    if not (hmac.compare_digest(user, cfg.username) and hmac.compare_digest(pw_el.text or "", expected)):
        raise AuthError("wrong username or password")


class OnvifSim:
    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.ptz = PtzState()
        self.calls: list[dict[str, Any]] = []
        self.probes = 0
        self._runner: web.AppRunner | None = None
        self._udp: asyncio.DatagramTransport | None = None

    @property
    def base(self) -> str:
        return f"http://{self.cfg.host}:{self.cfg.port}"

    # ------------------------------------------------------------------ HTTP
    async def _calls(self, _: web.Request) -> web.Response:
        return web.json_response(self.calls)

    async def _state(self, _: web.Request) -> web.Response:
        return web.json_response(self.state())

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/onvif/{service}", self._soap)
        app.router.add_get("/sim/calls", self._calls)
        app.router.add_get("/sim/state", self._state)
        app.router.add_post("/sim/reset", self._reset)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.cfg.host, self.cfg.port)
        await site.start()
        if self.cfg.port == 0:
            self.cfg.port = self._runner.addresses[0][1]
        if self.cfg.discovery:
            await self._start_discovery()

    async def stop(self) -> None:
        if self._udp is not None:
            self._udp.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def state(self) -> dict[str, Any]:
        self.ptz.settle(self.cfg)
        return {**self.ptz.snapshot(), "probes": self.probes}

    async def _reset(self, _request: web.Request) -> web.Response:
        self.calls.clear()
        return web.json_response({"ok": True})

    async def _soap(self, request: web.Request) -> web.Response:
        service = request.match_info["service"]
        root = ET.fromstring(await request.read())
        body = root.find(f"{{{X.NS['s']}}}Body")
        op_el = next(iter(body)) if body is not None and len(body) else None
        if op_el is None:
            return self._fault(400, "Sender", "ter:InvalidArgVal", "empty body")
        op = _local(op_el.tag)
        call: dict[str, Any] = {
            "service": service,
            "op": op,
            "args": element_to_data(op_el),
            "time": time.time(),
            "authorized": True,
        }
        self.calls.append(call)
        if op != "GetSystemDateAndTime":  # readable without credentials, per ONVIF
            try:
                check_wsse(root, self.cfg)
            except AuthError as exc:
                call["authorized"] = False
                return self._fault(400, "Sender", "ter:NotAuthorized", f"Sender not authorized: {exc}")
        if op in self.cfg.stall_ops:
            await asyncio.sleep(self.cfg.stall_s)
        if service == "ptz_service" and not self.cfg.ptz:
            return self._fault(400, "Receiver", "ter:ActionNotSupported", "PTZ is not supported")
        handler = getattr(self, f"op_{op}", None)
        if handler is None:
            return self._fault(400, "Receiver", "ter:ActionNotSupported", f"{op} is not supported")
        result = handler(call["args"] if isinstance(call["args"], dict) else {})
        if isinstance(result, web.Response):
            return result
        return web.Response(body=X.envelope(result), content_type="application/soap+xml", charset="utf-8")

    @staticmethod
    def _fault(status: int, code: str, subcode: str, reason: str) -> web.Response:
        return web.Response(
            status=status,
            body=X.fault(code, subcode, reason),
            content_type="application/soap+xml",
            charset="utf-8",
        )

    # ------------------------------------------------------------------ Device
    def op_GetSystemDateAndTime(self, _a: dict[str, Any]) -> str:
        now = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.cfg.clock_offset_s)
        return X.SYSTEM_DATE_TIME.format(t=now)

    def op_GetDeviceInformation(self, _a: dict[str, Any]) -> str:
        return X.DEVICE_INFORMATION.format(
            manufacturer=self.cfg.manufacturer, model=self.cfg.model, serial=self.cfg.serial
        )

    def op_GetServices(self, _a: dict[str, Any]) -> str:
        items = [("tds", "device_service"), ("trt", "media_service")] + (
            [("tptz", "ptz_service")] if self.cfg.ptz else []
        )
        body = "".join(X.SERVICE.format(ns=X.NS[p], xaddr=f"{self.base}/onvif/{s}") for p, s in items)
        return f"<tds:GetServicesResponse>{body}</tds:GetServicesResponse>"

    def op_GetCapabilities(self, _a: dict[str, Any]) -> str:
        ptz = f"<tt:PTZ><tt:XAddr>{self.base}/onvif/ptz_service</tt:XAddr></tt:PTZ>" if self.cfg.ptz else ""
        return X.CAPABILITIES.format(base=self.base, ptz=ptz)

    # ------------------------------------------------------------------ Media
    def op_GetProfiles(self, _a: dict[str, Any]) -> str:
        ptz = X.PROFILE_PTZ if self.cfg.ptz else ""
        profiles = X.PROFILE.format(token="main", name="MainStream", width=320, height=240, fps=15, ptz=ptz)
        profiles += X.PROFILE.format(token="sub", name="SubStream", width=160, height=120, fps=5, ptz=ptz)
        return f"<trt:GetProfilesResponse>{profiles}</trt:GetProfilesResponse>"

    def op_GetStreamUri(self, a: dict[str, Any]) -> str:
        uri = self.cfg.sub_uri if a.get("ProfileToken") == "sub" else self.cfg.main_uri
        return X.MEDIA_URI.format(op="GetStreamUri", uri=uri)

    def op_GetSnapshotUri(self, a: dict[str, Any]) -> str:
        uri = f"{self.base}/snapshot/{a.get('ProfileToken')}.jpg"
        return X.MEDIA_URI.format(op="GetSnapshotUri", uri=uri)

    # ------------------------------------------------------------------ PTZ
    def op_GetConfigurationOptions(self, _a: dict[str, Any]) -> str:
        c, g = self.cfg, X.GENERIC
        spaces = "".join(
            [
                X.space2d(
                    "AbsolutePanTiltPositionSpace",
                    g + "PanTiltSpaces/PositionGenericSpace",
                    c.pan_range,
                    c.tilt_range,
                ),
                X.space1d("AbsoluteZoomPositionSpace", g + "ZoomSpaces/PositionGenericSpace", c.zoom_range),
                X.space2d(
                    "RelativePanTiltTranslationSpace",
                    g + "PanTiltSpaces/TranslationGenericSpace",
                    (-1.0, 1.0),
                    (-1.0, 1.0),
                ),
                X.space1d(
                    "RelativeZoomTranslationSpace", g + "ZoomSpaces/TranslationGenericSpace", (-1.0, 1.0)
                ),
                X.space2d(
                    "ContinuousPanTiltVelocitySpace",
                    g + "PanTiltSpaces/VelocityGenericSpace",
                    c.velocity_range,
                    c.velocity_range,
                ),
                X.space1d(
                    "ContinuousZoomVelocitySpace",
                    g + "ZoomSpaces/VelocityGenericSpace",
                    c.zoom_velocity_range,
                ),
            ]
        )
        return X.CONFIGURATION_OPTIONS.format(spaces=spaces)

    @staticmethod
    def _vec(a: dict[str, Any], key: str) -> tuple[float | None, float | None, float | None]:
        v = a.get(key) or {}
        pt, zoom = v.get("PanTilt") or {}, v.get("Zoom") or {}

        def num(d: Any, k: str) -> float | None:
            return float(d[k]) if isinstance(d, dict) and k in d else None

        return num(pt, "x"), num(pt, "y"), num(zoom, "x")

    def op_ContinuousMove(self, a: dict[str, Any]) -> str:
        self.ptz.settle(self.cfg)
        vx, vy, vz = self._vec(a, "Velocity")
        self.ptz.velocity = (vx or 0.0, vy or 0.0, vz or 0.0)
        self.ptz.moving_since = time.monotonic()  # Timeout deliberately ignored: the service must stop it
        return "<tptz:ContinuousMoveResponse/>"

    def op_Stop(self, _a: dict[str, Any]) -> str:
        self.ptz.settle(self.cfg)
        self.ptz.velocity, self.ptz.moving_since = (0.0, 0.0, 0.0), None
        return "<tptz:StopResponse/>"

    def op_AbsoluteMove(self, a: dict[str, Any]) -> str:
        x, y, z = self._vec(a, "Position")
        self.op_Stop(a)
        p = self.ptz
        p.x = x if x is not None else p.x
        p.y = y if y is not None else p.y
        p.z = z if z is not None else p.z
        return "<tptz:AbsoluteMoveResponse/>"

    def op_RelativeMove(self, a: dict[str, Any]) -> str:
        x, y, z = self._vec(a, "Translation")
        self.op_Stop(a)
        p, c = self.ptz, self.cfg
        p.x = min(max(p.x + (x or 0.0), c.pan_range[0]), c.pan_range[1])
        p.y = min(max(p.y + (y or 0.0), c.tilt_range[0]), c.tilt_range[1])
        p.z = min(max(p.z + (z or 0.0), c.zoom_range[0]), c.zoom_range[1])
        return "<tptz:RelativeMoveResponse/>"

    def op_GotoHomePosition(self, a: dict[str, Any]) -> str:
        self.op_Stop(a)
        self.ptz.x = self.ptz.y = self.ptz.z = 0.0
        return "<tptz:GotoHomePositionResponse/>"

    def op_GetStatus(self, _a: dict[str, Any]) -> str:
        self.ptz.settle(self.cfg)
        p = self.ptz
        utc = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        status = "MOVING" if p.moving_since else "IDLE"
        return X.PTZ_STATUS.format(x=p.x, y=p.y, z=p.z, status=status, utc=utc)

    def op_GetPresets(self, _a: dict[str, Any]) -> str:
        items = "".join(
            X.PRESET.format(token=t, name=n, x=pos[0], y=pos[1], z=pos[2])
            for t, (n, pos) in self.ptz.presets.items()
        )
        return f"<tptz:GetPresetsResponse>{items}</tptz:GetPresetsResponse>"

    def op_SetPreset(self, a: dict[str, Any]) -> str:
        self.ptz.settle(self.cfg)
        token = a.get("PresetToken") or self.ptz.new_token()
        name = a.get("PresetName") or token
        self.ptz.presets[token] = (name, (self.ptz.x, self.ptz.y, self.ptz.z))
        body = f"<tptz:PresetToken>{token}</tptz:PresetToken>"
        return f"<tptz:SetPresetResponse>{body}</tptz:SetPresetResponse>"

    def op_GotoPreset(self, a: dict[str, Any]) -> str | web.Response:
        preset = self.ptz.presets.get(a.get("PresetToken", ""))
        if preset is None:
            return self._fault(400, "Sender", "ter:NoToken", "no such preset")
        self.op_Stop(a)
        self.ptz.x, self.ptz.y, self.ptz.z = preset[1]
        return "<tptz:GotoPresetResponse/>"

    def op_RemovePreset(self, a: dict[str, Any]) -> str | web.Response:
        if self.ptz.presets.pop(a.get("PresetToken", ""), None) is None:
            return self._fault(400, "Sender", "ter:NoToken", "no such preset")
        return "<tptz:RemovePresetResponse/>"

    # ------------------------------------------------------------------ WS-Discovery
    async def _start_discovery(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("0.0.0.0", WSD_PORT))
        if self.cfg.discovery_interface:
            index = socket.if_nametoindex(self.cfg.discovery_interface)
            mreqn = socket.inet_aton(WSD_GROUP) + socket.inet_aton("0.0.0.0") + struct.pack("@i", index)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreqn)
        sock.setblocking(False)
        sim = self

        class Responder(asyncio.DatagramProtocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                self.transport = transport

            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                reply = sim.probe_reply(data)
                if reply is not None:
                    sim.probes += 1
                    self.transport.sendto(reply, addr)  # type: ignore[attr-defined]

        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(Responder, sock=sock)
        self._udp = transport

    def probe_reply(self, data: bytes) -> bytes | None:
        try:
            root = ET.fromstring(data)
        except ET.ParseError:
            return None
        if root.find(f".//{{{X.NS['d']}}}Probe") is None:
            return None
        msg_id = root.findtext(f".//{{{X.NS['wsa']}}}MessageID") or ""
        c = self.cfg
        scopes = " ".join(
            [
                f"onvif://www.onvif.org/name/{c.name}",
                f"onvif://www.onvif.org/hardware/{c.model}",
                f"onvif://www.onvif.org/location/{c.location}",
                "onvif://www.onvif.org/type/video_encoder",
                *(["onvif://www.onvif.org/type/ptz"] if c.ptz else []),
            ]
        )
        address = f"urn:uuid:{c.endpoint_uuid}"
        return X.PROBE_MATCHES.format(
            msg_id=uuid.uuid4(),
            relates_to=msg_id,
            address=address,
            scopes=scopes,
            xaddrs=f"{self.base}/onvif/device_service",
        ).encode()


async def _main(cfg: SimConfig) -> None:
    sim = OnvifSim(cfg)
    await sim.start()
    print("READY " + json.dumps(asdict(cfg)), flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sim.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="{}", help="SimConfig fields as JSON")
    options = parser.parse_args()
    raw = json.loads(options.config)
    for key in ("velocity_range", "zoom_velocity_range", "pan_range", "tilt_range", "zoom_range"):
        if key in raw:
            raw[key] = tuple(raw[key])
    try:
        asyncio.run(_main(SimConfig(**raw)))
    except KeyboardInterrupt:
        sys.exit(0)
