"""WS-Discovery Probe for ONVIF devices (UDP 3702): multicast on one interface and/or unicast to hosts.

Written directly on asyncio's DatagramProtocol and xml.etree: one Probe message out, ProbeMatches in,
matched by RelatesTo. Each device is reported once (by its endpoint address) as soon as it answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import logging
import socket
import struct
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote

from pydantic import BaseModel, Field

log = logging.getLogger("camera_service.onvif")

WSD_GROUP = "239.255.255.250"
WSD_PORT = 3702
NS = {
    "s": "http://www.w3.org/2003/05/soap-envelope",
    "a": "http://schemas.xmlsoap.org/ws/2004/08/addressing",
    "d": "http://schemas.xmlsoap.org/ws/2005/04/discovery",
}

PROBE = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="{s}" xmlns:a="{a}" xmlns:d="{d}" xmlns:dn="http://www.onvif.org/ver10/network/wsdl">'
    "<s:Header><a:MessageID>urn:uuid:{msg_id}</a:MessageID>"
    "<a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To>"
    "<a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>"
    "<s:Body><d:Probe><d:Types>dn:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>"
)


class DiscoveredDevice(BaseModel):
    address: str = Field(description="The device's WS-Discovery endpoint address (usually urn:uuid:...).")
    xaddrs: list[str] = Field(description="Device service URLs (pass one to import_onvif_camera).")
    scopes: list[str] = Field(default_factory=list, description="All scope URIs the device announced.")
    name: str | None = Field(None, description="From the onvif://www.onvif.org/name/ scope.")
    hardware: str | None = Field(None, description="From the onvif://www.onvif.org/hardware/ scope.")
    location: str | None = Field(None, description="From the onvif://www.onvif.org/location/ scope.")
    types: list[str] = Field(
        default_factory=list, description="Announced types (NetworkVideoTransmitter...)."
    )
    source: str = Field(description="IP address the answer came from.")
    registered: bool = Field(False, description="A registered camera already uses this device.")
    camera: str | None = Field(None, description="Id of the registered camera using this device, if any.")


def build_probe(msg_id: str) -> bytes:
    return PROBE.format(msg_id=msg_id, **NS).encode()


def _scope_value(scopes: list[str], kind: str) -> str | None:
    prefix = f"onvif://www.onvif.org/{kind}/"
    values = [unquote(s[len(prefix) :]) for s in scopes if s.lower().startswith(prefix)]
    return " ".join(values) if values else None


def parse_probe_matches(data: bytes, source: str, relates_to: str | None = None) -> list[DiscoveredDevice]:
    """Devices in one ProbeMatches datagram; [] for anything else (or an answer to another probe)."""
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        return []  # no DTDs from the network: no entity expansion attacks
    try:
        root = ET.fromstring(data)  # noqa: S314  (DTD-free input, see above)
    except ET.ParseError:
        return []
    if relates_to is not None:
        rel = root.findtext(".//a:RelatesTo", namespaces=NS)
        if rel is not None and rel.strip() != relates_to:
            return []
    devices = []
    for match in root.iterfind(".//d:ProbeMatches/d:ProbeMatch", NS):
        address = (match.findtext("a:EndpointReference/a:Address", namespaces=NS) or "").strip()
        xaddrs = (match.findtext("d:XAddrs", namespaces=NS) or "").split()
        scopes = (match.findtext("d:Scopes", namespaces=NS) or "").split()
        types = (match.findtext("d:Types", namespaces=NS) or "").split()
        if not address and not xaddrs:
            continue
        devices.append(
            DiscoveredDevice(
                address=address or xaddrs[0],
                xaddrs=xaddrs,
                scopes=scopes,
                types=types,
                source=source,
                name=_scope_value(scopes, "name"),
                hardware=_scope_value(scopes, "hardware"),
                location=_scope_value(scopes, "location"),
            )
        )
    return devices


def expand_hosts(hosts: Iterable[str], limit: int) -> list[tuple[str, int]]:
    """`10.0.0.5`, `10.0.0.5:3702`, `cam.local`, `10.0.0.0/28` (hosts of the net) or `10.0.0.5-10.0.0.9`."""
    out: list[tuple[str, int]] = []
    for raw in hosts:
        item = raw.strip()
        if "/" in item:
            net = ipaddress.ip_network(item, strict=False)
            # islice: never materialise a huge network (a /8 is 16M addresses) just to refuse it.
            addrs = itertools.islice(net.hosts() if net.num_addresses > 2 else iter(net), limit + 1)
            out += [(str(a), WSD_PORT) for a in addrs]
        elif "-" in item and item.count(".") == 6:
            first, last = (ipaddress.IPv4Address(p.strip()) for p in item.split("-", 1))
            if int(last) < int(first):
                raise ValueError(f"{raw}: range end before start")
            count = min(int(last) - int(first) + 1, limit + 1)
            out += [(str(first + i), WSD_PORT) for i in range(count)]
        else:
            host, _, port = item.rpartition(":") if item.count(":") == 1 else (item, "", "")
            out.append((host, int(port)) if port else (item, WSD_PORT))
        if len(out) > limit:
            raise ValueError(f"more than {limit} addresses to probe")
    return out


def interface_index(interface: str) -> int:
    """Index of an interface given by name or by one of its IPv4 addresses."""
    try:
        return socket.if_nametoindex(interface)
    except OSError:
        pass
    ipaddress.IPv4Address(interface)  # ValueError when it is neither
    import psutil

    for name, addrs in psutil.net_if_addrs().items():
        if any(a.family == socket.AF_INET and a.address == interface for a in addrs):
            return socket.if_nametoindex(name)
    raise ValueError(f"no interface has address {interface}")


class _Collector(asyncio.DatagramProtocol):
    def __init__(self, relates_to: str, on_device: Callable[[DiscoveredDevice], None]) -> None:
        self.relates_to = relates_to
        self.on_device = on_device
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        for device in parse_probe_matches(data, str(addr[0]), self.relates_to):
            self.on_device(device)

    def error_received(self, exc: Exception) -> None:
        log.debug("discovery socket error", extra={"error": str(exc)})


async def probe(
    *,
    timeout_s: float,
    multicast_interface: str | None,
    multicast: bool,
    unicast: list[tuple[str, int]],
    on_found: Callable[[DiscoveredDevice], None] | None = None,
) -> list[DiscoveredDevice]:
    """Send one Probe (multicast and/or unicast), collect ProbeMatches for `timeout_s`.

    `on_found` is called once per new device as it answers; later answers of the same device merge
    their XAddrs into the result.
    """
    msg_id = str(uuid.uuid4())
    found: dict[str, DiscoveredDevice] = {}

    def on_device(device: DiscoveredDevice) -> None:
        known = found.get(device.address)
        if known is not None:
            known.xaddrs += [x for x in device.xaddrs if x not in known.xaddrs]
            return
        found[device.address] = device
        if on_found is not None:
            on_found(device)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    sock.setblocking(False)
    try:
        sock.bind(("0.0.0.0", 0))
        if multicast:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)  # link-local by design
            if multicast_interface:
                mreqn = struct.pack("@4s4si", b"\0" * 4, b"\0" * 4, interface_index(multicast_interface))
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, mreqn)
    except BaseException:
        sock.close()
        raise
    loop = asyncio.get_running_loop()
    targets = ([(WSD_GROUP, WSD_PORT)] if multicast else []) + await _resolve(loop, unicast)
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Collector(f"urn:uuid:{msg_id}", on_device), sock=sock
    )
    try:
        message = build_probe(msg_id)
        for _round in range(2):  # UDP: send twice, as WS-Discovery recommends
            for target in targets:
                with contextlib.suppress(OSError):  # one unreachable host must not end the probe
                    transport.sendto(message, target)
            await asyncio.sleep(min(0.1, timeout_s / 4))
        await asyncio.sleep(max(0.0, timeout_s - min(0.1, timeout_s / 4) * 2))
    finally:
        transport.close()
    return list(found.values())


async def _resolve(loop: asyncio.AbstractEventLoop, targets: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Host names to IPv4 addresses (sendto must not block on DNS); unresolvable names are skipped."""
    out = []
    for host, port in targets:
        try:
            ipaddress.IPv4Address(host)
            out.append((host, port))
            continue
        except ValueError:
            pass
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, family=socket.AF_INET, type=socket.SOCK_DGRAM), 2.0
            )
            out.append((str(infos[0][4][0]), port))
        except (OSError, TimeoutError):
            log.info("discovery: cannot resolve host", extra={"host": host})
    return out
