"""Commands that drive the camera: the capture service, its target and triggers, and direct shots."""

from __future__ import annotations

import logging
import signal
import threading
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from device.capture.registry import CAMERAS, open_camera
from device.cli.context import CliContext, echo_json, pass_context
from device.errors import InputError, SohoaError

if TYPE_CHECKING:
    from device.capture.client import CaptureClient
    from device.capture.shoot import ShotResult

log = logging.getLogger(__name__)

# The simulator's defect names; kept here so that `sohoa --help` does not import OpenCV
# (tests/device/capture/test_shoot.py checks they match device.capture.sim_plan.DEFECTS).
DEFECTS = ("blur", "glare", "cutoff", "skew", "blank", "hand", "duplicate")


@click.group()
def capture() -> None:
    """The camera: the capture service, its target, and shots."""


def page_line(page: dict[str, Any]) -> str:
    """`page 12: ok` or `page 13: qc.blur (0.83), qc.skew (6.2)` from a stored shot's JSON;
    an open register's two pages: `pages 14+15: ok`."""
    ids = page.get("pages") or [page["page"]]
    name = f"page {ids[0]}" if len(ids) == 1 else "pages " + "+".join(map(str, ids))
    if page["ok"]:
        return f"{name}: ok"
    return f"{name}: " + ", ".join(
        f"{flag['reason_key']} ({round(flag['score'], 2):g})" for flag in page["flags"])


def shot_line(result: ShotResult) -> str:
    return page_line(result.as_dict())


def _client(context: CliContext) -> CaptureClient:
    from device.capture.client import CaptureClient, socket_path  # httpx: only when talking to it

    return CaptureClient(socket_path(context.config))


@capture.command("serve")
@click.option("--camera", "camera_name", default=None,
              help=f"Camera kind ({', '.join(sorted(CAMERAS))}); default: capture.camera.")
@pass_context
def capture_serve(context: CliContext, camera_name: str | None) -> None:
    """Run the capture service in the foreground until SIGTERM or Ctrl-C."""
    from device.capture.client import socket_path
    from device.capture.server import run_service  # OpenCV and the QC models: only here

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        log.info("%s received: stopping", signal.Signals(signum).name)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        click.echo(f"capture service on {socket_path(context.config)} (Ctrl-C stops it)", err=True)
        run_service(context.box(), camera_kind=camera_name, stop=stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("capture service stopped", err=True)


@capture.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the service's status as JSON.")
@pass_context
def capture_status(context: CliContext, as_json: bool) -> None:
    """The capture service's camera, target, preview rate and shot count."""
    with _client(context) as client:
        status = client.status()
    if as_json:
        echo_json(status)
        return
    camera = status["camera"]
    caps = camera["capabilities"]
    size = "x".join(map(str, caps["max_resolution"])) if caps else "?"
    state = "available" if camera["available"] else f"UNAVAILABLE: {camera['reason']}"
    click.echo(f"camera: {camera['kind']} ({camera['name'] or '?'}, {size}), {state}")
    click.echo(f"target: {_target_text(status['target'])}")
    preview = status["preview"]
    click.echo(f"preview: {preview['fps']:g} fps, {preview['width']}x{preview['height']}")
    click.echo(f"shots: {status['shots']}" + (", shooting now" if status["busy"] else ""))
    auto = status.get("auto") or {}
    click.echo("auto-capture: " + ("on" if auto.get("enabled") else "off" if auto.get("available")
                                    else (auto.get("reason") or "not_configured").replace("_", " ")))
    if status["problem"]:
        click.echo(f"problem: {status['problem']}")


def _target_text(target: dict[str, Any] | None) -> str:
    if target is None:
        return "none (set one with `sohoa capture target --dossier CODE`)"
    where = target["docId"] or f"a new document of {target['dossier']}"
    position = target["next_position"]
    spread = ", open register (two pages a shot)" if target.get("layout") == "spread" else ""
    return where + (f", next page {position}" if position else "") + spread


@capture.command("target")
@click.option("--dossier", "file_code", default=None, help="fileCode of an editable dossier.")
@click.option("--document", type=click.IntRange(min=1), default=None,
              help="Append to this document (its number in the dossier).")
@click.option("--new-document", is_flag=True, help="Start a new document at the next shot (default).")
@click.option("--spread", is_flag=True,
              help="Each shot is an open register: split into its left and right pages.")
@click.option("--json", "as_json", is_flag=True, help="Print the target as JSON.")
@pass_context
def capture_target(context: CliContext, file_code: str | None, document: int | None,
                   new_document: bool, spread: bool, as_json: bool) -> None:
    """Show where shots go, or set it: a dossier and one of its documents or a new one."""
    if document is not None and new_document:
        raise InputError("give --document SEQ or --new-document, not both")
    if file_code is None and (document is not None or new_document or spread):
        raise InputError("--document, --new-document and --spread need --dossier")
    layout = "spread" if spread else "page"
    with _client(context) as client:
        target = client.set_target(file_code, document, layout) if file_code else client.target()
    if as_json:
        echo_json(target)
    else:
        click.echo(f"target: {_target_text(target)}")


@capture.command("trigger")
@click.option("--count", type=click.IntRange(min=1, max=100), default=1, show_default=True,
              help="Shots to take into the current target.")
@click.option("--json", "as_json", is_flag=True, help="Print the stored pages as a JSON list.")
@pass_context
def capture_trigger(context: CliContext, count: int, as_json: bool) -> None:
    """Shoot into the service's current target; prints the pages once they are stored."""
    with _client(context) as client:
        pages = client.shoot(count, actor=context.actor)["pages"]
    if as_json:
        echo_json(pages)
    else:
        for page in pages:
            click.echo(page_line(page))


@capture.command("shoot")
@click.option("--dossier", "file_code", default=None,
              help="fileCode of an editable dossier (needed unless --retake is given).")
@click.option("--retake", "retake_id", type=click.IntRange(min=1), default=None,
              help="Shoot this page (its id) again: the shot replaces its capture instead of "
              "adding a page; the page is processed again.")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True,
              help="Shots to take; they become the pages of one new document.")
@click.option("--camera", "camera_name", default="simulated", show_default=True,
              help=f"Camera kind ({', '.join(sorted(CAMERAS))}).")
@click.option("--defect", type=click.Choice(DEFECTS), default=None,
              help="Simulated camera only: put this defect in every shot.")
@click.option("--seed", type=int, default=0, show_default=True, help="Simulated camera only.")
@click.option("--spread", is_flag=True, help="Each shot is an open register: split into its left "
              "and right pages (the simulated camera then shows an open register).")
@click.option("--json", "as_json", is_flag=True, help="Print the stored pages as a JSON list.")
@pass_context
def capture_shoot(context: CliContext, file_code: str | None, retake_id: int | None, count: int,
                  camera_name: str, defect: str | None, seed: int, spread: bool, as_json: bool) -> None:
    """Shoot pages into a new document of a dossier; each is printed once it is stored.

    When the capture service runs, it owns the camera: the shots go through it (its target
    becomes a new document of the dossier) and --camera, --defect and --seed cannot be used.
    With --retake PAGE_ID one shot replaces that page; through the service, the page must
    belong to the dossier the service is aimed at (`sohoa capture target`).
    """
    if retake_id is not None:
        if count != 1 or spread or defect is not None:
            raise InputError("--retake takes one shot of one page: --count, --spread and "
                             "--defect do not apply", message_vi="Chụp lại chỉ chụp một trang.")
        _retake(context, file_code, retake_id, camera_name, seed, as_json)
        return
    if file_code is None:
        raise InputError("give --dossier CODE (or --retake PAGE_ID)", message_vi="Hãy chọn một hồ sơ.")
    layout = "spread" if spread else "page"
    with _client(context) as client:
        if client.is_serving():
            _refuse_local_options(client, camera_name, defect)
            _shoot_through_service(context, client, file_code, count, as_json, layout)
            return
    _shoot_here(context, file_code, count, camera_name, defect, seed, as_json, layout)


def _retake(context: CliContext, file_code: str | None, page_id: int, camera_name: str,
            seed: int, as_json: bool) -> None:
    """One shot replacing page `page_id`, through the service when it runs, else here."""
    with _client(context) as client:
        if client.is_serving():
            _refuse_local_options(client, camera_name, None)
            expect = {"dossier": file_code} if file_code else None
            page = client.shoot(1, actor=context.actor, expect=expect, retake=page_id)["pages"][0]
        else:
            page = _retake_here(context, file_code, page_id, camera_name, seed).as_dict()
    if as_json:
        echo_json(page)
    else:
        click.echo("retake of " + page_line(page))


def _retake_here(context: CliContext, file_code: str | None, page_id: int, camera_name: str,
                 seed: int) -> ShotResult:
    from device.capture.retake import check_retake, retake  # OpenCV and the QC models
    from device.db.pages import page_place

    box = context.box()
    place = page_place(box.db, page_id)
    code = file_code or (place["file_code"] if place else "")
    check_retake(box, code, page_id)  # refused before the camera is opened
    camera = open_camera(camera_name, **({"seed": seed} if camera_name == "simulated" else {}))
    try:
        camera.start()
        return retake(box, camera, code, page_id, actor=context.actor, hand_detector=None)
    finally:
        camera.close()


def _refuse_local_options(client: CaptureClient, camera_name: str, defect: str | None) -> None:
    explicit = {name for name in ("camera_name", "seed", "defect")
                if click.get_current_context().get_parameter_source(name) is ParameterSource.COMMANDLINE}
    kind = client.status()["camera"]["kind"]
    if defect is not None or "seed" in explicit or ("camera_name" in explicit and camera_name != kind):
        raise InputError(f"the capture service owns the camera ({kind}): --camera, --defect and "
                         "--seed apply only when it is stopped", message_vi="Dịch vụ chụp đang "
                         "giữ máy ảnh.")


def _shoot_through_service(context: CliContext, client: CaptureClient, file_code: str,
                           count: int, as_json: bool, layout: str) -> None:
    """One request per shot, so each is printed as soon as the service has stored it. Each
    request names the document it expects, so a target moved in between (the web UI, another
    command) refuses the shot instead of filing it elsewhere."""
    client.set_target(file_code, None, layout)
    expect: dict[str, Any] = {"dossier": file_code, "document": None}
    stored: list[dict[str, Any]] = []
    try:
        for _ in range(count):
            answer = client.shoot(1, actor=context.actor, expect=expect)
            [page] = answer["pages"]
            expect = {"dossier": file_code, "document": answer["target"]["document"]}
            stored.append(page)
            if not as_json:
                click.echo(page_line(page))
    except SohoaError:
        if as_json and stored:
            echo_json(stored)
        raise
    if as_json:
        echo_json(stored)


def _shoot_here(context: CliContext, file_code: str, count: int, camera_name: str,
                defect: str | None, seed: int, as_json: bool, layout: str = "page") -> None:
    from device.capture.shoot import iter_shots  # OpenCV and the QC models: only when shooting

    if camera_name == "simulated" and layout == "spread":
        from device.capture.sim_spread import SpreadCamera  # the simulator's open register

        camera = SpreadCamera(seed=seed)
    else:
        camera = open_camera(camera_name, **({"seed": seed} if camera_name == "simulated" else {}))
    stored: list[ShotResult] = []
    try:
        shots = iter_shots(context.box(), camera, file_code, count=count, actor=context.actor,
                           defect=defect, layout=layout)  # refuses a closed dossier or a full disk at once
        camera.start()
        for result in shots:
            stored.append(result)
            if not as_json:
                click.echo(shot_line(result))
    except SohoaError:
        if as_json and stored:  # a camera failure mid-run: the pages already stored are reported
            echo_json([result.as_dict() for result in stored])
        raise
    finally:
        camera.close()
    if as_json:
        echo_json([result.as_dict() for result in stored])


COMMANDS = (capture,)
