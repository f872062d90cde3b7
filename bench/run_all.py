"""Run every benchmark in turn; each writes its own section of docs/performance.md. `make bench`."""

from __future__ import annotations

import subprocess
import sys

BENCHMARKS = [
    "bench.rpc",
    "bench.cameras",
    "bench.snapshots",
    "bench.events",
    "bench.bus",
    "bench.quota",
    "bench.postgres",
    "bench.failover",
    "bench.ptz",
    "bench.client",
    "bench.kotlin_client",
    "bench.compat_push",
    "bench.analytics",
    "bench.web",
    "bench.abuse",
]


def main() -> int:
    failed = []
    for module in BENCHMARKS:
        print(f"== {module}", flush=True)
        if subprocess.call([sys.executable, "-m", module]) != 0:
            failed.append(module)
    if failed:
        print("failed: " + ", ".join(failed), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
