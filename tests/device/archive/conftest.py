"""An approved dossier of 2 documents × 2 processed pages, shot with the simulated camera.

Shooting and processing take a while, so they run once per session into a template data
folder; each test gets its own copy of that folder (SQLite file and blobs), opened as a box.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import BOX_CONFIG, VALID_DOSSIER

CODE = VALID_DOSSIER["fileCode"]
DOSSIER_FIELDS = {"endDate": "2002", "format": "01", "paperFileCode": "G09.K1-G2-H3.160",
                  "keyword": "thành lập xã", "description": "Tổ số hóa lưu động lập"}
DOCUMENT_FIELDS = (
    {"typeName": "02", "issuedDate": "15/09/2001", "organName": "UBND xã Thử",
     "subject": "Về việc thành lập tổ dân phố Đồng Tâm", "codeNumber": "12",
     "codeNotation": "QĐ-UBND"},
    {"typeName": "07", "issuedDate": "20/09/2001", "organName": "UBND xã Thử",
     "subject": "Thông báo về việc họp tổ dân phố", "codeNumber": "3", "codeNotation": "TB-UBND",
     "autograph": "Bút phê của chủ tịch ở trang 1"},
)


def open_box(root: Path):
    from device.box import Box
    from device.config import load_config

    return Box.open(load_config(root / "sohoa.toml", root / "data", environ={}))


@pytest.fixture(scope="session")
def approved_template(tmp_path_factory) -> Path:
    """A data folder holding the approved dossier CODE (2 documents, 2 pages each)."""
    from device.capture.shoot import shoot
    from device.capture.simulated import SimulatedCamera
    from device.catalog.documents import set_document_fields
    from device.catalog.dossiers import approve, create_dossier, set_dossier_fields
    from device.config import load_config
    from device.provision import init_box
    from device.worker import run_once

    root = tmp_path_factory.mktemp("approved")
    (root / "sohoa.toml").write_text(BOX_CONFIG, encoding="utf-8")
    init_box(load_config(root / "sohoa.toml", root / "data", environ={}), actor="test")
    with open_box(root) as box:
        create_dossier(box, dict(VALID_DOSSIER), actor="lan")
        for seed in (3, 8):
            camera = SimulatedCamera(seed=seed, resolution=(1520, 2028))
            camera.start()
            try:
                shoot(box, camera, CODE, count=2, actor="lan", hand_detector=lambda image: [])
            finally:
                camera.close()
        result = run_once(box, processes=1)
        assert (result.processed, result.failed) == (4, 0)
        set_dossier_fields(box, CODE, DOSSIER_FIELDS, actor="lan")
        for seq, fields in enumerate(DOCUMENT_FIELDS, start=1):
            set_document_fields(box, f"{CODE}.{seq}", fields, actor="lan")
        approve(box, CODE, actor="minh")
        box.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return root


@pytest.fixture
def approved_root(approved_template: Path, tmp_path: Path) -> Path:
    """A private copy of the template (config and data folder)."""
    root = tmp_path / "box"
    shutil.copytree(approved_template, root)
    return root


@pytest.fixture
def approved_box(approved_root: Path):
    with open_box(approved_root) as box:
        yield box
