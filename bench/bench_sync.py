"""Sync over a bad link: goodput through a 1 Mbit/s cap cut every 2 MB, bytes re-sent, protocol overhead.

The agent uploads one random package to the real hub (waitress, 127.0.0.1) through the
fault-injecting proxy of the tests (tests/agent/faultproxy.py), which caps request bodies at
--cap-bits/s and closes the connection after every --cut-bytes of body. Baseline: the cap
itself, i.e. the best a perfect client could do through that link. Goals (issue 5): goodput
≥ 80 % of the cap, ≤ one chunk re-sent per cut, protocol overhead ≤ 2 % of the payload.

    .venv/bin/python bench/bench_sync.py                       # 6 MB at 1 Mbit/s: ~50 s
    .venv/bin/python bench/bench_sync.py --size 2000000 --chunk 262144
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from agent.enrollment import enroll  # noqa: E402
from agent.sync import SyncContext, sync_pass  # noqa: E402
from device.box import Box  # noqa: E402
from device.config import load_config  # noqa: E402
from device.db import outbox  # noqa: E402
from device.provision import init_box  # noqa: E402
from tests.agent.faultproxy import FaultProxy  # noqa: E402
from tests.agent.hubserver import HubServer  # noqa: E402
from tests.conftest import BOX_CONFIG  # noqa: E402


@dataclass(frozen=True)
class Package:
    path: Path
    sha256: str
    size: int
    package_id: str
    file_code: str | None = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=6_000_000, help="package bytes")
    parser.add_argument("--cap-bits", type=int, default=1_000_000, help="link cap, bit/s")
    parser.add_argument("--cut-bytes", type=int, default=2_000_000, help="cut after this much")
    parser.add_argument("--chunk", type=int, default=256 << 10, help="agent.chunk_bytes")
    parser.add_argument("--backoff", type=float, default=0.5, help="agent.backoff_min_seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # each cut logs a warning; the figures matter here
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as scratch:
        root = Path(scratch)
        toml = root / "sohoa.toml"
        toml.write_text(BOX_CONFIG + f"\n[agent]\nchunk_bytes = {args.chunk}\n"
                        f"backoff_min_seconds = {args.backoff}\nbackoff_max_seconds = 30\n"
                        "request_timeout_seconds = 30\n", encoding="utf-8")
        config = load_config(toml, root / "data", environ={})
        init_box(config, actor="bench")
        data = os.urandom(args.size)
        package = root / "package.zip"
        package.write_bytes(data)
        with Box.open(config) as box, HubServer(root / "province") as hub:
            outbox.queue_package(box, Package(package, hashlib.sha256(data).hexdigest(),
                                              args.size, "bench-1"))
            enroll(box, hub.url, hub.enrollment_code())
            with FaultProxy(("127.0.0.1", hub.port)) as proxy:
                proxy.faults.rate = args.cap_bits / 8
                proxy.faults.cut_every = args.cut_bytes
                outbox.set_sync_values(box.db, {"hub_url": proxy.url})
                started = time.monotonic()
                passes = 0
                while outbox.unacknowledged_uploads(box.db) and passes < 20:
                    sync_pass(box, SyncContext(clock=lambda: time.time() + 1e6))
                    passes += 1
                elapsed = time.monotonic() - started
                stats = proxy.stats
            assert hub.stored()[hashlib.sha256(data).hexdigest()] == data, "not byte-identical"
    report(args, elapsed, stats, passes)


def report(args, elapsed: float, stats, passes: int) -> None:
    cap = args.cap_bits / 8
    goodput = args.size / elapsed
    resent = stats.body_bytes_up - args.size
    overhead = stats.head_bytes_up + stats.bytes_down
    print(f"payload {args.size} B, chunk {args.chunk} B, cap {args.cap_bits} bit/s, "
          f"cut every {args.cut_bytes} B, back-off from {args.backoff} s, {passes} pass(es)")
    print(f"{'goodput':<28}{goodput:>12.0f} B/s  {goodput / cap:6.1%} of the cap  (goal ≥ 80 %)")
    per_cut = resent / stats.cuts if stats.cuts else 0.0
    print(f"{'re-sent per cut':<28}{per_cut:>12.0f} B    {per_cut / args.chunk:6.2f} chunk "
          f"({stats.cuts} cuts, goal ≤ 1 chunk)")
    print(f"{'protocol overhead':<28}{overhead:>12d} B    {overhead / args.size:6.2%} of payload "
          f"(request heads + answers, {stats.requests} requests; goal ≤ 2 %)")
    print(f"{'elapsed':<28}{elapsed:>12.1f} s    baseline {args.size / cap:.1f} s at the cap")


if __name__ == "__main__":
    main()
