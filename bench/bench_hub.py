"""Hub throughput: N simulated devices uploading to one hub at once over loopback (tus, httpx).

The hub runs in this process (waitress in a thread, its own scratch folder); each device is a
thread with its own enrolled token that uploads one package of `--mb` MiB in 1 MiB chunks with
`Upload-Checksum: sha256`, as the agent does, then fetches its receipt. The packages are
hand-built zips of random bytes, so the validator rejects them early (no PDF/A work): this
measures the intake path (tus, fsync per chunk, whole-file hash, store, signed receipt).
Baseline, measured in the same run: ONE device uploading the same size alone. Printed: wall
time, aggregate goodput, its ratio to the single-device goodput, and errors (goal: 0).

    .venv/bin/python bench/bench_hub.py                  # 50 devices x 4 MiB
    .venv/bin/python bench/bench_hub.py --devices 20 --mb 16
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import logging
import os
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from device.config import load_config  # noqa: E402
from hub.app import create_app  # noqa: E402
from hub.context import Hub  # noqa: E402
from hub.devices import issue_enrollment_code  # noqa: E402
from hub.serve import make_server, stop_server  # noqa: E402

CHUNK = 1 << 20


def package(megabytes: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("pkg/data.bin", os.urandom(megabytes << 20))
    return buffer.getvalue()


def enroll(url: str, hub: Hub, name: str) -> str:
    db = hub.catalog()
    try:
        code = issue_enrollment_code(db, name, 1, actor="bench")
    finally:
        db.close()
    answer = httpx.post(f"{url}/api/v1/enroll", json={"code": code, "box_name": name,
                                                      "version": "bench"})
    answer.raise_for_status()
    return answer.json()["token"]


def upload(url: str, token: str, data: bytes, errors: list[str]) -> None:
    sha = hashlib.sha256(data).hexdigest()
    meta = ",".join(f"{k} {base64.b64encode(v.encode()).decode()}"
                    for k, v in {"filename": "p.zip", "sha256": sha, "package_id": sha[:12]}.items())
    base = {"Tus-Resumable": "1.0.0", "Authorization": f"Bearer {token}"}
    try:
        with httpx.Client(base_url=url, headers=base, timeout=300) as client:
            created = client.post("/api/v1/uploads/", headers={
                "Upload-Length": str(len(data)), "Upload-Metadata": meta})
            created.raise_for_status()
            for offset in range(0, len(data), CHUNK):
                chunk = data[offset:offset + CHUNK]
                digest = base64.b64encode(hashlib.sha256(chunk).digest()).decode()
                answer = client.patch(created.headers["Location"], content=chunk, headers={
                    "Upload-Offset": str(offset), "Upload-Checksum": f"sha256 {digest}",
                    "Content-Type": "application/offset+octet-stream"})
                if answer.status_code != 204:
                    errors.append(f"PATCH {answer.status_code}: {answer.text[:100]}")
                    return
            if client.get(f"/api/v1/packages/{sha}").status_code != 200:
                errors.append("no receipt")
    except httpx.HTTPError as exc:
        errors.append(f"{type(exc).__name__}: {exc}")


def run(url: str, tokens: list[str], payloads: list[bytes]) -> tuple[float, list[str]]:
    errors: list[str] = []
    threads = [threading.Thread(target=upload, args=(url, token, data, errors))
               for token, data in zip(tokens, payloads)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - start, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50)
    parser.add_argument("--mb", type=int, default=4)
    parser.add_argument("--threads", type=int, default=8, help="the hub's waitress threads")
    args = parser.parse_args()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # 'queue depth' chatter
    with tempfile.TemporaryDirectory() as scratch:
        config_path = Path(scratch) / "hub.toml"
        config_path.write_text(f"[hub]\nthreads = {args.threads}\nmax_upload_mb = 1024\n")
        config = load_config(config_path, Path(scratch) / "data", environ={})
        hub = Hub.open(config)
        server = make_server(create_app(config, hub=hub), hub, "127.0.0.1:0")
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.effective_port}"
        try:
            tokens = [enroll(url, hub, f"dev-{n}") for n in range(args.devices + 1)]
            payloads = [package(args.mb) for _ in range(args.devices + 1)]
            alone, alone_errors = run(url, tokens[:1], payloads[:1])
            together, errors = run(url, tokens[1:], payloads[1:])
        finally:
            stop_server(server)
            thread.join(timeout=10)
    size = len(payloads[0])
    single = size / alone / 1e6
    aggregate = size * args.devices / together / 1e6
    print(f"baseline: 1 device x {size / 1e6:.1f} MB alone: {alone:.2f} s, "
          f"{single:.1f} MB/s ({len(alone_errors)} errors)")
    print(f"{args.devices} devices at once (hub threads {args.threads}): {together:.2f} s, "
          f"aggregate {aggregate:.1f} MB/s = {aggregate / single:.2f}x the single device; "
          f"errors {len(errors)} (goal 0)")
    for error in errors[:10]:
        print(f"  error: {error}")


if __name__ == "__main__":
    main()
