"""The one wrapper around SANE's `scanimage`: argv lists, timeouts, and SANE's errors mapped to ours.

    CameraError
    └── ScannerError                 any failure reported by scanimage (``sane_status`` says which)
        ├── ScannerNotFoundError     no scanner, or the named one cannot be opened
        ├── ScannerAccessError       the sohoa user may not use the scanner
        ├── ScannerBusyError         "Device busy"
        ├── PaperJamError            "Document feeder jammed"
        ├── CoverOpenError           "Scanner cover is open"
        ├── FeederEmptyError         "Document feeder out of documents"
        └── ScannerIOError           "Error during device I/O", or the scanner stopped answering
"""

from __future__ import annotations

import logging
import os
import re
import selectors
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from device.capture.camera import CameraError

log = logging.getLogger(__name__)

MIN_VERSION = (1, 0, 25)  # --batch-print and the .part files of a page being written
_KILL_GRACE_S = 5.0


class ScannerError(CameraError):
    """scanimage failed; ``sane_status`` is SANE's status text when it gave one."""

    sane_status: str | None = None


class ScannerNotFoundError(ScannerError):
    """No scanner was found, or the configured one could not be opened."""


class ScannerAccessError(ScannerError):
    sane_status = "Access to resource has been denied"


class ScannerBusyError(ScannerError):
    sane_status = "Device busy"
    device_ok = True


class PaperJamError(ScannerError):
    sane_status = "Document feeder jammed"
    device_ok = True  # the operator clears it; the scanner stays connected


class CoverOpenError(ScannerError):
    sane_status = "Scanner cover is open"
    device_ok = True


class FeederEmptyError(ScannerError):
    sane_status = "Document feeder out of documents"
    device_ok = True


class ScannerIOError(ScannerError):
    sane_status = "Error during device I/O"


# SANE_Status values (sane.h), which scanimage also uses as its exit code, with our error for
# each and what the operator should do, in English and Vietnamese.
_BY_STATUS: dict[int, tuple[type[ScannerError], str, str]] = {
    3: (ScannerBusyError, "the scanner is busy (another program is using it, or it is warming up); "
        "try again in a moment", "Máy quét đang bận; hãy thử lại sau giây lát."),
    6: (PaperJamError, "the document feeder is jammed: open it, take the paper out and scan the "
        "page again", "Kẹt giấy trong khay nạp: mở khay, lấy giấy ra rồi quét lại trang này."),
    7: (FeederEmptyError, "the document feeder is empty: put the pages in the feeder",
        "Hết giấy trong khay nạp: hãy đặt giấy vào khay."),
    8: (CoverOpenError, "the scanner cover is open: close it and scan again",
        "Nắp máy quét đang mở: đóng nắp rồi quét lại."),
    9: (ScannerIOError, "the scanner stopped answering (I/O error): check its cable and power",
        "Mất kết nối với máy quét: kiểm tra cáp và nguồn điện."),
    11: (ScannerAccessError, "permission to use the scanner was denied: the sohoa user must be in "
         "the 'scanner' group", "Không có quyền dùng máy quét; báo cho quản trị viên."),
}
_STATUS_TEXT = {cls.sane_status: code for code, (cls, _, _) in _BY_STATUS.items()}


def scanner_error(stderr: str, returncode: int | None) -> ScannerError:
    """Our error for a failed scanimage run, from its exit code or (older versions) its message."""
    # Every line scanimage wrote itself, in order: the status line is not always the last one
    # (a signal during the failed read adds "received signal ..." and "trying to stop scanner").
    lines = [line.removeprefix("scanimage:").strip() for line in stderr.splitlines()
             if line.startswith("scanimage:")]
    detail = "; ".join(dict.fromkeys(lines))[-300:] if lines else stderr.strip()[-300:]
    code = returncode if returncode in _BY_STATUS else next(
        (status for text, status in _STATUS_TEXT.items() if text in stderr), None)
    if code is not None:
        cls, english, vietnamese = _BY_STATUS[code]
        return cls(f"{english} (scanimage: {detail})", message_vi=vietnamese)
    if "open of device" in stderr or "no SANE devices found" in stderr:
        return ScannerNotFoundError(f"the scanner could not be opened (scanimage: {detail}); check "
                                    "its cable and power, and the device name in the configuration",
                                    message_vi="Không mở được máy quét: kiểm tra cáp, nguồn điện và tên máy.")
    return ScannerError(f"scanimage failed with status {returncode}: {detail or 'no message'}",
                        message_vi="Máy quét báo lỗi; hãy thử quét lại.")


@dataclass(frozen=True)
class DeviceOptions:
    """What one scanner offers, as `scanimage -A` lists it: choices, numeric ranges, defaults."""

    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)


_OPTION = re.compile(r"^\s+(--?[\w-]+)(?:\[=\(.*\)\])?\s+(.*?)\s*\[([^\]]*)\]\s*$")
_RANGE = re.compile(r"^(-?[\d.]+)\.\.(-?[\d.]+)")


def parse_options(text: str) -> DeviceOptions:
    """The options of `scanimage -d DEVICE -A` output (inactive ones are left out)."""
    options = DeviceOptions()
    for line in text.splitlines():
        match = _OPTION.match(line)
        if not match or match.group(3) == "inactive":
            continue
        name, values, default = match.groups()
        options.defaults[name] = default
        span = _RANGE.match(values)
        if span:
            options.ranges[name] = (float(span.group(1)), float(span.group(2)))
        elif "|" in values:
            choices = values.split("|")
            choices[-1] = re.sub(r"(dpi|mm|%|us|bit|pel)$", "", choices[-1])
            options.choices[name] = tuple(choices)
    return options


def _parse_version(text: str) -> tuple[int, ...]:
    match = re.search(r"sane-backends\)\s+(\d+)\.(\d+)\.(\d+)", text)
    if not match:
        raise ScannerError(f"unexpected `scanimage --version` output: {text.strip()[:200]!r}")
    return tuple(int(part) for part in match.groups())


class Scanimage:
    """Runs `executable` (scanimage, or a stand-in in tests) with a timeout on every call."""

    def __init__(self, executable: str | os.PathLike[str] = "scanimage", timeout_s: float = 120.0) -> None:
        self.executable = str(executable)
        self.timeout_s = float(timeout_s)

    def _run(self, args: Sequence[str], timeout_s: float | None = None) -> subprocess.CompletedProcess[bytes]:
        argv = [self.executable, *args]
        timeout = timeout_s or self.timeout_s
        try:
            done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)
        except FileNotFoundError as error:
            raise ScannerNotFoundError(
                f"{self.executable!r} was not found: install the sane-utils package",
                message_vi="Chưa cài phần mềm máy quét (sane-utils).") from error
        except subprocess.TimeoutExpired as error:
            raise ScannerIOError(f"the scanner did not answer within {timeout:.0f} s "
                                 f"({' '.join(argv[:4])} ...); check its cable and power",
                                 message_vi="Máy quét không trả lời; kiểm tra cáp và nguồn điện.") from error
        if done.returncode != 0:
            raise scanner_error(done.stderr.decode("utf-8", "replace"), done.returncode)
        return done

    def version(self) -> str:
        """scanimage's version string; ScannerError if it is missing or older than MIN_VERSION."""
        text = self._run(["--version"], timeout_s=30).stdout.decode("utf-8", "replace")
        version = _parse_version(text)
        if version < MIN_VERSION:
            raise ScannerError(f"scanimage {'.'.join(map(str, version))} is too old; "
                               f"{'.'.join(map(str, MIN_VERSION))} or newer is needed")
        return ".".join(map(str, version))

    def devices(self) -> list[str]:
        """The names of the scanners SANE can see (probing every backend can take seconds)."""
        text = self._run(["--formatted-device-list=%d%n"]).stdout.decode("utf-8", "replace")
        return [line.strip() for line in text.splitlines() if line.strip()]

    def options(self, device: str) -> DeviceOptions:
        return parse_options(self._run(["-d", device, "-A"]).stdout.decode("utf-8", "replace"))

    def scan(self, args: Sequence[str]) -> bytes:
        """One page: scanimage's image on stdout (the caller passes --format)."""
        return self._run(args).stdout

    def batch(self, args: Sequence[str], folder: Path, pattern: str = "page-%04d.pnm",
              page_timeout_s: float | None = None) -> Iterator[Path]:
        """Scan pages with `--batch` into `folder`, yielding each file once scanimage has finished
        it (it prints the name with --batch-print only after the page is complete and renamed).

        Stops cleanly when the feeder runs out after at least one page; any other failure
        raises after the pages already yielded. Closing the generator early stops scanimage.
        """
        argv = [self.executable, *args, f"--batch={folder / pattern}", "--batch-print"]
        with tempfile.TemporaryFile(dir=folder) as stderr:
            try:
                process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, cwd=folder)
            except FileNotFoundError as error:
                raise ScannerNotFoundError(f"{self.executable!r} was not found: install sane-utils",
                                           message_vi="Chưa cài phần mềm máy quét (sane-utils).") from error
            pages, finished = 0, False
            try:
                for line in _lines(process, page_timeout_s or self.timeout_s):
                    path = Path(line.decode("utf-8", "replace").strip())
                    if path.is_file():
                        pages += 1
                        yield path
                finished = True
            finally:
                _stop(process, _KILL_GRACE_S if finished else 0.0)
            stderr.seek(0)
            text = stderr.read().decode("utf-8", "replace")
        error = scanner_error(text, process.returncode) if process.returncode != 0 else None
        # The feeder running out ends every batch; it is a failure only if nothing was scanned.
        if error is not None and not (pages and isinstance(error, FeederEmptyError)):
            raise error
        if pages == 0:
            raise scanner_error(text, 7)
        log.info("scanimage batch finished: %d pages", pages)


def _lines(process: subprocess.Popen[bytes], timeout_s: float) -> Iterator[bytes]:
    """The lines of the process's stdout as they come; ScannerIOError when none comes in time."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    pending = b""
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            if not selector.select(timeout_s):
                raise ScannerIOError(f"the scanner sent no page for {timeout_s:.0f} s; check its "
                                     "cable and power", message_vi="Máy quét không trả lời; kiểm tra cáp và nguồn điện.")
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            *lines, pending = (pending + chunk).split(b"\n")
            yield from lines
    if pending:
        yield pending


def _stop(process: subprocess.Popen[bytes], wait_s: float) -> None:
    """Reap scanimage; end it first if it is still running after `wait_s` (an early stop or an error)."""
    try:
        process.wait(timeout=wait_s)
    except subprocess.TimeoutExpired:
        log.warning("stopping scanimage (pid %d) before the end of its batch", process.pid)
        process.terminate()
        try:
            process.wait(timeout=_KILL_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()
