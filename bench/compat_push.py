"""camera_status_update with per-connection stream tokens (issue 17, docs/adr/0012-compat-old-clients.md).

The real LivePush pushes one camera status change to N authenticated connections (real
ConnectionContext objects whose sender only counts bytes) in three ways, interleaved:
- reference: security off, one payload encoded once for everyone (what the push cost before issue 17);
- mint: security on, every connection gets a freshly minted stream token (HS256, PyJWT);
- cached: security on, the connection's token from the previous push is reused (first half of its life).

Run: `.venv/bin/python -m bench.compat_push [--connections 500] [--rounds 20]` (`--no-write` to leave
docs/performance.md alone).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import time
from datetime import date
from typing import Any

from bench.common import percentile, write_section
from camera_service.auth.config import SecurityConfig
from camera_service.auth.identity import Identity
from camera_service.auth.roles import Role
from camera_service.auth.tokens import TokenVerifier
from camera_service.cameras.config import CamerasConfig
from camera_service.cameras.live import _PUSH_URLS, PUSH_CHUNK, LivePush
from camera_service.cameras.metrics import CameraMetrics
from camera_service.cameras.models import Camera, CameraStatus, CameraStatusInfo
from camera_service.cameras.streams import build_stream_urls, with_stream_token
from camera_service.config.sections import MediaMTXConfig, ServerConfig
from camera_service.events.bus import EventBus
from camera_service.observability.metrics import Metrics
from camera_service.rpc.context import ConnectionContext
from camera_service.server.connections import ConnectionRegistry


def build(n: int) -> tuple[LivePush, dict[str, bool], list[int]]:
    verifier = TokenVerifier(SecurityConfig(jwt_secret="b" * 48), b"b" * 48)
    server, mtx = ServerConfig(), MediaMTXConfig()
    security = {"on": False}
    sent = [0]

    def urls(camera_id: str, identity: Identity | None) -> Any:
        plain = build_stream_urls(camera_id, server, mtx)
        if not security["on"]:
            return plain
        claims = {"sub": identity.subject if identity else "x", "role": "viewer", "typ": "stream"}
        token = verifier.mint({**claims, "cameras": [camera_id]}, 300)
        return with_stream_token(plain, token, time.time() + 300)

    def count(payload: bytes) -> bool:
        sent[0] += len(payload)
        return True

    registry = ConnectionRegistry()
    for i in range(n):
        ident = Identity(subject=f"user{i}", role=Role.VIEWER)
        registry.add(ConnectionContext(remote=f"10.0.0.{i % 250}", identity=ident, _send_encoded=count))
    push = LivePush(
        CamerasConfig(),
        EventBus(),
        registry,
        CameraMetrics(Metrics().registry),
        None,  # type: ignore[arg-type]  # the status tracker is not used by a push
        stream_urls=urls,
        tokens_on=lambda: security["on"],
        reader_url=lambda c: c,
        lookup=lambda c: None,
    )
    return push, security, sent


async def timed_push(push: LivePush, camera: Camera, info: CameraStatusInfo) -> tuple[float, float]:
    """(ms until every connection has the push, longest ms the loop was held in one go)."""
    longest = [0.0]
    done = asyncio.Event()

    async def probe() -> None:  # gets a turn whenever the push hands the loop back
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0)
            now = time.perf_counter()
            longest[0] = max(longest[0], now - last)
            last = now

    prober = asyncio.create_task(probe())
    await asyncio.sleep(0)
    t0 = time.perf_counter()
    push._push(camera, info)
    await push.wait_pushed()
    total = time.perf_counter() - t0
    done.set()
    await prober
    return total * 1000, max(longest[0], 0.0) * 1000


async def run(args: argparse.Namespace) -> str:
    push, security, sent = build(args.connections)
    camera = Camera(id="cam1", name="one", source="publisher")
    info = CameraStatusInfo(status=CameraStatus.ONLINE, streaming=True, width=320, height=240, fps=25)
    times: dict[str, list[float]] = {"reference": [], "mint": [], "cached": []}
    held: dict[str, list[float]] = {"reference": [], "mint": [], "cached": []}
    for _ in range(args.rounds):
        for mode in ("reference", "mint", "cached"):
            security["on"] = mode != "reference"
            if mode == "mint":
                for conn in push.connections:
                    conn.state.pop(_PUSH_URLS, None)
            sent[0] = 0
            total, longest = await timed_push(push, camera, info)
            times[mode].append(total)
            held[mode].append(longest)
            assert sent[0] > 0
    ref = percentile(times["reference"], 50)
    rows = [
        f"| {mode} | {args.rounds} | {percentile(v, 50):.2f} | {percentile(v, 95):.2f} | "
        f"{percentile(v, 50) / ref:.1f}x | {max(held[mode]):.2f} |"
        for mode, v in times.items()
    ]
    body = (
        f"`python -m bench.compat_push --connections {args.connections} --rounds {args.rounds}` on "
        f"{platform.machine()}, Python {platform.python_version()}, {date.today()}: one camera_status_update "
        f"to {args.connections} authenticated connections through the real LivePush (event-loop time "
        f"of one push; with tokens it runs in chunks of {PUSH_CHUNK} connections, handing the loop back in "
        "between: the last column is the longest the loop was held in one go).\n\n"
        "| push | rounds | p50 ms | p95 ms | vs reference (p50) | loop held max ms |\n"
        "|---|---|---|---|---|---|\n"
        + "\n".join(rows)
        + "\n\nreference = security off, one encode for all; mint = a fresh stream token per connection; "
        "cached = the connection's token reused (pushes within the first half of the token's lifetime, "
        "ADR 0012). Every RPC result (get_camera_list, get_camera_status) still mints a fresh token."
    )
    return body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    body = asyncio.run(run(args))
    print(body)
    if not args.no_write:
        write_section("Compat pushes with per-connection stream tokens", body)


if __name__ == "__main__":
    main()
