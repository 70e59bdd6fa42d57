"""Each CI leg must really run on the Qt binding it names: a wrong or missing one fails."""

from __future__ import annotations

import os

import pytest


def test_qt_binding_is_the_one_this_leg_names() -> None:
    expected = os.environ.get("LRC_EXPECT_BINDING")
    if not expected:
        pytest.skip("not run by scripts/test.sh (LRC_EXPECT_BINDING unset)")
    import Qt

    assert Qt.__binding__ == expected


def test_pytest_qt_uses_the_same_binding() -> None:
    expected = os.environ.get("LRC_EXPECT_BINDING")
    if not expected:
        pytest.skip("not run by scripts/test.sh (LRC_EXPECT_BINDING unset)")
    from pytestqt.qt_compat import qt_api

    assert qt_api.pytest_qt_api == expected.lower()
