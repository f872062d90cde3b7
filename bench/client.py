"""Python client overhead per call: camera_service.client vs raw `websockets` against the same service.

One service process (bench.common.ServiceUnderTest), one load process (this one), one connection per
variant, sequential calls (each waits for its reply), so the difference between variants is the client's
own per-call work: request encoding, id correlation through a future, reply dispatch from the reader task,
and for typed calls the pydantic validation of the result. Variants take turns call by call, so drift of
the machine hits all of them alike. Run: `.venv/bin/python -m bench.client [--calls 2000 --rounds 5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import time
from collections.abc import Awaitable, Callable

import psutil
from websockets.asyncio.client import ClientConnection, connect

from bench.common import ServiceUnderTest, mean, percentile, write_section
from camera_service.client import CameraServiceClient

Call = Callable[[], Awaitable[object]]


def raw_call(ws: ClientConnection, method: str) -> Call:
    """The reference: build the request, send, receive, parse; no correlation, no validation."""
    ids = iter(range(1, 1 << 62))

    async def call() -> object:
        await ws.send(json.dumps({"jsonrpc": "2.0", "method": method, "id": next(ids)}))
        reply = json.loads(await ws.recv())
        if "result" not in reply:
            raise RuntimeError(reply)
        return reply["result"]

    return call


async def timed(call: Call, n: int) -> list[float]:
    lat = []
    for _ in range(n):
        t0 = time.perf_counter()
        await call()
        lat.append(time.perf_counter() - t0)
    return lat


async def measure(url: str, token: str, calls: int, rounds: int) -> dict[str, dict[str, list[float]]]:
    headers = {"Authorization": f"Bearer {token}"}
    ws_ping = await connect(url, additional_headers=headers, max_size=None, compression=None)
    ws_info = await connect(url, additional_headers=headers, max_size=None, compression=None)
    cs = CameraServiceClient(url, token=token)
    await cs.connect()
    await cs.system.get_server_info()  # import the models before timing (first typed call only)
    variants: dict[str, dict[str, Call]] = {
        "ping": {
            "raw websockets": raw_call(ws_ping, "ping"),
            "client call()": lambda: cs.call("ping"),
            "client typed": cs.system.ping,
        },
        "get_server_info": {
            "raw websockets": raw_call(ws_info, "get_server_info"),
            "client call()": lambda: cs.call("get_server_info"),
            "client typed": cs.system.get_server_info,
        },
    }
    lat: dict[str, dict[str, list[float]]] = {m: {v: [] for v in vs} for m, vs in variants.items()}
    try:
        for method, calls_by in variants.items():
            for call in calls_by.values():  # warm-up
                await timed(call, 200)
            for _ in range(rounds * calls):  # call by call in turn: drift hits every variant alike
                for name, call in calls_by.items():
                    t0 = time.perf_counter()
                    await call()
                    lat[method][name].append(time.perf_counter() - t0)
    finally:
        await cs.close()
        await ws_ping.close()
        await ws_info.close()
    return lat


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000, help="calls per variant per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    service = ServiceUnderTest()
    service.start()
    try:
        lat = asyncio.run(measure(service.ws_url, service.token("viewer"), args.calls, args.rounds))
    finally:
        service.stop()
    rows = [
        "| method | variant | mean µs | p50 µs | p99 µs | ratio to raw (p50) | ratio to raw (mean) "
        "| overhead µs/call (p50) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method, by in lat.items():
        ref, ref50 = mean(by["raw websockets"]), percentile(by["raw websockets"], 50)
        for name, values in by.items():
            m, p50 = mean(values), percentile(values, 50)
            rows.append(
                f"| `{method}` | {name} | {m * 1e6:.0f} | {p50 * 1e6:.0f} | "
                f"{percentile(values, 99) * 1e6:.0f} | {p50 / ref50:.2f}x | {m / ref:.2f}x | "
                f"{(p50 - ref50) * 1e6:+.0f} |"
            )
    table = "\n".join(rows)
    print(table)
    body = (
        f"`python -m bench.client --calls {args.calls} --rounds {args.rounds}` — one service process, "
        f"this process as the client, one connection per variant, sequential calls, variants taking turns "
        f"call by call ({args.calls * args.rounds} timed calls each); "
        f"{platform.processor() or platform.machine()}, {psutil.cpu_count()} cores, "
        f"Python {platform.python_version()}.\n\n"
        + table
        + "\n\n`raw websockets` sends the request and parses the reply on a bare `websockets` connection "
        "(no id correlation, no validation): the floor a hand-written script reaches. `client call()` is "
        "`CameraServiceClient.call()` (reader task, future per call, JSON result). `client typed` is the "
        "generated coroutine (`cs.system.ping()`), which also validates the result into its pydantic "
        "model. The service's own time is in every row; the overhead column is the client's share. The "
        "machine is shared (2 cores, other engineers' builds): read the p50 columns; means and p99 carry "
        "the noise."
    )
    if not args.no_write:
        write_section("Python client overhead", body)


if __name__ == "__main__":
    main()
