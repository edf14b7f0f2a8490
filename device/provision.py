"""First-run set-up of a data directory: folders, database, generated secrets, the first admin.

Safe to repeat: what exists is kept, and the admin password is shown only when it is created.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from device.accounts import create_user, generate_password
from device.box import Box
from device.config import Config
from device.db.users import count_users
from device.files import atomic_output

# Secrets the services need, generated once per box and never written in the code.
SECRET_FILES = ("web_secret_key",)


@dataclass(frozen=True)
class InitReport:
    """What `init` did, for the CLI to print."""

    data_dir: Path
    created_secrets: list[str]
    admin_username: str | None
    admin_password: str | None


def init_box(config: Config, *, actor: str, admin_username: str = "admin") -> InitReport:
    """Create (or complete) the box's data directory."""
    paths = config.paths
    for folder in (paths.data_dir, paths.blobs, paths.outbox, paths.run):
        folder.mkdir(parents=True, exist_ok=True)
    paths.secrets.mkdir(mode=0o700, exist_ok=True)
    created = [name for name in SECRET_FILES if ensure_secret(paths.secrets / name)]
    with Box.open(config, create=True) as box:
        password = None
        if count_users(box.db, "admin") == 0:
            password = generate_password()
            create_user(box.db, admin_username, "admin", password, actor=actor)
    return InitReport(paths.data_dir, created, admin_username if password else None, password)


def ensure_secret(path: Path) -> bool:
    """Write a new random secret (mode 0600, durably) unless one exists; True if written."""
    if path.exists():
        return False
    with atomic_output(path, mode=0o600) as handle:
        handle.write(secrets.token_hex(32).encode())
    return True


def read_secret(config: Config, name: str) -> str:
    """A generated secret of this box."""
    return (config.paths.secrets / name).read_text().strip()
