"""`sohoa demo` runs a whole box as child processes: the web UI it prints takes a login and a shot
that the worker reads and search finds; Ctrl-C stops every child, and so does killing the demo."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from device.cli.main import cli
from tests.e2e.demo_process import Demo, alive, group_alive, start_demo, wait_until

_TOKEN = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.mark.parametrize("option, wrong, said", [
    ("--defects", "4=smudge", "unknown defect 'smudge'"),
    ("--defects", "four=blur", "is not SHOT=DEFECT"),
    ("--bind", "8080", "expected HOST:PORT"),
])
def test_bad_options_are_refused_before_anything_is_set_up_or_started(tmp_path, option, wrong, said):
    result = CliRunner().invoke(cli, ["demo", "--data", str(tmp_path / "data"), option, wrong])
    assert result.exit_code in (2, 65) and said in result.output
    assert not (tmp_path / "data").exists()


@pytest.fixture
def running_demo(tmp_path: Path) -> Iterator[Demo]:
    demo = start_demo(tmp_path / "data")
    yield demo
    demo.stop()  # after a failure half-way too: do not leave a box running


def logged_in(url: str, username: str, password: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=url, timeout=120)
    token = _TOKEN.search(client.get("/login").text).group(1)
    answer = client.post("/login", data={"username": username, "password": password,
                                         "csrf_token": token})
    assert answer.status_code == 302, answer.text
    return client, _TOKEN.search(client.get("/").text).group(1)


@pytest.mark.slow
def test_demo_serves_a_box_that_shoots_reads_and_finds_and_ctrl_c_stops_every_child(running_demo):
    demo = running_demo
    assert set(demo.pids) == {"hub", "capture", "worker", "agent", "web"}
    assert {"operator", "reviewer", "admin"} <= set(demo.logins)
    client, token = logged_in(demo.url, *demo.logins["operator"])
    try:
        shot = client.post("/capture/shoot", json={}, headers={"X-CSRFToken": token})
        assert shot.status_code == 200, shot.text
        [page] = shot.json()["pages"]

        def processed():
            pages = client.get("/capture/recent.json").json()["pages"]
            return any(p["page"] == page["page"] and p["state"] == "processed" for p in pages)

        wait_until(processed, 300, f"page {page['page']} to be processed by the worker")
        found = client.get("/search", params={"q": "doc lap"}).text
        assert f"/pages/{page['page']}/thumb.jpg" in found and "<mark>Độc</mark>" in found
        refused = client.post("/capture/shoot", json={})  # no CSRF token: nothing is shot
        assert refused.status_code == 400
    finally:
        client.close()
    assert demo.stop() == 0
    for name, pid in demo.pids.items():
        assert not alive(pid), f"{name} (pid {pid}) outlived the demo"
        assert not group_alive(pid), f"{name}'s processes outlived the demo"


@pytest.mark.slow
def test_killing_the_demo_outright_leaves_no_service_behind_and_a_restart_keeps_the_logins(tmp_path):
    demo = start_demo(tmp_path / "data")
    demo.process.kill()
    demo.process.wait(10)
    for name, pid in demo.pids.items():
        wait_until(lambda: not alive(pid) and not group_alive(pid), 120,
                   f"{name} (pid {pid}) to stop after the demo was killed")
    again = start_demo(tmp_path / "data")
    try:
        assert again.logins["operator"] == demo.logins["operator"]
        assert again.logins["reviewer"] == demo.logins["reviewer"]
        assert "admin" not in again.logins  # shown once, when it was made
        assert [line for line in again.output if "shots go to dossier" in line] == \
            [line for line in demo.output if "shots go to dossier" in line]
    finally:
        assert again.stop() == 0
