"""`sohoa demo --walkthrough`: the box's main job scripted end to end on simulated input, in one process."""

from __future__ import annotations

import json

import click

from device.catalog import dossiers
from device.catalog.describe import dossier_json
from device.catalog.documents import set_document_fields
from device.cli.context import CliContext
from device.config import load_config
from device.db.search import search_pages
from device.errors import NotFoundError
from device.provision import init_box

DEMO_AGENCY = "H49.64.33"
DEMO_DOSSIER = {
    "agencyId": DEMO_AGENCY, "archiveCode": "G09", "fondsCode": "P01",
    "fondsName": "UBND xã Demo",
    "title": "Hồ sơ mẫu: văn bản quy phạm pháp luật năm 2025", "maintenance": "01",
    "mode": "01", "language": ["01"], "startDate": "2025", "endDate": "2025",
    "format": "01", "paperFileCode": "G09.K1-G1-H1.1",
}
DEMO_DOCUMENT = {"typeName": "02", "issuedDate": "15/09/2025", "organName": "UBND xã Demo",
                 "subject": "Về việc ban hành văn bản mẫu", "codeNumber": "12",
                 "codeNotation": "QĐ-UBND"}


# Typed without tone marks, as a clerk in a hurry would: it still finds "Quốc hội".
DEMO_QUERY = "quoc hoi"


def walkthrough(context: CliContext, pages: int) -> None:
    """Set up a box in the data folder and run its main job in this one process: shoot pages with
    the simulated camera, clean and read them, search, approve, package."""
    config = load_config(context.config_file, context.data_dir)
    context._config = config
    report = init_box(config, actor=context.actor)
    click.echo(f"box data in {report.data_dir}")
    if report.admin_password:
        click.echo(f"admin login: {report.admin_username} / {report.admin_password}")
    box = context.box()
    file_code = _new_dossier(box, context.actor)
    click.echo(f"created dossier {file_code}")
    doc = _shoot(box, file_code, pages, context.actor)
    from device.ocr.engine import OcrEngine
    from device.worker import run_once

    with OcrEngine() as engine:
        processed = run_once(box, engine)
    click.echo(f"read {processed.processed} pages with Vietnamese OCR ({processed.failed} failed)")
    for hit in search_pages(box.db, DEMO_QUERY, limit=3):
        click.echo(f"search {DEMO_QUERY!r}: {hit['docId']} page {hit['position']}: {hit['snippet']}")
    set_document_fields(box, doc, DEMO_DOCUMENT, actor=context.actor)
    dossiers.approve(box, file_code, actor=context.actor)
    from device.archive.package import build_package

    package = build_package(box, file_code, actor=context.actor)
    click.echo(f"package {package.path} sha256 {package.sha256} ({package.size} bytes)")
    summary = dossier_json(box, file_code)
    click.echo(json.dumps({k: summary[k] for k in ("fileCode", "state", "totalDoc", "numberOfPage",
                                                   "numberOfPaper")}, ensure_ascii=False))


def _new_dossier(box, actor: str) -> str:
    """A new demo dossier: each run makes the next one (the last is approved and packaged)."""
    number = 1
    while True:
        file_code = f"{DEMO_AGENCY}.2025.{number}"
        try:
            dossiers.load(box, file_code)
        except NotFoundError:
            dossiers.create_dossier(box, {**DEMO_DOSSIER, "fileCode": file_code}, actor=actor)
            return file_code
        number += 1


def _shoot(box, file_code: str, count: int, actor: str) -> str:
    """Shoot `count` pages of the bundled sample texts into a new document; its docId."""
    from device.capture.shoot import iter_shots
    from device.capture.simulated import SimulatedCamera

    camera = SimulatedCamera(seed=int(file_code.rsplit(".", 1)[1]))
    doc = ""
    try:
        shots = iter_shots(box, camera, file_code, count=count, actor=actor)
        camera.start()
        for shot in shots:
            doc = shot.doc_id
            verdict = "ok" if shot.ok else ", ".join(flag.reason_key for flag in shot.flags)
            click.echo(f"stored page {shot.page_id} of {doc} sha256 {shot.sha256} (qc: {verdict})")
    finally:
        camera.close()
    return doc


