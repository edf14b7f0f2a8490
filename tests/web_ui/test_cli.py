"""`sohoa web` as a real process: waitress on a loopback port, a real login over HTTP."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
from click.testing import CliRunner

from device.cli.main import cli
from tests.web_ui.conftest import PASSWORD


def test_web_serves_the_login_page_and_logs_in_over_http(box, users, config_file):
    command = [str(Path(sys.executable).with_name("sohoa")), "--data",
               str(box.config.paths.data_dir), "--config", str(config_file),
               "web", "--bind", "127.0.0.1:0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, process.stderr.read()
        url = line.split("listening on ")[1].strip()
        with httpx.Client(base_url=url) as client:
            page = client.get("/login")
            assert page.status_code == 200 and "Đăng nhập" in page.text
            token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
            answer = client.post("/login", data={"username": "operator", "password": PASSWORD,
                                                 "csrf_token": token})
            assert answer.status_code == 302 and answer.headers["location"] == "/"
            assert "HttpOnly" in answer.headers["set-cookie"]
            assert client.get("/").status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


def test_a_bad_bind_is_a_config_error(box, config_file):
    result = CliRunner().invoke(cli, ["--data", str(box.config.paths.data_dir), "--config",
                                      str(config_file), "web", "--bind", "nowhere"])
    assert result.exit_code == 78 and "HOST:PORT" in result.stderr


def test_web_settings_are_validated_and_documented(config_file, tmp_path):
    from device.config import WebConfig
    from tests.conftest import REPO_ROOT

    config_file.write_text(config_file.read_text() + "\n[web]\nbind = \"0.0.0.0\"\n")
    result = CliRunner().invoke(cli, ["--data", str(tmp_path / "d"), "--config", str(config_file),
                                      "check-config"])
    assert result.exit_code == 78 and "web.bind" in result.stderr
    text = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    for key in WebConfig.model_fields:
        assert f"`web.{key}`" in text, key
