"""One table from errors to HTTP statuses: the web UI, the hub and the capture service answer an
error that reaches them with the error's own `http_status`, each in its own answer shape."""

from __future__ import annotations

import re

import pytest

from device.capture.camera import CameraError
from device.capture.client import ServiceError, ServiceUnavailableError
from device.capture.server import RequestTooLarge, error_body
from device.capture.supervisor import CameraUnavailableError
from device.errors import (ConfigError, FieldProblem, InputError, IntegrityError, NotFoundError,
                           ProcessingError, SohoaError, StateError, StorageError, StorageFullError,
                           UnsupportedFileError, ValidationError)
from hub.uploads import ChecksumMismatch, UploadBusy

PASSWORD = "mat-khau-thu-123"
_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')
_PROBLEM = FieldProblem("title", "Tiêu đề", "Title", "is required", "là bắt buộc")

# (error, status): every kind of the core tree, and the subclasses elsewhere that set their own.
TABLE = [
    (SohoaError("a bug"), 500),
    (ConfigError("bad config"), 500),
    (InputError("bad input", message_vi="Dữ liệu không hợp lệ."), 400),
    (ValidationError([_PROBLEM]), 400),
    (UnsupportedFileError("not an image"), 400),
    (NotFoundError("no dossier X", message_vi="Không có hồ sơ X."), 404),
    (StateError("already approved", message_vi="Hồ sơ đã được duyệt."), 409),
    (StorageError("cannot write blob: [Errno 28] No space left on device"), 507),
    (StorageFullError("not enough free space", message_vi="Bộ nhớ sắp đầy."), 507),
    (IntegrityError("hash mismatch"), 500),
    (ProcessingError("2 pages failed"), 500),
    (CameraError("camera unplugged"), 503),
    (CameraUnavailableError("no camera"), 503),
    (RequestTooLarge("body too large"), 413),
    (UploadBusy("another request is writing"), 423),
    (ChecksumMismatch("chunk damaged"), 460),
]
IDS = [type(error).__name__ for error, _ in TABLE]


def _raising(errors: list[SohoaError]):
    def view(index: int):
        raise errors[index]
    return view


@pytest.fixture
def web(box):
    """A logged-in client of the web UI whose /test-raise/<i> raises TABLE[i]'s error."""
    from device.accounts import create_user
    from web_ui.app import create_app

    app = create_app(box.config, testing=True)
    app.add_url_rule("/test-raise/<int:index>", "test_raise", _raising([e for e, _ in TABLE]))
    create_user(box.db, "operator", "operator", PASSWORD, actor="test")
    client = app.test_client()
    token = _TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    answer = client.post("/login", data={"username": "operator", "password": PASSWORD,
                                         "csrf_token": token})
    assert answer.status_code == 302
    return client


@pytest.fixture
def hub(tmp_path):
    """A client of the hub's app whose /test-raise/<i> raises TABLE[i]'s error."""
    from device.config import load_config
    from hub.app import create_app
    from tests.hub.conftest import HUB_CONFIG

    path = tmp_path / "hub.toml"
    path.write_text(HUB_CONFIG, encoding="utf-8")
    app = create_app(load_config(path, tmp_path / "hubdata", environ={}))
    app.add_url_rule("/test-raise/<int:index>", "test_raise", _raising([e for e, _ in TABLE]))
    return app.test_client()


@pytest.mark.parametrize(("error", "status"), TABLE, ids=IDS)
def test_each_kind_of_error_has_one_http_status(error, status):
    assert error.http_status == status


def test_the_web_ui_the_hub_and_the_capture_service_answer_each_error_alike(web, hub):
    for index, (error, status) in enumerate(TABLE):
        as_json = web.get(f"/test-raise/{index}", headers={"Accept": "application/json"})
        as_page = web.get(f"/test-raise/{index}")
        from_hub = hub.get(f"/test-raise/{index}")
        from_capture, _ = error_body(error)
        answers = (as_json.status_code, as_page.status_code, from_hub.status_code, from_capture)
        assert answers == (status,) * 4, type(error).__name__


def test_each_server_keeps_its_own_answer_shape(web, hub):
    index = IDS.index("StorageFullError")
    from_web = web.get(f"/test-raise/{index}", headers={"Accept": "application/json"})
    assert from_web.get_json() == {"error": "StorageFullError", "message": "StorageFullError",
                                   "message_vi": "Bộ nhớ sắp đầy."}
    assert "Bộ nhớ sắp đầy." in web.get(f"/test-raise/{index}").get_data(as_text=True)
    assert hub.get(f"/test-raise/{index}").get_json() == {
        "error": "StorageFullError", "message": "not enough free space",
        "message_vi": "Bộ nhớ sắp đầy."}
    status, body = error_body(TABLE[index][0])
    assert (status, body) == (507, {"error": "storage_full", "message": "not enough free space",
                                    "message_vi": "Bộ nhớ sắp đầy.",
                                    "message_en": None})


def test_a_capture_service_refusal_keeps_its_status_through_the_web_ui():
    refused = ServiceError("no camera", key="camera_unavailable", status=503)
    assert (refused.http_status, refused.exit_code) == (503, 69)
    assert ServiceError("no target", key="conflict", status=409).http_status == 409
    assert ServiceUnavailableError("nothing on the socket").http_status == 503


def test_a_storage_error_is_507_not_500_at_the_capture_service():
    # Was 500 there while the web UI and the hub said 507: a write that failed for want of
    # space arrives as a plain StorageError, so all three now say 507.
    status, body = error_body(StorageError("cannot write blob: [Errno 28] No space left"))
    assert (status, body["error"]) == (507, "storage_error")
