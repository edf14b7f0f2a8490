"""What `sohoa demo` prepares before its services start: its configuration file, logins and dossier."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from device.accounts import check_password, create_user, generate_password, reset_password
from device.box import Box
from device.catalog import dossiers
from device.cli.capture_cmds import DEFECTS
from device.cli.demo_walkthrough import DEMO_AGENCY, DEMO_DOSSIER
from device.db.users import user_by_name
from device.errors import InputError, NotFoundError
from device.files import atomic_output
from device.records.lifecycle import EDITABLE

log = logging.getLogger(__name__)

CONFIG_NAME = "demo.toml"
# (user name, role, display name); passwords are generated at the first run and kept in secrets/.
DEMO_USERS = (("vanthu", "operator", "Văn thư (demo)"), ("kiemduyet", "reviewer", "Kiểm duyệt (demo)"))

# Settings of the demo box beyond the defaults: a fonds to file under, the simulated camera, and
# an agent that looks for new packages every few seconds instead of every five minutes.
_CONFIG = """\
# Written by `sohoa demo` at each start (change the demo's options, not this file).
[box]
name = "sohoa-demo"
agency_id = "H49.64.33"
archive_code = "G09"
fonds_code = "P01"
fonds_name = "UBND xã Demo"

[worker]
poll_seconds = 0.5

[capture]
camera = "simulated"

[capture.camera_options]
defects = {defects}

[agent]
interval_seconds = 5.0
backoff_min_seconds = 1.0
backoff_max_seconds = 10.0
"""


def parse_defects(text: str) -> list[str | list[str]]:
    """`4=blur,6=glare+skew` (shot numbers from 1) as the simulated camera's schedule:
    one entry per shot, "" for a clean shot. InputError for a bad number or defect name."""
    wanted: dict[int, list[str]] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        number, _, names = item.partition("=")
        if not number.strip().isdigit() or not 1 <= int(number) <= 1000 or not names:
            raise InputError(f"--defects: {item!r} is not SHOT=DEFECT (e.g. 4=blur)",
                             message_vi=f"--defects: {item!r} không đúng dạng SỐ=LỖI (ví dụ 4=blur)")
        unknown = [name for name in names.split("+") if name.strip() not in DEFECTS]
        if unknown:
            raise InputError(f"--defects: unknown defect {unknown[0]!r}; known: "
                             f"{', '.join(DEFECTS)}",
                             message_vi=f"--defects: không có lỗi {unknown[0]!r}")
        wanted[int(number)] = [name.strip() for name in names.split("+")]
    schedule: list[str | list[str]] = [""] * max(wanted, default=0)
    for number, names in wanted.items():
        schedule[number - 1] = names[0] if len(names) == 1 else names
    return schedule


def write_config(data_dir: Path, defects: list[str | list[str]]) -> Path:
    """The demo box's configuration file in its data folder (rewritten at each start)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / CONFIG_NAME
    with atomic_output(path, mode=0o644) as handle:
        handle.write(_CONFIG.format(defects=json.dumps(defects)).encode("utf-8"))
    return path


def ensure_demo_users(box: Box, secrets_dir: Path, *, actor: str) -> list[tuple[str, str, str]]:
    """The demo's operator and reviewer, with passwords generated at the first run and kept in
    the data folder's secrets (mode 0600); (user name, role, password) of each."""
    logins = []
    for username, role, display_name in DEMO_USERS:
        secret = secrets_dir / f"demo_{username}_password"
        if not secret.exists():
            with atomic_output(secret, mode=0o600) as handle:
                handle.write(generate_password().encode("ascii"))
        password = secret.read_text(encoding="ascii").strip()
        if user_by_name(box.db, username) is None:
            create_user(box.db, username, role, password, actor=actor, display_name=display_name)
        elif check_password(box.db, username, password) is None:
            # the secret is the truth: a password changed since is put back for the demo
            reset_password(box.db, username, password, actor=actor)
        logins.append((username, role, password))
    return logins


def demo_dossier(box: Box, *, actor: str) -> str:
    """The demo dossier to shoot into: the last demo dossier still editable, else a new one."""
    number, editable = 1, None
    while True:
        file_code = f"{DEMO_AGENCY}.2025.{number}"
        try:
            dossier = dossiers.load(box, file_code)
        except NotFoundError:
            break
        editable = file_code if dossier["state"] in EDITABLE else editable
        number += 1
    if editable:
        return editable
    dossiers.create_dossier(box, {**DEMO_DOSSIER, "fileCode": file_code}, actor=actor)
    log.info("created the demo dossier %s", file_code)
    return file_code
