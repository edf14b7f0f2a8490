"""The box's machine figures: CPU temperature, disk space of the data folder, software versions."""

from __future__ import annotations

import platform
import shutil
import sqlite3
from pathlib import Path

from device import __version__

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


def disk_space(folder: Path) -> dict[str, int]:
    """Free and total bytes of the file system holding `folder`."""
    usage = shutil.disk_usage(folder)
    return {"free": usage.free, "total": usage.total}


def versions() -> dict[str, str]:
    """SoHoa Box's version and the versions of what it runs on."""
    return {"sohoa": __version__, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "system": platform.platform(terse=True)}
