"""Commands that drive the camera: shoot pages into a dossier."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import click

from device.capture.registry import CAMERAS, open_camera
from device.cli.context import CliContext, echo_json, pass_context
from device.errors import SohoaError

if TYPE_CHECKING:
    from device.capture.shoot import ShotResult

log = logging.getLogger(__name__)

# The simulator's defect names; kept here so that `sohoa --help` does not import OpenCV
# (tests/device/capture/test_shoot.py checks they match device.capture.sim_plan.DEFECTS).
DEFECTS = ("blur", "glare", "cutoff", "skew", "blank", "hand", "duplicate")


@click.group()
def capture() -> None:
    """The camera: shoot pages."""


def shot_line(result: ShotResult) -> str:
    """`page 12: ok` or `page 13: qc.blur (0.83), qc.skew (6.2)`."""
    if result.ok:
        return f"page {result.page_id}: ok"
    return f"page {result.page_id}: " + ", ".join(
        f"{flag.reason_key} ({round(flag.score, 2):g})" for flag in result.flags)


@capture.command("shoot")
@click.option("--dossier", "file_code", required=True, help="fileCode of an editable dossier.")
@click.option("--count", type=click.IntRange(min=1), default=1, show_default=True,
              help="Shots to take; they become the pages of one new document.")
@click.option("--camera", "camera_name", default="simulated", show_default=True,
              help=f"Camera kind ({', '.join(sorted(CAMERAS))}).")
@click.option("--defect", type=click.Choice(DEFECTS), default=None,
              help="Simulated camera only: put this defect in every shot.")
@click.option("--seed", type=int, default=0, show_default=True, help="Simulated camera only.")
@click.option("--json", "as_json", is_flag=True, help="Print the stored pages as a JSON list.")
@pass_context
def capture_shoot(context: CliContext, file_code: str, count: int, camera_name: str,
                  defect: str | None, seed: int, as_json: bool) -> None:
    """Shoot pages into a new document of a dossier; each is printed once it is stored."""
    from device.capture.shoot import iter_shots  # OpenCV and the QC models: only when shooting

    camera = open_camera(camera_name, **({"seed": seed} if camera_name == "simulated" else {}))
    stored: list[ShotResult] = []
    try:
        shots = iter_shots(context.box(), camera, file_code, count=count, actor=context.actor,
                           defect=defect)  # refuses a closed dossier or a full disk at once
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
