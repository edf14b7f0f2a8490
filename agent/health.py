"""The report sent with each contact: health figures first, then dossier metadata and progress."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from device import __version__
from device.box import Box
from device.catalog.describe import dossier_list_json
from device.db import outbox
from device.db.timeutil import now

log = logging.getLogger(__name__)

THERMAL = Path("/sys/class/thermal")


def cpu_temperature(root: Path = THERMAL) -> float | None:
    """The CPU's temperature in °C from the kernel's thermal zones (None where there are none)."""
    zones = sorted(root.glob("thermal_zone*")) if root.is_dir() else []
    preferred = [zone for zone in zones if "cpu" in _read(zone / "type").lower()]
    for zone in preferred + zones:
        value = _read(zone / "temp")
        if value.lstrip("-").isdigit():
            return int(value) / 1000
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


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
    disk = shutil.disk_usage(box.config.paths.data_dir)
    warnings = [w for w in (second_copy_warning(box),) if w]
    return {"at": now(), "box_name": box.config.settings.box.name, "version": __version__,
            "queue_depth": figures["queue_depth"], "bytes_pending": figures["bytes_pending"],
            "uploads": figures["states"], "disk_free_bytes": disk.free,
            "disk_total_bytes": disk.total, "cpu_temperature_c": cpu_temperature(),
            "last_error": figures["last_error"], "warnings": warnings}


def dossier_progress(box: Box) -> list[dict[str, Any]]:
    """Each dossier's state and counts; a Mật dossier's title stays on the box."""
    progress = []
    for item in dossier_list_json(box):
        entry = {key: item[key] for key in ("fileCode", "state", "version", "totalDoc",
                                            "numberOfPage", "networkAllowed", "updatedAt")}
        entry["title"] = item["title"] if item["networkAllowed"] else None
        progress.append(entry)
    return progress


def report(box: Box) -> dict[str, Any]:
    return {"health": health(box), "dossiers": dossier_progress(box)}
