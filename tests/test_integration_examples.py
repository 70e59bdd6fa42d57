"""The examples in docs/integration/ run as written (Nuke through a small stand-in module)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from sim_helpers import SHOT
from test_cli_render import cli_env

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "integration"


def test_plain_python_example_renders_and_prints_progress(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "python_render.py"), str(SHOT), "--frames", "1-3",
         "--layers", "BG", "--output", str(tmp_path / "img"), "--simulate"],
        env=cli_env(tmp_path), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "BG frame 1 done" in result.stdout and "done: 3 done, 0 failed" in result.stdout


def test_shell_cron_example_renders_the_nightly_job(tmp_path: Path) -> None:
    job = json.loads((EXAMPLES / "nightly_job.json").read_text())
    job["defaults"]["scene"] = str(SHOT)
    (tmp_path / "nightly.json").write_text(json.dumps(job))
    env = cli_env(tmp_path)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    result = subprocess.run(
        ["bash", str(EXAMPLES / "nightly_render.sh"), str(tmp_path / "nightly.json"), "--simulate"],
        env=env, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all frames done" in result.stdout
    # BG 1-4 and CHAR 1,3 (1-4x2 keeps its last frame: 1, 3, 4)
    assert len(list((tmp_path / "nightly_renders").rglob("*.exr"))) == 4 + 3


class _Knob:
    def __init__(self, node: _Node, name: str) -> None:
        self.node, self.name, self._value = node, name, None

    def setValue(self, value: Any) -> None:
        self._value = value

    def value(self) -> Any:
        return self._value

    def execute(self) -> None:
        self.node.reloads += 1


class _Node:
    def __init__(self, name: str) -> None:
        self.name = name
        self.reloads = 0
        self.knobs = {k: _Knob(self, k) for k in ("file", "first", "last", "reload")}

    def __getitem__(self, key: str) -> _Knob:
        return self.knobs[key]


@pytest.fixture
def nuke(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """Just enough of Nuke's Python module: nodes by name, and the main-thread call."""
    module = types.ModuleType("nuke")
    nodes: dict[str, _Node] = {}

    def create_node(kind: str, args: str = "", inpanel: bool = True) -> _Node:
        assert kind == "Read"
        name = args.split("name ", 1)[1].split()[0]
        nodes[name] = _Node(name)
        return nodes[name]

    module.nodes = nodes  # type: ignore[attr-defined]
    module.createNode = create_node  # type: ignore[attr-defined]
    module.toNode = nodes.get  # type: ignore[attr-defined]
    module.executeInMainThread = lambda fn, args=(): fn(*args)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nuke", module)
    return module


def test_nuke_example_points_read_nodes_at_frames_as_they_land(
    tmp_path: Path, nuke: types.ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in cli_env(tmp_path).items():
        if key.startswith("LRC_"):
            monkeypatch.setenv(key, value)
    spec = importlib.util.spec_from_file_location(
        "nuke_example", EXAMPLES / "nuke_render_and_follow.py"
    )
    assert spec and spec.loader
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    follow = example.render_and_follow(
        str(SHOT), frames="1-4", output_dir=str(tmp_path / "img"), poll=0.05, simulate=True
    )
    assert follow.handle.wait(120)["state"] == "done"
    follow.join(30)
    for layer in ("BG", "CHAR"):
        node = nuke.nodes[f"LRC_{layer}"]  # type: ignore[attr-defined]
        assert node["file"].value().endswith(f"{layer}/{layer}.####.exr")
        assert (node["first"].value(), node["last"].value()) == (1, 4)
        assert node.reloads >= 1


@pytest.mark.parametrize(
    ("path", "frame", "pattern"),
    [("/r/BG.0012.exr", 12, "/r/BG.####.exr"), ("/r/BG.7.exr", 7, "/r/BG.#.exr"),
     ("/r/shot1.2.iff", 2, "/r/shot1.#.iff"), ("/r/BG.exr", 3, "/r/BG.exr")],
)  # fmt: skip
def test_nuke_pattern_pads_only_the_frame_number(
    nuke: types.ModuleType, path: str, frame: int, pattern: str
) -> None:
    spec = importlib.util.spec_from_file_location(
        "nuke_example", EXAMPLES / "nuke_render_and_follow.py"
    )
    assert spec and spec.loader
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert example.nuke_pattern(path, frame) == pattern
