"""Kotlin client (clients/android) vs the Python client: calls/s and latency of `ping` over ONE connection.

One service process (bench.common.ServiceUnderTest); the Kotlin client runs in a JVM
(clients/android/src/test/kotlin/cameraservice/client/bench/PingBench.kt) driven over stdin, the Python
client in this process. They take turns round by round (same service, same run), so drift of the machine
hits both alike. Two modes: sequential (one call in flight) and pipelined (several coroutines sharing the
connection). Builds the Kotlin classes with Maven first (`mvn test-compile`, ~1 min).
Run: `.venv/bin/python -m bench.kotlin_client [--calls 2000 --rounds 5 --inflight 16]`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import subprocess
import time

import psutil

from bench.common import ROOT, ServiceUnderTest, mean, percentile, write_section
from camera_service.client import CameraServiceClient

ANDROID = ROOT / "clients" / "android"
MAIN = "cameraservice.client.bench.PingBenchKt"


def build_classpath() -> str:
    mvn = shutil.which("mvn")
    if not mvn:
        raise SystemExit("mvn not found: bash scripts/setup.sh")
    out = ANDROID / "target" / "bench.classpath"
    subprocess.run(
        [mvn, "-B", "-q", "-ntp", "test-compile",
         "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath",
         f"-Dmdep.outputFile={out}", "-Dmdep.includeScope=test"],
        cwd=ANDROID, check=True,
    )  # fmt: skip
    classes = [str(ANDROID / "target" / "classes"), str(ANDROID / "target" / "test-classes")]
    return ":".join([*classes, out.read_text().strip()])


class KotlinLoad:
    def __init__(self, classpath: str, url: str, token: str) -> None:
        java = shutil.which("java") or "java"
        self.proc = subprocess.Popen(
            [java, "-cp", classpath, MAIN, url, token],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, calls: int, inflight: int) -> tuple[float, list[float]]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"run {calls} {inflight}\n")
        self.proc.stdin.flush()
        elapsed, *lat = self.proc.stdout.readline().split()
        return float(elapsed), [int(x) / 1e6 for x in lat]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        self.proc.wait(10)


async def python_run(cs: CameraServiceClient, calls: int, inflight: int) -> tuple[float, list[float]]:
    lat: list[float] = [0.0] * calls

    async def worker(first: int) -> None:
        for i in range(first, calls, inflight):
            t0 = time.perf_counter()
            assert await cs.system.ping() == "pong"
            lat[i] = time.perf_counter() - t0

    started = time.perf_counter()
    await asyncio.gather(*(worker(w) for w in range(inflight)))
    return time.perf_counter() - started, lat


Result = dict[tuple[str, int], tuple[float, list[float]]]  # (client, inflight) -> (seconds, latencies)


async def measure(classpath: str, url: str, token: str, calls: int, rounds: int, inflight: int) -> Result:
    kotlin = KotlinLoad(classpath, url, token)
    cs = CameraServiceClient(url, token=token)
    await cs.connect()
    results: Result = {}
    try:
        for mode in (1, inflight):
            kotlin.run(max(calls, 5000), mode)  # warm-up: the JIT compiles the hot path
            await python_run(cs, calls, mode)
            for _ in range(rounds):
                for name in ("Kotlin", "Python"):
                    seconds, lat = (
                        kotlin.run(calls, mode) if name == "Kotlin" else await python_run(cs, calls, mode)
                    )
                    total, all_lat = results.get((name, mode), (0.0, []))
                    results[(name, mode)] = (total + seconds, all_lat + lat)
    finally:
        await cs.close()
        kotlin.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=2000, help="calls per client per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--inflight", type=int, default=16, help="concurrent calls in the pipelined mode")
    parser.add_argument("--no-write", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()
    classpath = build_classpath()
    service = ServiceUnderTest()
    service.start()
    try:
        results = asyncio.run(
            measure(
                classpath, service.ws_url, service.token("viewer"), args.calls, args.rounds, args.inflight
            )
        )
    finally:
        service.stop()
    rows = [
        "| calls in flight | client | calls/s | ratio to Python (calls/s) | p50 µs | p99 µs | mean µs |",
        "|---|---|---|---|---|---|---|",
    ]
    for mode in (1, args.inflight):
        ref = len(results[("Python", mode)][1]) / results[("Python", mode)][0]
        for name in ("Kotlin", "Python"):
            seconds, lat = results[(name, mode)]
            rate = len(lat) / seconds
            rows.append(
                f"| {mode} | {name} | {rate:,.0f} | {rate / ref:.2f}x | {percentile(lat, 50) * 1e6:.0f} | "
                f"{percentile(lat, 99) * 1e6:.0f} | {mean(lat) * 1e6:.0f} |"
            )
    table = "\n".join(rows)
    print(table)
    java_version = subprocess.run(["java", "-version"], check=False, capture_output=True, text=True)
    java = java_version.stderr.splitlines()[0]
    body = (
        f"`python -m bench.kotlin_client --calls {args.calls} --rounds {args.rounds} --inflight "
        f"{args.inflight}` — one service process; the Kotlin client (clients/android, typed `ping()`) in "
        f"a JVM and the Python client (`cs.system.ping()`) in the bench process, each over ONE connection, "
        f"taking turns round by round ({args.calls * args.rounds} timed calls each per mode, after a "
        f"warm-up); "
        f"{platform.processor() or platform.machine()}, {psutil.cpu_count()} cores, {java}, "
        f"Python {platform.python_version()}; load average {os.getloadavg()[0]:.1f} when it ended.\n\n"
        + table
        + "\n\nWith one call in flight both clients mostly wait for the service (its time is in every "
        "row); the Kotlin client pays a thread hop per answer (OkHttp's reader thread completes the call, "
        "the caller's coroutine resumes on its own thread), which the single-threaded asyncio client does "
        "not, so it is slightly slower there. With several calls in flight on the one connection, answers "
        "are parsed on the reader thread while the callers run on other cores, and the Kotlin client does "
        "more calls/s than the Python one. The machine is shared (2 cores, other engineers' builds; the "
        "JVM, the service and the Python client compete for them): read the ratios of the same run, not "
        "the absolute numbers; p99 is mostly scheduling noise."
    )
    if not args.no_write:
        write_section("Kotlin client (clients/android) vs Python client", body)


if __name__ == "__main__":
    main()
