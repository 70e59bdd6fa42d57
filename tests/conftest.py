"""Shared fixtures: every test runs with a clean LRC_* environment and private prefs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No test sees the developer's own preferences or LRC_* variables."""
    for name in list(os.environ):
        if name.startswith("LRC_") and name != "LRC_EXPECT_BINDING":
            monkeypatch.delenv(name)
    monkeypatch.delenv("MAYA_APP_DIR", raising=False)
    prefs = tmp_path_factory.mktemp("prefs")
    monkeypatch.setenv("LRC_PREFS_DIR", str(prefs))
    yield


@pytest.fixture(autouse=True, scope="session")
def _qt_application(qapp: object) -> object:
    """A QApplication exists before any code could make a bare QCoreApplication (the
    plain-Python API does when none exists), so widget tests work in any order."""
    return qapp


@pytest.fixture
def prefs_dir() -> Path:
    return Path(os.environ["LRC_PREFS_DIR"])
