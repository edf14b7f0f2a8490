"""The capture service over HTTP on a Unix socket: routes, JSON errors, the MJPEG stream, serving.

The socket is the whole authentication: its folder is 0750 and the socket 0660, so only the
`sohoa` user and group (the web UI, the CLI run as sohoa) can connect. Endpoints:
`GET /status`, `GET /target`, `PUT /target` {dossier, document: seq|null, layout?: page|spread},
`POST /shoot` {count?, actor?, expect?, retake?: page id}, `PUT /retake` {page: id|null,
actor?} (the next single shot, whoever fires it, replaces that page; audited with the actor),
`GET /auto`, `PUT /auto` {enabled, actor?}, `GET /preview.mjpg`, `GET /preview.jpg`.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import socketserver
import stat
import threading
from collections.abc import Callable, Sequence
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from device.box import Box
from device.capture.camera import Camera, CameraError
from device.capture.client import socket_path
from device.capture.registry import open_camera
from device.capture.service import CaptureService, Trigger
from device.capture.supervisor import CameraUnavailableError
from device.capture.trigger_setup import configured_triggers
from device.capture.shoot import ShotResult
from device.errors import (ConfigError, InputError, NotFoundError, SohoaError, StateError,
                           StorageError, StorageFullError)
from device.imaging.quality import HandDetector
from device.sdnotify import Notifier, keep_watchdog

log = logging.getLogger(__name__)

MAX_BODY = 4096  # bytes: the largest request is a target, a few dozen bytes
BOUNDARY = "sohoa-frame"
MAX_CONNECTIONS = 32  # the web UI, a few preview viewers and the CLI need far fewer
CLIENT_TIMEOUT_S = 30.0  # idle or stalled client connections are dropped after this
_SOCKET_PATH_MAX = 107  # sun_path is 108 bytes with the terminating NUL


class RequestTooLarge(InputError):
    """A request body over MAX_BODY; it is not read."""

    http_status = 413


# Most specific first: (error class, key the web UI switches on). The status is the error's own
# `http_status` (device/errors.py), the same the web UI and the hub answer with.
ERRORS: tuple[tuple[type[SohoaError], str], ...] = (
    (RequestTooLarge, "too_large"),
    (InputError, "bad_request"),
    (NotFoundError, "not_found"),
    (StateError, "conflict"),
    (CameraUnavailableError, "camera_unavailable"),
    (CameraError, "camera_error"),
    (StorageFullError, "storage_full"),
    (StorageError, "storage_error"),
    (SohoaError, "internal"),
)


def error_body(exc: SohoaError) -> tuple[int, dict[str, Any]]:
    key = next(key for cls, key in ERRORS if isinstance(exc, cls))
    # message_en: English a person may read (None: the web UI shows a generic text). The status
    # stays an int: a subclass may carry one HTTPStatus does not name (the tus 460).
    return exc.http_status, {
        "error": key, "message": exc.message, "message_vi": exc.message_vi,
        "message_en": exc.english_for_people()}


class CaptureServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """One thread per connection, at most MAX_CONNECTIONS at once; streaming viewers end when
    `closing` is set. Handler threads are joined on close, so an answer being written (the
    pages a shot stored) reaches its client before the process exits."""

    daemon_threads = False
    block_on_close = True
    # Connections waiting to be accepted; at the default 5, a few clients connecting at once on
    # a busy box got EAGAIN from connect() on the Unix socket.
    request_queue_size = 64

    def __init__(self, path: Path, service: CaptureService) -> None:
        self.service = service
        self.closing = threading.Event()
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(str(path), CaptureHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            log.warning("refusing a connection: %d already open", MAX_CONNECTIONS)
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


class CaptureHandler(BaseHTTPRequestHandler):
    """Parses a request, calls the service, answers JSON (or JPEG); never raises into socketserver."""

    protocol_version = "HTTP/1.1"
    # A client that connects and sends nothing, half a body, or stops reading the preview,
    # loses its connection after this many seconds instead of holding a thread for ever.
    timeout = CLIENT_TIMEOUT_S
    server: CaptureServer
    ROUTES = {"/status": ("GET",), "/target": ("GET", "PUT"), "/shoot": ("POST",),
              "/auto": ("GET", "PUT"), "/retake": ("PUT",),
              "/preview.mjpg": ("GET",), "/preview.jpg": ("GET",)}

    def address_string(self) -> str:  # a Unix socket peer has no address
        return "unix"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the stdlib's name)
        log.debug("request: " + format, *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        self._consumed = False  # whether this request's body was read (see _send)
        path = self.path.split("?", 1)[0]
        allowed = self.ROUTES.get(path)
        if allowed is None:
            return self._fail(HTTPStatus.NOT_FOUND, "not_found", f"no such endpoint {path}",
                              "Không có địa chỉ này.")
        if method not in allowed:
            return self._fail(HTTPStatus.METHOD_NOT_ALLOWED, "method_not_allowed",
                              f"{path} answers {', '.join(allowed)}, not {method}", "Yêu cầu không hợp lệ.",
                              {"Allow": ", ".join(allowed)})
        stored: list[ShotResult] = []
        try:
            handler = getattr(self, f"_{method.lower()}_{path[1:].replace('.', '_')}")
            handler(stored)
        except SohoaError as exc:
            status, body = error_body(exc)
            if stored:  # a run that failed part-way: what was stored is reported with the error
                body["pages"] = [result.as_dict() for result in stored]
            log.log(logging.ERROR if status >= 500 else logging.INFO, "%s %s: %d %s", method,
                    path, status, exc.message)
            self._json(status, body)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("%s %s: the client went away", method, path)
        except Exception:  # a bug answers 500 and keeps the service up
            log.exception("%s %s failed", method, path)
            self._fail(HTTPStatus.INTERNAL_SERVER_ERROR, "internal", "internal error; see the log",
                       "Lỗi nội bộ của dịch vụ chụp.")

    # -- endpoints -------------------------------------------------------------------------

    def _get_status(self, _stored: list) -> None:
        self._json(HTTPStatus.OK, self.server.service.status())

    def _get_target(self, _stored: list) -> None:
        target = self.server.service.target()
        self._json(HTTPStatus.OK, {"target": target.as_dict() if target else None})

    def _put_target(self, _stored: list) -> None:
        body = self._body(required=True)
        _only_keys(body, {"dossier", "document", "layout"})
        if "dossier" not in body:
            raise InputError("the body must name a dossier: {\"dossier\": fileCode, \"document\": seq|null}",
                             message_vi="Hãy chọn một hồ sơ.")
        target = self.server.service.set_target(body["dossier"], body.get("document"),
                                                body.get("layout", "page"))
        self._json(HTTPStatus.OK, {"target": target.as_dict()})

    def _post_shoot(self, stored: list) -> None:
        body = self._body(required=False)
        _only_keys(body, {"count", "actor", "expect", "retake"})
        service = self.server.service
        service.shoot(body.get("count", 1), actor=_actor(body), on_stored=stored.append,
                      expect=body.get("expect"), retake=body.get("retake"))
        target = service.target()
        self._json(HTTPStatus.OK, {"pages": [result.as_dict() for result in stored],
                                   "target": target.as_dict() if target else None,
                                   "retake": body.get("retake")})

    def _put_retake(self, _stored: list) -> None:
        body = self._body(required=True)
        _only_keys(body, {"page", "actor"})
        if "page" not in body:
            raise InputError("the body must say {\"page\": id|null}",
                             message_vi="Thiếu số trang cần chụp lại.")
        armed = self.server.service.arm_retake(body["page"], actor=_actor(body))
        self._json(HTTPStatus.OK, {"retake": armed})

    def _get_auto(self, _stored: list) -> None:
        self._json(HTTPStatus.OK, {"auto": self.server.service.auto()})

    def _put_auto(self, _stored: list) -> None:
        body = self._body(required=True)
        _only_keys(body, {"enabled", "actor"})
        if "enabled" not in body:
            raise InputError("the body must say {\"enabled\": true|false}",
                             message_vi="Thiếu giá trị bật/tắt chụp tự động.")
        auto = self.server.service.set_auto(body["enabled"], actor=_actor(body))
        self._json(HTTPStatus.OK, {"auto": auto})

    def _get_preview_jpg(self, _stored: list) -> None:
        frame = self.server.service.preview.latest
        if frame is None:
            raise CameraUnavailableError("no preview frame yet: the camera is not available",
                              message_vi="Chưa có hình xem trước: máy ảnh chưa sẵn sàng.")
        self._send(HTTPStatus.OK, "image/jpeg", frame.jpeg(), {"X-Frame": str(frame.seq)})

    def _get_preview_mjpg(self, _stored: list) -> None:
        self.close_connection = True
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        service, seq = self.server.service, 0
        while not self.server.closing.is_set() and not service.stopping:
            frame = service.wait_preview(seq, timeout=1.0)
            if frame is None:
                continue
            seq = frame.seq
            data = frame.jpeg()
            self.wfile.write(f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: "
                             f"{len(data)}\r\nX-Frame: {seq}\r\n\r\n".encode("ascii") + data + b"\r\n")
            self.wfile.flush()

    # -- plumbing --------------------------------------------------------------------------

    def _body(self, *, required: bool) -> dict[str, Any]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise InputError("send the body with a Content-Length, not chunked")
        length_text = self.headers.get("Content-Length", "0")
        if not length_text.isdigit():
            self.close_connection = True
            raise InputError("bad Content-Length")
        length = int(length_text)
        if length > MAX_BODY:
            self.close_connection = True  # the body is not read: this connection cannot go on
            raise RequestTooLarge(f"request body too large ({length} bytes; at most {MAX_BODY})",
                             message_vi="Yêu cầu quá lớn.")
        raw = self.rfile.read(length) if length else b""
        self._consumed = True
        if not raw.strip():
            if required:
                raise InputError("a JSON body is required", message_vi="Thiếu dữ liệu JSON.")
            return {}
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InputError(f"the body is not valid JSON: {exc}",
                             message_vi="Dữ liệu JSON không hợp lệ.") from None
        if not isinstance(body, dict):
            raise InputError("the body must be a JSON object", message_vi="Dữ liệu JSON không hợp lệ.")
        return body

    def _json(self, status: HTTPStatus, body: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        self._send(status, "application/json; charset=utf-8", data, headers)

    def _fail(self, status: HTTPStatus, key: str, message: str, message_vi: str,
              headers: dict[str, str] | None = None) -> None:
        self._json(status, {"error": key, "message": message, "message_vi": message_vi}, headers)

    def _send(self, status: HTTPStatus, content_type: str, data: bytes,
              headers: dict[str, str] | None = None) -> None:
        unread = self.headers.get("Content-Length", "0") not in ("", "0") or \
            "Transfer-Encoding" in self.headers
        if unread and not self._consumed:  # its bytes would be read as the next request
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)


def _actor(body: dict[str, Any]) -> str:
    """Who the audit trail names for a request: its "actor", else the service itself."""
    actor = body.get("actor", "capture")
    if not isinstance(actor, str) or not 1 <= len(actor) <= 80:
        raise InputError("actor must be text of 1 to 80 characters",
                         message_vi="Tên người chụp không hợp lệ.")
    return actor


def _only_keys(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InputError(f"unknown keys {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
                         message_vi="Dữ liệu có trường không hợp lệ.")


def bind_server(path: Path, service: CaptureService, *, own_folder: bool) -> CaptureServer:
    """Listen on `path` (mode 0660; its folder 0750 when it is ours); a stale socket left by a
    crash is replaced, a live one is an error (one service owns the camera)."""
    path = Path(path)
    if len(os.fsencode(path)) > _SOCKET_PATH_MAX:
        raise ConfigError(f"capture.socket {path} is longer than {_SOCKET_PATH_MAX} bytes, the limit "
                          "of a Unix socket path; choose a shorter one")
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    if own_folder:
        os.chmod(path.parent, 0o750)
    _remove_stale(path)
    server = CaptureServer(path, service)
    os.chmod(path, 0o660)
    return server


def _remove_stale(path: Path) -> None:
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise ConfigError(f"{path} exists and is not a socket; remove it or set capture.socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        log.info("removing the stale socket %s left by an earlier run", path)
        path.unlink(missing_ok=True)
        return
    finally:
        probe.close()
    raise StateError(f"another capture service is already listening on {path}",
                     message_vi="Dịch vụ chụp đang chạy rồi.")


def run_service(box: Box, *, camera_kind: str | None, stop: threading.Event,
                notifier: Notifier | None = None, hand_detector: HandDetector | None = None,
                triggers: Sequence[Trigger] = (),
                camera_factory: Callable[[], Camera] | None = None,
                on_ready: Callable[[CaptureService], object] | None = None) -> None:
    """Serve until `stop` is set: open the camera, listen, tell systemd READY, keep the watchdog
    fed while healthy; then STOPPING, close the socket, let a shot being stored finish, close
    the camera. A wrong camera name or options is a ConfigError before anything starts.

    `camera_factory` replaces the configured driver (a camera written as code, in tests)."""
    settings = box.config.settings.capture
    kind = camera_kind or settings.camera
    options = dict(settings.camera_options)
    notifier = notifier or Notifier()

    def configured() -> Camera:
        return open_camera(kind, **options)

    factory = camera_factory or configured
    first = _first_camera(factory, kind)
    service = CaptureService(box, factory, settings, kind=kind, first_camera=first,
                             hand_detector=hand_detector, triggers=triggers, on_status=notifier.status)
    try:
        for trigger in configured_triggers(settings.triggers, service.latest_preview, service.hand_detector):
            service.add_trigger(trigger)
    except BaseException:
        service.close()
        raise
    path = socket_path(box.config)
    try:
        server = bind_server(path, service, own_folder=settings.socket is None)
    except BaseException:
        service.close()  # closes the camera object made above
        raise
    service.start()
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.25},
                     name="capture-http", daemon=True).start()
    threading.Thread(target=keep_watchdog, args=(notifier, service.health, stop),
                     name="capture-watchdog", daemon=True).start()
    notifier.ready(f"listening on {path}")
    log.info("capture service listening on %s (camera %s)", path, kind)
    if on_ready is not None:
        on_ready(service)
    try:
        while not stop.is_set():
            stop.wait(1.0)
    finally:
        notifier.stopping("stopping")
        server.closing.set()
        server.shutdown()  # no new connections
        service.close()  # refuses further shots, lets the one being stored finish
        server.server_close()  # joins the handlers: their answers are written first
        path.unlink(missing_ok=True)
        notifier.close()


def _first_camera(factory: Callable[[], Camera], kind: str) -> Camera | None:
    """The camera object, built once now so that a wrong name or option stops the start-up;
    None when the device is missing now (the service starts and keeps trying)."""
    try:
        return factory()
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:  # an option the driver does not take, or of a wrong type
        raise ConfigError(f"capture.camera_options do not suit camera {kind!r}: {exc}") from None
    except CameraError as exc:
        log.warning("camera %s cannot be opened yet: %s; the service starts and keeps trying", kind, exc)
        return None
