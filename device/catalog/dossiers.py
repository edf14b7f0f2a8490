"""Creating, changing and moving dossiers through their lifecycle, each change audited."""

from __future__ import annotations

import re
from typing import Any

from device.box import Box
from device.catalog.effective import document_values, dossier_defaults, dossier_values
from device.db import records, transaction
from device.db.events import record_event
from device.db.jobs import PACKAGE_DOSSIER, enqueue, job_by_subject, package_subject
from device.db.pages import dossier_counts, pages_of
from device.errors import FieldProblem, InputError, NotFoundError, ValidationError
from device.records import lifecycle
from device.records.identifiers import check_agency_id
from device.records.schema import dossier_fields
from device.records.validation import DossierContext, check_document, check_dossier, parse_input, require
from device.records.values import merge, plain

# Keys a dossier's JSON may carry besides the TT05 elements: which agency and fonds it is of.
FONDS_KEYS = ("agencyId", "archiveCode", "fondsCode", "fondsName")
SECRET_MODE = "03"
_CODE_RE = re.compile(r"[0-9A-Za-z.-]+", re.ASCII)


def load(box: Box, file_code: str) -> dict[str, Any]:
    """The dossier row (with its fonds); raises NotFoundError."""
    dossier = records.dossier_by_code(box.db, file_code)
    if dossier is None:
        raise NotFoundError(f"no dossier {file_code!r}", message_vi=f"Không có hồ sơ “{file_code}”")
    return dossier


def _fonds_choice(box: Box, data: dict[str, Any]) -> dict[str, str]:
    defaults = box.config.settings.box
    given = {key: data.pop(key, None) for key in FONDS_KEYS}
    problems = [FieldProblem(key, key, key, "must be text", "phải là chuỗi ký tự")
                for key, value in given.items() if value is not None and not isinstance(value, str)]
    if problems:
        raise ValidationError(problems, subject="dossier")
    choice = {
        "agencyId": (given["agencyId"] or defaults.agency_id).strip(),
        "archiveCode": (given["archiveCode"] or defaults.archive_code).strip(),
        "fondsCode": (given["fondsCode"] or defaults.fonds_code).strip(),
        "fondsName": (given["fondsName"] or defaults.fonds_name).strip(),
    }
    agency_problem = check_agency_id(choice["agencyId"]) if choice["agencyId"] else \
        "is required (no default agency id in the configuration)"
    if agency_problem:
        problems.append(FieldProblem("agencyId", "Mã định danh cơ quan", "Agency id", agency_problem,
                                     "mã định danh cơ quan không hợp lệ hoặc chưa nhập"))
    for key, limit in (("archiveCode", 20), ("fondsCode", 20)):
        if (choice[key] and not _CODE_RE.fullmatch(choice[key])) or len(choice[key]) > limit:
            problems.append(FieldProblem(key, key, key,
                                         f"letters, digits, '.', '-' only, at most {limit}",
                                         f"chỉ gồm chữ, số, '.', '-', tối đa {limit} ký tự"))
    if not choice["fondsCode"]:
        problems.append(FieldProblem("fondsCode", "Mã phông", "Fonds code",
                                     "is required (no default fonds in the configuration)",
                                     "bắt buộc phải nhập mã phông"))
    if problems:
        raise ValidationError(problems, subject="dossier")
    return choice


def _fonds_id(box: Box, fonds: dict[str, str]) -> int:
    """The existing fonds (never silently changed: other dossiers depend on it) or a new one."""
    row = records.fonds_by_key(box.db, fonds["agencyId"], fonds["fondsCode"])
    if row is None:
        return records.insert_fonds(box.db, fonds["agencyId"], fonds["fondsCode"],
                                    fonds["fondsName"], fonds["archiveCode"])
    for key, column in (("archiveCode", "archive_code"), ("fondsName", "name")):
        if fonds[key] and row[column] and fonds[key] != row[column]:
            raise ValidationError([FieldProblem(
                key, key, key, f"fonds {row['code']} already has {row[column]!r}; changing a "
                "fonds is an administrator's task", f"phông {row['code']} đã có giá trị khác")],
                subject="dossier")
    return int(row["id"])


def create_dossier(box: Box, data: Any, *, actor: str) -> str:
    """A new draft dossier from TT05-keyed data; returns its fileCode."""
    if not isinstance(data, dict):
        parse_input(dossier_fields(), data)  # raises the standard message
    data = dict(data)
    fonds = _fonds_choice(box, data)
    values = parse_input(dossier_fields(), data)
    box_defaults = box.config.settings.box
    defaults = dossier_defaults({"language": list(box_defaults.language),
                                 "maintenance": box_defaults.maintenance})
    stored, _ = merge({}, {k: v for k, v in defaults.items() if values.get(k) is None}, "suggested")
    stored, _ = merge(stored, values, "entered")
    context = DossierContext(fonds["agencyId"], fonds["archiveCode"])
    require(check_dossier(plain(stored), "draft", context), "dossier")
    file_code = stored.pop("fileCode")["value"]
    with transaction(box.db):
        if records.dossier_by_code(box.db, file_code):
            raise InputError(f"dossier {file_code} already exists",
                             message_vi=f"Hồ sơ “{file_code}” đã tồn tại")
        fonds_id = _fonds_id(box, fonds)
        dossier_id = records.insert_dossier(box.db, file_code, fonds_id, stored,
                                            network_allowed=plain(stored).get("mode") != SECRET_MODE)
        record_event(box.db, actor, "dossier.create", "dossier", dossier_id,
                     {"fileCode": file_code, "fields": plain(stored), **fonds})
    return file_code


def set_dossier_fields(box: Box, file_code: str, data: Any, *, actor: str,
                       source: str = "entered") -> list[str]:
    """Change fields of an editable dossier (draft rules); returns fields a suggestion skipped."""
    updates = parse_input(dossier_fields(), data)
    with transaction(box.db):
        dossier = load(box, file_code)
        lifecycle.require_editable(dossier["state"])
        current = dict(dossier["fields"], fileCode={"value": dossier["file_code"], "source": "entered"})
        stored, skipped = merge(current, updates, source)  # type: ignore[arg-type]
        context = DossierContext(dossier["agency_id"], dossier["archive_code"])
        require(check_dossier(plain(stored), "draft", context), "dossier")
        new_code = stored.pop("fileCode")["value"]
        if new_code != file_code and records.dossier_by_code(box.db, new_code):
            raise InputError(f"dossier {new_code} already exists")
        records.update_dossier(box.db, dossier["id"], fields=stored, file_code=new_code,
                               network_allowed=network_allowed(box, dossier["id"], stored))
        changed = {k: updates[k] for k in updates if k not in skipped}
        record_event(box.db, actor, "dossier.update", "dossier", dossier["id"],
                     {"fileCode": new_code, "changed": changed, "source": source})
    return skipped


def network_allowed(box: Box, dossier_id: int, fields: dict[str, Any]) -> bool:
    """A dossier may travel over a network unless it, or any of its documents, is Mật (03)."""
    return plain(fields).get("mode") != SECRET_MODE and \
        not records.any_secret_document(box.db, dossier_id, SECRET_MODE)


def completeness_problems(box: Box, dossier: dict[str, Any]) -> list[FieldProblem]:
    """Everything that stops the dossier from being approved, its documents' problems included."""
    context = DossierContext(dossier["agency_id"], dossier["archive_code"])
    values = dossier_values(dossier, dossier_counts(box.db, dossier["id"]))
    problems = check_dossier(values, "complete", context)
    for document in records.documents_of(box.db, dossier["id"]):
        doc_values = document_values(document, dossier)
        for item in check_document(doc_values, "complete"):
            item.field = f"{doc_values['docId']}: {item.field}"
            item.label_vi = f"Tài liệu {doc_values['docId']} – {item.label_vi}"
            problems.append(item)
        problems += _page_problems(doc_values["docId"], document["id"], box)
    return problems


def _page_problems(doc_id: str, document_id: int, box: Box) -> list[FieldProblem]:
    """A package is built from the processed pages: one line per document for the pages the
    worker has not read yet, and one for those it could not read."""
    waiting, failed = [], []
    for page in pages_of(box.db, document_id):
        if page["state"] == "failed":
            failed.append(str(page["position"]))
        elif page["state"] != "processed":
            waiting.append(str(page["position"]))
    problems = []
    if waiting:
        problems.append(FieldProblem(
            f"{doc_id}: pages", f"Tài liệu {doc_id} – trang {', '.join(waiting)}",
            f"Document {doc_id} – page {', '.join(waiting)}", "not processed yet",
            "chưa xử lý xong (hãy chờ máy đọc xong rồi duyệt)"))
    if failed:
        problems.append(FieldProblem(
            f"{doc_id}: pages", f"Tài liệu {doc_id} – trang {', '.join(failed)}",
            f"Document {doc_id} – page {', '.join(failed)}", "processing failed",
            "xử lý bị lỗi (hãy chụp lại hoặc xóa trang này)"))
    return problems


def move(box: Box, file_code: str, action: str, *, actor: str, comment: str = "") -> str:
    """Apply a lifecycle action; approval requires completeness. Returns the new state."""
    with transaction(box.db):
        dossier = load(box, file_code)
        target = lifecycle.next_state(dossier["state"], action)
        if action == "approve":
            require(completeness_problems(box, dossier), "dossier (cannot approve)")
        if action == "return" and not comment.strip():  # the authors must learn what to fix
            raise InputError("returning a dossier needs a comment saying what to fix",
                             message_vi="Trả lại hồ sơ cần ghi rõ lý do (cần sửa gì).")
        version = dossier["version"] + 1 if action == "reopen" else None
        records.update_dossier(box.db, dossier["id"], state=target.value, version=version)
        details = {"fileCode": file_code, "from": dossier["state"], "to": target.value}
        if comment:
            details["comment"] = comment
        if version:
            details["version"] = version
        record_event(box.db, actor, f"dossier.{action}", "dossier", dossier["id"], details)
        if action == "approve":
            # Ký số (sign) is not implemented yet: the package is built from the approval.
            enqueue(box.db, PACKAGE_DOSSIER, package_subject(dossier["id"], dossier["version"]),
                    box.config.settings.jobs.max_attempts)
    return target.value


def approve(box: Box, file_code: str, *, actor: str) -> str:
    """Approve a dossier, submitting it for review first when it is still a draft; both moves
    happen in one transaction, so a refusal leaves the dossier as it was."""
    with transaction(box.db):
        dossier = load(box, file_code)
        if dossier["state"] in (lifecycle.S.DRAFT, lifecycle.S.RETURNED):
            require(completeness_problems(box, dossier), "dossier (cannot approve)")
            move(box, file_code, "submit", actor=actor)
        return move(box, file_code, "approve", actor=actor)


def packaging_status(box: Box, dossier: dict[str, Any]) -> dict[str, Any] | None:
    """Where the package of the dossier's current version stands while it is not built:
    state "pending" (queued or being built), "retrying" (an attempt failed, another will come)
    or "failed" (attempts used up), with the last error; None when no job waits or it is done."""
    job = job_by_subject(box.db, PACKAGE_DOSSIER, package_subject(dossier["id"], dossier["version"]))
    if job is None or job["state"] == "done":
        return None
    if job["state"] == "failed":
        state = "failed"
    else:
        state = "retrying" if job["last_error"] else "pending"
    return {"state": state, "error": job["last_error"] or "", "attempts": job["attempts"],
            "maxAttempts": job["max_attempts"]}
