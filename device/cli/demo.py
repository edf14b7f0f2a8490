"""`sohoa demo`: a whole box on this machine (hub, capture, worker, agent, web UI) until Ctrl-C."""

from __future__ import annotations

import logging
import signal
import time
from pathlib import Path

import click
from click.core import ParameterSource

from device.cli.context import CliContext
from device.cli.demo_services import ServiceFailed, Supervisor
from device.cli.demo_setup import demo_dossier, ensure_demo_users, parse_defects, write_config
from device.config import load_config
from device.provision import init_box

log = logging.getLogger(__name__)

DEFAULT_DATA = Path("demo-data")
DEVICE_NAME = "demo-box"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _check_bind(_context: click.Context, _parameter: click.Parameter, value: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65_535:
        raise click.BadParameter(f"{value!r}: expected HOST:PORT, e.g. 0.0.0.0:8080 "
                                 "(port 0: any free port)")
    return value


@click.command()
@click.option("--bind", default="127.0.0.1:8080", show_default=True, callback=_check_bind,
              help="HOST:PORT of the web UI (port 0: any free port).")
@click.option("--data", "data_dir", type=click.Path(path_type=Path), default=None,
              help="Data folder, as the global --data (default ./demo-data).")
@click.option("--defects", default="", metavar="SHOT=DEFECT,…",
              help="Defects of the simulated camera's shots, counted from 1 since the start, "
                   "e.g. 4=blur or 2=glare,5=hand+skew.")
@click.option("--walkthrough", is_flag=True,
              help="Instead: run the main job once, scripted, in this process (shoot, read, "
                   "search, approve, package) and exit.")
@click.option("--pages", type=click.IntRange(1, 50), default=3, show_default=True,
              help="Pages the walkthrough shoots (implies --walkthrough).")
@click.pass_context
def demo(click_context: click.Context, bind: str, data_dir: Path | None, defects: str,
         walkthrough: bool, pages: int) -> None:
    """Run a whole box on this machine: a local hub, the capture service with the simulated
    camera, the worker, the sync agent (enrolled to that hub) and the web UI; prints the address
    and the demo logins; Ctrl-C stops them all."""
    context: CliContext = click_context.obj
    context.data_dir = data_dir or context.data_dir or DEFAULT_DATA
    if walkthrough or click_context.get_parameter_source("pages") is not ParameterSource.DEFAULT:
        from device.cli.demo_walkthrough import walkthrough as run_walkthrough

        run_walkthrough(context, pages)
        return
    data = context.data_dir.absolute()
    config_file = context.config_file or write_config(data, parse_defects(defects))
    config = load_config(config_file, data)
    context._config = config
    report = init_box(config, actor=context.actor)
    logins = [(report.admin_username, "admin", report.admin_password)] if report.admin_password else []
    box = context.box()
    logins = ensure_demo_users(box, config.paths.secrets, actor=context.actor) + logins
    file_code = demo_dossier(box, actor=context.actor)
    context.close()
    supervisor = Supervisor(data, config_file, data / "demo-logs")
    _interrupt_on_signals()
    try:
        web_url = _start_services(supervisor, bind, file_code)
        _announce(web_url, logins, file_code, supervisor)
        while (dead := supervisor.poll()) is None:
            time.sleep(0.5)
        raise ServiceFailed(f"{dead.name} exited with {dead.process.returncode}; its log "
                            f"{dead.log_path} ends:\n{dead.log_tail()}")
    except KeyboardInterrupt:
        click.echo("stopping the demo's services…")
    finally:
        for signum in STOP_SIGNALS:  # a second Ctrl-C must not cut the stop short
            signal.signal(signum, signal.SIG_IGN)
        supervisor.stop_all()
    click.echo("demo stopped")


def _interrupt_on_signals() -> None:
    """Ctrl-C, SIGTERM and a closed terminal all stop the demo the same way, even mid-start."""
    def on_signal(signum: int, _frame: object) -> None:
        log.info("%s received: stopping the demo", signal.Signals(signum).name)
        raise KeyboardInterrupt

    for signum in STOP_SIGNALS:
        signal.signal(signum, on_signal)


def _start_services(supervisor: Supervisor, bind: str, file_code: str) -> str:
    """Hub, enrollment, capture (aimed at the demo dossier), worker, agent, web UI; the web
    UI's address."""
    hub = supervisor.start("hub", "hub", "serve", "--bind", "127.0.0.1:0")
    hub_url = f"http://127.0.0.1:{hub.port}"
    code = supervisor.run_once("hub", "enroll", "--device", DEVICE_NAME)
    click.echo(supervisor.run_once("enroll", hub_url, code))
    supervisor.start("capture", "capture", "serve")
    _aim_capture(supervisor, file_code)
    supervisor.start("worker", "worker", env={"OMP_THREAD_LIMIT": "1"})
    supervisor.start("agent", "sync")
    web = supervisor.start("web", "web", "--bind", bind)
    host = bind.rpartition(":")[0]
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "[::]") else host
    return f"http://{host}:{web.port}/"


def _aim_capture(supervisor: Supervisor, file_code: str) -> None:
    """Shots go to a new document of the demo dossier unless the target is in it already."""
    from device.capture.client import CaptureClient, socket_path

    with CaptureClient(socket_path(load_config(supervisor.config_file, supervisor.data_dir))) as client:
        target = client.target()
        if target is None or target["dossier"] != file_code:
            client.set_target(file_code, None)


def _announce(web_url: str, logins: list[tuple[str, str, str]], file_code: str,
              supervisor: Supervisor) -> None:
    for service in supervisor.services:
        click.echo(f"service {service.name} ready (pid {service.process.pid})")
    click.echo(f"\nSoHoa Box demo: open {web_url}")
    for username, role, password in logins:
        click.echo(f"  {role} login: {username} / {password}")
    click.echo(f"  shots go to dossier {file_code}; logs in {supervisor.log_dir}")
    click.echo("Ctrl-C stops every service of the demo.", nl=True)


COMMANDS = (demo,)
