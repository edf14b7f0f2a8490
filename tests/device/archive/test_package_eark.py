"""The E-ARK validator itself (`eark-validator`, in its own venv: it pins an old lxml) on our package.

At import it downloads four CSIP vocabularies from earkcsip.dilcis.eu with urllib's `urlopen`
(eark_validator/ipxml/schematron.py) and keeps each line holding `Term`. Offline, the test
serves those terms from a real HTTP server on 127.0.0.1 and a small launcher points urlopen
there. The terms: Content Category as published in DILCISBoard/E-ARK-CSIP
schema/CSIPVocabularyContentCategory.xml; the other three are the enumerations of the DILCIS
METS extension XSD (device/archive/schemas/DILCISExtensionMETS.xsd) and the CSIP dmdSec
status list (CURRENT, SUPERSEDED).
"""

from __future__ import annotations

import json
import subprocess
import threading
import venv
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from device.archive.package import build_package
from tests.device.archive.conftest import CODE

pytestmark = pytest.mark.slow

VOCABULARIES = {
    "CSIPVocabularyContentCategory.xml": [
        "Textual works – Print", "Textual works – Digital", "Textual works – Electronic Serials",
        "Photographs – Print", "Photographs – Digital", "Other Graphic Images – Print",
        "Other Graphic Images – Digital", "Microforms", "Software", "Email", "Datasets",
        "Geospatial Data", "Databases", "Websites", "Web Archives", "Collection", "Event", "Image",
        "Text", "Mixed", "Other"],
    "CSIPVocabularyContentInformationType.xml": [
        "ERMS", "SIARD1", "SIARD2", "SIARDDK", "GeoData", "citcarchival_v1_0", "citspremis_v1_0",
        "citserms_v2_1", "citsehpj_v1_0", "citsehcr_v1_0", "citssiard_v1_0",
        "citsgeospatial_v3_0", "MIXED", "OTHER"],
    "CSIPVocabularyOAISPackageType.xml": ["SIP", "AIP", "DIP", "AIU", "AIC"],
    "CSIPVocabularyStatus.xml": ["CURRENT", "SUPERSEDED"],
}

LAUNCHER = """
import sys, urllib.request
base = sys.argv[1]
real = urllib.request.urlopen
def local(url, *args, **kwargs):
    if isinstance(url, str) and url.startswith("https://earkcsip.dilcis.eu/schema/"):
        url = base + url.rsplit("/", 1)[1]
    return real(url, *args, **kwargs)
urllib.request.urlopen = local
from eark_validator.cli.app import main
sys.argv = ["eark-validator", *sys.argv[2:]]
main()
"""


def vocabulary(terms: list[str]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<Vocabularies xmlns="https://DILCIS.eu/XML/Vocabularies/IP"><Vocabulary>']
    for term in terms:  # one Term per line: the validator reads between its first > and <
        lines += ["<Entry>", f'  <Term lang="en">{term}</Term>', "</Entry>"]
    return "\n".join([*lines, "</Vocabulary></Vocabularies>", ""]).encode("utf-8")


class _Vocabularies(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        terms = VOCABULARIES.get(self.path.rsplit("/", 1)[-1])
        body = vocabulary(terms) if terms else b""
        self.send_response(200 if terms else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def eark_python(tmp_path_factory) -> Path:
    """A venv of its own with eark-validator; skipped when pip cannot install it here."""
    folder = tmp_path_factory.mktemp("eark-venv")
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", "eark-validator"],
                               capture_output=True, text=True, timeout=600)
    if installed.returncode != 0:
        pytest.skip(f"pip could not install eark-validator: {installed.stderr.strip()[-300:]}")
    return python


@pytest.fixture(scope="session")
def vocabulary_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Vocabularies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/schema/"
    server.shutdown()
    server.server_close()


def eark_report(python: Path, url: str, package: Path, tmp_path: Path) -> dict:
    launcher = tmp_path / "run_eark.py"
    launcher.write_text(LAUNCHER, encoding="utf-8")
    done = subprocess.run([str(python), str(launcher), url, str(package)], capture_output=True,
                          text=True, timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def errors(report: dict) -> list[dict]:
    found = [m for m in report["structure"]["messages"] if m["severity"].upper() == "ERROR"]
    for result in report.get("metadata", {}).get("schematron_results", {}).get("messages", []):
        if result.get("severity", "").upper() == "ERROR":
            found.append(result)
    for result in report.get("metadata", {}).get("schema_results", {}).get("messages", []):
        if result.get("severity", "").upper() == "ERROR":
            found.append(result)
    return found


def test_the_aip_passes_the_eark_validator(approved_box, eark_python, vocabulary_url, tmp_path):
    package = build_package(approved_box, CODE, actor="minh").path
    report = eark_report(eark_python, vocabulary_url, package, tmp_path)
    assert report["structure"]["status"].upper() == "WELLFORMED", report["structure"]
    assert errors(report) == []
