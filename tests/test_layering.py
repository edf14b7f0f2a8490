"""The layering rule: device imports none of the clients; agent, hub and web_ui not each other."""

from __future__ import annotations

import ast

from tests.conftest import REPO_ROOT

CLIENTS = ("agent", "hub", "web_ui")


def imported_packages(package: str) -> dict[str, set[str]]:
    """Top-level package names each module of `package` imports."""
    found = {}
    for path in sorted((REPO_ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
        found[str(path.relative_to(REPO_ROOT))] = names
    return found


def wrong_arrows(package: str, forbidden: set[str]) -> list[str]:
    return [f"{module} imports {name}" for module, names in imported_packages(package).items()
            for name in sorted(names & forbidden)]


def test_device_imports_no_client():
    assert wrong_arrows("device", set(CLIENTS)) == []


def test_clients_do_not_import_each_other():
    for client in CLIENTS:
        assert wrong_arrows(client, set(CLIENTS) - {client}) == []


def test_the_checker_sees_a_wrong_arrow(tmp_path, monkeypatch):
    import tests.test_layering as layering

    (tmp_path / "hub").mkdir()
    (tmp_path / "hub" / "x.py").write_text("from agent.outbox import send\nimport web_ui\n")
    monkeypatch.setattr(layering, "REPO_ROOT", tmp_path)
    assert layering.wrong_arrows("hub", {"agent", "web_ui"}) == [
        "hub/x.py imports agent", "hub/x.py imports web_ui"]
