"""The simulated camera: real-looking photos of rendered pages on a desk, with known ground truth."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from device.capture.camera import CameraCapabilities, CameraError, Capture, ShotTruth
from device.capture.render import RenderedPage, load_texts, render_blank, render_document
from device.capture.sim_desk import DESK_KINDS, make_desk, smooth_noise
from device.capture.sim_effects import (
    FIELD_STEP, add_glare, add_noise, apply_light, blur, coarse_grid, jpeg_round_trip, lighting_field, make_noise,
)
from device.capture.sim_geometry import A4_MM, Pose, Rig, effective_dpi, page_corners, remap_grids
from device.capture.sim_hand import HandSprite, composite_hand, coverage, draw_hand, place_transform
from device.capture.sim_plan import (
    DefectSpec, ShotPlan, apply_cutoff, apply_skew, blur_params, defect_rng, glare_params, hand_params,
    normalize_defects, plan_lighting, plan_pose,
)

log = logging.getLogger(__name__)

SENSOR_SIZE = (4056, 3040)  # 12.3 MP, like the Raspberry Pi HQ camera (IMX477)
NOMINAL_DPI = 260.0  # on the paper, at distance 1.0 in portrait orientation
NOMINAL_HEIGHT_MM = 420.0
RENDER_DPI = 300
SAMPLE_TEXTS = Path(__file__).parent / "sample_texts"
PAPER_BGR = ((232, 242, 246), (222, 236, 243), (238, 242, 242), (205, 226, 236))
INK_BGR = ((40, 36, 36), (60, 44, 38), (55, 50, 52))
_CONTACT_SHADOW_MM = (2.5, 3.5)


def _load_sources(texts: Sequence[str] | str | Path | None) -> list[tuple[str, str]]:
    if texts is None:
        texts = SAMPLE_TEXTS
    if isinstance(texts, (str, Path)) and Path(texts).is_dir():
        sources = load_texts(sorted(Path(texts).glob("*.txt")))
    elif isinstance(texts, (str, Path)):
        raise CameraError(f"texts must be a directory of .txt files or a list of texts; got {texts!r}")
    else:
        sources = [(f"text{i}", t) for i, t in enumerate(texts) if t.strip()]
    if not sources:
        raise CameraError("the simulated camera has no text to photograph: give texts or a folder of .txt")
    return sources


class SimulatedCamera:
    """A virtual overhead camera over a desk (see DESIGN.md, Hardware). Deterministic per seed.

    ``defects`` lists what to do to shot 0, 1, 2, ... (None for a clean shot; a name such as
    "glare"; several names; or {name: {param: value}} to pin parameters); later shots draw a
    random defect with probability ``defect_rate``. ``distance`` is the camera height relative
    to the nominal rig (1.0 gives about 260 dpi on the page in portrait orientation).
    ``resolution`` shrinks the sensor (same optics, fewer pixels) for quick tests.
    """

    def __init__(self, seed: int = 0, texts: Sequence[str] | str | Path | None = None,
                 defects: Sequence[DefectSpec] = (), defect_rate: float = 0.0,
                 distance: float | None = None, orientation: str = "portrait",
                 desk: str | None = None, curl: float = 1.0, bound: bool = False,
                 resolution: tuple[int, int] | None = None, tilt_deg: float = 1.5) -> None:
        if orientation not in ("portrait", "landscape"):
            raise CameraError(f"orientation must be 'portrait' or 'landscape', not {orientation!r}")
        if desk is not None and desk not in DESK_KINDS:
            raise CameraError(f"desk must be one of {', '.join(DESK_KINDS)}, not {desk!r}")
        self.seed = int(seed)
        self._sources = _load_sources(texts)
        self._schedule = [normalize_defects(spec) for spec in defects]
        self._defect_rate = float(defect_rate)
        self._curl, self._bound = float(curl), bool(bound)
        sensor = SENSOR_SIZE if orientation == "landscape" else SENSOR_SIZE[::-1]
        size = tuple(int(v) for v in (resolution or sensor))
        distance = distance if distance is not None else (1.0 if orientation == "portrait" else 1.3)
        rng = np.random.default_rng([self.seed, 7])
        focal = NOMINAL_DPI / 25.4 * NOMINAL_HEIGHT_MM * size[0] / sensor[0]
        tilt = (float(rng.uniform(-tilt_deg, tilt_deg)), float(rng.uniform(-tilt_deg, tilt_deg)))
        self.rig = Rig((size[0], size[1]), focal, NOMINAL_HEIGHT_MM * float(distance), tilt)
        self._desk_kind = desk or str(rng.choice(DESK_KINDS))
        self._paper = [PAPER_BGR[i] for i in rng.integers(0, len(PAPER_BGR), len(self._sources))]
        self._ink = INK_BGR[int(rng.integers(0, len(INK_BGR)))]
        self._preview_size = (640, 480) if size[0] >= size[1] else (480, 640)
        self._documents: dict[int, list[RenderedPage]] = {}
        self._sources_cache: dict[tuple[Any, ...], np.ndarray] = {}
        self._started = False
        self._closed = False
        self._shot = 0
        self._cursor = (0, 0)  # next (text, page) to photograph
        self._previous: ShotPlan | None = None
        self._plan: ShotPlan | None = None
        self._preview: np.ndarray | None = None
        self._preview_tick = 0

    @property
    def capabilities(self) -> CameraCapabilities:
        return CameraCapabilities("simulated", self.rig.frame_size, has_autofocus=False,
                                  can_lock_exposure=True, is_flat=False)

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> None:
        """Build the desk and the first scene (the costly part, done once like a camera warm-up)."""
        if self._closed:
            raise CameraError("the simulated camera was closed; create a new one")
        if self._started:
            return
        t0 = time.perf_counter()
        rng = np.random.default_rng([self.seed, 11])
        nominal = page_corners(self.rig, Pose((0.0, 0.0), 0.0))
        self._desk = make_desk(rng, self._desk_kind, self.rig.frame_size, nominal)
        scale = self.rig.frame_size[0] / self._preview_size[0]
        self._desk_preview = cv2.resize(self._desk, self._preview_size, interpolation=cv2.INTER_AREA)
        self._noise = make_noise(rng, self.rig.frame_size, sigma=2.2)
        self._noise_preview = make_noise(rng, self._preview_size, sigma=2.0 / np.sqrt(scale) + 1.0)
        self._started = True
        self._ensure_plan()
        log.info("simulated camera started (seed %d, %s desk, %dx%d, %.0f dpi) in %.2f s", self.seed,
                 self._desk_kind, *self.rig.frame_size, self.rig.nominal_dpi(), time.perf_counter() - t0)

    def close(self) -> None:
        self._closed = True
        self._started = False
        self._sources_cache.clear()

    def _require_started(self) -> None:
        if not self._started:
            raise CameraError("the simulated camera is not started: call start() first"
                              if not self._closed else "the simulated camera was closed")

    # -- pages -----------------------------------------------------------------------------

    def _pages(self, text_index: int) -> list[RenderedPage]:
        if text_index not in self._documents:
            self._documents[text_index] = render_document(self._sources[text_index][1], RENDER_DPI)
        return self._documents[text_index]

    def _page(self, key: tuple[int, int] | None) -> RenderedPage:
        return render_blank(RENDER_DPI) if key is None else self._pages(key[0])[key[1]]

    def _advance(self) -> None:
        text, page = self._cursor
        if page + 1 < len(self._pages(text)):
            self._cursor = (text, page + 1)
        else:
            self._cursor = ((text + 1) % len(self._sources), 0)

    def _page_source(self, key: tuple[int, int] | None, px_per_mm: float) -> np.ndarray:
        """The page as coloured paper at about the resolution it will be seen at (cached)."""
        dpi = min(RENDER_DPI, int(round(px_per_mm * 25.4 * 1.25)))
        cache_key = (key, dpi)
        if cache_key not in self._sources_cache:
            grey = self._page(key).image
            if dpi < RENDER_DPI:
                size = (int(round(A4_MM[0] / 25.4 * dpi)), int(round(A4_MM[1] / 25.4 * dpi)))
                grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
            # The lens is never perfectly sharp: a slight defocus, done once on the source page.
            grey = cv2.GaussianBlur(grey, (0, 0), 0.55 * dpi / (px_per_mm * 25.4))
            paper = np.array(self._paper[key[0] if key else 0], np.float32)
            ink = np.array(self._ink, np.float32)
            matrix = np.stack([(paper - ink) / 255.0, ink], axis=1).astype(np.float32)
            # Paper is not a flat colour: a faint mottle of fibres and pulp.
            fibre = 1 + 0.02 * smooth_noise(np.random.default_rng([self.seed, 13]), grey.shape, 4 * dpi / 300)
            grey = cv2.multiply(grey, fibre, dtype=cv2.CV_8U)
            self._sources_cache[cache_key] = cv2.transform(grey[..., None], matrix)
            while len(self._sources_cache) > 6:
                self._sources_cache.pop(next(iter(self._sources_cache)))
        return self._sources_cache[cache_key]

    # -- planning --------------------------------------------------------------------------

    def _requested(self, index: int) -> dict[str, dict[str, Any]]:
        if index < len(self._schedule):
            return self._schedule[index]
        rng = np.random.default_rng([self.seed, index, 99])
        if self._defect_rate > 0 and rng.random() < self._defect_rate:
            return {str(rng.choice(["blur", "glare", "cutoff", "skew", "blank", "hand", "duplicate"])): {}}
        return {}

    def _make_plan(self, index: int, requested: dict[str, dict[str, Any]]) -> ShotPlan:
        rng = np.random.default_rng([self.seed, index])
        key: tuple[int, int] | None = self._cursor
        applied: dict[str, dict[str, Any]] = {}
        if "duplicate" in requested and self._previous is not None:
            key = self._previous.page_key
            applied["duplicate"] = {"of_shot": self._previous.index}
        elif "duplicate" in requested:
            log.warning("shot %d: 'duplicate' needs a previous shot; taking a normal one", index)
        if "blank" in requested:
            key, applied["blank"] = None, {}
        page_number = key[1] + 1 if key else 1
        pose = self._plan_pose(rng, index, page_number)
        lighting = plan_lighting(rng, self.rig.frame_size)
        noise_offset = (int(rng.integers(0, 64)), int(rng.integers(0, 64)))
        quality = int(rng.integers(88, 96))
        scale = self.rig.frame_size[0] / SENSOR_SIZE[1 if self.rig.frame_size[0] < self.rig.frame_size[1] else 0]
        if "skew" in requested:
            pose, applied["skew"] = apply_skew(self.rig, pose, defect_rng(self.seed, index, "skew"), requested["skew"])
        if "cutoff" in requested:
            pose, applied["cutoff"] = apply_cutoff(self.rig, pose, defect_rng(self.seed, index, "cutoff"), requested["cutoff"])
        corners = page_corners(self.rig, pose)
        if "glare" in requested:
            applied["glare"] = glare_params(corners, defect_rng(self.seed, index, "glare"), requested["glare"], scale)
        if "hand" in requested:
            ppm = self.rig.focal_px / self.rig.height_mm
            applied["hand"] = hand_params(corners, defect_rng(self.seed, index, "hand"), requested["hand"], ppm)
        if "blur" in requested:
            applied["blur"] = blur_params(defect_rng(self.seed, index, "blur"), requested["blur"], scale)
        return ShotPlan(index, key, pose, lighting, applied, noise_offset, quality)

    def _plan_pose(self, rng: np.random.Generator, index: int, page_number: int) -> Pose:
        """Where the paper lies (a subclass may lay a whole book there: sim_spread.py)."""
        return plan_pose(rng, self._curl, self._bound, page_number)

    def _ensure_plan(self, override: dict[str, dict[str, Any]] | None = None) -> ShotPlan:
        if self._plan is None or override is not None:
            requested = override if override is not None else self._requested(self._shot)
            self._plan = self._make_plan(self._shot, requested)
            self._preview = None
        return self._plan

    # -- drawing ---------------------------------------------------------------------------

    def _hand_sprite(self, plan: ShotPlan) -> HandSprite:
        params = plan.defects["hand"]
        ppm = self.rig.focal_px / self.rig.height_mm
        work_ppm = min(ppm, 3.0)  # draw at most 3 px/mm; warpAffine scales it up smoothly
        return draw_hand(defect_rng(self.seed, plan.index, "hand"), work_ppm, params["tone"], params["mirror"])

    def _extra_shade(self, plan: ShotPlan, out_size: tuple[int, int], scale: float,
                     hand: tuple[HandSprite, np.ndarray] | None) -> np.ndarray:
        """Coarse shade map: the page's contact shadow on the desk and the hand's shadow."""
        u, _v = coarse_grid(self.rig.frame_size, out_size)
        grid = (u.shape[1], u.shape[0])
        step = FIELD_STEP * scale  # sensor pixels per coarse cell
        ppm = self.rig.focal_px / self.rig.height_mm
        corners = page_corners(self.rig, plan.pose)
        cells = lambda pts: ((pts + 0.5) / step - 0.5) * 16  # noqa: E731  (4 bits of subpixel)
        page_cover = np.zeros(grid[::-1], np.float32)
        cv2.fillConvexPoly(page_cover, cells(corners).astype(np.int32), 1.0, cv2.LINE_AA, shift=4)
        shadow = np.zeros_like(page_cover)
        offset = np.array(_CONTACT_SHADOW_MM) * ppm
        cv2.fillConvexPoly(shadow, cells(corners + offset).astype(np.int32), 1.0, cv2.LINE_AA, shift=4)
        shadow = cv2.GaussianBlur(shadow, (0, 0), max(0.6, 2.0 * ppm / step))
        shade = 1 - 0.35 * shadow * (1 - page_cover)
        if hand is not None:
            # The hand floats above the page: its shadow falls beside it, and neither that
            # shadow nor the page's contact shadow darkens the hand itself.
            sprite, affine = hand
            on_hand = coverage(sprite, affine, grid, step)
            cast = coverage(sprite, affine, grid, step, tuple(np.array([12.0, 18.0]) * ppm), soften=2.0)
            shade = (shade * (1 - plan.defects["hand"]["shadow_depth"] * cast)) * (1 - on_hand) + on_hand
        return shade

    def _lay_paper(self, plan: ShotPlan, out_size: tuple[int, int], desk: np.ndarray,
                   px_per_mm_out: float) -> np.ndarray:
        """The desk with the page on it, at ``out_size`` (a subclass may lay a book: sim_spread.py)."""
        source = self._page_source(plan.page_key, px_per_mm_out)
        map_x, map_y = remap_grids(self.rig, plan.pose, out_size, source.shape[1] / A4_MM[0])
        frame = desk.copy()
        cv2.remap(source, map_x, map_y, cv2.INTER_LINEAR, dst=frame, borderMode=cv2.BORDER_TRANSPARENT)
        return frame

    def _compose(self, plan: ShotPlan, out_size: tuple[int, int], desk: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        """Draw the scene at ``out_size`` (the sensor, or a scaled view of it for preview)."""
        scale = self.rig.frame_size[0] / out_size[0]
        px_per_mm_out = self.rig.focal_px / self.rig.height_mm / scale
        frame = self._lay_paper(plan, out_size, desk, px_per_mm_out)
        extra: dict[str, Any] = {}
        hand = None
        if "hand" in plan.defects:
            params = plan.defects["hand"]
            sprite = self._hand_sprite(plan)
            affine_sensor = place_transform(sprite, params["fingertip"], params["direction_deg"],
                                            self.rig.focal_px / self.rig.height_mm / sprite.px_per_mm)
            affine = affine_sensor.copy()
            affine[:, :2] /= scale
            affine[:, 2] = (affine[:, 2] + 0.5) / scale - 0.5
            box = composite_hand(frame, sprite, affine)
            extra["hand_bbox"] = None if box is None else tuple(round((b + 0.5) * scale - 0.5) for b in box)
            hand = (sprite, affine_sensor)
        field = lighting_field(plan.lighting, self.rig.frame_size, out_size,
                               self._extra_shade(plan, out_size, scale, hand))
        apply_light(frame, field)
        if "glare" in plan.defects:
            g = plan.defects["glare"]
            add_glare(frame, g["center"], g["radius"], g["peak"], scale)
        if "blur" in plan.defects:
            b = plan.defects["blur"]
            frame = blur(frame, b["kind"], b["size"] / scale, b.get("angle_deg", 0.0))
        return frame, extra

    # -- the Camera protocol ---------------------------------------------------------------

    def preview_frame(self) -> np.ndarray:
        """A 640x480 (480x640 in portrait) BGR view of what the next capture will show.

        The scene is drawn once per planned shot at preview size; each call only adds fresh
        sensor noise, so a preview stream costs well under a millisecond per frame.
        """
        self._require_started()
        plan = self._ensure_plan()
        if self._preview is None:
            self._preview, _ = self._compose(plan, self._preview_size, self._desk_preview)
        self._preview_tick += 1
        offset = ((self._preview_tick * 17) % 64, (self._preview_tick * 29) % 64)
        return add_noise(self._preview.copy(), self._noise_preview, offset)

    def capture(self, defects: DefectSpec = ...) -> Capture:  # type: ignore[assignment]
        """Take the planned shot at full resolution. ``defects`` (simulator only) replaces the
        scheduled defects of this shot."""
        self._require_started()
        t0 = time.perf_counter()
        plan = self._ensure_plan(None if defects is ... else normalize_defects(defects))
        frame, extra = self._compose(plan, self.rig.frame_size, self._desk)
        add_noise(frame, self._noise, plan.noise_offset)
        image, jpeg_bytes = jpeg_round_trip(frame, plan.jpeg_quality)
        truth = self._truth(plan, extra)
        gain = 1.0 / plan.lighting.gain
        metadata = {
            "exposure_us": int(round(8000 * gain)), "analogue_gain": round(1.6 * gain, 3),
            "jpeg_quality": plan.jpeg_quality, "jpeg_bytes": jpeg_bytes,
            "frame_size": self.rig.frame_size, "shot_index": plan.index,
            "render_ms": round((time.perf_counter() - t0) * 1000, 1),
        }
        self._after_shot(plan)
        log.info("simulated shot %d (%s): defects %s, %.0f dpi, %.0f ms", plan.index, truth.source,
                 sorted(truth.defects) or "none", truth.effective_dpi, metadata["render_ms"])
        return Capture(image, dt.datetime.now(dt.timezone.utc), "simulated", metadata, truth)

    def _after_shot(self, plan: ShotPlan) -> None:
        if plan.page_key is not None and "duplicate" not in plan.defects:
            self._advance()
        self._previous = plan
        self._shot += 1
        self._plan = None
        self._preview = None

    def _truth(self, plan: ShotPlan, extra: dict[str, Any]) -> ShotTruth:
        corners = page_corners(self.rig, plan.pose)
        page = self._page(plan.page_key)
        defects = {name: dict(params) for name, params in plan.defects.items()}
        if "hand" in defects:
            defects["hand"]["bbox"] = extra.get("hand_bbox")
        w, h = self.rig.frame_size
        inside = bool(((corners >= 0) & (corners <= np.array([w - 1, h - 1]))).all())
        name = "blank" if plan.page_key is None else f"{self._sources[plan.page_key[0]][0]}#p{plan.page_key[1] + 1}"
        corner_tuple = tuple((round(float(x), 2), round(float(y), 2)) for x, y in corners)
        return ShotTruth(page.text, corner_tuple, defects, round(effective_dpi(corners, A4_MM), 2),  # type: ignore[arg-type]
                         self.seed, plan.index, name, inside)
