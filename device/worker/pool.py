"""Page processes, each holding one OCR engine: a picklable call in, a picklable result out.

Each child reads one page at a time through its own pipe, so when a child dies (a segfault in
a native library, the kernel's OOM killer) or overruns the page deadline, the parent knows
exactly which page it was: that page alone gets a `PageFailure`, and a fresh child takes the
slot. Children are started by a fork server that has already imported the pipeline, so a new
child costs the engine load (~0.3 s), not a fresh interpreter.

`InlinePool` runs the same calls in the calling process, with an engine the caller owns: the
demo uses it, and it keeps the job loop testable without processes.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from device.errors import ConfigError, SohoaError

log = logging.getLogger(__name__)

#: Imported once by the fork server, so that children start with them loaded.
_PRELOAD = ["device.ocr.engine", "device.imaging.pipeline", "device.worker.tasks"]
_JOIN_SECONDS = 5.0

_engine: Any = None  # this process's OcrEngine (a child's own, or the InlinePool's)


def current_engine() -> Any:
    """The OCR engine of this process (a task function calls this)."""
    if _engine is None:
        raise SohoaError("no OCR engine in this process: page tasks run inside a page pool")
    return _engine


def default_processes(configured: int = 0) -> int:
    """`configured`, or for 0 one per CPU core this process may use, but one, at least 1."""
    if configured > 0:
        return configured
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) - 1)


@dataclass(frozen=True)
class PageFailure:
    """Why a page could not be processed, in one line (English and Vietnamese)."""

    reason: str
    reason_vi: str = ""

    @classmethod
    def from_exception(cls, exc: BaseException) -> PageFailure:
        lines = str(exc).strip().splitlines()
        text = f"{type(exc).__name__}: {lines[0] if lines else ''}".strip().rstrip(":")[:500]
        vi = getattr(exc, "message_vi", "") if isinstance(exc, SohoaError) else ""
        return cls(text, vi)


def _child_main(conn: Connection) -> None:
    """A child's life: load the engine, then run calls until told to stop or the parent goes."""
    # The parent stops children itself, after their page: a Ctrl-C or the service's SIGTERM
    # reaching the whole process group must not cut a page short.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    global _engine
    # One page per core is the parallelism: OpenCV's own thread pool (one thread per core in
    # every page process) would only make the processes contend, as OpenMP did for Tesseract.
    import cv2

    cv2.setNumThreads(1)
    try:
        from device.ocr.engine import OcrEngine

        _engine = OcrEngine()
    except SohoaError as exc:
        conn.send(("fatal", PageFailure.from_exception(exc)))
        return
    while True:
        try:
            message = conn.recv()
        except EOFError:  # the parent is gone
            return
        if message is None:
            break
        function, argument = message
        try:
            reply = ("ok", function(argument))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which records it
            reply = ("error", PageFailure.from_exception(exc))
        try:
            conn.send(reply)
        except (BrokenPipeError, EOFError):
            return
    _engine.close()


@dataclass
class _Slot:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    key: Hashable | None = None
    started: float = 0.0


class PagePool:
    """`processes` children; `submit` gives an idle one a call, `collect` returns what finished."""

    def __init__(self, processes: int, *, timeout_s: float) -> None:
        if processes < 1:
            raise ConfigError(f"a page pool needs at least 1 process, not {processes}")
        self.timeout_s = float(timeout_s)
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(_PRELOAD)
        self._slots = [self._start() for _ in range(processes)]

    def _start(self) -> _Slot:
        parent_end, child_end = self._context.Pipe()
        process = self._context.Process(target=_child_main, args=(child_end,), daemon=True,
                                        name="sohoa-page")
        process.start()
        child_end.close()
        return _Slot(process, parent_end)

    @property
    def idle(self) -> int:
        return sum(1 for slot in self._slots if slot.key is None)

    @property
    def busy(self) -> int:
        return len(self._slots) - self.idle

    def submit(self, key: Hashable, function: Callable[[Any], Any], argument: Any) -> None:
        """Hand `function(argument)` to an idle child; `key` names it in `collect`."""
        index = next(i for i, slot in enumerate(self._slots) if slot.key is None)
        slot = self._slots[index]
        if not slot.process.is_alive():  # died while idle: replace it before giving it work
            slot = self._slots[index] = self._replace(slot)
        try:
            slot.conn.send((function, argument))
        except (BrokenPipeError, ConnectionResetError):  # died just now: one fresh try
            slot = self._slots[index] = self._replace(slot)
            slot.conn.send((function, argument))
        slot.key, slot.started = key, time.monotonic()

    def collect(self, wait_s: float) -> list[tuple[Hashable, Any]]:
        """Wait up to `wait_s` for calls to finish; each as (key, result or PageFailure)."""
        busy = [slot for slot in self._slots if slot.key is not None]
        if not busy:
            return []
        nearest = min(slot.started + self.timeout_s for slot in busy) - time.monotonic()
        wait([s.conn for s in busy] + [s.process.sentinel for s in busy],
             timeout=max(0.0, min(wait_s, nearest)))
        done = []
        for index, slot in enumerate(self._slots):
            if slot.key is None:
                continue
            outcome = self._outcome(slot)
            if outcome is None:
                continue
            done.append((slot.key, outcome))
            if isinstance(outcome, _Lost):
                self._slots[index] = self._replace(slot)
            else:
                slot.key = None
        return [(key, outcome.failure if isinstance(outcome, _Lost) else outcome)
                for key, outcome in done]

    def _outcome(self, slot: _Slot) -> Any:
        """The finished call's result or failure, or None while it is still running."""
        if slot.conn.poll():
            try:
                status, value = slot.conn.recv()
            except (EOFError, OSError):
                return _Lost(self._death(slot))
            if status == "fatal":
                self.close()
                raise ConfigError(f"a page process could not start: {value.reason}",
                                  message_vi=value.reason_vi or None)
            return value
        if not slot.process.is_alive():
            return _Lost(self._death(slot))
        elapsed = time.monotonic() - slot.started
        if elapsed >= self.timeout_s:
            slot.process.kill()
            log.warning("page %s: still running after %.0f s; its process was stopped",
                        slot.key, elapsed)
            return _Lost(PageFailure(f"TimeoutError: still running after {self.timeout_s:.0f} s"
                                     " (worker.page_timeout_seconds); its process was stopped",
                                     "Xử lý trang quá lâu nên đã bị dừng"))
        return None

    def _death(self, slot: _Slot) -> PageFailure:
        slot.process.join(_JOIN_SECONDS)
        code = slot.process.exitcode
        how = (f"killed by {signal.Signals(-code).name}" if code is not None and code < 0
               else f"exited with status {code}")
        if code == -signal.SIGKILL:
            how += " (out of memory?)"
        log.error("page %s: its process died (%s); starting another", slot.key, how)
        return PageFailure(f"ProcessDied: the page process was {how} while reading this page",
                           "Tiến trình xử lý trang bị dừng đột ngột")

    def _replace(self, slot: _Slot) -> _Slot:
        if slot.process.is_alive():
            slot.process.kill()
        slot.process.join(_JOIN_SECONDS)
        slot.conn.close()
        return self._start()

    def close(self) -> None:
        """Ask every child to finish and wait for it; stop any that does not."""
        for slot in self._slots:
            try:
                slot.conn.send(None)
            except (BrokenPipeError, OSError):
                pass  # already gone: nothing to tell it
        deadline = time.monotonic() + _JOIN_SECONDS
        for slot in self._slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join(_JOIN_SECONDS)
            slot.conn.close()
        self._slots = []

    def __enter__(self) -> PagePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class _Lost:
    """A call whose process died or was stopped: the slot needs a new child."""

    failure: PageFailure


class InlinePool:
    """The same interface, run in this process with the caller's engine (no crash isolation)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._done: list[tuple[Hashable, Any]] = []

    @property
    def idle(self) -> int:
        return 0 if self._done else 1  # one page at a time: its result is collected first

    @property
    def busy(self) -> int:
        return len(self._done)

    def submit(self, key: Hashable, function: Callable[[Any], Any], argument: Any) -> None:
        global _engine
        previous, _engine = _engine, self._engine
        try:
            self._done.append((key, function(argument)))
        except Exception as exc:  # noqa: BLE001 - one page's failure is recorded, never fatal
            self._done.append((key, PageFailure.from_exception(exc)))
        finally:
            _engine = previous

    def collect(self, wait_s: float) -> list[tuple[Hashable, Any]]:
        done, self._done = self._done, []
        return done

    def close(self) -> None:
        self._done = []

    def __enter__(self) -> InlinePool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
