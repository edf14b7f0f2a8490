"""Times building a dossier's TT05 package (build_package: PDF/A per document, METS/PREMIS, validation).

Baseline, measured in the same run on the same masters: copying every page master's bytes
into a zip with zipfile (stored, as the package stores its PDFs): the least any packager pays
to carry the masters. The dossier is made once in a scratch box: D documents × P pages shot
with the simulated camera, processed by the worker (real OCR) and approved; each timed build
then runs on a fresh copy of that box, so every build is a real first build. The package's
SHA-256 is printed: the same dossier gives the same bytes on every build.

    .venv/bin/python bench/bench_package.py                      # 2 documents × 10 pages, 5 builds
    .venv/bin/python bench/bench_package.py --pages 4 --runs 3   # quicker
    .venv/bin/python bench/bench_package.py --template DIR       # keep (or reuse) the dossier
"""

from __future__ import annotations

import argparse
import logging
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_capture import DOSSIER, scratch_box  # noqa: E402

from device.archive.package import build_package  # noqa: E402
from device.box import Box  # noqa: E402
from device.capture.shoot import shoot  # noqa: E402
from device.capture.simulated import SimulatedCamera  # noqa: E402
from device.catalog.documents import set_document_fields  # noqa: E402
from device.catalog.dossiers import approve, create_dossier, set_dossier_fields  # noqa: E402
from device.config import load_config  # noqa: E402
from device.db import records  # noqa: E402
from device.db.pages import pages_of  # noqa: E402
from device.worker import run_once  # noqa: E402

log = logging.getLogger(__name__)

STORAGE = "\n[storage]\nmin_free_mb = 0\n"
DOSSIER_FIELDS = {"endDate": "2002", "format": "01", "paperFileCode": "G09.K1-G2-H3.160",
                  "keyword": "thành lập xã", "description": "Tổ số hóa lưu động lập"}
DOCUMENT_FIELDS = {"typeName": "02", "issuedDate": "15/09/2001", "organName": "UBND xã Thử",
                   "subject": "Về việc thành lập tổ dân phố", "codeNumber": "12",
                   "codeNotation": "QĐ-UBND"}


def make_dossier(root: Path, documents: int, pages: int) -> str:
    """An approved dossier of `documents` × `pages` processed pages in a scratch box at `root`."""
    config = scratch_box(root, STORAGE)
    with Box.open(config) as box:
        code = create_dossier(box, dict(DOSSIER), actor="bench")
        for seed in range(documents):
            camera = SimulatedCamera(seed=seed + 3, resolution=(1520, 2028))
            camera.start()
            try:
                shoot(box, camera, code, count=pages, actor="bench", hand_detector=lambda image: [])
            finally:
                camera.close()
        result = run_once(box, processes=2)
        if result.failed:
            raise SystemExit(f"{result.failed} pages failed processing")
        set_dossier_fields(box, code, DOSSIER_FIELDS, actor="bench")
        for seq in range(1, documents + 1):
            set_document_fields(box, f"{code}.{seq}", DOCUMENT_FIELDS, actor="bench")
        approve(box, code, actor="bench")
        box.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return code


def open_box(root: Path) -> Box:
    return Box.open(load_config(root / "sohoa.toml", root / "data", environ={}))


def masters_of(root: Path, code: str) -> list[Path]:
    with open_box(root) as box:
        dossier = records.dossier_by_code(box.db, code)
        return [box.blobs.path(page["master_sha256"])
                for row in records.documents_of(box.db, dossier["id"])
                for page in pages_of(box.db, row["id"])]


def zip_masters_s(masters: list[Path], out: Path) -> tuple[float, float]:
    """Wall and CPU seconds to copy the masters' bytes into a stored zip: the baseline."""
    start, cpu = time.perf_counter(), time.process_time()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for n, path in enumerate(masters):
            archive.writestr(f"page-{n}.jpg", path.read_bytes())
    return time.perf_counter() - start, time.process_time() - cpu


def build_s(template: Path, scratch: Path, code: str) -> tuple[float, float, str]:
    """Wall and CPU seconds of one first build of the package on a fresh copy of the box, and
    its SHA-256 (CPU time is steadier on a machine that others share)."""
    if scratch.exists():
        shutil.rmtree(scratch)
    shutil.copytree(template, scratch)
    with open_box(scratch) as box:
        start, cpu = time.perf_counter(), time.process_time()
        info = build_package(box, code, actor="bench")
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    return elapsed, cpu, info.sha256


def run(root: Path, documents: int, pages: int, runs: int, template: Path | None) -> None:
    code = DOSSIER["fileCode"]
    if template is None or not template.exists():
        template = template or root / "template"
        template.mkdir(parents=True)
        made = time.perf_counter()
        code = make_dossier(template, documents, pages)
        print(f"dossier of {documents} documents × {pages} pages made in "
              f"{time.perf_counter() - made:.0f} s")
    masters = masters_of(template, code)
    size = sum(p.stat().st_size for p in masters)
    baselines = [zip_masters_s(masters, root / "baseline.zip") for _ in range(runs)]
    builds = [build_s(template, root / "copy", code) for _ in range(runs)]
    digests = {d for _, _, d in builds}
    print(f"{len(masters)} masters, {size / 2**20:.1f} MiB; {runs} builds; package sha256 "
          f"{'/'.join(sorted(d[:16] for d in digests))}{'' if len(digests) == 1 else ' NOT STABLE'}")
    print(f"  {'':44s} {'wall':>8s}           {'cpu':>8s}")
    rows = [("baseline: masters zipped (zipfile, stored)", baselines),
            ("build_package (median)", [(t, c) for t, c, _ in builds])]
    base = [statistics.median(v[k] for v in baselines) for k in (0, 1)]
    for label, values in rows:
        wall, cpu = (statistics.median(v[k] for v in values) for k in (0, 1))
        print(f"  {label:44s} {wall * 1000:8.1f} ms {wall / base[0]:6.2f}x  "
              f"{cpu * 1000:8.1f} ms {cpu / max(base[1], 1e-6):6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=2)
    parser.add_argument("--pages", type=int, default=10, help="pages per document")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None, help="where the scratch box goes")
    parser.add_argument("--template", type=Path, default=None,
                        help="keep the approved box here, or reuse it when it exists (same "
                             "input, so the same package SHA-256, across code changes)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as scratch:
        run(Path(scratch), args.documents, args.pages, args.runs, args.template)


if __name__ == "__main__":
    main()
