"""The agent's settings that can be changed on the box itself (bandwidth cap, time windows):
validated overrides stored in the database over sohoa.toml's values, each change audited."""

from __future__ import annotations

import logging
import re
from typing import Any

import pydantic

from device.box import Box
from device.config import TIME_WINDOW, AgentConfig
from device.db import transaction
from device.db.events import record_event
from device.db.settings import delete_setting, setting_rows, store_setting
from device.errors import FieldProblem, ValidationError

log = logging.getLogger(__name__)

PREFIX = "agent."
OVERRIDABLE = ("bandwidth_bytes_per_second", "time_windows")
MAX_KB_PER_SECOND = 10_000_000
_LABELS = {"bandwidth_bytes_per_second": ("Giới hạn băng thông", "Bandwidth cap"),
           "time_windows": ("Khung giờ gửi", "Time windows")}


def overrides(box: Box) -> dict[str, dict[str, Any]]:
    """The stored overrides by setting name: {value, updated_by, updated_at}."""
    return {key.removeprefix(PREFIX): row for key, row in setting_rows(box.db, PREFIX).items()
            if key.removeprefix(PREFIX) in OVERRIDABLE}


def effective_agent(box: Box) -> AgentConfig:
    """sohoa.toml's [agent] section with the stored overrides applied (what the agent obeys).
    An override that no longer validates is ignored with a warning, never fatal."""
    base = box.config.settings.agent
    values = {name: row["value"] for name, row in overrides(box).items()}
    if not values:
        return base
    try:
        return AgentConfig(**{**base.model_dump(), **values})
    except pydantic.ValidationError as exc:
        log.warning("agent setting overrides ignored, they do not validate: %s", exc)
        return base


def _problem(name: str, english: str, vietnamese: str) -> FieldProblem:
    label_vi, label_en = _LABELS[name]
    return FieldProblem(name, label_vi, label_en, english, vietnamese)


def parse_bandwidth(text: str) -> tuple[int | None, FieldProblem | None]:
    """Bytes per second from kB/s typed by a person (0 or empty: no cap)."""
    text = text.strip().replace(" ", "")
    if not text:
        return 0, None
    if not text.isdigit() or int(text) > MAX_KB_PER_SECOND:
        return None, _problem("bandwidth_bytes_per_second",
                              f"a whole number of kB/s from 0 to {MAX_KB_PER_SECOND}",
                              "Hãy nhập số nguyên kB/s (0 là không giới hạn)")
    return int(text) * 1000, None


def parse_windows(text: str) -> tuple[list[str] | None, FieldProblem | None]:
    """"HH:MM-HH:MM" windows, one per line or separated by commas (empty: any time)."""
    windows = [part.strip().replace(" ", "") for part in re.split(r"[,;\n]", text) if part.strip()]
    wrong = [window for window in windows if not TIME_WINDOW.fullmatch(window)]
    if wrong or len(windows) > 24:
        return None, _problem("time_windows", f"not HH:MM-HH:MM: {', '.join(wrong[:3])}",
                              "Mỗi khung giờ có dạng GG:PP-GG:PP, ví dụ 12:00-13:30 "
                              f"(sai: {', '.join(wrong[:3]) or 'quá nhiều khung giờ'})")
    return windows, None


def save_agent_overrides(box: Box, *, bandwidth_kb: str, windows: str, actor: str) -> dict[str, Any]:
    """Validate and store both settings as overrides; the changes made (name -> new value).
    ValidationError (field-level, nothing stored) when either is wrong."""
    bandwidth, bandwidth_problem = parse_bandwidth(bandwidth_kb)
    window_list, windows_problem = parse_windows(windows)
    problems = [p for p in (bandwidth_problem, windows_problem) if p]
    if problems:
        raise ValidationError(problems, subject="agent settings")
    current = effective_agent(box)
    wanted = {"bandwidth_bytes_per_second": bandwidth, "time_windows": window_list}
    # Compared as the form shows them (bandwidth in whole kB/s): a form saved for its windows
    # alone posts back 131 kB/s for sohoa.toml's 131072 B/s, which is no change of the cap.
    changes = {name: value for name, value in wanted.items()
               if _as_shown(name, getattr(current, name)) != _as_shown(name, value)}
    if changes:
        with transaction(box.db):
            for name, value in changes.items():
                store_setting(box.db, PREFIX + name, value, actor)
            record_event(box.db, actor, "settings.update", "settings", "agent",
                         {name: {"from": getattr(current, name), "to": value}
                          for name, value in changes.items()})
        log.info("agent settings changed by %s: %s", actor, changes)
    return changes


def _as_shown(name: str, value: Any) -> Any:
    """A setting's value in the unit the settings form shows it in."""
    return value // 1000 if name == "bandwidth_bytes_per_second" else value


def reset_agent_overrides(box: Box, *, actor: str) -> list[str]:
    """Drop every override (sohoa.toml applies again); the names that had one."""
    with transaction(box.db):
        dropped = [name for name in OVERRIDABLE if delete_setting(box.db, PREFIX + name)]
        if dropped:
            record_event(box.db, actor, "settings.reset", "settings", "agent", {"names": dropped})
    return dropped
