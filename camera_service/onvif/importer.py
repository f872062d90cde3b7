"""Import an ONVIF device as a camera: read what it offers, then create or update it in the registry.

Reads device information, media profiles, main/sub stream URIs (GetStreamUri), the snapshot URI and
PTZ capability/ranges (GetConfigurationOptions). The RTSP source comes from the chosen profile;
credentials go through the registry's own handling (split off the URL, stored encrypted): the
stream URI's own credentials when it has some, else the ONVIF ones (cameras use the same account).
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from camera_service.cameras.models import Camera, OnvifEndpoint
from camera_service.cameras.urls import SourceError, parse_source
from camera_service.core.errors import NotSupported, UpstreamFailure, invalid_input
from camera_service.core.types import JsonObject
from camera_service.onvif.client import OnvifClient, to_plain
from camera_service.onvif.models import (
    OnvifDeviceData,
    OnvifProfile,
    PtzInfo,
    generic_ranges,
    ranges_from_options,
)

if TYPE_CHECKING:
    from camera_service.cameras.ports import CameraAdmin

log = logging.getLogger("camera_service.onvif")

STREAM_SETUP: JsonObject = {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}


def _strip_credentials(uri: str | None) -> str | None:
    if not uri:
        return None
    return re.sub(r"^([a-z][a-z0-9+.-]*://)[^/@]*@", r"\1", uri, flags=re.IGNORECASE)


def _profile(p: dict[str, Any]) -> OnvifProfile:
    venc = p.get("VideoEncoderConfiguration") or {}
    res = venc.get("Resolution") or {}
    rate = venc.get("RateControl") or {}
    return OnvifProfile(
        token=str(p.get("token")),
        name=p.get("Name"),
        encoding=venc.get("Encoding"),
        width=res.get("Width"),
        height=res.get("Height"),
        fps=rate.get("FrameRateLimit"),
        ptz=bool(p.get("PTZConfiguration")),
    )


async def read_ptz_info(
    client: OnvifClient, profiles: list[dict[str, Any]], preferred: str | None
) -> PtzInfo:
    """PTZ profile, configuration and ranges; supported=False when the device has no PTZ."""
    if not client.has_service("ptz"):
        return PtzInfo(supported=False)
    candidates = [p for p in profiles if p.get("PTZConfiguration")]
    if not candidates:
        return PtzInfo(supported=False)
    chosen = next((p for p in candidates if p.get("token") == preferred), candidates[0])
    config_token = (chosen.get("PTZConfiguration") or {}).get("token")
    try:
        options = to_plain(
            await client.call("ptz", "GetConfigurationOptions", {"ConfigurationToken": config_token})
        )
        ranges = ranges_from_options(options or {})
    except NotSupported:
        ranges = generic_ranges()  # the camera does not describe its spaces: assume the generic ones
    return PtzInfo(
        supported=True,
        profile_token=str(chosen.get("token")),
        configuration_token=config_token,
        ranges=ranges,
    )


async def read_device(client: OnvifClient, profile: str | None) -> OnvifDeviceData:
    """Everything the service stores about an ONVIF device."""
    info = to_plain(await client.call("devicemgmt", "GetDeviceInformation")) or {}
    profiles = to_plain(await client.call("media", "GetProfiles")) or []
    if not profiles:
        raise UpstreamFailure(
            "the camera has no media profiles",
            {"upstream": "onvif", "reason": "no_profiles"},
        )
    tokens = [str(p.get("token")) for p in profiles]
    if profile is not None and profile not in tokens:
        raise invalid_input("profile", f"the camera has no profile '{profile}' (it has {', '.join(tokens)})")
    main = profile or tokens[0]
    sub = next((t for t in tokens if t != main), None)

    async def stream_uri(token: str) -> str | None:
        reply = await client.call(
            "media", "GetStreamUri", {"StreamSetup": STREAM_SETUP, "ProfileToken": token}
        )
        return getattr(reply, "Uri", None)

    main_uri = await stream_uri(main)
    sub_uri = await stream_uri(sub) if sub else None
    try:
        snapshot = getattr(await client.call("media", "GetSnapshotUri", {"ProfileToken": main}), "Uri", None)
    except (NotSupported, UpstreamFailure):
        snapshot = None  # optional feature
    return OnvifDeviceData(
        manufacturer=info.get("Manufacturer"),
        model=info.get("Model"),
        firmware=info.get("FirmwareVersion"),
        serial=info.get("SerialNumber"),
        hardware_id=info.get("HardwareId"),
        profiles=[_profile(p) for p in profiles],
        profile=main,
        sub_profile=sub,
        stream_uri=main_uri,
        sub_stream_uri=_strip_credentials(sub_uri),
        snapshot_uri=_strip_credentials(snapshot),
        ptz=await read_ptz_info(client, profiles, main),
        clock_offset_s=client.clock_offset_s,
        imported_at=time.time(),
    )


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")[:56]
    return slug or "onvif-camera"


def find_by_xaddr(cameras: list[Camera], xaddr: str) -> Camera | None:
    """The registered camera using this device service URL (host and port compared), if any."""
    from camera_service.onvif.client import parse_xaddr

    want = parse_xaddr(xaddr)
    for cam in cameras:
        ep = cam.onvif
        if ep is None:
            continue
        try:
            have = parse_xaddr(ep.xaddr) if ep.xaddr else ((ep.host or ""), ep.port)
        except ValueError:
            continue
        if have == want:
            return cam
    return None


def camera_from_import(
    *,
    existing: Camera | None,
    camera_id: str,
    name: str | None,
    xaddr: str,
    user: str | None,
    password: str | None,
    data: OnvifDeviceData,
) -> Camera:
    if not data.stream_uri:
        raise UpstreamFailure(
            "the camera returned no stream URI",
            {"upstream": "onvif", "reason": "no_stream_uri"},
        )
    try:
        parsed = parse_source(data.stream_uri)
    except SourceError as exc:
        raise UpstreamFailure(
            f"the camera's stream URI is not usable: {exc}",
            {"upstream": "onvif", "reason": "bad_stream_uri"},
        ) from None
    rtsp_user = parsed.username if parsed.username is not None else user
    rtsp_pass = parsed.password if parsed.username is not None else password
    data = data.model_copy(update={"stream_uri": parsed.source})
    from camera_service.onvif.client import parse_xaddr

    host, port = parse_xaddr(xaddr)
    endpoint = OnvifEndpoint(
        host=host,
        port=port,
        xaddr=xaddr,
        username=user,
        password=SecretStr(password) if password else None,
        profile_token=data.profile,
    )
    fields: dict[str, Any] = {
        "source": parsed.source,
        "username": rtsp_user,
        "password": SecretStr(rtsp_pass) if rtsp_pass else None,
        "secret_query": {k: SecretStr(v) for k, v in parsed.secret_query.items()},
        "onvif": endpoint,
    }
    if existing is not None:
        metadata = {**existing.metadata, "onvif": data.model_dump(mode="json")}
        return existing.model_copy(
            update={**fields, "metadata": metadata, **({"name": name} if name else {})}
        )
    display = name or " ".join(x for x in (data.manufacturer, data.model) if x) or host
    return Camera(id=camera_id, name=display, metadata={"onvif": data.model_dump(mode="json")}, **fields)


async def import_camera(
    cameras: CameraAdmin,
    client: OnvifClient,
    *,
    xaddr: str,
    user: str | None,
    password: str | None,
    profile: str | None,
    camera_id: str | None,
    name: str | None,
) -> tuple[Camera, bool]:
    """Read the device and create (or update) its camera. Returns (camera, created)."""
    data = await read_device(client, profile)
    known = await cameras.list_all()
    existing: Camera | None = None
    if camera_id is not None:
        existing = next((c for c in known if c.id == camera_id), None)
    else:
        existing = find_by_xaddr(known, xaddr)
    if existing is not None:
        camera = camera_from_import(
            existing=existing,
            camera_id=existing.id,
            name=name,
            xaddr=xaddr,
            user=user,
            password=password,
            data=data,
        )
        return await cameras.replace(camera), False
    if camera_id is None:
        base = slugify(name or " ".join(x for x in (data.manufacturer, data.model) if x) or "onvif")
        ids = {c.id for c in known}
        camera_id = base
        n = 2
        while camera_id in ids:
            camera_id, n = f"{base}-{n}", n + 1
    camera = camera_from_import(
        existing=None, camera_id=camera_id, name=name, xaddr=xaddr, user=user, password=password, data=data
    )
    log.info(
        "onvif camera imported", extra={"camera": camera.id, "host": client.host, "ptz": data.ptz.supported}
    )
    return await cameras.add(camera), True
