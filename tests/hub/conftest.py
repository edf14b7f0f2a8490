"""A real hub on 127.0.0.1 (waitress in a thread), enrolled devices, and packages to send it.

`real_package` is a TT05 package built by the box from a processed, approved dossier (once per
session, copied per test); `zip_package` makes small hand-built zips for the bad-input cases
and for tus mechanics where the verdict does not matter.
"""

from __future__ import annotations

import base64
import hashlib
import io
import shutil
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import BOX_CONFIG, VALID_DOSSIER

HUB_CONFIG = """
[hub]
hub_id = "hub-test"
max_upload_mb = 64
max_chunk_mb = 4
threads = 8
"""


@dataclass
class RunningHub:
    url: str
    hub: object
    config: object

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def code(self, device_id: str = "xa-thu") -> str:
        from hub.devices import issue_enrollment_code

        db = self.hub.catalog()
        try:
            return issue_enrollment_code(db, device_id, 24, actor="test")
        finally:
            db.close()

    def enroll(self, device_id: str = "xa-thu") -> dict:
        answer = httpx.post(f"{self.url}/api/v1/enroll", json={
            "code": self.code(device_id), "box_name": f"box-{device_id}", "version": "0.1.0"})
        assert answer.status_code == 200, answer.text
        return answer.json()

    def stored_files(self) -> list[Path]:
        return sorted(p for p in self.hub.paths.packages.rglob("*") if p.is_file())

    def partial_files(self) -> list[Path]:
        return sorted(self.hub.paths.uploads.glob("*"))


@pytest.fixture
def hub_config(tmp_path: Path):
    from device.config import load_config

    path = tmp_path / "hub.toml"
    path.write_text(HUB_CONFIG, encoding="utf-8")
    return load_config(path, tmp_path / "hubdata", environ={})


@pytest.fixture
def running_hub(hub_config):
    from hub.app import create_app
    from hub.context import Hub
    from hub.serve import make_server

    hub = Hub.open(hub_config)
    server = make_server(create_app(hub_config, hub=hub), hub, "127.0.0.1:0")
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield RunningHub(f"http://127.0.0.1:{server.effective_port}", hub, hub_config)
    finally:
        stop_server(server, thread)


def stop_server(server, thread: threading.Thread) -> None:
    from hub.serve import stop_server as stop

    stop(server)
    thread.join(timeout=10)
    assert not thread.is_alive()


@pytest.fixture
def device(running_hub) -> dict:
    """An enrolled device: the enroll answer (token, hub key, device id)."""
    return running_hub.enroll()


def metadata_header(sha256: str, package_id: str = "pkg-1", filename: str = "p.zip") -> str:
    pairs = {"filename": filename, "sha256": sha256, "package_id": package_id}
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in pairs.items())


def tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": "1.0.0", **extra}


def create_upload(client: httpx.Client, data: bytes, package_id: str = "pkg-1") -> str:
    answer = client.post("/api/v1/uploads/", headers=tus_headers(**{
        "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata_header(hashlib.sha256(data).hexdigest(), package_id)}))
    assert answer.status_code == 201, answer.text
    return answer.headers["Location"]


def patch(client: httpx.Client, location: str, data: bytes, offset: int,
          algorithm: str = "sha256", checksum: bytes | None = None) -> httpx.Response:
    digest = checksum if checksum is not None else hashlib.new(algorithm, data).digest()
    return client.patch(location, content=data, headers=tus_headers(**{
        "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream",
        "Upload-Checksum": f"{algorithm} {base64.b64encode(digest).decode()}"}))


def upload_whole(client: httpx.Client, data: bytes, package_id: str = "pkg-1",
                 chunk: int = 256 << 10) -> httpx.Response:
    location = create_upload(client, data, package_id)
    answer = None
    for offset in range(0, len(data), chunk):
        answer = patch(client, location, data[offset:offset + chunk], offset)
        assert answer.status_code == 204, answer.text
    return answer


def zip_package(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A hand-built zip (not a TT05 package: the validator rejects it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture(scope="session")
def real_package_template(tmp_path_factory) -> Path:
    """A TT05 AIP built by the box from an approved dossier of 2 documents × 2 pages."""
    from device.box import Box
    from device.capture.shoot import shoot
    from device.capture.simulated import SimulatedCamera
    from device.catalog.dossiers import approve, create_dossier, set_dossier_fields
    from device.catalog.documents import set_document_fields
    from device.archive.package import build_package
    from device.config import load_config
    from device.provision import init_box
    from device.worker import run_once
    from tests.device.archive.conftest import DOCUMENT_FIELDS, DOSSIER_FIELDS

    root = tmp_path_factory.mktemp("hubpackage")
    (root / "sohoa.toml").write_text(BOX_CONFIG, encoding="utf-8")
    config = load_config(root / "sohoa.toml", root / "data", environ={})
    init_box(config, actor="test")
    code = VALID_DOSSIER["fileCode"]
    with Box.open(config) as box:
        create_dossier(box, dict(VALID_DOSSIER), actor="lan")
        for seed in (3, 8):
            camera = SimulatedCamera(seed=seed, resolution=(1520, 2028))
            camera.start()
            try:
                shoot(box, camera, code, count=2, actor="lan", hand_detector=lambda image: [])
            finally:
                camera.close()
        assert run_once(box, processes=1).failed == 0
        set_dossier_fields(box, code, DOSSIER_FIELDS, actor="lan")
        for seq, fields in enumerate(DOCUMENT_FIELDS, start=1):
            set_document_fields(box, f"{code}.{seq}", fields, actor="lan")
        approve(box, code, actor="minh")
        info = build_package(box, code, actor="minh")
    kept = root / "package.zip"
    shutil.copyfile(info.path, kept)
    (root / "package_id").write_text(info.package_id)
    return kept


@dataclass
class Package:
    path: Path
    package_id: str

    @property
    def data(self) -> bytes:
        return self.path.read_bytes()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@pytest.fixture
def real_package(real_package_template: Path, tmp_path: Path) -> Package:
    copy = tmp_path / "package.zip"
    shutil.copyfile(real_package_template, copy)
    return Package(copy, (real_package_template.parent / "package_id").read_text())
