"""Benchmarks Vietnamese OCR models and psm: CER and s/page against the plain Tesseract CLI.

Pages: maint-guide-vi pages at 300 dpi grey (exact ground truth from the PDF's text layer) and
the first page of several legal texts rendered flat in Tinos 13 pt with the two-column header
block (see legal_pages.py). CER = Levenshtein distance / ground-truth length after collapsing
whitespace runs, summed over pages (so long pages weigh more). Seconds per page exclude model
loading for the engine; the baseline is the plain `tesseract` CLI (Debian's build and `vie`
model, psm 3) on the same image files, which includes process start and model loading, as a
shell script would pay it. Everything runs on one core (OMP_THREAD_LIMIT=1).

    .venv/bin/python bench/eval_ocr.py                      # default comparison
    .venv/bin/python bench/eval_ocr.py --tessdata best=DIR  # add another model folder
    .venv/bin/python bench/eval_ocr.py --psm 3 4 6 --quick  # psm sweep on fewer pages
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"  # before tesserocr loads; one core per engine

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2  # noqa: E402
from rapidfuzz.distance import Levenshtein  # noqa: E402

import legal_pages  # noqa: E402
from device.ocr.engine import DEFAULT_TESSDATA_DIR, OcrEngine  # noqa: E402

DATA = REPO.parent / "shared" / "data"
# Body pages (prose, lists and code blocks). The front matter (pages 1-6) is a table of contents
# whose dot leaders have no faithful ground truth in the PDF's text layer.
MAINT_PAGES = (7, 8, 9, 10, 12, 15, 20, 25, 34, 45)
LEGAL_DOCS = ("doc_000001", "doc_000005", "doc_000019", "doc_000150", "doc_000002", "doc_000086")
TIMEOUT_S = 300
DPI = {"maint-guide": 300, "legal": 300, "legal-200dpi-degraded": 200}


@dataclass(frozen=True)
class Sample:
    """One page image on disk and its ground truth."""

    group: str
    name: str
    image: Path
    truth: str


def collapse(text: str) -> str:
    """Whitespace runs to one space, ends trimmed: layout is not what CER measures."""
    return re.sub(r"\s+", " ", text).strip()


def cer_counts(hypothesis: str, truth: str) -> tuple[int, int]:
    """(edit distance, ground-truth length) after collapsing whitespace."""
    ref = collapse(truth)
    return Levenshtein.distance(collapse(hypothesis), ref), len(ref)


def _run(argv: list[str]) -> str:
    """Run one external program on one core; its stdout, or RuntimeError with its stderr."""
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, env=env, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"{argv[0]} failed: {exc}") from exc
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {done.stderr.strip()[-500:]}")
    return done.stdout + done.stderr  # some versions print --version/--list-langs on stderr


def tesseract_cli(image: Path, lang: str = "vie", psm: int = 3) -> str:
    """The baseline: Debian's `tesseract` CLI on an image file, text on stdout."""
    return _run(["tesseract", str(image), "-", "-l", lang, "--psm", str(psm)])


def cli_version_and_tessdata() -> tuple[str, Path]:
    """The CLI's version and the folder its models come from (Debian's tessdata)."""
    version = _run(["tesseract", "--version"]).split()[1]
    listing = _run(["tesseract", "--list-langs"])
    found = re.search(r'"([^"]+)"', listing)
    if not found:
        raise RuntimeError(f"cannot find tessdata folder in: {listing[:200]}")
    return version, Path(found.group(1))


def maint_samples(data: Path, pages: tuple[int, ...], scratch: Path) -> list[Sample]:
    """maint-guide pages: the stored 300 dpi PNG when present, else rendered with pdftoppm."""
    guide = data / "maint-guide-vi"
    out = []
    for number in pages:
        image = guide / "png300" / f"page_{number:02d}.png"
        if not image.is_file():
            prefix = scratch / f"maint_{number:02d}"
            _run(["pdftoppm", "-r", "300", "-gray", "-png", "-singlefile",
                  "-f", str(number), "-l", str(number), str(guide / "maint-guide.vi.pdf"), str(prefix)])
            image = prefix.with_suffix(".png")
        truth = (guide / "gt_pages" / f"page_{number:02d}.gt.txt").read_text(encoding="utf-8")
        out.append(Sample("maint-guide", f"p{number:02d}", image, truth))
    return out


def legal_samples(data: Path, docs: tuple[str, ...], scratch: Path) -> list[Sample]:
    """First pages of legal texts, rendered flat at 300 dpi with their header block."""
    out = []
    for doc in docs:
        picture, truth = legal_pages.render((data / "legal-texts" / f"{doc}.txt").read_text(encoding="utf-8"))
        image = scratch / f"{doc}.png"
        picture.save(image, dpi=(300, 300))
        out.append(Sample("legal", doc, image, truth))
        worn = scratch / f"{doc}.degraded.png"
        legal_pages.degrade(picture, seed=len(out)).save(worn, dpi=(200, 200))
        out.append(Sample("legal-200dpi-degraded", doc, worn, truth))
    return out


def _score(label: str, samples: list[Sample], read: object) -> dict:
    """CER and mean seconds per page of `read(sample) -> text`, per sample group."""
    totals: dict[str, list[float]] = {}
    for sample in samples:
        start = time.perf_counter()
        text = read(sample)  # type: ignore[operator]
        seconds = time.perf_counter() - start
        edits, length = cer_counts(text, sample.truth)
        acc = totals.setdefault(sample.group, [0, 0, 0.0, 0])
        for i, value in enumerate((edits, length, seconds, 1)):
            acc[i] += value
    return {"label": label, **{g: (a[0] / a[1], a[2] / a[3]) for g, a in totals.items()}}


def score_engine(label: str, tessdata: Path, langs: str, psm: int, samples: list[Sample]) -> dict:
    """One engine configuration; images are decoded before the clock starts."""
    engine = OcrEngine(tessdata, langs, psm)
    images = {s.image: cv2.imread(str(s.image), cv2.IMREAD_GRAYSCALE) for s in samples}
    try:
        return _score(label, samples, lambda s: engine.recognize(images[s.image], dpi=DPI[s.group]).text)
    finally:
        engine.close()


def score_cli(samples: list[Sample]) -> dict:
    """The baseline row: Debian's tesseract CLI, vie, psm 3."""
    return _score("baseline: tesseract CLI, Debian vie, psm 3", samples, lambda s: tesseract_cli(s.image))


def print_table(rows: list[dict], groups: list[str]) -> None:
    """One line per configuration; ratios are against the baseline (first row)."""
    base = rows[0]
    head = f"{'configuration':46s}" + "".join(
        f" | {g + ' CER':>16s} {'x base':>7s} {'s/page':>7s} {'x base':>7s}" for g in groups)
    print(head)
    print("-" * len(head))
    for row in rows:
        cells = []
        for g in groups:
            cer, secs = row[g]
            cells.append(f" | {cer * 100:15.2f}% {cer / base[g][0]:7.2f} {secs:7.2f} {secs / base[g][1]:7.2f}")
        print(f"{row['label']:46s}" + "".join(cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared development data folder")
    parser.add_argument("--tessdata", action="append", default=[], metavar="NAME=DIR",
                        help="another model folder to compare (repeatable)")
    parser.add_argument("--models", nargs="+", help="model folders to run, by name (default: all)")
    parser.add_argument("--langs", nargs="+", default=["vie", "vie+eng"], help="language sets to compare")
    parser.add_argument("--psm", nargs="+", type=int, default=[3], help="page segmentation modes")
    parser.add_argument("--quick", action="store_true", help="3 maint-guide pages and 3 legal pages")
    args = parser.parse_args()
    cli_version, debian = cli_version_and_tessdata()
    folders = {"debian": debian, "shipped": DEFAULT_TESSDATA_DIR}
    folders.update(dict(item.split("=", 1) for item in args.tessdata))
    pages = MAINT_PAGES[1:4] if args.quick else MAINT_PAGES
    docs = LEGAL_DOCS[:3] if args.quick else LEGAL_DOCS
    with tempfile.TemporaryDirectory(prefix="eval_ocr_") as scratch:
        samples = maint_samples(args.data, pages, Path(scratch)) + legal_samples(args.data, docs, Path(scratch))
        print(f"{len(samples)} pages; tesseract CLI {cli_version}; engine via tesserocr; OMP_THREAD_LIMIT=1")
        rows = [score_cli(samples)]
        for name, folder in folders.items():
            if args.models and name not in args.models:
                continue
            for langs in args.langs:
                if not all((Path(folder) / f"{lang}.traineddata").is_file() for lang in langs.split("+")):
                    continue
                for psm in args.psm:
                    label = f"{name} {langs} psm {psm}"
                    rows.append(score_engine(label, Path(folder), langs, psm, samples))
                    print(f"  done: {label}", file=sys.stderr)
    print_table(rows, list(DPI))


if __name__ == "__main__":
    main()
