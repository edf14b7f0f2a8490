"""Auto-capture: shoots when a new page has lain still for a moment with no hand over it.

`AutoCaptureState.step(frame, now) -> bool` is the pure logic, fed with preview frames and
their times; `AutoCapture` is the trigger that runs it in a thread on the service's latest
preview frame. Phases:

    START ──still──► judge ──┬─ page, no hand, not the last shot's scene ─► fire ─► WAIT_CHANGE
    SETTLING ─still─►        ├─ no page, page on the frame edge, a hand ──────────► HELD
                             └─ the same scene as the last shot ───────────────────► WAIT_CHANGE
    WAIT_CHANGE ─the scene differs from the last shot's─► SETTLING
    HELD ─the scene changes─► SETTLING; still held after `recheck_seconds` ─► judge again

"Still" means no frame differed from the first frame of the stillness for `still_seconds`.
Two frames differ when more than `change_fraction` of the pixels of a small band-passed grey
copy changed by more than `pixel_delta` (`changed_fraction`), after scaling for the frames'
overall brightness. The band-pass (a fine blur minus a coarse one) keeps text, page edges and
fingers and drops sensor noise and smooth light gradients; the brightness scaling drops
exposure changes and dusk, so the box does not re-shoot a page because a cloud passed.
Measured on simulated 480x640 previews (band-pass 1-6 px on a 160-px copy, 8 levels), before
the brightness scaling: sensor noise even at sigma 8: 0%; exposure -15%: 0.2%; a 1-px nudge
1.1%; a 2-px nudge 2.8%; a hand on the page 8.5%; another page laid in the very same place 19.6%.

Whether a page is there comes from `device.imaging.page.detect_page`, whether a hand is from
the hand check of QC at the shutter (`device.imaging.quality.check_hand`, with QC's
thresholds, on the preview instead of the full frame). Both run only when judging, not on
every frame.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from device.capture.triggers import Fire, fire_safely
from device.imaging.page import PageDetection, detect_page
from device.imaging.quality import HandDetector, QcParams, check_hand, default_hand_detector

log = logging.getLogger(__name__)

PageDetector = Callable[[np.ndarray], PageDetection]
Frames = Callable[[], np.ndarray | None]


class Phase(enum.Enum):
    START = "start"  # nothing judged yet since the trigger started
    SETTLING = "settling"  # something changed; waiting for it to be still
    WAIT_CHANGE = "wait_change"  # the scene was shot (or is the shot one): waiting for a change
    HELD = "held"  # still, but no page or a hand: not shootable


@dataclass(frozen=True)
class AutoCaptureParams:
    """Tuning of auto-capture. Thresholds are for the reduced copy, whatever the preview size."""

    still_seconds: float = 1.0  # the scene must stay unchanged this long before a shot
    # Shoot a page that already lies there when auto-capture starts. True: a missing page is
    # found only at the province, a duplicate is flagged at once by QC's duplicate check.
    shoot_first_page: bool = True
    recheck_seconds: float = 2.0  # a held scene (no page, hand) is judged again this often
    poll_seconds: float = 0.1  # how often the thread looks at the latest preview frame
    work_width: int = 160  # width of the reduced grey copy
    fine_sigma: float = 1.0  # band-pass: this blur removes sensor noise...
    coarse_sigma: float = 6.0  # ...minus this one removes light gradients and exposure
    pixel_delta: float = 8.0  # grey levels of band-passed change that count for a pixel
    change_fraction: float = 0.02  # share of changed pixels that makes two frames differ
    # A "page" on the frame edge is not shot: it is cut off (QC would flag it), or it is not a
    # page at all (the detector's false alarms on an empty wooden desk reach past the frame).
    require_whole_page: bool = True
    qc: QcParams = field(default_factory=QcParams)  # the hand check's thresholds (and on/off)


@dataclass(frozen=True, eq=False)
class Reduced:
    """What is kept of a frame to compare it with others: its band-passed small grey copy and
    its overall brightness."""

    band: np.ndarray  # float32, `work_width` wide
    level: float  # median grey level of the small copy


def reduce_frame(frame: np.ndarray, params: AutoCaptureParams) -> Reduced | None:
    """The frame reduced for comparison; None for an unusable frame."""
    if not isinstance(frame, np.ndarray) or frame.ndim not in (2, 3) or min(frame.shape[:2]) < 32:
        return None
    grey = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    width = min(params.work_width, grey.shape[1])
    height = max(1, round(grey.shape[0] * width / grey.shape[1]))
    small = cv2.resize(grey, (width, height), interpolation=cv2.INTER_AREA)
    level = float(np.median(small))
    small = small.astype(np.float32)
    fine = cv2.GaussianBlur(small, (0, 0), params.fine_sigma)
    return Reduced(fine - cv2.GaussianBlur(small, (0, 0), params.coarse_sigma), level)


def changed_fraction(a: Reduced, b: Reduced, pixel_delta: float) -> float:
    """Share of pixels whose band-passed value differs by more than `pixel_delta` once `b` is
    scaled to `a`'s brightness (1.0 when the frames do not even have the same size)."""
    if a.band.shape != b.band.shape:
        return 1.0
    gain = a.level / max(b.level, 1.0)
    return float(np.count_nonzero(np.abs(a.band - gain * b.band) > pixel_delta)) / a.band.size


class AutoCaptureState:
    """The auto-capture state machine (see the module docstring). Not thread-safe."""

    def __init__(self, params: AutoCaptureParams = AutoCaptureParams(),
                 hand_detector: HandDetector | None = None,
                 page_detector: PageDetector = detect_page) -> None:
        self.params = params
        self.hand_detector = hand_detector if params.qc.hand_check else None
        self.page_detector = page_detector
        self.phase = Phase.START
        self.reason = ""  # why the last judgement did not shoot: no_page, hand, same_page, ...
        self._anchor: Reduced | None = None  # first frame of the current stillness
        self._still_since = 0.0
        self._reference: Reduced | None = None  # the scene last shot (or taken as shot)
        self._judged_at = 0.0
        self._shot_failed = False  # the service could not take the last shot asked for

    def _differs(self, a: Reduced | None, b: Reduced | None) -> bool:
        if a is None or b is None:
            return True
        return changed_fraction(a, b, self.params.pixel_delta) > self.params.change_fraction

    def _settle(self, small: Reduced, now: float) -> None:
        if self.phase is not Phase.START:
            self.phase = Phase.SETTLING
        self._anchor, self._still_since = small, now

    def step(self, frame: np.ndarray, now: float) -> bool:
        """Take one preview frame seen at `now` (seconds, any monotonic origin); True: shoot now."""
        small = reduce_frame(frame, self.params)
        if small is None:
            self.reason = "bad_frame"
            return False
        if self.phase is Phase.WAIT_CHANGE:
            if self._differs(small, self._reference):
                self._settle(small, now)
            return False
        if self._differs(small, self._anchor):
            self._settle(small, now)
            return False
        if self.phase is Phase.HELD:
            if now - self._judged_at < self.params.recheck_seconds:
                return False
        elif now - self._still_since < self.params.still_seconds:
            return False
        return self._judge(frame, small, now)

    def _judge(self, frame: np.ndarray, small: Reduced, now: float) -> bool:
        """The scene has been still long enough: shoot it, or say why not."""
        self._judged_at = now
        first = self.phase is Phase.START
        if first and not self.params.shoot_first_page:
            return self._no_shot(Phase.WAIT_CHANGE, "first_scene_skipped", small)
        if not first and not self._shot_failed and not self._differs(small, self._reference):
            return self._no_shot(Phase.WAIT_CHANGE, "same_page", self._reference)
        page = self.page_detector(frame)
        if not page.found:
            return self._no_shot(Phase.HELD, "no_page", self._reference)
        if page.touches_border and self.params.require_whole_page:
            return self._no_shot(Phase.HELD, "page_on_edge", self._reference)
        if self.hand_detector is not None:
            hand = check_hand(frame, self.hand_detector, self.params.qc, page.quad)
            if hand.flagged:
                return self._no_shot(Phase.HELD, "hand", self._reference)
        self.phase, self.reason, self._reference = Phase.WAIT_CHANGE, "", small
        self._shot_failed = False
        log.info("auto-capture: a new page has been still for %.1f s, shooting", now - self._still_since)
        return True

    def _no_shot(self, phase: Phase, reason: str, reference: Reduced | None) -> bool:
        if (phase, reason) != (self.phase, self.reason):
            log.info("auto-capture: not shooting (%s)", reason)
        self.phase, self.reason, self._reference = phase, reason, reference
        return False

    def mark_shot(self, frame: np.ndarray) -> None:
        """The scene in `frame` was shot by another trigger: do not shoot it again."""
        small = reduce_frame(frame, self.params)
        if small is not None:
            self.phase, self.reason, self._reference = Phase.WAIT_CHANGE, "shot_elsewhere", small
            self._shot_failed = False

    def forget_shot(self) -> None:
        """The shot just asked for failed. No retry by itself (a full disk would loop), but
        after the next change, even a hand passing over, the same page may be shot again."""
        self._shot_failed = True


class AutoCapture:
    """The auto-capture trigger: `frames()` returns the latest preview frame (BGR uint8) or
    None when there is none yet. The service calls `note_shot()` after a shot taken by any
    other trigger, so auto-capture does not take the same page again, and `set_enabled()`
    when the operator switches it off or on (off, it looks at no frame; back on, it goes on
    from the scene it last shot, so a page it already took is not taken again)."""

    name = "auto"

    def __init__(self, frames: Frames, params: AutoCaptureParams = AutoCaptureParams(), *,
                 hand_detector: HandDetector | None = None,
                 page_detector: PageDetector = detect_page,
                 now: Callable[[], float] = time.monotonic) -> None:
        if hand_detector is None and params.qc.hand_check:
            hand_detector = default_hand_detector()  # None (logged) without LiteRT or the model
            if hand_detector is None:
                log.warning("auto-capture runs without the hand check: it may shoot a hand on the page")
        self.state = AutoCaptureState(params, hand_detector, page_detector)
        self._frames = frames
        self._now = now
        self._shot_elsewhere = threading.Event()
        self._enabled = threading.Event()
        self._enabled.set()

    @property
    def enabled(self) -> bool:
        return self._enabled.is_set()

    def set_enabled(self, enabled: bool) -> None:
        """Thread-safe: switch shooting on or off (the thread keeps running either way)."""
        if enabled:
            self._enabled.set()
        else:
            self._enabled.clear()

    def note_shot(self) -> None:
        """Thread-safe: a shot was just taken by another trigger (pedal, button, web UI)."""
        self._shot_elsewhere.set()

    def run(self, fire: Fire, stop: threading.Event) -> None:
        failing = False
        while not stop.is_set():
            started = self._now()
            if not self._enabled.is_set():
                stop.wait(self.state.params.poll_seconds)
                continue
            try:
                frame = self._frames()
            except Exception as error:  # the camera is the service's business; keep watching
                if not failing:
                    log.warning("auto-capture: no preview frame (%s); waiting", error)
                failing = True
                frame = None
            else:
                failing = False
            if frame is not None:
                self._take(frame, started, fire)
            stop.wait(max(0.0, self.state.params.poll_seconds - (self._now() - started)))

    def _take(self, frame: np.ndarray, now: float, fire: Fire) -> None:
        if self._shot_elsewhere.is_set():
            self._shot_elsewhere.clear()
            self.state.mark_shot(frame)
            return
        if self.state.step(frame, now) and not fire_safely(fire, self.name):
            self.state.forget_shot()
