"""Defaults, per-user preferences and environment overrides for the batch render manager.

Precedence, lowest first: the defaults in :class:`Settings`, the user's preferences file
(``<prefs dir>/batch_render.json``), then ``LRC_*`` environment variables. A corrupt or
partly wrong preferences file never stops the tool: the bad part is ignored and a warning
says which file and key to fix.

The preferences folder follows Maya's own ``MAYA_APP_DIR`` (``<MAYA_APP_DIR>/lrc_toolbox``)
so that studios that relocate Maya's prefs relocate ours too. Without it, Maya's documented
defaults are used: ``~/maya`` on Linux, ``~/Documents/maya`` on Windows and
``~/Library/Preferences/Autodesk/maya`` on macOS. ``LRC_PREFS_DIR`` wins over both.
"""

from __future__ import annotations

import json
import math
import os
import shlex
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from lrc_toolbox.config.json_input import read_json
from lrc_toolbox.records.models import (
    MAX_FRAME_TIMEOUT,
    FrameOrder,
    JsonModel,
    SingleGpuPolicy,
    ValidationError,
)

__all__ = [
    "PREFS_FILE_NAME",
    "LoadedSettings",
    "Settings",
    "default_maya_app_dir",
    "load_settings",
    "prefs_dir",
    "save_settings",
    "settings_env",
    "viewer_command",
]

PREFS_FILE_NAME = "batch_render.json"
ENV_PREFIX = "LRC_"


@dataclass
class Settings(JsonModel):
    """Tunable behaviour. Field names double as JSON keys and ``LRC_<NAME>`` variables."""

    #: GPUs kept for the artist's interactive Maya (the display GPU first, else GPU 0).
    reserve_gpus: int = 1
    #: logical CPU cores kept free of render workers so Maya stays smooth.
    reserve_cpu_cores: int = 2
    #: with exactly one GPU: render on it too (share) or on the CPU.
    single_gpu_policy: SingleGpuPolicy = SingleGpuPolicy.SHARE
    #: simulated GPUs for tests and demos (``LRC_SIMULATE_GPUS``); None = real NVML.
    simulate_gpus: int | None = None
    processes_per_gpu: int = 1
    chunk_size: int = 1
    frame_order: FrameOrder = FrameOrder.SEQUENTIAL
    max_attempts: int = 3
    frame_timeout: float = 1800.0
    max_frames: int = 100_000
    #: scene snapshots kept for debugging after their batch ends.
    temp_keep_latest: int = 5
    temp_root: str | None = None
    #: refuse to start below this much free disk, warn below ``warn_free_disk_mb``.
    min_free_disk_mb: int = 1024
    warn_free_disk_mb: int = 10240
    mayapy: str | None = None
    job_store_path: str | None = None
    #: grace period between "quit", terminate and kill when stopping workers.
    stop_grace_seconds: float = 10.0
    #: progress signals per worker per second, at most.
    progress_rate_hz: float = 10.0
    #: log lines a log view keeps in memory; full logs stay on disk.
    log_view_lines: int = 5000
    history_keep_days: int = 30
    #: when Maya quits during a batch (and Maya cannot ask: batch mode): keep it rendering
    #: or stop it (resumable). None (the default) keeps it when it renders in the render
    #: service and stops it otherwise; true without the service hands the rest to a
    #: background mayapy that resumes it (see docs/maya-integration.md).
    keep_rendering_on_quit: bool | None = None
    #: run batches in the local render service (beside Maya: they survive a Maya crash);
    #: false runs them in the calling process (``render --foreground``)
    render_service: bool = True
    #: the render service exits after this long with no batch and no client attached
    service_idle_seconds: float = 300.0
    #: the studio's image viewer (``djv``, ``rv``, a full path, or a command with its
    #: options, split as a POSIX shell would, never run through one); "Open frame" appends
    #: the image path as the last argument. None: the system's default application.
    image_viewer: str | None = None
    #: the GPU kept for Maya counts as short of memory above this share of it in use (%):
    #: ``SystemDetector.maya_gpu_pressure`` then offers to give a rendering GPU back to
    #: Maya; 0 never offers
    maya_gpu_memory_warn_percent: float = 90.0

    def validate(self) -> Settings:
        """Reject values that would make the manager misbehave; returns ``self``."""
        checks: list[tuple[str, bool, str]] = [
            ("reserve_gpus", self.reserve_gpus >= 0, "0 or more"),
            ("reserve_cpu_cores", self.reserve_cpu_cores >= 0, "0 or more"),
            (
                "simulate_gpus",
                self.simulate_gpus is None or 0 <= self.simulate_gpus <= 64,
                "between 0 and 64",
            ),
            ("processes_per_gpu", 1 <= self.processes_per_gpu <= 16, "between 1 and 16"),
            ("chunk_size", self.chunk_size >= 1, "1 or more"),
            ("max_attempts", 1 <= self.max_attempts <= 100, "between 1 and 100"),
            (
                "frame_timeout",
                math.isfinite(self.frame_timeout) and 0 < self.frame_timeout <= MAX_FRAME_TIMEOUT,
                f"a number of seconds above 0 and at most {MAX_FRAME_TIMEOUT:.0f} (a week)",
            ),
            ("max_frames", self.max_frames >= 1, "1 or more"),
            ("temp_keep_latest", self.temp_keep_latest >= 0, "0 or more"),
            ("min_free_disk_mb", self.min_free_disk_mb >= 0, "0 or more"),
            ("warn_free_disk_mb", self.warn_free_disk_mb >= 0, "0 or more"),
            ("stop_grace_seconds", self.stop_grace_seconds >= 0, "0 or more seconds"),
            ("progress_rate_hz", self.progress_rate_hz > 0, "more than 0"),
            ("log_view_lines", self.log_view_lines >= 100, "100 or more"),
            ("history_keep_days", self.history_keep_days >= 0, "0 or more"),
            ("service_idle_seconds", self.service_idle_seconds >= 0, "0 or more seconds"),
            (
                "image_viewer",
                self.image_viewer is None or viewer_command(self.image_viewer) is not None,
                'a command such as "djv" or "/opt/rv/bin/rv -fullscreen" (quotes closed), '
                "or unset for the system viewer",
            ),
            (
                "maya_gpu_memory_warn_percent",
                0 <= self.maya_gpu_memory_warn_percent <= 100,
                "a percentage from 0 (never offer) to 100",
            ),
        ]
        for f in fields(self):  # inf, 1e999 and nan are numbers to JSON and float()
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValidationError(f.name, f"must be a finite number, got {value!r}")
        for name, ok, expected in checks:
            if not ok:
                raise ValidationError(name, f"must be {expected}, got {getattr(self, name)!r}")
        return self

    def resolved_temp_root(self) -> Path:
        """Where snapshots and worker folders go: ``temp_root`` or a per-user temp folder."""
        if self.temp_root:
            return Path(self.temp_root).expanduser()
        user = _user_name()
        return Path(tempfile.gettempdir()) / f"lrc_toolbox-{user}"


@dataclass
class LoadedSettings:
    """Settings plus what went wrong while reading them (shown to the user, never raised)."""

    settings: Settings
    warnings: list[str] = field(default_factory=list)
    source: Path | None = None


def _user_name() -> str:
    try:
        import getpass

        name = getpass.getuser()
    except Exception:  # no login name in some containers/services
        name = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "user"


def default_maya_app_dir(env: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Maya's preferences root: ``MAYA_APP_DIR`` if set, else Maya's per-platform default."""
    env = os.environ if env is None else env
    if env.get("MAYA_APP_DIR"):
        return Path(env["MAYA_APP_DIR"]).expanduser()
    platform = sys.platform if platform is None else platform
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if platform.startswith("win"):
        return home / "Documents" / "maya"
    if platform == "darwin":
        return home / "Library" / "Preferences" / "Autodesk" / "maya"
    return home / "maya"


def prefs_dir(env: Mapping[str, str] | None = None) -> Path:
    """The folder of our preferences file (not created here)."""
    env = os.environ if env is None else env
    if env.get("LRC_PREFS_DIR"):
        return Path(env["LRC_PREFS_DIR"]).expanduser()
    return default_maya_app_dir(env) / "lrc_toolbox"


def viewer_command(text: str) -> list[str] | None:
    """The ``image_viewer`` setting as an argument list (split as a POSIX shell would,
    backslashes kept on Windows); None when it is blank or its quotes are unbalanced."""
    try:
        words = shlex.split(text, posix=os.name != "nt")
    except ValueError:
        return None
    return words or None


def _coerce_env(name: str, text: str, current: Any) -> Any:
    """Turn an environment string into the type of the field it overrides."""
    kind = type(current)
    if name == "simulate_gpus" or name in {"mayapy", "temp_root", "job_store_path", "image_viewer"}:
        if text.strip() == "":
            return None
        if name == "simulate_gpus":
            return int(text)
        return text
    if name == "keep_rendering_on_quit" and text.strip().lower() in {"", "auto", "default"}:
        return None
    if kind is bool or name == "keep_rendering_on_quit":
        lowered = text.strip().lower()
        if lowered in {"1", "true", "yes", "on"}:
            return True
        if lowered in {"0", "false", "no", "off"}:
            return False
        raise ValueError(f"expected a boolean (1/0, true/false), got {text!r}")
    if kind is int:
        return int(text)
    if kind is float:
        return float(text)
    if isinstance(current, (SingleGpuPolicy, FrameOrder)):
        return type(current)(text.strip().lower())
    return text


def load_settings(
    env: Mapping[str, str] | None = None, path: Path | str | None = None
) -> LoadedSettings:
    """Defaults, then the user's preferences file, then ``LRC_*`` environment variables.

    Never raises for bad user data: each bad file or value becomes a warning and the
    default (or file value) stays in force.
    """
    env = os.environ if env is None else env
    source = Path(path) if path is not None else prefs_dir(env) / PREFS_FILE_NAME
    warnings: list[str] = []
    values: dict[str, Any] = Settings().to_dict()

    if source.is_file():
        try:
            data = read_json(source)
            if not isinstance(data, dict):
                raise ValueError("the file must hold a JSON object")
        except (OSError, ValueError) as exc:
            warnings.append(
                f"Preferences file {source} could not be read ({exc}); using defaults. "
                "Fix or delete the file to silence this warning."
            )
            data = {}
        for key, value in data.items():
            candidate = dict(values, **{key: value})
            try:
                Settings.from_dict(candidate).validate()
            except ValidationError as exc:
                warnings.append(f"Preferences file {source}: {exc}; the setting was ignored.")
                continue
            values = candidate

    defaults = Settings()
    for f in fields(Settings):
        var = ENV_PREFIX + f.name.upper()
        if var not in env:
            continue
        try:
            value = _coerce_env(f.name, env[var], getattr(defaults, f.name))
            candidate = dict(values, **{f.name: value})
            Settings.from_dict(_to_json_safe(candidate)).validate()
        except (ValueError, ValidationError) as exc:
            warnings.append(f"Environment variable {var}={env[var]!r} ignored: {exc}")
            continue
        values = _to_json_safe(candidate)

    settings = Settings.from_dict(values).validate()
    return LoadedSettings(settings, warnings, source if source.is_file() else None)


def _to_json_safe(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (v.value if isinstance(v, (SingleGpuPolicy, FrameOrder)) else v)
        for k, v in values.items()
    }


def save_settings(settings: Settings, path: Path | str | None = None) -> Path:
    """Write the preferences atomically (temp file + rename); returns the path written."""
    target = Path(path) if path is not None else prefs_dir() / PREFS_FILE_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(settings.validate().to_dict(), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def settings_env(settings: Settings) -> dict[str, str]:
    """``settings`` as ``LRC_<NAME>`` variables, so a process started from here (the render
    service, a headless manager) uses the same job store, temp root and mayapy even where
    they were never saved."""
    env: dict[str, str] = {}
    for name, value in settings.to_dict().items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        env[f"{ENV_PREFIX}{name.upper()}"] = str(value)
    return env
