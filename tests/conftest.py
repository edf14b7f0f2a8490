"""Fixtures shared by every test: the development data beside the project, scratch data dirs."""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--hardware", action="store_true",
                     help="also run the tests marked hardware (a Raspberry Pi, a camera or a scanner)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Hardware tests are skipped unless asked for, whatever -m selects (so `-m 'not slow'` is safe)."""
    if config.getoption("--hardware"):
        return
    skip = pytest.mark.skip(reason="needs real hardware: run with --hardware")
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)


REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's development data (real photos, ground truth), kept beside the repository."""
    if not SHARED_DATA.is_dir():
        pytest.skip("development data (../shared/data) is not present beside the repository")
    return SHARED_DATA


BOX_CONFIG = """
[box]
agency_id = "H49.64.33"
archive_code = "G09"
fonds_code = "P01"
fonds_name = "UBND xã Thử"

[storage]
min_free_mb = 0
"""

VALID_DOSSIER = {
    "fileCode": "H49.64.33.2001.160",
    "title": "Hồ sơ về việc thành lập xã",
    "maintenance": "01",
    "mode": "01",
    "language": ["01"],
    "startDate": "15/09/2001",
}


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "sohoa.toml"
    path.write_text(BOX_CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def box(tmp_path: Path, config_file: Path):
    """An initialised box rooted in tmp_path, with a default agency and fonds."""
    from device.box import Box
    from device.config import load_config
    from device.provision import init_box

    config = load_config(config_file, tmp_path / "data", environ={})
    init_box(config, actor="test")
    with Box.open(config) as opened:
        yield opened


@pytest.fixture
def dossier_code(box) -> str:
    from device.catalog.dossiers import create_dossier

    return create_dossier(box, dict(VALID_DOSSIER), actor="test")


@pytest.fixture
def page_png(tmp_path: Path) -> Path:
    """A small real PNG page image."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 452), "white")
    ImageDraw.Draw(image).text((20, 20), "Quyết định", fill="black")
    path = tmp_path / "page.png"
    image.save(path)
    return path
