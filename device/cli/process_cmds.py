"""`sohoa process`: image files to page masters, OCR text and a QC/provenance record, no box needed."""

from __future__ import annotations

import io
import json
import logging
import unicodedata
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path

import click
import cv2
import numpy as np

from device.cli.context import CliContext, pass_context
from device.errors import ProcessingError, SohoaError, UnsupportedFileError

log = logging.getLogger(__name__)

_engine = None  # the worker process's OcrEngine, made once by _init_worker


def _init_worker() -> None:
    global _engine
    from device.ocr.engine import OcrEngine  # loads Tesseract: only in processes that read pages

    _engine = OcrEngine()


def decode_frame(data: bytes, frame: int) -> tuple[np.ndarray, float | None]:
    """One frame of a checked image file as BGR (or grey) uint8, and the dpi it declares."""
    from PIL import Image, ImageOps

    with Image.open(io.BytesIO(data)) as image:
        image.seek(frame)
        dpi = image.info.get("dpi")
        picture = ImageOps.exif_transpose(image) if frame == 0 else image.copy()
        picture = picture.convert("L" if picture.mode in ("1", "L", "I;16", "I") else "RGB")
    array = np.asarray(picture)
    declared = float(dpi[0]) if dpi and float(dpi[0]) >= 10 else None
    return (array if array.ndim == 2 else cv2.cvtColor(array, cv2.COLOR_RGB2BGR)), declared


def _process_frame(data: bytes, frame: int):
    """Worker entry: decode one frame and run the pipeline with this process's engine."""
    from device.imaging.pipeline import process_image

    image, dpi = decode_frame(data, frame)
    return process_image(image, engine=_engine, source_dpi=dpi)


def _write_outputs(out_dir: Path, name: str, outcome) -> None:
    (out_dir / f"{name}.jpg").write_bytes(outcome.master_jpeg)
    text = unicodedata.normalize("NFC", outcome.text)
    (out_dir / f"{name}.txt").write_text(text + ("\n" if text else ""), encoding="utf-8")
    record = json.dumps(outcome.as_json(), ensure_ascii=False, indent=2)
    (out_dir / f"{name}.json").write_text(record + "\n", encoding="utf-8")


def _check_inputs(files: tuple[Path, ...], limits) -> tuple[list, int]:
    """The checked inputs that can be processed, and how many were refused (each told on stderr)."""
    from device.intake import check_file

    checked, failed = [], 0
    for path in files:
        try:
            item = check_file(path, limits)
            if item.media_type == "application/pdf":
                raise UnsupportedFileError(f"{path}: PDF input is not supported yet by `sohoa process`")
        except SohoaError as exc:
            click.echo(f"sohoa: error: {str(exc).removesuffix('; nothing was imported')}", err=True)
            failed += 1
            continue
        checked.append(item)
    return checked, failed


def _page_names(checked: list) -> list[tuple[object, int, str]]:
    """(checked file, frame, output name) per page, in input order."""
    pages = []
    for item in checked:
        stem = item.path.stem
        for frame in range(item.frames):
            pages.append((item, frame, stem if item.frames == 1 else f"{stem}.p{frame + 1}"))
    return pages


def _run(pages: list, jobs: int):
    """Yield (page, outcome or exception) in input order, in this process or a worker pool."""
    if jobs <= 1:
        _init_worker()
        try:
            for page in pages:
                try:
                    yield page, _process_frame(page[0].data, page[1])
                except Exception as exc:  # one bad page must not stop the others
                    yield page, exc
        finally:
            _engine.close()
        return
    with ProcessPoolExecutor(max_workers=jobs, initializer=_init_worker) as pool:
        futures: list[Future] = [pool.submit(_process_frame, p[0].data, p[1]) for p in pages]
        for page, future in zip(pages, futures):
            try:
                yield page, future.result()
            except Exception as exc:
                yield page, exc


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for NAME.jpg (master), NAME.txt (OCR text) and NAME.json (record).")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write one PDF/A-2b file of all pages, in order.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Worker processes (one OCR engine each).")
@pass_context
def process(context: CliContext, files: tuple[Path, ...], out_dir: Path, pdf_path: Path | None,
            jobs: int) -> None:
    """Process image files (JPEG, PNG, TIFF, WebP) into page masters with OCR text."""
    from device.archive.pdf import PdfMetadata, PdfPage, write_pdfa

    checked, failed = _check_inputs(files, context.config.settings.storage)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf_pages = []
    for (item, frame, name), outcome in _run(_page_names(checked), jobs):
        if isinstance(outcome, Exception):
            click.echo(f"sohoa: error: {item.path} page {frame + 1}: {_one_line(outcome)}", err=True)
            failed += 1
            continue
        _write_outputs(out_dir, name, outcome)
        pdf_pages.append(PdfPage.from_ocr(outcome.master_jpeg, outcome.dpi, outcome.ocr_result))
        click.echo(f"{name}: {outcome.dpi:.0f} dpi, {len(outcome.text.split())} words, "
                   f"{outcome.timings_ms['total'] / 1000:.1f} s")
    if pdf_path is not None and pdf_pages:
        write_pdfa(pdf_pages, pdf_path, PdfMetadata(title=pdf_path.stem, identifier=pdf_path.stem))
        click.echo(f"wrote {pdf_path} ({len(pdf_pages)} pages)")
    if failed:
        raise ProcessingError(f"{failed} input(s) or page(s) could not be processed; see above")


def _one_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


COMMANDS = (process,)
