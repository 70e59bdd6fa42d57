"""lrc_toolbox.api.render / submit: the Python API for scripts, Nuke and cron."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import SHOT
from test_cli_render import cli_env

from lrc_toolbox import api


@pytest.fixture
def sim_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for key, value in cli_env(tmp_path).items():
        if key.startswith("LRC_"):
            monkeypatch.setenv(key, value)
    return tmp_path


def job(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    return {"scene": str(SHOT), "layers": ["BG"], "frames": "1-3",
            "output_dir": str(tmp_path / "img"), **changes}  # fmt: skip


def test_render_blocks_and_returns_the_summary(sim_env: Path) -> None:
    summary = api.render(job(sim_env), simulate=True)
    assert summary["state"] == "done" and summary["done"] == 3


def test_render_reports_every_event_to_the_callback(sim_env: Path) -> None:
    names: list[str] = []
    api.render(job(sim_env), simulate=True, on_event=lambda name, data: names.append(name))
    assert names[0] == "batch_started" and names[-1] == "batch_finished"
    assert names.count("frame_finished") == 3


def test_submit_returns_at_once_and_wait_runs_it_to_the_end(sim_env: Path) -> None:
    handle = api.submit(job(sim_env, frames="1-6"), simulate=True)
    assert handle.batch_id is not None and not handle.done
    assert handle.wait(120)["done"] == 6
    assert handle.status()["state"] == "done"


def test_polling_status_makes_a_plain_python_batch_progress(sim_env: Path) -> None:
    handle = api.submit(job(sim_env, frames="1-3"), simulate=True)
    deadline = time.monotonic() + 120
    while not handle.done and time.monotonic() < deadline:
        handle.status()
        time.sleep(0.01)
    assert handle.status()["state"] == "done" and handle.status()["done"] == 3


def test_stop_cancels_a_submitted_batch(sim_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.2")
    handles: list[api.BatchHandle] = []

    def on_event(name: str, data: dict[str, Any]) -> None:
        if name == "frame_started" and handles:
            handles[0].stop()

    handles.append(api.submit(job(sim_env, frames="1-48"), simulate=True, on_event=on_event))
    assert handles[0].wait(60)["state"] == "cancelled"


def test_a_bad_config_is_refused_before_anything_starts(sim_env: Path) -> None:
    with pytest.raises(api.ValidationError, match="frames"):
        api.submit(job(sim_env, frames="1-10x0"), simulate=True)


def test_a_bad_layer_raises_from_wait_with_the_exit_code(sim_env: Path) -> None:
    handle = api.submit(job(sim_env, layers=["NOPE"]), simulate=True)
    with pytest.raises(api.BadRequest) as info:
        handle.wait(30)
    assert info.value.exit_code == 2 and handle.status()["state"] == "error"


def test_a_running_application_event_loop_drives_the_batch(qtbot: Any, sim_env: Path) -> None:
    # as inside Maya or Nuke: the host's loop runs, nobody calls wait()
    handle = api.submit(job(sim_env), simulate=True)
    qtbot.waitUntil(lambda: handle.done, timeout=120_000)
    assert handle.summary is not None and handle.summary["done"] == 3
