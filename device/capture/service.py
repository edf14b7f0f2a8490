"""The capture service's logic (no HTTP): the target, shots into it, triggers, status and health.

It composes a CameraSupervisor (the one camera, kept started and reopened after failures) and
a PreviewProducer (the shared preview). Threads: the supervisor's, the preview's, one per
trigger, and the callers of `shoot` (HTTP handlers). The camera lock (in the supervisor) is
held only around a camera call, so the preview keeps flowing while a shot is QC-checked and
stored; the work lock here serializes shots, target changes and every use of the database
(the box has one SQLite connection).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from device.box import Box
from device.capture.camera import Camera, CameraCapabilities, Capture
from device.capture.preview import PreviewFrame, PreviewProducer
from device.capture.retake import check_retake
from device.capture.retake import retake as retake_page
from device.capture.shoot import LAYOUTS, ShotResult, current_document, iter_shots
from device.capture.supervisor import CameraSupervisor, CameraUnavailableError, capabilities_json
from device.capture.triggers import Trigger
from device.catalog.dossiers import load
from device.config import CaptureConfig
from device.db import records, transaction
from device.db.events import record_event
from device.db.pages import pages_of
from device.errors import InputError, NotFoundError, SohoaError, StateError, StorageError
from device.files import atomic_output
from device.imaging.quality import HandDetector, default_hand_detector
from device.records import lifecycle
from device.records.identifiers import doc_id, split_doc_id

log = logging.getLogger(__name__)

TARGET_FILE = "capture-target.json"  # in the data directory: survives restarts and reboots
MAX_SHOTS_PER_REQUEST = 100  # one request stays a few minutes at most
# A request waits at most this long for a shot in progress to end; then it is told "busy" and
# changes nothing, rather than being applied after its caller was told it had failed. Both stay
# well inside the client's own timeouts (10 s for a target, 40 s for one shot): shots from
# several sources queue behind each other, a target change does not wait for long.
TARGET_WAIT_S = 5.0
SHOT_WAIT_S = 25.0


@dataclass(frozen=True)
class Target:
    """Where the next shot goes: a dossier, its document `document` (a seq; None: a new one),
    the position the next page will take (as of the last shot or target change; None if
    unknown) and what a shot holds: one page, or an open register's two pages (`layout`
    "spread"). `document_id` is what the target really holds: a split or merge in the page
    grid renumbers documents, so `document` is only the seq as last seen, refreshed from it."""

    dossier: str
    document: int | None
    position: int | None = 1
    layout: str = "page"
    document_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"dossier": self.dossier, "document": self.document,
                "docId": doc_id(self.dossier, self.document) if self.document else None,
                "next_position": self.position, "layout": self.layout}


class _ServiceCamera:
    """The service's camera as `iter_shots` sees it: each capture through the supervisor."""

    def __init__(self, service: CaptureService, camera: Camera) -> None:
        self._service, self._camera = service, camera
        self.capabilities: CameraCapabilities = camera.capabilities

    def capture(self) -> Capture:
        if self._service.stopping:  # between two shots of a run: the rest is refused whole
            raise CameraUnavailableError("the capture service is stopping",
                                         message_vi="Dịch vụ chụp đang dừng; chưa chụp trang này.")
        return self._service.supervisor.call(self._camera, "capture", self._camera.capture)


class CaptureService:
    """Owns one camera, kept started; see the module docstring for threads and locks."""

    def __init__(self, box: Box, open_camera: Callable[[], Camera], settings: CaptureConfig, *,
                 kind: str = "camera", hand_detector: HandDetector | None = None,
                 triggers: Sequence[Trigger] = (), first_camera: Camera | None = None,
                 on_status: Callable[[str], object] | None = None) -> None:
        self.box, self.settings = box, settings
        self.supervisor = CameraSupervisor(open_camera, settings, kind=kind,
                                           first_camera=first_camera, on_status=on_status)
        self.preview = PreviewProducer(self.supervisor, settings)
        self.hand_detector = hand_detector if hand_detector is not None else default_hand_detector()
        self._triggers = list(triggers)
        self._trigger_threads: list[threading.Thread] = []
        self._work_lock = threading.Lock()
        self._stop = threading.Event()
        self._shots = 0
        self._armed: int | None = None  # a page the next single shot replaces (arm_retake)
        self._armed_by = ""  # ...and who armed it, for the retake's event
        self._target_file = box.config.paths.data_dir / TARGET_FILE
        self._target = self._load_target()

    # -- lifecycle -------------------------------------------------------------------------

    def add_trigger(self, trigger: Trigger) -> None:
        """Run `trigger` too once the service starts (triggers are added before `start`)."""
        if self._trigger_threads:
            raise RuntimeError("triggers must be added before the capture service starts")
        self._triggers.append(trigger)

    def start(self) -> None:
        """Start the supervisor (which opens the camera), the preview producer and the triggers."""
        self.supervisor.start()
        self.preview.start()
        for trigger in self._triggers:
            thread = threading.Thread(target=self._run_trigger, args=(trigger,),
                                      name=_thread_name(trigger), daemon=True)
            self._trigger_threads.append(thread)
            thread.start()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def close(self) -> None:
        """Stop the loops, let a shot being stored finish, refuse later ones, close the camera."""
        self._stop.set()
        self.preview.stop()
        self.supervisor.stop()
        for thread in self._trigger_threads:
            thread.join(timeout=5)
            if thread.is_alive():
                log.warning("trigger thread %s did not stop within 5 s", thread.name)
        if self._work_lock.acquire(timeout=self.settings.stall_seconds):
            self._work_lock.release()
        else:
            log.error("a shot is still being stored after %g s; stopping anyway",
                      self.settings.stall_seconds)
        self.supervisor.close()
        log.info("capture service stopped after %d shots", self._shots)

    def health(self) -> str | None:
        """None while every loop runs and no camera call is stuck; else what is stuck."""
        limit = self.settings.stall_seconds
        # While a shot holds the camera the preview loop waits for it: not a stall of its own.
        preview = None if self.supervisor.calls.busy() else self.preview.health(limit)
        return self.supervisor.health(limit) or preview

    # -- what clients ask ------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        sup = self.supervisor
        caps = sup.capabilities
        available = sup.camera is not None
        frame = self.preview.latest
        return {
            "camera": {"kind": sup.kind, "name": caps.name if caps else None,
                       "capabilities": capabilities_json(caps), "available": available,
                       "reason": None if available else sup.reason,
                       "reason_vi": None if available else "Máy ảnh chưa sẵn sàng; đang kết nối lại."},
            "target": target.as_dict() if (target := self.target()) else None,
            "preview": {"fps": round(self.preview.fps(), 2), "frames": frame.seq if frame else 0,
                        "width": frame.image.shape[1] if frame else None,
                        "height": frame.image.shape[0] if frame else None},
            "shots": self._shots, "busy": self._work_lock.locked(), "problem": self.health(),
            "auto": self.auto(), "retake": self._armed,
        }

    def auto(self) -> dict[str, Any]:
        """Auto-capture as clients see it: `available` (configured, and its thread runs),
        `enabled` (switched on now), `reason` why it is not available (not_configured, stopped)."""
        trigger = self._auto_trigger()
        if trigger is None:
            return {"available": False, "enabled": False, "reason": "not_configured"}
        thread = next((t for t in self._trigger_threads if t.name == _thread_name(trigger)), None)
        if thread is not None and not thread.is_alive():
            return {"available": False, "enabled": False, "reason": "stopped"}
        return {"available": True, "enabled": trigger.enabled, "reason": None}

    def set_auto(self, enabled: object, *, actor: str) -> dict[str, Any]:
        """Switch auto-capture on or off until the service restarts (the configuration says
        whether it starts on); the switch is written to the audit trail."""
        if not isinstance(enabled, bool):
            raise InputError(f"enabled must be true or false, not {enabled!r}",
                             message_vi="Giá trị bật/tắt chụp tự động không hợp lệ.")
        trigger = self._auto_trigger()
        if trigger is None or not self.auto()["available"]:
            raise StateError("auto-capture is not available on this box: turn it on with "
                             "[capture.triggers.auto] enabled = true and restart the capture service",
                             message_vi="Máy này chưa cài đặt chụp tự động "
                                        "([capture.triggers.auto] trong tệp cấu hình).")
        with self._working(TARGET_WAIT_S):
            trigger.set_enabled(enabled)
            with transaction(self.box.db):
                record_event(self.box.db, actor, "capture.auto", "capture", "auto",
                             {"enabled": enabled})
        log.info("auto-capture switched %s by %s", "on" if enabled else "off", actor)
        return self.auto()

    def _auto_trigger(self) -> Any:
        return next((t for t in self._triggers if t.name == "auto" and hasattr(t, "set_enabled")), None)

    def target(self) -> Target | None:
        """The target, its document's seq refreshed (after a split or merge) unless a shot
        holds the work lock now; one whose document is gone is kept as it was, and refused
        at the next shot."""
        if self._target is not None and self._work_lock.acquire(blocking=False):
            try:
                self._refreshed(self._target)
            except SohoaError as exc:
                log.debug("the target cannot be refreshed: %s", exc)
            finally:
                self._work_lock.release()
        return self._target

    def set_target(self, dossier: object, document: object, layout: object = "page") -> Target:
        """Aim at an editable dossier's document (None: a new document at the next shot);
        `layout` "spread": each shot is an open register's two facing pages."""
        if not isinstance(dossier, str) or not dossier.strip():
            raise InputError("dossier must be a fileCode", message_vi="Hãy chọn một hồ sơ.")
        if layout not in LAYOUTS:
            raise InputError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}",
                             message_vi="Kiểu chụp phải là một trang (page) hoặc sổ mở (spread).")
        if document is not None and (isinstance(document, bool) or not isinstance(document, int)
                                     or document < 1):
            raise InputError(f"document must be a number from 1, or null for a new document; not "
                             f"{document!r}", message_vi="Số thứ tự tài liệu không hợp lệ.")
        with self._working(TARGET_WAIT_S):
            target = replace(self._resolve(dossier.strip(), document), layout=str(layout))
            self._save_target(target)
            self._target = target
            if self._armed is not None:  # a retake armed for the old target does not follow it
                self._disarm("capture", "target_changed")
        log.info("target set to %s", target.as_dict())
        return target

    @contextmanager
    def _working(self, wait_s: float) -> Iterator[None]:
        """Hold the work lock, or refuse (StateError "busy") if a shot keeps it past `wait_s`."""
        if not self._work_lock.acquire(timeout=wait_s):
            raise StateError("the capture service is busy with another shot; try again",
                             message_vi="Máy đang chụp trang khác; hãy thử lại sau giây lát.")
        try:
            yield
        finally:
            self._work_lock.release()

    def shoot(self, count: object = 1, *, actor: str = "capture",
              on_stored: Callable[[ShotResult], object] | None = None,
              expect: dict[str, Any] | None = None, retake: object = None) -> list[ShotResult]:
        """Shoot `count` pages into the target; returns once every one is durable and committed.

        Refused, with nothing stored, when there is no target, the dossier is not editable, the
        disk is below its floor or the camera is unavailable. A failure mid-run keeps the shots
        already stored (each reported to `on_stored` as it is committed) and raises. `expect`
        ({"dossier", "document"}) refuses the shot when the target is no longer the one the
        caller aimed at (another client or the pedal moved it in between). `retake` (a page
        id of the target's dossier): the one shot replaces that page instead of adding one
        (see device.capture.retake); the target does not move. Without it, a single shot
        replaces the page armed with `arm_retake`, whoever fires it.
        """
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_SHOTS_PER_REQUEST:
            raise InputError(f"count must be a whole number from 1 to {MAX_SHOTS_PER_REQUEST}, not {count!r}",
                             message_vi=f"Số trang chụp phải từ 1 đến {MAX_SHOTS_PER_REQUEST}.")
        results: list[ShotResult] = []
        with self._working(SHOT_WAIT_S):
            if self._target is None:
                raise StateError("no target: choose a dossier first (sohoa capture target)",
                                 message_vi="Chưa chọn hồ sơ để chụp vào.")
            target = self._refreshed(self._target)  # its seq after any split or merge
            _check_expected(target, expect)
            camera = _ServiceCamera(self, self.supervisor.current())
            if retake is None and count == 1:
                retake = self._armed
            armed_by = self._armed_by if retake is not None and retake == self._armed else None
            if retake is not None:
                return [self._retake(camera, target, retake, count, actor, armed_by, on_stored)]
            shots = iter_shots(self.box, camera, target.dossier, count=count, actor=actor,
                               document=target.document, document_id=target.document_id,
                               hand_detector=self.hand_detector, layout=target.layout)
            for result in shots:
                results.append(result)
                self._shots += 1
                self._tell_other_triggers(actor)
                target = self._advance_target(target, result)
                if on_stored is not None:
                    on_stored(result)
        return results

    def _retake(self, camera: _ServiceCamera, target: Target, page_id: object, count: object,
                actor: str, armed_by: str | None,
                on_stored: Callable[[ShotResult], object] | None) -> ShotResult:
        if count != 1:
            raise InputError(f"a retake is one shot, not {count}",
                             message_vi="Mỗi lần chụp lại chỉ chụp một trang.")
        try:
            result = retake_page(self.box, camera, target.dossier, page_id,  # type: ignore[arg-type]
                                 actor=actor, hand_detector=self.hand_detector, armed_by=armed_by)
        except (NotFoundError, StateError):
            if page_id == self._armed:  # the armed page went (deleted, dossier closed): disarm
                self._disarm(actor, "page_unavailable")
            raise
        if page_id == self._armed:  # taken: its `page.retake` event names who armed it
            self._armed, self._armed_by = None, ""
        self._shots += 1
        self._tell_other_triggers(actor)
        if on_stored is not None:
            on_stored(result)
        return result

    def arm_retake(self, page_id: object, *, actor: str) -> int | None:
        """Make the next single shot, from any source (the screen, the pedal, auto-capture),
        replace page `page_id` of the target's dossier (checked now); None disarms. Changing
        the target disarms too. Audited: `page.retake_armed` by `actor` (the retake's own
        `page.retake` event then names them as `armed_by`), `page.retake_cancelled` when an
        armed page is disarmed or replaced by another."""
        with self._working(TARGET_WAIT_S):
            if page_id is None:
                if self._armed is not None:
                    self._disarm(actor, "cancelled")
                log.info("retake disarmed by %s", actor)
                return None
            if self._target is None:
                raise StateError("no target: choose a dossier first (sohoa capture target)",
                                 message_vi="Chưa chọn hồ sơ để chụp vào.")
            place = check_retake(self.box, self._target.dossier, page_id)
            with transaction(self.box.db):
                if self._armed is not None and self._armed != page_id:
                    self._record_disarm(actor, "replaced")
                record_event(self.box.db, actor, "page.retake_armed", "page", page_id,
                             {"docId": doc_id(place["file_code"], place["document_seq"]),
                              "position": place["position"]})
            self._armed, self._armed_by = page_id, actor  # type: ignore[assignment]
        log.info("retake armed for page %s by %s", page_id, actor)
        return self._armed

    def _disarm(self, actor: str, reason: str) -> None:
        """Forget the armed retake, audited (the caller holds the work lock)."""
        with transaction(self.box.db):
            self._record_disarm(actor, reason)
        self._armed, self._armed_by = None, ""

    def _record_disarm(self, actor: str, reason: str) -> None:
        """The `page.retake_cancelled` event of the armed page (inside a transaction): `reason`
        is cancelled, replaced (another page armed), target_changed or page_unavailable."""
        record_event(self.box.db, actor, "page.retake_cancelled", "page", self._armed,  # type: ignore[arg-type]
                     {"armed_by": self._armed_by, "reason": reason})
        log.info("retake of page %s (armed by %s) cancelled by %s: %s", self._armed,
                 self._armed_by, actor, reason)

    def _tell_other_triggers(self, actor: str) -> None:
        """Auto-capture must not shoot again a page the pedal, the button or the UI just shot."""
        for trigger in self._triggers:
            note_shot = getattr(trigger, "note_shot", None)
            if note_shot is not None and actor != f"trigger:{trigger.name}":
                note_shot()

    def fire(self, source: str) -> None:
        """A trigger's request for one shot; a refusal is logged, never raised into the trigger."""
        try:
            [result] = self.shoot(1, actor=f"trigger:{source}")
        except SohoaError as exc:
            log.warning("trigger %s: no shot: %s", source, exc)
        except Exception:  # a bug must not silence the pedal for the rest of the day
            log.exception("trigger %s: the shot failed unexpectedly", source)
        else:
            log.info("trigger %s: page %d stored (%s)", source, result.page_id,
                     "ok" if result.ok else ", ".join(f.reason_key for f in result.flags))

    def latest_preview(self) -> np.ndarray | None:
        """The last preview frame (not read again from the camera), or None before the first."""
        frame = self.preview.latest
        return frame.image if frame else None

    def wait_preview(self, after: int, timeout: float) -> PreviewFrame | None:
        """The first preview frame newer than sequence number `after`, or None on timeout/stop."""
        return self.preview.wait(after, timeout)

    # -- target ----------------------------------------------------------------------------

    def _resolve(self, file_code: str, document: int | None, document_id: int | None = None) -> Target:
        """The target at dossier `file_code`'s document `document_id` (a row id) or, without
        one, its document of seq `document` (None: a new document at the next shot)."""
        dossier = load(self.box, file_code)
        lifecycle.require_editable(dossier["state"])
        if document_id is not None:
            row = current_document(self.box, dossier, document_id)
        elif document is None:
            return Target(dossier["file_code"], None, 1)
        else:
            row = records.document_by_seq(self.box.db, dossier["id"], document)
        if row is None:
            text = doc_id(dossier["file_code"], document)  # type: ignore[arg-type]
            raise NotFoundError(f"no document {text!r}", message_vi=f"Không có tài liệu “{text}”.")
        return Target(dossier["file_code"], int(row["seq"]), len(pages_of(self.box.db, row["id"])) + 1,
                      document_id=int(row["id"]))

    def _refreshed(self, target: Target) -> Target:
        """`target` with its document's seq and next position as of now (the work lock is
        held); raises, changing nothing, when that document was merged away or removed."""
        if target.document_id is None and target.document is None:
            return target
        fresh = replace(self._resolve(target.dossier, target.document, target.document_id),
                        layout=target.layout)
        self._target = fresh
        return fresh

    def _advance_target(self, target: Target, result: ShotResult) -> Target:
        _, seq = split_doc_id(result.doc_id)
        self._target = Target(target.dossier, seq, result.last_position + 1, target.layout,
                              document_id=result.document_id)
        if target.document_id != result.document_id:  # a new document: later shots go into it
            try:
                self._save_target(self._target)
            except StorageError as exc:  # the shot is stored; only the pointer is not
                log.error("page %d stored, but the target could not be saved: %s", result.page_id, exc)
        return self._target

    def _save_target(self, target: Target) -> None:
        # The document's row id, not its seq: a split or merge renumbers documents.
        data = json.dumps({"dossier": target.dossier, "document_id": target.document_id,
                           "layout": target.layout}).encode()
        with atomic_output(self._target_file, mode=0o640) as handle:
            handle.write(data)

    def _load_target(self) -> Target | None:
        try:
            data = json.loads(self._target_file.read_text(encoding="utf-8"))
            dossier = data["dossier"]
            # Files saved before ids were kept name the document by seq ("document").
            document_id = data["document_id"] if "document_id" in data else None
            document = None if "document_id" in data else data["document"]
            layout = data.get("layout", "page")  # files saved before layouts existed: one page
            if (not isinstance(dossier, str) or not (document is None or type(document) is int)
                    or not (document_id is None or type(document_id) is int)
                    or layout not in LAYOUTS):
                raise TypeError(f"unexpected content {data!r}")
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("ignoring the saved target %s: %s", self._target_file, exc)
            return None
        try:
            target = replace(self._resolve(dossier, document, document_id), layout=layout)
            if "document_id" not in data and target.document_id is not None:
                self._save_target(target)  # by id from now on: a split must not move it
            return target
        except SohoaError as exc:
            log.warning("the saved target %s/%s cannot be shot into now: %s", dossier,
                        document_id if document_id is not None else document, exc)
            return Target(dossier, document, None, layout, document_id=document_id)

    def _run_trigger(self, trigger: Trigger) -> None:
        try:
            trigger.run(self.fire, self._stop)
        except SohoaError as exc:  # e.g. TriggerUnavailable: its device or library is missing
            log.error("trigger %s cannot run: %s", trigger.name, exc)
        except Exception:  # one broken trigger must not take the service down
            log.exception("trigger %s stopped with an error", trigger.name)


def _thread_name(trigger: Trigger) -> str:
    return f"capture-trigger-{trigger.name}"


def _check_expected(target: Target, expect: dict[str, Any] | None) -> None:
    """StateError when `expect` names another dossier or document than the target's."""
    if expect is None:
        return
    if not isinstance(expect, dict) or set(expect) - {"dossier", "document"}:
        raise InputError("expect must be {\"dossier\": fileCode, \"document\": seq|null}",
                         message_vi="Dữ liệu JSON không hợp lệ.")
    if expect.get("dossier", target.dossier) != target.dossier or \
            ("document" in expect and expect["document"] != target.document):
        raise StateError(f"the target changed to {target.as_dict()['docId'] or target.dossier} "
                         "since this shot was asked for; nothing was shot",
                         message_vi="Nơi chụp vừa bị thay đổi; trang này chưa được chụp.")
