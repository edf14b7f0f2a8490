"""The one configuration schema of the box (`/etc/sohoa/sohoa.toml`), validated at start.

Every field has a type, bounds and a description; unknown keys are rejected. Every path the
box uses is derived from one data directory, so tests can root everything in `tmp_path`.
The box's agency, archive and fonds are only defaults: each dossier names its own.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from device.errors import ConfigError
from device.records import codes
from device.records.identifiers import check_agency_id

DEFAULT_CONFIG_FILE = Path("/etc/sohoa/sohoa.toml")
DEFAULT_DATA_DIR = Path("/var/lib/sohoa")
DATA_ENV = "SOHOA_DATA"
CONFIG_ENV = "SOHOA_CONFIG"
# One agent time window, "HH:MM-HH:MM" (the web UI's settings form checks typed text with it too).
TIME_WINDOW = re.compile(r"([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BoxConfig(_Section):
    """Who the box works for by default; every dossier may name another agency or fonds."""

    name: Annotated[str, Field(min_length=1, max_length=64)] = Field(
        "sohoa-box", description="This box's name, shown in the UI and sent to the hub."
    )
    agency_id: str = Field(
        "",
        max_length=13,
        description="Default mã định danh cơ quan for new dossiers (000.00.00.H49 or H49.64.33).",
    )
    archive_code: str = Field(
        "", max_length=20, description="Default mã cơ quan lưu trữ (used in paperFileCode)."
    )
    fonds_code: str = Field("", max_length=20, description="Default mã phông for new dossiers.")
    fonds_name: str = Field("", max_length=300, description="Default tên phông.")
    language: list[str] = Field(
        default_factory=lambda: ["01"],
        min_length=1,
        description="Default language codes (TT05 code list C) of new dossiers.",
    )
    maintenance: str = Field(
        "01", description="Default retention period code (TT05 code list A) of new dossiers."
    )

    @field_validator("agency_id")
    @classmethod
    def _agency(cls, value: str) -> str:
        if value:
            problem = check_agency_id(value)
            if problem:
                raise ValueError(problem)
        return value

    @field_validator("language")
    @classmethod
    def _language(cls, value: list[str]) -> list[str]:
        for code in value:
            codes.require("language", code)
        return value

    @field_validator("maintenance")
    @classmethod
    def _maintenance(cls, value: str) -> str:
        codes.require("maintenance", value)
        return value


class StorageConfig(_Section):
    """Limits that keep the disk healthy and bad files out."""

    min_free_mb: int = Field(
        512,
        ge=0,
        le=1_000_000,
        description="Free-space floor: below it new work is refused before anything is written.",
    )
    max_file_mb: int = Field(
        500, ge=1, le=10_000, description="Largest file `sohoa import` accepts."
    )
    max_image_megapixels: int = Field(
        200,
        ge=1,
        le=2_000,
        description="Largest image (in megapixels) accepted; guards against decompression bombs.",
    )
    max_pages_per_file: int = Field(
        2_000, ge=1, le=100_000,
        description="Most pages one imported file (PDF pages, TIFF frames) may hold.")


class DatabaseConfig(_Section):
    """SQLite settings."""

    busy_timeout_ms: int = Field(
        10_000, ge=100, le=600_000, description="How long a writer waits for the lock."
    )


class JobsConfig(_Section):
    """The durable job queue."""

    lease_seconds: int = Field(
        600, ge=5, le=86_400, description="A claimed job returns to the queue after this."
    )
    max_attempts: int = Field(
        3, ge=1, le=100, description="A job that failed this many times stays failed."
    )


class WorkerConfig(_Section):
    """The processing worker (`sohoa worker`): its page processes and their limits."""

    processes: int = Field(
        0, ge=0, le=64,
        description="Page processes, one OCR engine each; 0 = one per CPU core but one, at least 1.")
    page_timeout_seconds: int = Field(
        300, ge=10, le=3_600,
        description="A page still running after this is stopped (its process replaced) and its "
                    "attempt counted as failed; must be shorter than jobs.lease_seconds.")
    poll_seconds: float = Field(
        1.0, ge=0.1, le=60.0, description="How often an idle worker looks for new jobs.")


class PedalConfig(_Section):
    """A USB foot pedal or keypad on the box (it presents as a keyboard)."""

    enabled: bool = Field(False, description="Shoot on each press of the pedal.")
    device: str = Field(
        "", max_length=300,
        description="/dev/input path (best a /dev/input/by-id/ link) or part of the device's name; "
                    "empty: the first keyboard-like device that has one of the keys.")
    keys: list[str] | None = Field(
        None, description="KEY_*/BTN_* names that shoot; unset: the common pedal and page-turner keys.")
    debounce_ms: int = Field(300, ge=0, le=2_000, description="A press this soon after the last is ignored.")
    grab: bool = Field(True, description="Take the device exclusively so its keys type nothing elsewhere.")


class GpioButtonConfig(_Section):
    """A push button wired to a GPIO pin of the Pi and ground."""

    enabled: bool = Field(False, description="Shoot on each press of the button.")
    pin: int = Field(17, ge=0, le=27, description="BCM pin number the button is wired to.")
    pull_up: bool = Field(True, description="The button connects the pin to ground.")
    bounce_ms: int = Field(50, ge=0, le=500, description="Edges closer than this are contact bounce.")
    min_interval_ms: int = Field(300, ge=0, le=5_000, description="Least time between two shots.")


class AutoCaptureConfig(_Section):
    """Shoot by itself when a new page has lain still and no hand is in view."""

    enabled: bool = Field(False, description="Turn auto-capture on.")
    still_seconds: float = Field(1.0, ge=0.3, le=10.0, description="How long the page must lie still.")
    shoot_first_page: bool = Field(
        True, description="Shoot a page already lying there when the service starts.")
    change_fraction: float = Field(
        0.02, ge=0.005, le=0.2, description="Share of the view that must change to count as a new page.")


class TriggersConfig(_Section):
    """What besides the web UI and the CLI takes a picture."""

    pedal: PedalConfig = Field(default_factory=PedalConfig)
    gpio: GpioButtonConfig = Field(default_factory=GpioButtonConfig)
    auto: AutoCaptureConfig = Field(default_factory=AutoCaptureConfig)


class CaptureConfig(_Section):
    """The capture service (`sohoa capture serve`): its camera, socket, preview and recovery."""

    camera: str = Field(
        "simulated", min_length=1, max_length=40,
        description="Camera or scanner driver the service owns (see `sohoa capture shoot --help`).")
    camera_options: dict[str, Any] = Field(
        default_factory=dict,
        description="Options passed to the driver as keyword arguments (a TOML table).")
    socket: Path | None = Field(
        None, description="Unix socket the service listens on; default <data_dir>/run/capture.sock.")
    preview_width: int = Field(640, ge=160, le=1920,
                               description="Preview frames fit in this width (long side).")
    preview_height: int = Field(480, ge=120, le=1080,
                                description="Preview frames fit in this height (short side).")
    preview_fps: float = Field(
        30.0, ge=1.0, le=30.0,
        description="Most preview frames read from the camera per second (fewer while it shoots).")
    preview_jpeg_quality: int = Field(80, ge=30, le=95,
                                      description="JPEG quality of the preview stream.")
    reconnect_min_seconds: float = Field(
        1.0, ge=0.05, le=60.0, description="First wait before reopening a camera that failed.")
    reconnect_max_seconds: float = Field(
        30.0, ge=0.05, le=600.0, description="Longest wait between attempts (the wait doubles).")
    triggers: TriggersConfig = Field(default_factory=TriggersConfig)
    stall_seconds: float = Field(
        60.0, ge=1.0, le=600.0,
        description="A camera call or service loop stuck this long stops the systemd watchdog.")

    @model_validator(mode="after")
    def _backoff_order(self) -> CaptureConfig:
        if self.reconnect_min_seconds > self.reconnect_max_seconds:
            raise ValueError("reconnect_min_seconds must not exceed reconnect_max_seconds")
        return self


class AgentConfig(_Section):
    """The sync agent (`sohoa sync`): how it reaches the hub, when, how fast, and what it keeps."""

    hub_url: str | None = Field(
        None, max_length=300, description="The hub's base URL; normally set by `sohoa enroll`.")
    # 256 KiB: through a 1 Mbit/s link cut every 2 MB, 1 MiB chunks kept 60% of the cap (the
    # part-sent chunk is lost at each cut), 256 KiB kept 90% at 0.4% protocol overhead.
    chunk_bytes: int = Field(
        256 << 10, ge=16 << 10, le=64 << 20,
        description="Bytes per tus PATCH request; a cut costs at most this much.")
    bandwidth_bytes_per_second: int = Field(
        0, ge=0, le=10**10, description="Upload cap (token bucket); 0 = no cap.")
    time_windows: list[str] = Field(
        default_factory=list,
        description='Local times when uploads may run, e.g. ["12:00-13:30", "17:00-07:00"]; '
                    "empty = any time.")
    backoff_min_seconds: float = Field(
        5.0, ge=0.01, le=3_600.0, description="First wait after a failed contact (it doubles).")
    backoff_max_seconds: float = Field(
        900.0, ge=0.01, le=86_400.0, description="Longest wait between attempts.")
    request_timeout_seconds: float = Field(
        60.0, ge=1.0, le=3_600.0, description="Timeout of every HTTP request to the hub.")
    interval_seconds: float = Field(
        300.0, ge=1.0, le=86_400.0,
        description="`sohoa sync` without --once: pause between passes when all is sent.")
    second_copy_dir: Path | None = Field(
        None, description="A folder on a second medium (USB drive) that keeps a copy of each "
                          "package until its receipt arrives.")
    retention_days: float | None = Field(
        None, ge=0, le=36_500,
        description="Local package files (and raw captures) may be deleted this many days "
                    "after an accepted, verified receipt; unset = keep forever.")
    usb_mount_roots: list[Path] = Field(
        default_factory=lambda: [Path("/media"), Path("/run/media"), Path("/mnt")],
        max_length=8, description="Where plugged USB drives are mounted; the web UI's USB "
                                  "export offers the writable drives mounted under these.")

    @field_validator("time_windows")
    @classmethod
    def _windows(cls, value: list[str]) -> list[str]:
        for window in value:
            if not TIME_WINDOW.fullmatch(window):
                raise ValueError(f"time window {window!r} is not HH:MM-HH:MM")
        return value

    @model_validator(mode="after")
    def _backoff_order(self) -> AgentConfig:
        if self.backoff_min_seconds > self.backoff_max_seconds:
            raise ValueError("backoff_min_seconds must not exceed backoff_max_seconds")
        return self


class HubConfig(_Section):
    """The provincial hub (`sohoa hub serve`): where it keeps packages and what it accepts."""

    data_dir: Path | None = Field(
        None, description="Where the hub keeps its catalog, packages and uploads; "
                          "default <data_dir>/hub.")
    hub_id: str = Field(
        "", max_length=64, pattern=r"^[A-Za-z0-9._-]*$",
        description="This hub's name in receipts (key_id); empty: hub-<signing key fingerprint>.")
    bind: str = Field(
        "127.0.0.1:8470", description="HOST:PORT `sohoa hub serve` listens on (a TLS proxy in front).")
    threads: int = Field(8, ge=1, le=256, description="Requests served at once.")
    max_upload_mb: int = Field(
        4_096, ge=1, le=1_000_000, description="Largest package accepted (tus Tus-Max-Size).")
    max_chunk_mb: int = Field(
        64, ge=1, le=1_024, description="Largest body of one tus PATCH request.")
    max_report_kb: int = Field(
        1_024, ge=16, le=65_536, description="Largest body of a device's report call.")
    enroll_code_hours: float = Field(
        24.0, gt=0, le=720, description="How long a one-time enrollment code stays valid.")
    upload_expiry_hours: float = Field(
        72.0, gt=0, le=8_760, description="An unfinished upload untouched this long is deleted.")
    cleanup_minutes: float = Field(
        15.0, gt=0, le=1_440, description="How often the server deletes expired uploads.")
    session_hours: float = Field(
        12.0, gt=0, le=720, description="How long a staff login to the dashboard lasts.")
    secure_cookies: bool = Field(
        False, description="Send the dashboard's session cookie only over HTTPS: set it when "
                            "the hub is served through HTTPS (its TLS proxy).")

    @field_validator("bind")
    @classmethod
    def _bind(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65_536:
            raise ValueError("expected HOST:PORT, e.g. 0.0.0.0:8470")
        return value


class WebConfig(_Section):
    """The operator's web UI (`sohoa web`): where it listens, its logins and their cookies."""

    bind: str = Field(
        "0.0.0.0:8080", description="HOST:PORT `sohoa web` listens on (the office network).")
    threads: int = Field(
        8, ge=2, le=64,
        description="Requests served at once; each open capture preview holds one.")
    session_hours: float = Field(
        12.0, gt=0, le=720, description="How long a login lasts without being renewed.")
    secure_cookies: bool = Field(
        False, description="Send the session cookie only over HTTPS (always on when `tls` is).")
    tls: bool = Field(
        False, description="Serve HTTPS instead of plain HTTP (the office LAN default is HTTP).")
    tls_cert: Path | None = Field(
        None, description="PEM certificate for HTTPS; default: the box's own, made at first use "
                          "in <data_dir>/secrets.")
    tls_key: Path | None = Field(
        None, description="PEM private key of `tls_cert` (both or neither).")
    tls_names: list[str] = Field(
        default_factory=list, max_length=20,
        description="Extra host names or IP addresses the box's own certificate is made for "
                    "(its host name, localhost and 127.0.0.1 always are).")
    login_attempts: int = Field(
        5, ge=1, le=100,
        description="Failed logins for one user name from one address before a lockout.")
    lockout_minutes: float = Field(
        15.0, gt=0, le=1_440, description="How long a lockout after too many failed logins lasts.")

    @field_validator("bind")
    @classmethod
    def _bind(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) < 65_536:
            raise ValueError("expected HOST:PORT, e.g. 0.0.0.0:8080")
        return value

    @model_validator(mode="after")
    def _cert_and_key_together(self) -> WebConfig:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        return self


class Settings(BaseModel):
    """The whole file; sections may be omitted and then take their defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    data_dir: Path | None = Field(
        None, description="Where the box keeps everything; --data and SOHOA_DATA override it."
    )
    box: BoxConfig = Field(default_factory=BoxConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    database: DatabaseConfig = Field(default_factory=DatabaseConfig)
    jobs: JobsConfig = Field(default_factory=JobsConfig)
    worker: WorkerConfig = Field(default_factory=WorkerConfig)
    capture: CaptureConfig = Field(default_factory=CaptureConfig)
    hub: HubConfig = Field(default_factory=HubConfig)
    agent: AgentConfig = Field(default_factory=AgentConfig)
    web: WebConfig = Field(default_factory=WebConfig)


@dataclass(frozen=True)
class Paths:
    """Every location the box writes, derived from the one data directory."""

    data_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "sohoa.db"

    @property
    def blobs(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def secrets(self) -> Path:
        return self.data_dir / "secrets"

    @property
    def outbox(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def run(self) -> Path:
        return self.data_dir / "run"


@dataclass(frozen=True)
class Config:
    """The resolved configuration: validated settings, where they came from, and the paths."""

    settings: Settings
    source: Path | None
    paths: Paths

    def describe(self) -> dict[str, Any]:
        """The resolved configuration as plain data, for `sohoa check-config`."""
        resolved = self.settings.model_dump(mode="json")
        resolved["data_dir"] = str(self.paths.data_dir)
        return {"source": str(self.source) if self.source else None, "settings": resolved}


def load_config(
    config_file: Path | None = None,
    data_dir: Path | None = None,
    environ: dict[str, str] | None = None,
) -> Config:
    """Read, validate and resolve the configuration; raises ConfigError with a clear message."""
    env = os.environ if environ is None else environ
    source = _choose_file(config_file, env)
    raw = _read_toml(source) if source else {}
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"configuration {source or '(defaults)'}: {_describe(exc)}") from None
    chosen = data_dir or (Path(env[DATA_ENV]) if env.get(DATA_ENV) else None)
    chosen = chosen or settings.data_dir or DEFAULT_DATA_DIR
    return Config(settings=settings, source=source, paths=Paths(Path(chosen).absolute()))


def _choose_file(config_file: Path | None, env: os._Environ[str] | dict[str, str]) -> Path | None:
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"configuration file {config_file} does not exist")
        return config_file
    if env.get(CONFIG_ENV):
        return _choose_file(Path(env[CONFIG_ENV]), {})
    return DEFAULT_CONFIG_FILE if DEFAULT_CONFIG_FILE.is_file() else None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"configuration {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"configuration {path} cannot be read: {exc.strerror}") from None


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(item) for item in error["loc"]) or "(top level)"
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/configuration.md)"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)
