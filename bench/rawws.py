"""A minimal WebSocket client on a bare asyncio.Protocol, for measuring fan-out without client overhead.

A real deployment has one subscriber per device; a benchmark has 1000 in one Python process, where a full
client library's per-message work (frame parsing, queues, a task wake-up per message) runs serially and
inflates the measured latency. This client timestamps each frame in `data_received`, when its bytes reach
the subscriber, and does the least possible work per frame. Text frames only, no fragmentation.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Callable
from urllib.parse import urlsplit

FrameHandler = Callable[[bytes, float], None]


def masked_text_frame(payload: bytes, opcode: int = 0x1) -> bytes:
    n = len(payload)
    first = 0x80 | opcode
    if n < 126:
        header = bytes((first, 0x80 | n))
    elif n < 1 << 16:
        header = bytes((first, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        header = bytes((first, 0x80 | 127)) + n.to_bytes(8, "big")
    mask = os.urandom(4)
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    body = (int.from_bytes(payload, "big") ^ key).to_bytes(n, "big") if n else b""
    return header + mask + body


class RawWebSocket(asyncio.Protocol):
    def __init__(self, on_frame: FrameHandler) -> None:
        self.on_frame = on_frame
        self.transport: asyncio.Transport | None = None
        self.open: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._buf = bytearray()
        self._handshaken = False

    @classmethod
    async def connect(cls, url: str, on_frame: FrameHandler) -> RawWebSocket:
        parts = urlsplit(url)
        loop = asyncio.get_running_loop()
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        transport, proto = await loop.create_connection(lambda: cls(on_frame), host, port)
        proto.transport = transport  # uvloop may call connection_made after create_connection returns
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        await asyncio.wait_for(proto.open, 30)
        return proto

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not asyncio classes

    def send_text(self, payload: bytes) -> None:
        assert self.transport is not None
        self.transport.write(masked_text_frame(payload))

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self._buf += data
        if not self._handshaken:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if b" 101 " not in self._buf[: self._buf.find(b"\r\n")]:
                self.open.set_exception(ConnectionError(bytes(self._buf[:end]).decode(errors="replace")))
                return
            del self._buf[: end + 4]
            self._handshaken = True
            self.open.set_result(None)
        buf = self._buf
        while len(buf) >= 2:
            length = buf[1] & 0x7F
            offset = 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, offset = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, offset = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < offset + length:
                return
            opcode = buf[0] & 0x0F
            payload = bytes(buf[offset : offset + length])
            del buf[: offset + length]
            if opcode == 0x1:
                self.on_frame(payload, now)
            elif opcode == 0x9 and self.transport is not None:  # a heartbeat ping: unanswered, it hangs up
                self.transport.write(masked_text_frame(payload, opcode=0xA))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
