"""One sync pass: report, then send each waiting package (smallest first) and take its receipt.

Nothing here deletes a package: an upload becomes accepted only with a receipt verified with
the key pinned at enrollment and naming the very SHA-256 and size the box sent.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from agent import custody, health
from agent.backoff import Backoff
from agent.enrollment import Enrollment, load_enrollment
from agent.errors import (NotEnrolledError, ReceiptRefused, SyncUnavailable, UploadGone,
                          WindowClosed)
from agent.hub_api import HubClient
from agent.throttle import TokenBucket, in_windows
from device.agent_settings import effective_agent
from device.box import Box
from device.catalog.dossiers import move
from device.db import outbox, records
from device.db import packages as package_rows
from device.db.events import record_event
from device.db.timeutil import now
from device.errors import IntegrityError, SohoaError
from device.files import sha256_file
from device.records import lifecycle
from device.receipts import verify_receipt

log = logging.getLogger(__name__)

SECRET_REASON = ("mode 03 (Mật): this dossier never leaves the box over a network; "
                 "carry it with `sohoa export`")
_RECEIPT_WAITS = (0.2, 0.5, 1.0, 2.0)


@dataclass
class PassResult:
    """What one pass did, for the CLI's summary and the loop's back-off."""

    reported: bool = False
    accepted: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    held: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    outside_window: bool = False
    error: str | None = None


@dataclass
class SyncContext:
    """What a pass needs besides the box; tests swap the transport and the clock."""

    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    bucket: TokenBucket | None = None
    stats: list[Any] = field(default_factory=list)  # each pass's TransferStats (bench)
    wall_clock: Callable[[], dt.datetime] = dt.datetime.now  # local time, for the time windows


def sync_pass(box: Box, context: SyncContext | None = None) -> PassResult:
    """Report to the hub, then send what waits. NotEnrolledError when there is no enrollment."""
    context = context or SyncContext()
    settings = effective_agent(box)  # sohoa.toml with the overrides set in the web UI
    enrollment = load_enrollment(box)
    added = outbox.queue_built_packages(box.db, str(box.config.paths.data_dir))
    if added:
        log.info("%d newly built packages queued for the hub", added)
    custody.keep_second_copies(box)
    result = PassResult()
    backoff = Backoff(settings.backoff_min_seconds, settings.backoff_max_seconds)
    bucket = context.bucket or TokenBucket(settings.bandwidth_bytes_per_second)
    with HubClient(enrollment, timeout=settings.request_timeout_seconds,
                   transport=context.transport) as hub:
        try:
            hub.report(health.report(box))
            result.reported = True
            outbox.set_sync_values(box.db, {"last_contact_at": now(), "last_contact_error": ""})
        except SyncUnavailable as exc:
            result.error = str(exc)
            log.warning("hub unreachable: %s", exc)
            outbox.set_sync_values(box.db, {"last_contact_error": str(exc)[:2000],
                                            "last_contact_error_at": now()})
            return result
        tus = hub.tus(chunk_bytes=settings.chunk_bytes, bucket=bucket, backoff=backoff,
                      sleep=context.sleep)
        context.stats.append(tus.stats)
        for upload in outbox.uploads_to_send(box.db, context.clock()):
            if not upload["network_allowed"]:
                outbox.mark_held(box.db, upload["id"], SECRET_REASON)
                log.info("package %s held: %s", upload["package_id"], SECRET_REASON)
                result.held.append(upload["sha256"])
                continue
            if not in_windows(settings.time_windows, context.wall_clock()):
                result.outside_window = True
                break
            try:
                _send_guarded(box, hub, tus, enrollment, upload, result, backoff, context)
            except WindowClosed as exc:
                log.info("%s", exc)
                result.outside_window = True
                break
    custody.apply_retention(box)
    return result


def _send_guarded(box: Box, hub: HubClient, tus, enrollment: Enrollment, upload: dict[str, Any],
                  result: PassResult, backoff: Backoff, context: SyncContext) -> None:
    """Send one package; a failure is recorded on its row (and backed off), never raised,
    except NotEnrolledError, which stops the pass."""
    def window_open() -> bool:
        return in_windows(effective_agent(box).time_windows, context.wall_clock())

    try:
        verdict = send_package(box, hub, tus, enrollment, upload, sleep=context.sleep,
                               window_open=window_open)
    except (NotEnrolledError, WindowClosed):
        raise
    except SohoaError as exc:  # transient, integrity or storage: kept on the row, retried later
        attempts = upload["attempts"] + 1
        retry_at = context.clock() + backoff.delay(attempts)
        outbox.note_failure(box.db, upload["id"], str(exc), retry_at)
        result.failed[upload["sha256"]] = str(exc)
        log.warning("package %s: %s (attempt %d)", upload["package_id"], exc, attempts)
        return
    (result.accepted if verdict == "accepted" else result.rejected).append(upload["sha256"])


def send_package(box: Box, hub: HubClient, tus, enrollment: Enrollment, upload: dict[str, Any],
                 *, sleep: Callable[[float], None] = time.sleep,
                 window_open: Callable[[], bool] = lambda: True) -> str:
    """Get one package to the hub and its verified receipt; returns the verdict. When
    `window_open()` turns false between chunks, raises WindowClosed (the offset is kept)."""
    document = hub.lookup(upload["sha256"])
    if document is not None:
        log.info("package %s: the hub already holds it; taking its receipt", upload["package_id"])
        return accept_receipt(box, upload, document, enrollment.public_key)
    url, offset = _upload_url(box, tus, upload)
    advance_dossier(box, upload, "send")
    if offset < upload["size"]:
        def committed(offset: int) -> None:
            outbox.record_offset(box.db, upload["id"], offset)
            if offset < upload["size"] and not window_open():
                raise WindowClosed(f"package {upload['package_id']}: the time window closed at "
                                   f"byte {offset} of {upload['size']}; it goes on from there")

        tus.upload(url, Path(upload["local_path"]), upload["size"], offset=offset,
                   on_progress=committed)
    outbox.mark_uploaded(box.db, upload["id"], upload["size"])
    if hub.lookup(upload["sha256"]) is None:
        # Every byte is at the hub but no receipt: the final PATCH's answer was a 5xx or lost
        # (or this box died right after it). An empty PATCH has the hub take the upload in again.
        tus.finish(url, upload["size"])
    for wait in (0.0, *_RECEIPT_WAITS):
        sleep(wait)
        document = hub.lookup(upload["sha256"])
        if document is not None:
            return accept_receipt(box, upload, document, enrollment.public_key)
    raise SyncUnavailable(f"package {upload['package_id']}: uploaded, but no receipt yet")


def _upload_url(box: Box, tus, upload: dict[str, Any]) -> tuple[str, int]:
    """The stored tus upload and the server's offset, or a new upload (after checking the
    local file still has the SHA-256 it was queued with)."""
    if upload["tus_url"]:
        try:
            return upload["tus_url"], tus.offset(upload["tus_url"])
        except UploadGone:
            log.info("package %s: the hub forgot upload %s; starting again",
                     upload["package_id"], upload["tus_url"])
            outbox.forget_upload_url(box.db, upload["id"])
    path = Path(upload["local_path"])
    if not path.is_file() or sha256_file(path) != upload["sha256"]:
        raise IntegrityError(f"package {upload['package_id']}: the local file {path} is missing "
                             f"or no longer has SHA-256 {upload['sha256']}; not sent",
                             message_vi="Tệp gói trên máy đã bị thay đổi hoặc mất; không gửi.")
    url = tus.create(upload["size"], {"filename": path.name, "sha256": upload["sha256"],
                                      "package_id": upload["package_id"]})
    outbox.record_upload_url(box.db, upload["id"], url)
    return url, 0


def accept_receipt(box: Box, upload: dict[str, Any], document: Any, public_key: str) -> str:
    """Verify a signed receipt with the pinned key and record it; returns the verdict.

    ReceiptRefused (nothing recorded) when it is unsigned, mis-signed or about other bytes."""
    try:
        receipt = verify_receipt(document, public_key)
    except IntegrityError as exc:
        raise ReceiptRefused(str(exc), message_vi=exc.message_vi) from exc
    if receipt.sha256 != upload["sha256"] or receipt.size != upload["size"]:
        raise ReceiptRefused(
            f"receipt refused: it names {receipt.sha256} ({receipt.size} bytes), the box sent "
            f"{upload['sha256']} ({upload['size']} bytes)",
            message_vi="Biên nhận không khớp với gói đã gửi; chưa xoá gì trên máy.")
    outbox.record_receipt(box.db, upload["id"], document, receipt.verdict)
    record_event(box.db, "agent", f"package.{receipt.verdict}", "package", upload["sha256"],
                 {"packageId": upload["package_id"], "hubId": receipt.hub_id,
                  "receivedAt": receipt.received_at, "reasons": receipt.reasons})
    log.info("package %s: receipt verified, %s %s", upload["package_id"], receipt.verdict,
             "; ".join(receipt.reasons))
    advance_dossier(box, upload, "send")  # a receipt brought back on a USB drive: it was sent
    advance_dossier(box, upload, "accept" if receipt.accepted else "reject")
    if receipt.accepted:
        custody.drop_second_copy(box, upload)
    return receipt.verdict


def advance_dossier(box: Box, upload: dict[str, Any], action: str) -> None:
    """Move the package's dossier through packaged → sent → accepted | rejected, only while it
    is still at the version the package holds (a reopened dossier has moved on) and only where
    the lifecycle allows it (sending a package twice does not move it twice)."""
    package = package_rows.package_by_sha256(box.db, upload["sha256"])
    dossier = records.dossier_by_id(box.db, package["dossier_id"]) if package else None
    if dossier is None or dossier["version"] != package["dossier_version"]:
        return
    sources, _ = lifecycle.MOVES[action]
    if lifecycle.DossierState(dossier["state"]) in sources:
        state = move(box, dossier["file_code"], action, actor="agent")
        log.info("dossier %s: %s", dossier["file_code"], state)


def summary(box: Box) -> tuple[bool, str]:
    """Whether every queued package has an accepted receipt, and a one-line summary."""
    figures = outbox.outbox_figures(box.db)
    states = figures["states"]
    done = all(state == "accepted" for state in states)
    parts = [f"{count} {state}" for state, count in sorted(states.items())] or ["outbox empty"]
    text = ", ".join(parts)
    if figures["queue_depth"]:
        text += f"; {figures['bytes_pending']} bytes pending"
    if figures["last_error"] and not done:
        text += f"; last error: {figures['last_error']}"
    return done, text
