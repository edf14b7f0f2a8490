"""A real hub (hub.create_app under waitress) on 127.0.0.1 in a thread, for the agent's tests.

Imported by tests only: the agent itself never imports hub (tests/test_layering.py)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from device.config import load_config
from device.errors import StorageError


@dataclass(frozen=True)
class AnyPackage:
    """A validator verdict that accepts any bytes (the agent's tests send random packages;
    real packages and the real validator are the package builder's and the hub's tests)."""

    reasons: list[str] = field(default_factory=list)
    package_id: str | None = None
    kind: str = "aip"
    file_code: str | None = None
    documents: int = 0
    pages: int = 0


def accept_anything(path: Path) -> AnyPackage:
    return AnyPackage()


class FullOnce:
    """The hub's package store, full for the first package it is given."""

    def __init__(self, store) -> None:
        self.store, self.failed = store, False

    def put(self, sha256, path):
        if not self.failed:
            self.failed = True
            raise StorageError("disk full (once)")
        return self.store.put(sha256, path)

    def __getattr__(self, name):
        return getattr(self.store, name)


class HubServer:
    def __init__(self, root: Path, *, validate=accept_anything, threads: int = 4) -> None:
        from hub.context import Hub

        root.mkdir(parents=True, exist_ok=True)
        toml = root / "hub.toml"
        toml.write_text(f'[hub]\ndata_dir = "{root / "hub"}"\n', encoding="utf-8")
        self.config = load_config(toml, root / "data", environ={})
        self.hub = Hub.open(self.config, validate=validate)
        self.threads = threads

    def __enter__(self) -> HubServer:
        import waitress

        from hub.app import create_app

        self.server = waitress.create_server(create_app(self.config, hub=self.hub),
                                             host="127.0.0.1", port=0, threads=self.threads)
        self.port = self.server.effective_port
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        from waitress import wasyncore

        # Close every socket from inside the server's own loop (closing them from this thread
        # races its select() into EBADF); the loop ends when its map is empty.
        self.server.trigger.pull_trigger(lambda: wasyncore.close_all(self.server._map))
        self.thread.join(10)
        self.server.task_dispatcher.shutdown()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def enrollment_code(self, device: str = "box-1") -> str:
        from hub.devices import issue_enrollment_code

        db = self.hub.catalog()
        try:
            return issue_enrollment_code(db, device, 24, actor="test")
        finally:
            db.conn.close()

    def stored(self) -> dict[str, bytes]:
        """Every package file the hub's store holds, by SHA-256."""
        return {path.name.split(".")[0]: path.read_bytes()
                for path in self.hub.paths.packages.rglob("*") if path.is_file()}
