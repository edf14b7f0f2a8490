"""`sohoa process`: image and PDF files to page masters, OCR text and a QC/provenance record, no box needed."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import click

from device.cli.context import CliContext, pass_context
from device.errors import InputError, ProcessingError, SohoaError
from device.files import atomic_output

log = logging.getLogger(__name__)

_OUTPUT_KINDS = ("jpg", "txt", "json")


@dataclass(frozen=True)
class FilePage:
    """One page of a checked input file, as sent to a page process (picklable)."""

    data: bytes
    media_type: str
    frame: int
    max_megapixels: int
    spread: bool = False  # the page is a photo of an open register: split it first


def process_file_page(page: FilePage):
    """Page-process entry: decode the page (a PDF page rendered as the worker does) and run
    the pipeline with this process's engine. With `spread`, a tuple of outcomes: the left and
    right pages, or the whole photo flagged qc.spread_not_found."""
    from device.imaging.pipeline import process_image
    from device.worker.pool import current_engine
    from device.worker.source import decode_page

    image, dpi = decode_page(page.data, page.media_type, page.frame,
                             max_pixels=page.max_megapixels * 1_000_000)
    if page.spread:
        return _process_spread(image, dpi)
    return process_image(image, engine=current_engine(), source_dpi=dpi)


def _process_spread(image, dpi: float | None) -> tuple:
    """Split as `sohoa import --spread` and the capture do, then run each page as the worker
    runs a page with a region (the box around its quad, the quad rectified)."""
    from dataclasses import replace

    from device.imaging.pipeline import process_image
    from device.imaging.quality import spread_not_found
    from device.imaging.spread import split_spread
    from device.worker.pool import current_engine
    from device.worker.source import crop_region

    split = split_spread(image)
    if split.applied:
        outcomes = []
        for quad in split.pages:
            part, part_quad = crop_region(image, quad.tolist())
            outcomes.append(process_image(part, engine=current_engine(), source_dpi=dpi,
                                          page_quad=part_quad))
        return tuple(outcomes)
    outcome = process_image(image, engine=current_engine(), source_dpi=dpi)
    flag = spread_not_found(split.reason)
    return (replace(outcome, qc=[*outcome.qc, flag.as_dict()]),)


def _write_outputs(out_dir: Path, name: str, outcome) -> None:
    """The three files of a page, each written whole or not at all."""
    text = outcome.text  # process_image returns NFC text
    record = json.dumps(outcome.as_json(), ensure_ascii=False, indent=2)
    contents = (outcome.master_jpeg, (text + ("\n" if text else "")).encode("utf-8"),
                (record + "\n").encode("utf-8"))
    for kind, data in zip(_OUTPUT_KINDS, contents, strict=True):
        with atomic_output(out_dir / f"{name}.{kind}") as handle:
            handle.write(data)


def refuse_same_names(files: tuple[Path, ...]) -> None:
    """Refuse, before any work, inputs that would write the same output names (a.jpg and
    a.png; two folders' a.jpg), compared without case as a USB stick's file system would."""
    seen: dict[str, Path] = {}
    for path in files:
        key = path.stem.casefold()
        if key in seen and seen[key] != path:
            raise InputError(f"{seen[key]} and {path} would both write {path.stem}.jpg/.txt/.json;"
                             " rename one of them (nothing was processed)",
                             message_vi=f"Hai tệp {seen[key].name} và {path.name} trùng tên")
        seen[key] = path


def _check_inputs(files: tuple[Path, ...], limits) -> tuple[list, int]:
    """The checked inputs that can be processed, and how many were refused (each told on stderr)."""
    from device.intake import check_file

    checked, failed = [], 0
    for path in dict.fromkeys(files):  # the same path given twice is processed once
        try:
            checked.append(check_file(path, limits))
        except SohoaError as exc:
            click.echo(f"sohoa: error: {str(exc).removesuffix('; nothing was imported')}", err=True)
            failed += 1
    return checked, failed


def _page_names(checked: list) -> list[tuple[object, int, str]]:
    """(checked file, frame, output name) per page, in input order; a multi-page input (TIFF,
    PDF) names its pages S.p1, S.p2, …"""
    pages = []
    for item in checked:
        stem = item.path.stem
        for frame in range(item.frames):
            pages.append((item, frame, stem if item.frames == 1 else f"{stem}.p{frame + 1}"))
    names: dict[str, object] = {}
    for item, _, name in pages:
        other = names.setdefault(name.casefold(), item)
        if other is not item:
            raise InputError(f"{other.path} and {item.path} would both write {name}.jpg/.txt/.json;"
                             " rename one of them (nothing was processed)")
    return pages


def _run(pages: list, jobs: int, limits, timeout_s: float, spread: bool = False):
    """Yield (page, outcome or PageFailure) in input order, from a pool of `jobs` processes."""
    from device.worker.pool import PagePool

    results: dict[int, object] = {}
    following = 0
    if not pages:
        return
    with PagePool(min(jobs, len(pages)), timeout_s=timeout_s) as pool:
        queue = list(enumerate(pages))
        while following < len(pages):
            while queue and pool.idle:
                index, (item, frame, _) = queue.pop(0)
                pool.submit(index, process_file_page,
                            FilePage(item.data, item.media_type, frame, limits.max_image_megapixels,
                                     spread))
            results.update(pool.collect(1.0))
            while following in results:
                yield pages[following], results.pop(following)
                following += 1


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for NAME.jpg (master), NAME.txt (OCR text) and NAME.json (record).")
@click.option("--pdf", "pdf_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write one PDF/A-2b file of all pages, in order.")
@click.option("--jobs", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Page processes (one OCR engine each).")
@click.option("--spread", is_flag=True, help="Each input is a photo of an open register: write its "
              "left and right pages as NAME.p1 and NAME.p2.")
@pass_context
def process(context: CliContext, files: tuple[Path, ...], out_dir: Path, pdf_path: Path | None,
            jobs: int, spread: bool) -> None:
    """Process image files (JPEG, PNG, TIFF, WebP) and PDFs into page masters with OCR text."""
    from device.archive.pdf import PdfMetadata, PdfPage, write_pdfa
    from device.worker.pool import PageFailure

    settings = context.config.settings
    refuse_same_names(files)
    checked, failed = _check_inputs(files, settings.storage)
    pages = _page_names(checked)
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf_pages = []
    numbered: dict[Path, int] = {}  # spread: pages written so far of each input
    timeout_s = settings.worker.page_timeout_seconds * (2 if spread else 1)
    for (item, frame, name), outcome in _run(pages, jobs, settings.storage, timeout_s, spread):
        if isinstance(outcome, PageFailure):
            click.echo(f"sohoa: error: {item.path} page {frame + 1}: {outcome.reason}", err=True)
            failed += 1
            continue
        outcomes = outcome if isinstance(outcome, tuple) else (outcome,)
        for page_name, page in zip(_spread_names(item, name, len(outcomes), numbered)
                                   if spread else [name], outcomes, strict=True):
            _write_outputs(out_dir, page_name, page)
            if pdf_path is not None:  # the master as written, not held in memory for the whole run
                pdf_pages.append(PdfPage.from_ocr(out_dir / f"{page_name}.jpg", page.dpi, page.ocr_result))
            flagged = [flag["reason_key"] for flag in page.qc if flag["key"] == "spread_not_found"]
            click.echo(f"{page_name}: {page.dpi:.0f} dpi, {len(page.text.split())} words, "
                       f"{page.timings_ms['total'] / 1000:.1f} s{''.join(', ' + f for f in flagged)}")
    if pdf_path is not None and pdf_pages:
        write_pdfa(pdf_pages, pdf_path, PdfMetadata(title=pdf_path.stem, identifier=pdf_path.stem))
        click.echo(f"wrote {pdf_path} ({len(pdf_pages)} pages)")
    if failed:
        raise ProcessingError(f"{failed} input(s) or page(s) could not be processed; see above")


def _spread_names(item, name: str, count: int, numbered: dict[Path, int]) -> list[str]:
    """Output names of the pages one spread photo gave: an input's pages are numbered in order
    across its frames (S.p1, S.p2 for the left and right of the first); a one-frame input that
    did not split keeps its plain name S."""
    if item.frames == 1 and count == 1:
        return [name]
    start = numbered.get(item.path, 0)
    numbered[item.path] = start + count
    return [f"{item.path.stem}.p{start + index}" for index in range(1, count + 1)]


COMMANDS = (process,)
