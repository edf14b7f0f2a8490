"""How fast the web UI answers with a 1,000-page dossier (the issue's "stays fast" goal).

A scratch box gets one dossier of 10 documents × 100 processed pages (one real A4 master at
300 dpi with its real OCR word boxes, shared by every page so the blob store stays small;
thumbnails are cached by the image they show, so the cold figure clears the cache first). Requests go through
Flask's test client in this process, logged in as an operator: the figures are the app's own
work (templates, database, thumbnails), without the network or waitress.

Baseline, measured in the same run: the login page (a template with no database work), the
least a page of this UI costs. Each figure is the median of --repeat requests, printed in
milliseconds and as a ratio to the baseline.

    .venv/bin/python bench/bench_web.py               # 1,000 pages, 15 requests each
    .venv/bin/python bench/bench_web.py --pages 3000
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2  # noqa: E402

from bench_capture import DOSSIER, scratch_box  # noqa: E402
from device.accounts import create_user  # noqa: E402
from device.box import Box  # noqa: E402
from device.catalog.dossiers import create_dossier  # noqa: E402
from device.db import records  # noqa: E402
from device.db.pages import NewPage, add_pages, finish_page, record_capture  # noqa: E402
from device.db.search import index_page_text  # noqa: E402
from web_ui.app import create_app  # noqa: E402
from web_ui.thumbs import cache_folder  # noqa: E402

PASSWORD = "bench-mat-khau-123"
DOCUMENTS = 10
TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


def a4_master() -> tuple[bytes, bytes]:
    """A real page master (a page of the shared maintenance guide at 300 dpi, as JPEG) and
    its word boxes from a real OCR run, as the worker stores them."""
    from device.ocr.engine import OcrEngine
    from device.worker.word_boxes import encode

    found = sorted((REPO.parent / "shared" / "data" / "maint-guide-vi" / "png300").glob("*.png"))
    if not found:
        sys.exit("bench_web needs the shared development data beside the project")
    image = cv2.imread(str(found[0]), cv2.IMREAD_COLOR)
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    with OcrEngine() as engine:
        words = encode(engine.recognize(image, dpi=300), 300)
    return data.tobytes(), words


def fill(box: Box, pages: int) -> str:
    """A dossier of DOCUMENTS documents sharing `pages` processed pages; returns its code."""
    code = create_dossier(box, dict(DOSSIER), actor="bench")
    dossier = records.dossier_by_code(box.db, code)
    master_jpeg, word_boxes = a4_master()
    master, words = box.blobs.put(master_jpeg), box.blobs.put(word_boxes)
    with box.db.conn:
        capture = record_capture(box.db, raw_sha256=master, media_type="image/jpeg",
                                 source="bench", dossier_id=dossier["id"])
        for _ in range(DOCUMENTS):
            document_id, _ = records.insert_document(box.db, dossier["id"], {})
            for page_id in add_pages(box.db, document_id, capture, [NewPage()] * (pages // DOCUMENTS)):
                text = f"Quyết định số {page_id} về việc thành lập tổ dân phố Đồng Tâm"
                finish_page(box.db, page_id, master_sha256=master, ocr_image_sha256=None,
                            hocr_sha256=words, dpi=300.0, qc_flags={}, blank=False, text=text,
                            confidence=91.0, engine="bench", model_sha256="0" * 64)
                index_page_text(box.db, page_id, text)
    return code


def median_ms(client, path: str, repeat: int, before=lambda: None, status: int = 200) -> float:
    times = []
    for _ in range(repeat):
        before()
        start = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - start) * 1000.0)
        assert answer.status_code == status, (path, answer.status_code)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="sohoa-bench-web-"))
    try:
        config = scratch_box(root)
        with Box.open(config) as box:
            code = fill(box, args.pages)
            create_user(box.db, "vanthu", "operator", PASSWORD, actor="bench")
            page_ids = [row[0] for row in box.db.conn.execute("SELECT id FROM pages ORDER BY id")]
        app = create_app(config)
        client = app.test_client()
        token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
        assert client.post("/login", data={"username": "vanthu", "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
        with Box.open(config) as box:
            thumbs = cache_folder(box)

        def clear_thumbnails() -> None:
            shutil.rmtree(thumbs, ignore_errors=True)

        anonymous = app.test_client()
        baseline = median_ms(anonymous, "/login", args.repeat)
        rows = [
            ("dossier list", median_ms(client, "/", args.repeat)),
            ("dossier page", median_ms(client, f"/dossiers/{code}", args.repeat)),
            ("page grid, first screen", median_ms(client, f"/dossiers/{code}/pages", args.repeat)),
            ("page grid, last screen", median_ms(client, f"/dossiers/{code}/pages?page={page_ids[-1]}",
                                                 args.repeat)),
            ("review, page 500", median_ms(client, f"/dossiers/{code}/review/{len(page_ids) // 2}",
                                           args.repeat)),
            ("search 'dong tam' (all pages match)", median_ms(client, "/search?q=dong+tam", args.repeat)),
            ("thumbnail, cold (made from the master)",
             median_ms(client, f"/pages/{page_ids[0]}/thumb.jpg", args.repeat, clear_thumbnails)),
            ("thumbnail, cached", median_ms(client, f"/pages/{page_ids[0]}/thumb.jpg", args.repeat)),
        ]
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{args.pages} pages in {DOCUMENTS} documents; median of {args.repeat} requests "
          "through Flask's test client")
    print(f"  {'baseline: the login page':42s} {baseline:8.1f} ms   1.00x")
    for label, value in rows:
        print(f"  {label:42s} {value:8.1f} ms {value / baseline:6.1f}x")


if __name__ == "__main__":
    main()
