"""The report sent with each contact: health figures first, then dossier metadata and progress."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from device import __version__
from device.box import Box
from device.catalog.describe import dossier_list_json
from device.db import outbox
from device.db.timeutil import now
from device.machine import cpu_temperature, disk_space

log = logging.getLogger(__name__)

def second_copy_warning(box: Box) -> str | None:
    """Why packages have no second copy right now, or None when they do."""
    folder = box.config.settings.agent.second_copy_dir
    if folder is None:
        return "no second copy medium is configured (agent.second_copy_dir)"
    if not Path(folder).is_dir():
        return f"the second copy medium {folder} is not mounted"
    return None


def health(box: Box) -> dict[str, Any]:
    """Queue depth, bytes pending, disk free, CPU temperature, version, last error, warnings."""
    figures = outbox.outbox_figures(box.db)
    disk = disk_space(box.config.paths.data_dir)
    warnings = [w for w in (second_copy_warning(box),) if w]
    return {"at": now(), "box_name": box.config.settings.box.name, "version": __version__,
            "queue_depth": figures["queue_depth"], "bytes_pending": figures["bytes_pending"],
            "uploads": figures["states"], "disk_free_bytes": disk["free"],
            "disk_total_bytes": disk["total"], "cpu_temperature_c": cpu_temperature(),
            "last_error": figures["last_error"], "warnings": warnings}


def dossier_progress(box: Box) -> tuple[list[dict[str, Any]], int]:
    """Each dossier that may travel, with its state and counts, and how many may not.

    A Mật (mode 03) dossier leaves the box over a network in no form, not its code, state,
    counts or times: the hub learns only how many there are."""
    progress, secret = [], 0
    for item in dossier_list_json(box):
        if not item["networkAllowed"]:
            secret += 1
            continue
        progress.append({key: item[key] for key in ("fileCode", "title", "state", "version",
                                                    "totalDoc", "numberOfPage", "updatedAt")})
    return progress, secret


def report(box: Box) -> dict[str, Any]:
    """The body of `POST report`: health figures (with the anonymous count of dossiers kept
    off the network), then the progress of the dossiers that may travel."""
    dossiers, secret = dossier_progress(box)
    return {"health": {**health(box), "dossiers_kept_on_box": secret}, "dossiers": dossiers}
