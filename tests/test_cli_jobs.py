"""The command line for pipelines: the original form, job files, --dry-run, history/status,
ready.json and the terminal live view."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

from sim_helpers import SHOT
from test_cli_render import CLI, cli_env, events

from lrc_toolbox.core.ready_manifest import read_ready
from lrc_toolbox.records.frame_parser import parse_frames


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args], env=cli_env(tmp_path, **env), capture_output=True, text=True, timeout=180
    )


def test_the_original_form_renders(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path,
        "--scene", str(SHOT), "--layers", "BG", "--frames", "1-3",
        "--output", str(tmp_path / "img"), "--simulate", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(list((tmp_path / "img").rglob("*.exr"))) == 3
    assert "done: 3 done" in result.stderr


def test_a_job_file_with_two_jobs_renders_both(tmp_path: Path) -> None:
    job = {
        "defaults": {"scene": str(SHOT), "max_attempts": 2},
        "jobs": [
            {"layers": ["BG"], "frames": "1-3", "output_dir": "out_bg"},
            {"layers": "all", "frames": "10-11", "output_dir": "out_all"},
        ],
    }
    (tmp_path / "job.json").write_text(json.dumps(job))
    result = run_cli(
        tmp_path, "render", "--config", str(tmp_path / "job.json"), "--simulate", "--json"
    )
    assert result.returncode == 0, result.stderr
    finished = [e for e in events(result.stdout) if e["event"] == "batch_finished"]
    assert [f["summary"]["done"] for f in finished] == [3, 4]
    assert len(list((tmp_path / "out_bg").rglob("*.exr"))) == 3
    assert len(list((tmp_path / "out_all").rglob("*.exr"))) == 4


def test_flags_override_the_job_file(tmp_path: Path) -> None:
    (tmp_path / "job.json").write_text(json.dumps({"scene": str(SHOT), "frames": "1-24"}))
    result = run_cli(
        tmp_path, "render", "--config", str(tmp_path / "job.json"),
        "--frames", "5", "--layers", "BG", "--simulate", "--dry-run", "--json",
    )  # fmt: skip
    (plan,) = events(result.stdout)
    assert plan["layers"] == {"BG": {"frames": "5", "count": 1}}


def test_a_bad_job_file_exits_2_with_the_key_path(tmp_path: Path) -> None:
    (tmp_path / "job.json").write_text(json.dumps({"jobs": [{"scene": str(SHOT), "layers": [3]}]}))
    result = run_cli(tmp_path, "render", "--config", str(tmp_path / "job.json"), "--simulate")
    assert result.returncode == 2
    assert "jobs[0].layers[0]: expected string, got 3" in result.stderr


def test_dry_run_prints_the_plan_and_starts_nothing(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path, "render", "--scene", str(SHOT), "--frames", "1-10", "--simulate", "--dry-run"
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "gpu1" in out and "gpu3" in out and "GPU 0" not in out
    assert "BG" in out and "CHAR" in out and "snapshot" in out and "nothing was started" in out
    assert not (tmp_path / "tmp" / "snapshots").exists() or not any(
        (tmp_path / "tmp" / "snapshots").iterdir()
    )
    history = run_cli(tmp_path, "history")
    assert "no batches yet" in history.stdout


def test_no_scene_is_a_bad_request(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "render", "--frames", "1-3", "--simulate")
    assert result.returncode == 2 and "--scene" in result.stderr


def test_history_and_status_show_a_finished_batch(tmp_path: Path) -> None:
    run = run_cli(
        tmp_path, "render", "--scene", str(SHOT), "--layers", "BG", "--frames", "1-2",
        "--output", str(tmp_path / "img"), "--simulate", "--json",
    )  # fmt: skip
    batch_id = events(run.stdout)[-1]["summary"]["batch_id"]
    history = run_cli(tmp_path, "history", "--json")
    assert [b["id"] for b in json.loads(history.stdout)] == [batch_id]
    status = run_cli(tmp_path, "status", batch_id[:12], "--json")
    data = json.loads(status.stdout)
    assert data["state"] == "done" and data["layers"] == {"BG": {"done": "1-2"}}
    assert {w["id"] for w in data["workers"]} <= {"gpu1", "gpu2", "gpu3"}


def test_status_of_an_unknown_batch_exits_2(tmp_path: Path) -> None:
    run_cli(tmp_path, "history")  # creates the store
    result = run_cli(tmp_path, "status", "nope-nope")
    assert result.returncode == 2 and "nope-nope" in result.stderr


def test_ready_json_lists_the_finished_frames_and_files(tmp_path: Path) -> None:
    run_cli(
        tmp_path, "render", "--scene", str(SHOT), "--frames", "1-4",
        "--output", str(tmp_path / "img"), "--simulate", "--quiet",
    )  # fmt: skip
    ready = read_ready(tmp_path / "img")
    assert ready is not None and ready["state"] == "done"
    for layer in ("BG", "CHAR"):
        entry = ready["layers"][layer]
        assert parse_frames(entry["frames"]) == [1, 2, 3, 4] and entry["total"] == 4
        assert all(Path(p).is_file() for files in entry["files"].values() for p in files)
    assert not list((tmp_path / "img").glob(".ready.json*"))  # no temp file left behind


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _FakeStatus:
    def __init__(self, **values: Any) -> None:
        from lrc_toolbox.records.models import RenderStatus, WorkerState

        self.status = RenderStatus(worker_id="gpu1", device="GPU 1", state=WorkerState.RENDERING)
        for key, value in values.items():
            setattr(self.status, key, value)


def test_live_view_redraws_one_line_per_worker_and_a_bar(qapp: Any) -> None:
    from lrc_toolbox.cli.run_batch import _LiveDisplay
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI

    class Api(BatchRenderAPI):
        def get_render_status(self):  # type: ignore[no-untyped-def]
            return [_FakeStatus(layer="BG", current_frame=7, progress_percent=40.0, eta=75).status]

    api = Api.__new__(Api)
    BatchRenderAPI.__init__(api)  # type: ignore[misc]
    out = _Tty()
    live = _LiveDisplay(api, out)
    live.total = 10
    live.finished = 5
    live.redraw()
    live.redraw()
    text = out.getvalue()
    assert "BG frame 7   40.0%  ETA 1:15" in text
    assert "[###############...............] 5/10 frames" in text
    assert text.count("\x1b[F") == 2  # the second redraw moved up over the first


def test_every_event_is_documented_in_cli_md() -> None:
    from lrc_toolbox.core.events import EVENT_NAMES

    doc = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text()
    assert [name for name in EVENT_NAMES if f"| `{name}`" not in doc] == []


def test_dry_run_refuses_an_unsupported_renderer_with_exit_2(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path, "render", "--scene", str(SHOT), "--renderer", "renderman", "--simulate",
        "--dry-run",
    )  # fmt: skip
    assert result.returncode == 2
    assert "'renderman' is not supported" in result.stderr
    assert "arnold" in result.stderr  # names what is available


def test_layers_flags_a_scene_renderer_it_cannot_render(tmp_path: Path) -> None:
    scene = tmp_path / "mental.ma"
    scene.write_text(
        SHOT.read_text(encoding="utf-8").replace('"arnold";', '"mentalRay";'), encoding="utf-8"
    )
    result = run_cli(tmp_path, "layers", str(scene))
    assert result.returncode == 0
    assert "renderer mentalRay is not supported" in result.stdout
