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


def start_web(box, config_file) -> subprocess.Popen:
    """`sohoa web` on a free loopback port, as a real process (stdout: its address first)."""
    command = [str(Path(sys.executable).with_name("sohoa")), "--data",
               str(box.config.paths.data_dir), "--config", str(config_file),
               "web", "--bind", "127.0.0.1:0"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_web_serves_the_login_page_and_logs_in_over_http(box, users, config_file):
    process = start_web(box, config_file)
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


def test_with_tls_on_the_box_serves_https_with_its_own_certificate_and_secure_cookies(
        box, users, config_file):
    from web_ui.tls import CERT_NAME, KEY_NAME, fingerprint

    config_file.write_text(config_file.read_text() + "\n[web]\ntls = true\n")
    process = start_web(box, config_file)
    try:
        line = process.stdout.readline()
        assert "listening on https://127.0.0.1:" in line, process.stderr.read()
        url = line.split("listening on ")[1].strip()
        cert = box.config.paths.secrets / CERT_NAME
        assert (box.config.paths.secrets / KEY_NAME).stat().st_mode & 0o077 == 0
        assert fingerprint(cert) in process.stdout.readline()
        with httpx.Client(base_url=url, verify=False) as insecure:
            assert insecure.get("/login").status_code == 200
        import ssl

        trusting_the_box = ssl.create_default_context(cafile=str(cert))
        with httpx.Client(base_url=url, verify=trusting_the_box) as client:
            page = client.get("/login")
            token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
            login = {"username": "operator", "password": PASSWORD, "csrf_token": token}
            # Over HTTPS, Flask-WTF also wants a same-site Referer, as browsers send it.
            assert client.post("/login", data=login).status_code == 400
            answer = client.post("/login", data=login, headers={"Referer": f"{url}/login"})
            assert answer.status_code == 302
            assert "Secure" in answer.headers["set-cookie"]
        with httpx.Client(base_url=url.replace("https:", "http:")) as plain:
            try:
                plain.get("/login")
            except httpx.HTTPError:
                pass  # a TLS server closes a plain-HTTP connection
            else:
                raise AssertionError("plain HTTP was answered by the HTTPS server")
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)
    mtime = cert.stat().st_mtime_ns
    from web_ui.tls import certificate_files

    assert certificate_files(box.config)[0] == cert and cert.stat().st_mtime_ns == mtime  # kept


def test_a_configured_certificate_that_is_missing_is_a_clear_config_error(box, config_file, tmp_path):
    config_file.write_text(config_file.read_text() + f"\n[web]\ntls = true\n"
                           f"tls_cert = \"{tmp_path / 'no.pem'}\"\ntls_key = \"{tmp_path / 'no.key'}\"\n")
    result = CliRunner().invoke(cli, ["--data", str(box.config.paths.data_dir), "--config",
                                      str(config_file), "web", "--bind", "127.0.0.1:0"])
    assert result.exit_code == 78 and "no.pem" in result.stderr
