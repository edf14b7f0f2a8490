"""The configuration schema: defaults, bounds, unknown keys, paths from one data directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.config import DEFAULT_DATA_DIR, load_config
from device.errors import ConfigError


def test_defaults_without_a_file(tmp_path):
    config = load_config(None, None, environ={})
    assert config.paths.data_dir == DEFAULT_DATA_DIR or config.source is not None
    config = load_config(None, tmp_path, environ={})
    assert config.paths.database == tmp_path / "sohoa.db"
    assert config.paths.blobs == tmp_path / "blobs"
    assert config.settings.box.language == ["01"]


def test_data_dir_precedence(tmp_path):
    file = tmp_path / "c.toml"
    file.write_text(f'data_dir = "{tmp_path / "from-file"}"\n')
    env = {"SOHOA_DATA": str(tmp_path / "from-env")}
    assert load_config(file, tmp_path / "flag", environ=env).paths.data_dir == tmp_path / "flag"
    assert load_config(file, None, environ=env).paths.data_dir == tmp_path / "from-env"
    assert load_config(file, None, environ={}).paths.data_dir == tmp_path / "from-file"


@pytest.mark.parametrize(("text", "expected"), [
    ("[box]\nagency = 'H49'\n", "box.agency: unknown key"),
    ("[storage]\nmin_free_mb = -1\n", "storage.min_free_mb"),
    ("[box]\nagency_id = 'nonsense'\n", "not an agency id"),
    ("[box]\nlanguage = ['99']\n", "not a language code"),
    ("[jobs]\nmax_attempts = 'many'\n", "jobs.max_attempts"),
    ("[box\n", "not valid TOML"),
])
def test_wrong_configuration_is_refused_with_a_clear_message(tmp_path, text, expected):
    file = tmp_path / "c.toml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=expected.replace("[", r"\[")):
        load_config(file, tmp_path, environ={})


def test_a_named_file_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml", tmp_path, environ={})


def test_every_field_is_documented():
    from device.config import Settings

    def walk(model):
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
                yield from walk(annotation)
            else:
                yield name, field.description

    assert all(description for _, description in walk(Settings))


def test_check_config_command(tmp_path):
    from click.testing import CliRunner

    from device.cli.main import cli

    good = tmp_path / "good.toml"
    good.write_text("[box]\nagency_id = '000.00.00.H49'\n")
    result = CliRunner().invoke(cli, ["--data", str(tmp_path), "--config", str(good),
                                      "check-config"])
    assert result.exit_code == 0 and '"agency_id": "000.00.00.H49"' in result.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("[boxx]\n")
    result = CliRunner().invoke(cli, ["--data", str(tmp_path), "--config", str(bad),
                                      "check-config"])
    assert result.exit_code == 78 and "boxx: unknown key" in result.stderr
    assert Path(tmp_path).is_dir()


def test_the_configuration_document_names_every_key():
    from device.config import Settings
    from tests.conftest import REPO_ROOT

    text = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")

    def keys(model: type, prefix: str) -> list[str]:
        found = []
        for name, field in model.model_fields.items():
            table = hasattr(field.annotation, "model_fields")
            if prefix or not table:  # a top-level table is a section heading, not a key
                found.append(prefix + name)
            if table:  # its keys too, nested tables included
                found += keys(field.annotation, f"{prefix}{name}.")
        return found

    for key in keys(Settings, ""):
        assert f"`{key}`" in text, key
