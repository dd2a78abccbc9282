"""HOTLINE_HOME: relative paths of the configuration and the key file resolve under it (or under the
configuration file's folder), never under the working directory."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from activities.runtime.home import HOME_ENV, home_dir, place_key_file, with_paths_under
from activities.runtime.keys import KEYS_ENV, KEYS_FILE_ENV
from activities.runtime.settings import CONFIG_ENV, load_config
from domain.config import FileInboxAdapter


def test_relative_folders_resolve_under_the_base_and_absolute_ones_stay(tmp_path: Path) -> None:
    config = load_config()  # the bundled sample: var/inbox/<code>, var/center, var/city, var/reports
    moved = with_paths_under(config, tmp_path)
    cgj = moved.department("cgj").adapter
    assert isinstance(cgj, FileInboxAdapter) and cgj.folder == str(tmp_path / "var/inbox/cgj")
    assert moved.center.notifications.folder == str(tmp_path / "var/center")
    assert moved.reports.folder == str(tmp_path / "var/reports")
    assert with_paths_under(moved, tmp_path / "elsewhere") == moved  # absolute now: unchanged


def test_home_is_the_variable_else_the_configuration_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    assert home_dir() is None  # the bundled sample, a local trial
    assert home_dir(tmp_path / "etc" / "district.yaml") == tmp_path / "etc"
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert home_dir(tmp_path / "etc" / "district.yaml") == tmp_path / "home"


def test_the_key_file_defaults_under_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path))
    monkeypatch.delenv(KEYS_FILE_ENV, raising=False)
    monkeypatch.delenv(KEYS_ENV, raising=False)
    place_key_file()
    assert Path(os.environ[KEYS_FILE_ENV]) == tmp_path / "keys.json"
    monkeypatch.setenv(KEYS_FILE_ENV, "/etc/hotline/keys.json")
    place_key_file()
    assert os.environ[KEYS_FILE_ENV] == "/etc/hotline/keys.json"
