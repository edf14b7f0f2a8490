"""`sohoa demo`: the box's main job end to end on simulated input, for the quick start."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import click
from PIL import Image

from device.catalog import dossiers
from device.catalog.describe import dossier_json
from device.cli.context import CliContext
from device.config import load_config
from device.db.search import search_pages
from device.errors import NotFoundError
from device.intake import import_files
from device.provision import init_box

DEMO_DOSSIER = {
    "agencyId": "H49.64.33", "archiveCode": "G09", "fondsCode": "P01",
    "fondsName": "UBND xã Demo", "fileCode": "H49.64.33.2025.1",
    "title": "Hồ sơ mẫu: văn bản quy phạm pháp luật năm 2025", "maintenance": "01",
    "mode": "01", "language": ["01"], "startDate": "2025", "endDate": "2025",
    "format": "01", "paperFileCode": "G09.K1-G1-H1.1",
}


# Typed without tone marks, as a clerk in a hurry would: it still finds "Quốc hội".
DEMO_QUERY = "quoc hoi"


@click.command()
@click.option("--pages", type=click.IntRange(1, 50), default=3, show_default=True,
              help="How many simulated pages to import.")
@click.pass_context
def demo(click_context: click.Context, pages: int) -> None:
    """Set up a box in a local folder (./demo-data unless --data) and run its main job."""
    context: CliContext = click_context.obj
    if context.data_dir is None:
        context.data_dir = Path("demo-data")
    config = load_config(context.config_file, context.data_dir)
    context._config = config
    report = init_box(config, actor=context.actor)
    click.echo(f"box data in {report.data_dir}")
    if report.admin_password:
        click.echo(f"admin login: {report.admin_username} / {report.admin_password}")
    box = context.box()
    file_code = DEMO_DOSSIER["fileCode"]
    try:
        dossiers.load(box, file_code)
    except NotFoundError:
        dossiers.create_dossier(box, DEMO_DOSSIER, actor=context.actor)
        click.echo(f"created dossier {file_code}")
    files = _render_sample_pages(config.paths.run / "demo-input", pages)
    result = import_files(box, file_code, files, actor=context.actor)
    for page in result.pages:
        click.echo(f"stored page {page['id']} of {result.doc_id} sha256 {page['sha256']}")
    from device.ocr.engine import OcrEngine
    from device.worker import run_once

    with OcrEngine() as engine:
        processed = run_once(box, engine)
    click.echo(f"read {processed.processed} pages with Vietnamese OCR ({processed.failed} failed)")
    for hit in search_pages(box.db, DEMO_QUERY, limit=3):
        click.echo(f"search {DEMO_QUERY!r}: {hit['docId']} page {hit['position']}: {hit['snippet']}")
    summary = dossier_json(box, file_code)
    click.echo(json.dumps({k: summary[k] for k in ("fileCode", "state", "totalDoc", "numberOfPage",
                                                   "numberOfPaper")}, ensure_ascii=False))


def _render_sample_pages(folder: Path, count: int) -> list[Path]:
    """Flat 300 dpi renderings of the bundled sample legal texts, as a scanner would give."""
    from device.capture.render import load_texts, render_document

    folder.mkdir(parents=True, exist_ok=True)
    samples = resources.files("device.capture") / "sample_texts"
    texts = load_texts(sorted(Path(str(item)) for item in samples.iterdir()
                              if item.name.endswith(".txt")))
    paths = []
    for name, text in texts:
        for number, page in enumerate(render_document(text), start=1):
            if len(paths) == count:
                return paths
            path = folder / f"{Path(name).stem}-p{number}.png"
            Image.fromarray(page.image).save(path, dpi=(page.dpi, page.dpi))
            paths.append(path)
    return paths


COMMANDS = (demo,)
