"""Auto-capture on frame sequences from the simulated camera: shoot a new still page once, never a hand."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator

import cv2
import numpy as np
import pytest

from device.capture.sim_desk import make_desk
from device.capture.simulated import SimulatedCamera
from device.capture.triggers import Trigger
from device.capture.triggers.auto import AutoCapture, AutoCaptureParams, AutoCaptureState, Phase
from device.imaging.quality import default_hand_detector

PORTRAIT = (480, 640)  # the simulated camera's portrait sensor, shrunk: previews are 480x640
DT = 0.1  # seconds between preview frames (10 fps)
SEED = 0  # a seed whose hand the palm detector sees at preview size (it misses fingers-only hands)


class Scenes:
    """Preview frames of one desk: page A, then page B (after a shot), B with a hand on it, the
    desk with no page. Each scene has several frames with different sensor noise."""

    def __init__(self) -> None:
        clean = SimulatedCamera(seed=SEED, resolution=PORTRAIT)
        handy = SimulatedCamera(seed=SEED, resolution=PORTRAIT, defects=[None, "hand"])
        clean.start()
        handy.start()
        self.a = [clean.preview_frame() for _ in range(6)]
        clean.capture()
        handy.capture()
        self.b = [clean.preview_frame() for _ in range(6)]
        self.b_hand = [handy.preview_frame() for _ in range(6)]
        quad = np.array([[90, 110], [390, 110], [390, 530], [90, 530]], np.float32)
        desk = make_desk(np.random.default_rng(SEED), "wood", PORTRAIT, quad).astype(np.float32)
        rng = np.random.default_rng(1)
        self.desk = [np.clip(desk + rng.normal(0, 2.0, desk.shape), 0, 255).astype(np.uint8) for _ in range(6)]

    def turn(self, src: np.ndarray, dst: np.ndarray) -> list[np.ndarray]:
        """A page turn: the old page slides away as the new one comes, blended over five frames."""
        out = []
        for k, alpha in enumerate((0.2, 0.4, 0.6, 0.8, 0.95)):
            moved = np.roll(src, 12 * (k + 1), axis=1)
            out.append(cv2.addWeighted(moved, 1 - alpha, dst, alpha, 0))
        return out


@pytest.fixture(scope="module")
def scenes() -> Scenes:
    return Scenes()


@pytest.fixture(scope="module")
def hands():
    detector = default_hand_detector()
    assert detector is not None, "the packaged palm detector (LiteRT) should load"
    return detector


def still(frames: list[np.ndarray], seconds: float) -> list[np.ndarray]:
    return list(itertools.islice(itertools.cycle(frames), round(seconds / DT)))


class Feed:
    """Steps a state machine through frames at 10 fps on a clock of its own; records shots."""

    def __init__(self, state: AutoCaptureState) -> None:
        self.state = state
        self.count = 0  # frames fed so far; frame n is seen at n * DT
        self.shots: list[float] = []  # times of the shots

    @property
    def t(self) -> float:
        return self.count * DT

    def __call__(self, frames: Iterable[np.ndarray]) -> int:
        """Feed the frames; returns how many shots they caused."""
        before = len(self.shots)
        for frame in frames:
            if self.state.step(frame, self.t):
                self.shots.append(self.t)
            self.count += 1
        return len(self.shots) - before


@pytest.fixture
def feed(hands) -> Feed:
    return Feed(AutoCaptureState(AutoCaptureParams(), hand_detector=hands))


def test_a_still_page_is_shot_once_after_the_still_time(scenes: Scenes, feed: Feed) -> None:
    assert feed(still(scenes.a, 3.0)) == 1
    assert feed.shots[0] >= 1.0 - 1e-9  # not before it has been still for still_seconds
    assert feed(still(scenes.a, 10.0)) == 0  # the same page lying there is not shot again
    assert feed.state.phase is Phase.WAIT_CHANGE


def test_a_page_turn_then_a_still_new_page_is_shot_again(scenes: Scenes, feed: Feed) -> None:
    feed(still(scenes.a, 2.0))
    assert feed(scenes.turn(scenes.a[0], scenes.b[0])) == 0  # moving: never shot
    turned_at = feed.t
    assert feed(still(scenes.b, 3.0)) == 1
    assert feed.shots[-1] >= turned_at + 1.0 - 1e-9
    assert feed(still(scenes.b, 5.0)) == 0


def test_a_page_with_a_hand_on_it_is_shot_only_when_the_hand_has_left(scenes: Scenes, feed: Feed) -> None:
    feed(still(scenes.a, 2.0))
    feed(scenes.turn(scenes.a[0], scenes.b_hand[0]))
    assert feed(still(scenes.b_hand, 6.0)) == 0  # the hand holds the page flat: no shot
    assert feed.state.reason == "hand" and feed.state.phase is Phase.HELD
    assert feed(still(scenes.b, 3.0)) == 1  # the hand is gone
    assert len(feed.shots) == 2


def test_a_hand_passing_over_the_page_already_shot_does_not_shoot_it_again(scenes: Scenes, feed: Feed) -> None:
    feed(still(scenes.b, 2.0))
    assert feed(still(scenes.b_hand, 3.0)) == 0
    assert feed(still(scenes.b, 3.0)) == 0
    assert feed.state.reason == "same_page" and len(feed.shots) == 1


def test_sensor_noise_alone_is_never_motion(scenes: Scenes, feed: Feed) -> None:
    rng = np.random.default_rng(7)

    def noisy(frames: list[np.ndarray], seconds: float) -> Iterator[np.ndarray]:
        for frame in still(frames, seconds):  # a dim room at high gain: sigma 8 on top
            yield np.clip(frame + rng.normal(0, 8.0, frame.shape), 0, 255).astype(np.uint8)

    assert feed(noisy(scenes.a, 1.1)) == 1
    assert feed.shots == [pytest.approx(1.0)]  # the stillness was never broken by noise
    assert feed(noisy(scenes.a, 10.0)) == 0
    assert feed.state.phase is Phase.WAIT_CHANGE


def test_light_changing_over_a_page_already_shot_does_not_shoot_it_again(scenes: Scenes, feed: Feed) -> None:
    feed(still(scenes.a, 2.0))
    dusk = [np.clip(frame * gain, 0, 255).astype(np.uint8)
            for frame, gain in zip(still(scenes.a, 6.0), np.linspace(1.0, 0.5, 60))]
    sudden = [np.clip(frame * 0.7, 0, 255).astype(np.uint8) for frame in still(scenes.a, 3.0)]
    assert feed(dusk + sudden) == 0  # the sun sets; the camera's exposure jumps
    assert feed.state.phase is Phase.WAIT_CHANGE


def test_an_empty_desk_is_never_shot(scenes: Scenes, feed: Feed) -> None:
    # This wooden desk fools the page detector at preview size (a "page" reaching past the
    # frame edge); auto-capture shoots only pages lying wholly in the frame.
    assert feed(still(scenes.desk, 8.0)) == 0
    assert feed.state.reason in ("no_page", "page_on_edge")
    assert feed(still(scenes.a, 2.0)) == 1  # a page laid down is


@pytest.mark.parametrize("kind", ["grey", "dark"])
def test_other_empty_desks_have_no_page_at_all(kind: str, feed: Feed) -> None:
    quad = np.array([[90, 110], [390, 110], [390, 530], [90, 530]], np.float32)
    desk = make_desk(np.random.default_rng(SEED), kind, PORTRAIT, quad)
    assert feed([desk] * 30) == 0 and feed.state.reason == "no_page"


def test_a_page_hanging_over_the_frame_edge_is_not_shot(scenes: Scenes, feed: Feed) -> None:
    cut = np.roll(scenes.a[0], 200, axis=1)  # the page slid right, partly out of view
    cut[:, :200] = scenes.desk[0][:, :200]
    assert feed([cut] * 30) == 0 and feed.state.reason == "page_on_edge"


def test_a_page_removed_and_another_laid_is_shot(scenes: Scenes, feed: Feed) -> None:
    feed(still(scenes.a, 2.0))
    assert feed(still(scenes.desk, 3.0)) == 0
    assert feed(still(scenes.b, 3.0)) == 1


def test_the_page_lying_there_at_start_is_not_shot_when_so_configured(scenes: Scenes, hands) -> None:
    feed = Feed(AutoCaptureState(AutoCaptureParams(shoot_first_page=False), hand_detector=hands))
    assert feed(still(scenes.a, 4.0)) == 0
    assert feed.state.reason == "first_scene_skipped"
    feed(scenes.turn(scenes.a[0], scenes.b[0]))
    assert feed(still(scenes.b, 3.0)) == 1


def test_the_still_time_is_configurable(scenes: Scenes, hands) -> None:
    feed = Feed(AutoCaptureState(AutoCaptureParams(still_seconds=2.5), hand_detector=hands))
    assert feed(still(scenes.a, 2.4)) == 0
    assert feed(still(scenes.a, 0.3)) == 1


def test_downscaled_full_captures_behave_like_previews(hands) -> None:
    camera = SimulatedCamera(seed=5, resolution=(760, 1014))
    camera.start()
    rng = np.random.default_rng(3)
    feed = Feed(AutoCaptureState(AutoCaptureParams(), hand_detector=hands))
    for _page in range(2):
        image = cv2.resize(camera.capture().image, PORTRAIT, interpolation=cv2.INTER_AREA)
        frames = [np.clip(image + rng.normal(0, 2.0, image.shape), 0, 255).astype(np.uint8)
                  for _ in range(30)]
        assert feed(frames) == 1


def test_unusable_frames_are_ignored(feed: Feed) -> None:
    assert feed([np.zeros((8, 8, 3), np.uint8), np.zeros((10,), np.uint8)]) == 0
    assert feed.state.reason == "bad_frame"


# -- the trigger in its thread ---------------------------------------------------------------


class Stream:
    """The service's latest-preview callable, playing a list of frames; each call is 0.1 s later
    on the trigger's clock. After the last frame it returns None and sets `done`."""

    def __init__(self, frames: list[np.ndarray]) -> None:
        self.frames = list(frames)
        self.played = 0
        self.done = threading.Event()
        self.fail_at: set[int] = set()
        self.calls = 0
        self._lock = threading.Lock()

    def clock(self) -> float:
        return self.played * DT

    def __call__(self) -> np.ndarray | None:
        with self._lock:
            self.calls += 1
            if self.calls in self.fail_at:
                raise RuntimeError("the camera is restarting")
            if not self.frames:
                self.done.set()
                return None
            self.played += 1
            return self.frames.pop(0)

    def extend(self, frames: list[np.ndarray]) -> None:
        with self._lock:
            self.frames.extend(frames)
            self.done.clear()


def auto_trigger(stream: Stream, hands: Callable) -> AutoCapture:
    return AutoCapture(stream, AutoCaptureParams(poll_seconds=0.002), hand_detector=hands, now=stream.clock)


def test_the_trigger_fires_auto_for_each_new_page(scenes: Scenes, hands, run_trigger) -> None:
    stream = Stream(still(scenes.a, 2.0) + scenes.turn(scenes.a[0], scenes.b[0]) + still(scenes.b, 2.0))
    trigger = auto_trigger(stream, hands)
    assert isinstance(trigger, Trigger)
    running = run_trigger(trigger)
    assert stream.done.wait(30)
    assert running.fired == ["auto", "auto"]


def test_a_failing_shot_or_frame_source_does_not_stop_auto_capture(scenes: Scenes, hands, run_trigger) -> None:
    stream = Stream([])
    running = run_trigger(auto_trigger(stream, hands))
    running.fail_next = 1
    stream.fail_at = {stream.calls + 3, stream.calls + 4}
    stream.extend(still(scenes.a, 2.0))
    assert stream.done.wait(30)
    assert running.fired == ["auto"] and running.error is None
    stream.extend(still(scenes.a, 3.0))  # it does not retry by itself (a full disk would loop)...
    assert stream.done.wait(30) and running.fired == ["auto"]
    stream.extend(still(scenes.b_hand, 1.0) + still(scenes.a, 2.0))  # ...but after a change, it does
    assert stream.done.wait(30) and running.fired == ["auto", "auto"]


def test_a_shot_taken_by_another_trigger_is_not_taken_again(scenes: Scenes, hands, run_trigger) -> None:
    stream = Stream([])
    trigger = auto_trigger(stream, hands)
    running = run_trigger(trigger)
    trigger.note_shot()  # the operator pressed the pedal with page A in place
    stream.extend(still(scenes.a, 4.0))
    assert stream.done.wait(30)
    assert running.fired == [] and trigger.state.reason == "shot_elsewhere"


def test_switched_off_it_looks_at_nothing_and_back_on_it_does_not_retake_its_last_page(
        scenes: Scenes, hands, run_trigger) -> None:
    stream = Stream([])
    trigger = auto_trigger(stream, hands)
    trigger.set_enabled(False)
    running = run_trigger(trigger)
    stream.extend(still(scenes.a, 2.0))
    running.stop.wait(0.3)  # dozens of polls: none may read a frame while switched off
    assert stream.calls == 0 and running.fired == [] and not trigger.enabled
    trigger.set_enabled(True)
    assert stream.done.wait(30) and running.fired == ["auto"]
    trigger.set_enabled(False)
    trigger.set_enabled(True)
    stream.extend(still(scenes.a, 3.0))  # the same page still lying there
    assert stream.done.wait(30) and running.fired == ["auto"]
