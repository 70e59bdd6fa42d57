"""The simulator's cost model and fault injection, read from the environment.

``LRC_SIM_TIME_SCALE`` (default 1.0) multiplies every simulated duration, so tests run a
"10 second" frame in 10 ms. A JSON profile adds detail: ``LRC_SIM_PROFILE`` is a path to it,
or ``LRC_SIM_CONFIG`` holds the JSON itself::

    {
      "startup": 2.0,                      # seconds from exec to ready: mayapy, plug-ins,
                                           # scene load (the process's own start counts)
      "layer_switch": 0.5,                 # seconds a render layer switch takes (default:
                                           # LAYER_SWITCH_SHARE x startup)
      "scene_load": 1.0,                   # the part of startup that reads the scene, paid
                                           # after the open (default: SCENE_LOAD_SHARE x startup)
      "frame_cost": {"BG": 1, "CHAR": 3},  # seconds per frame, per layer name
      "default_frame_cost": 1.0,
      "jitter": 0.1,                       # +-10 % per frame, deterministic per (layer, frame)
      "progress_steps": 5,                 # progress lines per frame
      "faults": [{"kind": "crash", "frame": 5, "times": 1, "exit_code": 139}]
    }

Faults (each may also name ``layer``, ``device`` (a CUDA_VISIBLE_DEVICES value or worker id)
and ``times`` — how often it fires across ALL simulated workers, counted with marker files
in ``LRC_SIM_STATE_DIR``; without a state dir it counts per process):

==================  ==========================================================================
``crash``           the process dies at ``frame`` with ``exit_code`` (default 139, a segfault);
                    without a ``frame`` it dies while starting, before ``hello``
``hang``            stops printing at ``frame`` and never returns
``licence``         the renderer's licence check fails at start-up (Maya prints the error, exits 1)
``missing_output``  renders ``frame`` but writes no file
``garbage``         prints binary junk and a broken ``@lrc`` line at ``frame``, then renders
``slow_start``      start-up takes ``seconds`` longer
``render_error``    the render command raises (Maya's RuntimeError) at ``frame``
``cuda_error``      the renderer prints a CUDA error at ``frame`` and the render command raises
``wrong_gpu``       from ``frame`` on, the renderer ignores ``CUDA_VISIBLE_DEVICES``: besides
                    its own GPU it appears in the simulated NVML process list of another one
                    (``gpu``: that GPU's index; default GPU 0, or GPU 1 when 0 is its own)
==================  ==========================================================================

Shortcuts for one fault: ``LRC_SIM_CRASH_AT=5``, ``LRC_SIM_HANG_AT=7``,
``LRC_SIM_LICENCE_FAIL=1``, ``LRC_SIM_MISSING_OUTPUT_AT=3``, ``LRC_SIM_GARBAGE_AT=2``,
``LRC_SIM_SLOW_START=30``, ``LRC_SIM_RENDER_ERROR_AT=4``, ``LRC_SIM_CUDA_ERROR_AT=4``,
``LRC_SIM_WRONG_GPU_AT=4``; ``LRC_SIM_FAULT_TIMES`` sets ``times`` for them (default: every
time).

A simulated renderer that renders on a GPU records its pid on the GPU(s)
``CUDA_VISIBLE_DEVICES`` names, in ``LRC_SIM_STATE_DIR`` (:mod:`lrc_toolbox.sim.gpu_processes`);
the simulated NVML lists those of them that still run.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FAULT_KINDS = (
    "crash",
    "hang",
    "licence",
    "missing_output",
    "garbage",
    "slow_start",
    "render_error",
    "cuda_error",
    "wrong_gpu",
)

_SHORTCUTS = {
    "LRC_SIM_CRASH_AT": ("crash", "frame"),
    "LRC_SIM_HANG_AT": ("hang", "frame"),
    "LRC_SIM_LICENCE_FAIL": ("licence", None),
    "LRC_SIM_MISSING_OUTPUT_AT": ("missing_output", "frame"),
    "LRC_SIM_GARBAGE_AT": ("garbage", "frame"),
    "LRC_SIM_SLOW_START": ("slow_start", "seconds"),
    "LRC_SIM_RENDER_ERROR_AT": ("render_error", "frame"),
    "LRC_SIM_CUDA_ERROR_AT": ("cuda_error", "frame"),
    "LRC_SIM_WRONG_GPU_AT": ("wrong_gpu", "frame"),
}


#: What a render layer switch costs by default, as a share of ``startup``. No primary source
#: gives a figure, so this is a reasoned, deliberately pessimistic guess: a switch makes
#: Render Setup apply the layer's collections and overrides (legacy layers: its
#: adjustments) and Maya re-evaluate what they touch, and the renderer then rebuilds its
#: scene for the next frame; it does not start Maya or read the file again. Its cost grows
#: with the same things as scene load (node count, references, overrides per layer: a
#: dense scene with shared layers is slow to switch, toadstorm.com/blog/?p=110), so a
#: share of it, a quarter. The engine switches layers more often than a process per layer
#: or per chunk does, so a higher share only makes the engine look worse.
LAYER_SWITCH_SHARE = 0.25

#: How much of ``startup`` is reading the scene (``file -open``), by default. No primary
#: source gives a split either: Maya's own start (the binary, its Python, the renderer
#: plug-ins' libraries) and a shot scene's load (its references, their nodes) are both
#: tens of seconds in production, so half. It matters only when the scene is opened late:
#: a worker started before its snapshot existed (``--await-scene``) overlaps the other
#: part with the manager's copy, never this one, so a larger share only makes that early
#: start gain less. A layer switch (a quarter) stays cheaper than a load.
SCENE_LOAD_SHARE = 0.5


class SimConfigError(ValueError):
    """A bad simulator profile: says which key is wrong."""


@dataclass
class Fault:
    kind: str
    frame: int | None = None
    layer: str | None = None
    device: str | None = None
    times: int | None = None  # None = every time
    exit_code: int = 139
    seconds: float = 0.0
    gpu: int | None = None  # wrong_gpu: the index of the GPU it also appears on
    index: int = 0  # position in the profile, for the marker files

    def matches(self, frame: int | None, layer: str | None, device: str) -> bool:
        if self.frame is not None and frame != self.frame:
            return False
        if self.layer is not None and layer != self.layer:
            return False
        return self.device is None or self.device == device


@dataclass
class SimConfig:
    time_scale: float = 1.0
    startup: float = 2.0
    layer_switch: float | None = None  # seconds; None: LAYER_SWITCH_SHARE x startup
    scene_load: float | None = None  # seconds, part of startup; None: SCENE_LOAD_SHARE x it
    frame_cost: dict[str, float] = field(default_factory=dict)
    default_frame_cost: float = 1.0
    jitter: float = 0.1
    progress_steps: int = 5
    faults: list[Fault] = field(default_factory=list)
    state_dir: str | None = None
    _fired: dict[int, int] = field(default_factory=dict)

    def frame_seconds(self, layer: str, frame: int) -> float:
        """Scaled duration of one frame; the jitter is deterministic per (layer, frame)."""
        base = self.frame_cost.get(layer, self.default_frame_cost)
        digest = hashlib.sha256(f"{layer}:{frame}".encode()).digest()
        unit = digest[0] / 255.0 * 2.0 - 1.0  # -1 .. 1
        return max(0.0, base * (1.0 + self.jitter * unit)) * self.time_scale

    def startup_seconds(self) -> float:
        return self.startup * self.time_scale

    def scene_load_seconds(self) -> float:
        """Scaled part of the start-up that reading the scene takes (at most all of it)."""
        base = self.scene_load if self.scene_load is not None else SCENE_LOAD_SHARE * self.startup
        return min(base, self.startup) * self.time_scale

    def layer_switch_seconds(self) -> float:
        """Scaled cost of one switch to another render layer."""
        base = (
            self.layer_switch
            if self.layer_switch is not None
            else (LAYER_SWITCH_SHARE * self.startup)
        )
        return base * self.time_scale

    def take_fault(
        self, kind: str, *, frame: int | None = None, layer: str | None = None, device: str = ""
    ) -> Fault | None:
        """The first matching fault of ``kind`` that still has firings left (and use one)."""
        for fault in self.faults:
            if fault.kind != kind or not fault.matches(frame, layer, device):
                continue
            if fault.times is None:
                return fault
            if self._claim(fault):
                return fault
        return None

    def _claim(self, fault: Fault) -> bool:
        assert fault.times is not None
        if not self.state_dir:
            used = self._fired.get(fault.index, 0)
            if used >= fault.times:
                return False
            self._fired[fault.index] = used + 1
            return True
        folder = Path(self.state_dir)
        folder.mkdir(parents=True, exist_ok=True)
        for n in range(fault.times):
            marker = folder / f"fault{fault.index}-{fault.kind}-{n}"
            try:
                os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            except FileExistsError:
                continue
            return True
        return False


def _number(value: Any, key: str, kind: type = float) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SimConfigError(f"{key}: expected a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise SimConfigError(f"{key}: expected a finite number >= 0, got {value!r}")
    if kind is int and value != int(value):
        raise SimConfigError(f"{key}: expected a whole number, got {value!r}")
    return kind(value)


def _fault(data: Mapping[str, Any], index: int) -> Fault:
    where = f"faults[{index}]"
    if not isinstance(data, Mapping):
        raise SimConfigError(f"{where}: expected an object")
    kind = data.get("kind")
    if kind not in FAULT_KINDS:
        raise SimConfigError(
            f"{where}.kind: expected one of {', '.join(FAULT_KINDS)}, got {kind!r}"
        )
    unknown = set(data) - {
        "kind",
        "frame",
        "layer",
        "device",
        "times",
        "exit_code",
        "seconds",
        "gpu",
    }
    if unknown:
        raise SimConfigError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    fault = Fault(kind=str(kind), index=index)
    if data.get("frame") is not None:
        fault.frame = _number(data["frame"], f"{where}.frame", int)
    if data.get("times") is not None:
        fault.times = _number(data["times"], f"{where}.times", int)
    if "exit_code" in data:
        fault.exit_code = _number(data["exit_code"], f"{where}.exit_code", int)
    if "seconds" in data:
        fault.seconds = _number(data["seconds"], f"{where}.seconds")
    if data.get("gpu") is not None:
        fault.gpu = _number(data["gpu"], f"{where}.gpu", int)
    for key in ("layer", "device"):
        value = data.get(key)
        if value is not None and not isinstance(value, str):
            raise SimConfigError(f"{where}.{key}: expected a string, got {value!r}")
        setattr(fault, key, value)
    return fault


def load_sim_config(env: Mapping[str, str] | None = None) -> SimConfig:
    """Read the cost model and faults.

    Raises:
        SimConfigError: a profile that is not valid JSON or has a bad key — the simulated
            mayapy prints it and exits 2, like a bad command line.
    """
    env = os.environ if env is None else env
    data: dict[str, Any] = {}
    source = "LRC_SIM_CONFIG"
    if env.get("LRC_SIM_PROFILE"):
        source = env["LRC_SIM_PROFILE"]
        try:
            data = json.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SimConfigError(f"simulator profile {source}: {exc}") from exc
    elif env.get("LRC_SIM_CONFIG"):
        try:
            data = json.loads(env["LRC_SIM_CONFIG"])
        except ValueError as exc:
            raise SimConfigError(f"LRC_SIM_CONFIG is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise SimConfigError(f"{source}: expected a JSON object")
    config = SimConfig()
    try:
        scale = float(env.get("LRC_SIM_TIME_SCALE", "1"))
    except ValueError as exc:
        raise SimConfigError(f"LRC_SIM_TIME_SCALE must be a number: {exc}") from exc
    config.time_scale = _number(scale, "LRC_SIM_TIME_SCALE")
    if "startup" in data:
        config.startup = _number(data["startup"], "startup")
    if "layer_switch" in data:
        config.layer_switch = _number(data["layer_switch"], "layer_switch")
    if "scene_load" in data:
        config.scene_load = _number(data["scene_load"], "scene_load")
    if "default_frame_cost" in data:
        config.default_frame_cost = _number(data["default_frame_cost"], "default_frame_cost")
    if "jitter" in data:
        config.jitter = _number(data["jitter"], "jitter")
    if "progress_steps" in data:
        config.progress_steps = max(1, _number(data["progress_steps"], "progress_steps", int))
    costs = data.get("frame_cost", {})
    if not isinstance(costs, dict):
        raise SimConfigError("frame_cost: expected an object of layer name -> seconds")
    config.frame_cost = {str(k): _number(v, f"frame_cost.{k}") for k, v in costs.items()}
    faults = data.get("faults", [])
    if not isinstance(faults, list):
        raise SimConfigError("faults: expected a list")
    config.faults = [_fault(f, i) for i, f in enumerate(faults)]
    times: int | None = None
    if env.get("LRC_SIM_FAULT_TIMES"):
        try:
            times = int(env["LRC_SIM_FAULT_TIMES"])
        except ValueError as exc:
            raise SimConfigError(
                f"LRC_SIM_FAULT_TIMES={env['LRC_SIM_FAULT_TIMES']!r}: expected a whole number"
            ) from exc
    for var, (kind, key) in _SHORTCUTS.items():
        text = env.get(var, "").strip()
        if not text or (key is None and text.lower() in ("0", "false", "no", "off")):
            continue
        fault = Fault(kind=kind, index=len(config.faults), times=times)
        try:
            if key == "frame":
                fault.frame = int(text)
            elif key == "seconds":
                fault.seconds = float(text)
        except ValueError as exc:
            raise SimConfigError(f"{var}={text!r}: expected a number") from exc
        config.faults.append(fault)
    config.state_dir = env.get("LRC_SIM_STATE_DIR") or None
    return config
