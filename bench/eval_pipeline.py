"""Evaluates `sohoa process` end to end: CER, seconds per page, scaling and memory, with baselines.

Everything is measured in one run on this machine, through the command line the box ships:

- CER (Levenshtein distance / ground-truth length after collapsing whitespace, summed over
  pages) of `sohoa process` and, as the baseline, of the plain `tesseract` CLI (Debian `vie`,
  psm 3) on the same raw inputs, for four groups: maint-guide pages (300 dpi, exact ground
  truth), simulated 12 MP photos of legal-text pages, the same pages rendered flat (the goal
  for photos is ≤ 1.5× the flat CER), and simulated photos of curled pages of a bound register.
- Seconds per page of `sohoa process --jobs 1` on the photos, and the speed-up of `--jobs 2`.
- Total time to one searchable PDF/A of the photos: `sohoa process --pdf` against
  `ocrmypdf --output-type pdfa -l vie` on the same photos (wrapped in a PDF with img2pdf, as
  OCRmyPDF takes one input file), both on one core per page and the same number of jobs,
  with the CER of each PDF's text layer (pdftotext).
- Peak resident memory of the largest process of each `sohoa process` run.

Simulated shots use seeds from 700000 up, which no test or tuning uses.

    .venv/bin/pip install -e '.[bench]'             # OCRmyPDF (for its row only)
    .venv/bin/python bench/eval_pipeline.py          # 20 photos, 6 curled, 4 maint-guide pages
    .venv/bin/python bench/eval_pipeline.py --photos 6 --curled 3 --skip-ocrmypdf
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

os.environ["OMP_THREAD_LIMIT"] = "1"

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import cv2  # noqa: E402

from device.capture.render import render_document  # noqa: E402
from device.capture.simulated import SimulatedCamera  # noqa: E402
from eval_ocr import DATA, cer_counts, tesseract_cli  # noqa: E402

SOHOA = REPO / ".venv" / "bin" / "sohoa"
FIRST_SEED = 700000
MAINT_PAGES = (7, 8, 9, 12)
TIMEOUT_S = 3600


@dataclass(frozen=True)
class Sample:
    """One input file and the text really on it."""

    group: str
    path: Path
    truth: str


@dataclass(frozen=True)
class Run:
    """One timed command: wall seconds and the peak RSS (MiB) of its largest process."""

    seconds: float
    peak_mib: float


def measure_peak(argv: list[str]) -> Run:
    """Run a command to completion from a fresh interpreter, so that ru_maxrss (the largest
    waited-for descendant) covers this command only; RuntimeError with its stderr on failure."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE); "
             "s = time.perf_counter() - t; "
             "print(s, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024); "
             "sys.stderr.write(r.stderr.decode()[-800:]); sys.exit(r.returncode)")
    done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True,
                          timeout=TIMEOUT_S, env=dict(os.environ, OMP_THREAD_LIMIT="1"))
    if done.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {done.returncode}: {done.stderr[-800:]}")
    seconds, peak = (float(v) for v in done.stdout.split())
    return Run(seconds, peak)


def legal_texts() -> list[str]:
    """The shared legal texts' names, in order."""
    return sorted(path.stem for path in (DATA / "legal-texts").glob("doc_*.txt"))


def simulated_samples(scratch: Path, count: int, curled: bool) -> list[Sample]:
    """12 MP photos of legal-text first pages (JPEG, as the camera stores them)."""
    group = "photo-curled" if curled else "photo"
    names = legal_texts()
    out = []
    for i in range(count):
        name = names[i % len(names)]
        text = (DATA / "legal-texts" / f"{name}.txt").read_text(encoding="utf-8")
        seed = FIRST_SEED + (1000 if curled else 0) + i
        camera = SimulatedCamera(seed, texts=[text], bound=curled, curl=1.5 if curled else 1.0)
        camera.start()
        try:
            shot = camera.capture()
        finally:
            camera.close()
        path = scratch / group / f"{name}_{seed}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), shot.image, [cv2.IMWRITE_JPEG_QUALITY, 92])
        out.append(Sample(group, path, shot.ground_truth.text))
    return out


def flat_samples(scratch: Path, count: int) -> list[Sample]:
    """The same first pages rendered flat at 300 dpi (what a perfect scanner would give)."""
    names = legal_texts()
    out = []
    for i in range(count):
        name = names[i % len(names)]
        page = render_document((DATA / "legal-texts" / f"{name}.txt").read_text(encoding="utf-8"))[0]
        path = scratch / "flat" / f"{name}_{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), page.image)
        out.append(Sample("flat", path, page.text))
    return out


def maint_samples(scratch: Path) -> list[Sample]:
    """maint-guide pages at 300 dpi with their exact ground truth."""
    guide = DATA / "maint-guide-vi"
    out = []
    for number in MAINT_PAGES:
        path = guide / "png300" / f"page_{number:02d}.png"
        if not path.is_file():
            prefix = scratch / "maint" / f"page_{number:02d}"
            prefix.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["pdftoppm", "-r", "300", "-gray", "-png", "-singlefile", "-f", str(number),
                            "-l", str(number), str(guide / "maint-guide.vi.pdf"), str(prefix)], check=True)
            path = prefix.with_suffix(".png")
        truth = (guide / "gt_pages" / f"page_{number:02d}.gt.txt").read_text(encoding="utf-8")
        out.append(Sample("maint-guide", path, truth))
    return out


def cer(pairs: list[tuple[str, str]]) -> float:
    """Summed edits over summed ground-truth length."""
    edits = length = 0
    for hypothesis, truth in pairs:
        e, n = cer_counts(hypothesis, truth)
        edits, length = edits + e, length + n
    return edits / max(length, 1)


def sohoa_process(samples: list[Sample], out: Path, jobs: int, pdf: Path | None = None) -> Run:
    """`sohoa process` over the samples' files; its outputs land in `out`."""
    argv = [str(SOHOA), "process", *(str(s.path) for s in samples), "--out", str(out), "--jobs", str(jobs)]
    if pdf is not None:
        argv += ["--pdf", str(pdf)]
    return measure_peak(argv)


def sohoa_cer(samples: list[Sample], out: Path) -> float:
    return cer([((out / f"{s.path.stem}.txt").read_text(encoding="utf-8"), s.truth) for s in samples])


def pdf_page_texts(pdf: Path, pages: int) -> list[str]:
    """The text layer of each page, as a reader's copy-and-paste would get it."""
    texts = []
    for number in range(1, pages + 1):
        done = subprocess.run(["pdftotext", "-f", str(number), "-l", str(number), str(pdf), "-"],
                              capture_output=True, text=True, check=True)
        texts.append(done.stdout)
    return texts


def ocrmypdf_row(samples: list[Sample], scratch: Path, jobs: int) -> tuple[Run, float] | None:
    """OCRmyPDF to PDF/A on the photos wrapped in one PDF; None when it is not installed."""
    ocrmypdf = shutil.which("ocrmypdf", path=str(REPO / ".venv" / "bin")) or shutil.which("ocrmypdf")
    if ocrmypdf is None:
        print("ocrmypdf is not installed (pip install -e '.[bench]'): its row is skipped", file=sys.stderr)
        return None
    import img2pdf

    wrapped, result = scratch / "photos-in.pdf", scratch / "ocrmypdf.pdf"
    # The simulator's photos carry no dpi; give img2pdf the nominal 260 dpi of the rig.
    layout = img2pdf.get_fixed_dpi_layout_fun((260, 260))
    wrapped.write_bytes(img2pdf.convert([str(s.path) for s in samples], layout_fun=layout))
    timing = measure_peak([ocrmypdf, "--output-type", "pdfa", "-l", "vie", "--jobs", str(jobs),
                           "--optimize", "0", str(wrapped), str(result)])
    texts = pdf_page_texts(result, len(samples))
    return timing, cer([(text, s.truth) for text, s in zip(texts, samples)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=20, help="simulated 12 MP photos (flat pages)")
    parser.add_argument("--curled", type=int, default=6, help="simulated photos of curled pages")
    parser.add_argument("--skip-ocrmypdf", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="eval_pipeline_") as folder:
        scratch = Path(folder)
        photos = simulated_samples(scratch, args.photos, curled=False)
        curled = simulated_samples(scratch, args.curled, curled=True)
        flat = flat_samples(scratch, args.photos)
        maint = maint_samples(scratch)
        print(f"inputs: {len(photos)} photos, {len(curled)} curled, {len(flat)} flat, {len(maint)} maint-guide; "
              f"seeds from {FIRST_SEED}; OMP_THREAD_LIMIT=1")

        print("\nCER: sohoa process against the tesseract CLI (Debian vie, psm 3) on the same raw inputs")
        print(f"{'group':14s} {'baseline CER':>13s} {'sohoa CER':>10s} {'x baseline':>11s}")
        ours: dict[str, float] = {}
        for group in (maint, flat, photos, curled):
            out = scratch / f"out-{group[0].group}"
            sohoa_process(group, out, jobs=2)
            base = cer([(tesseract_cli(s.path), s.truth) for s in group])
            ours[group[0].group] = value = sohoa_cer(group, out)
            print(f"{group[0].group:14s} {base * 100:12.2f}% {value * 100:9.2f}% {value / max(base, 1e-9):11.2f}")
        for group in ("photo", "photo-curled"):
            print(f"{group} CER / flat CER: {ours[group] / max(ours['flat'], 1e-9):.2f} (goal <= 1.5)")
        print(f"maint-guide CER: {ours['maint-guide'] * 100:.2f}% (goal <= 1.0%)")

        print("\nSpeed: sohoa process on the photos (master + OCR + index-ready text + PDF page)")
        one = sohoa_process(photos, scratch / "t1", jobs=1, pdf=scratch / "t1.pdf")
        two = sohoa_process(photos, scratch / "t2", jobs=2, pdf=scratch / "t2.pdf")
        print(f"--jobs 1: {one.seconds / len(photos):.2f} s/page (goal <= 1.6 on a Pi), peak {one.peak_mib:.0f} MiB")
        print(f"--jobs 2: {two.seconds / len(photos):.2f} s/page, speed-up {one.seconds / two.seconds:.2f}x "
              f"(goal >= 1.8x), peak {two.peak_mib:.0f} MiB per process (goal <= 350)")

        if not args.skip_ocrmypdf:
            print("\nSearchable PDF/A of the photos: sohoa process --pdf against ocrmypdf --output-type pdfa")
            ours_pdf = cer([(t, s.truth) for t, s in zip(pdf_page_texts(scratch / "t2.pdf", len(photos)), photos)])
            row = ocrmypdf_row(photos, scratch, jobs=2)
            if row is not None:
                theirs, their_cer = row
                print(f"ocrmypdf (baseline): {theirs.seconds:7.1f} s  CER {their_cer * 100:6.2f}%")
                print(f"sohoa process:       {two.seconds:7.1f} s  CER {ours_pdf * 100:6.2f}%")
                print(f"time ratio {two.seconds / theirs.seconds:.2f} (goal <= 0.7), "
                      f"CER ratio {ours_pdf / max(their_cer, 1e-9):.2f} (goal <= 0.5)")


if __name__ == "__main__":
    main()
