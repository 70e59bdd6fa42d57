"""One protocol for "what can be rendered", whatever the scene comes from.

- :class:`MayaAsciiSource` reads a .ma file directly (no Maya needed, streams the file).
- :class:`MayapySource` asks mayapy: ``mayapy -m lrc_toolbox.worker --describe SCENE`` opens
  the scene in Maya itself and answers with the same :class:`SceneDescription` as a
  ``described`` event. Needed for binary .mb files, which only Maya can read.
- The live GUI session answers through ``lrc_toolbox.maya_host`` (arrives with the
  dashboard), which implements the same protocol.

:func:`scene_source_for` picks the right one for a path.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from lrc_toolbox.records import protocol
from lrc_toolbox.scene.description import SceneDescription
from lrc_toolbox.scene.ma_reader import MayaAsciiError, read_ma

__all__ = [
    "MayaAsciiSource",
    "MayapySource",
    "SceneSource",
    "SceneSourceError",
    "scene_source_for",
]


class SceneSourceError(RuntimeError):
    """The scene could not be described; the message says why and what to do."""


class SceneSource(Protocol):
    """Anything that can say which layers and frames a scene renders."""

    def describe(self) -> SceneDescription:
        """Raises SceneSourceError when the scene cannot be read."""
        ...


class MayaAsciiSource:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def describe(self) -> SceneDescription:
        try:
            return read_ma(self.path)
        except MayaAsciiError as exc:
            raise SceneSourceError(str(exc)) from exc


class MayapySource:
    """Describe a scene by opening it in mayapy (any format Maya reads).

    Args:
        path: the scene.
        mayapy: the command that starts mayapy, e.g. ``["/usr/autodesk/maya2024/bin/mayapy"]``
            or ``[sys.executable, "-m", "lrc_toolbox.sim.mayapy"]`` for the simulator.
        env: environment for the child (defaults to this process's).
        timeout: seconds before giving up (Maya start-up plus opening a big scene).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        mayapy: Sequence[str],
        env: Mapping[str, str] | None = None,
        timeout: float = 600.0,
    ) -> None:
        self.path = Path(path)
        self.mayapy = list(mayapy)
        self.env = dict(env) if env is not None else None
        self.timeout = timeout

    def describe(self) -> SceneDescription:
        command = [*self.mayapy, "-m", "lrc_toolbox.worker", "--describe", str(self.path)]
        try:
            result = subprocess.run(  # noqa: S603 - an argument list, never a shell
                command,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                errors="replace",
                env=self.env,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise SceneSourceError(
                f"mayapy not found ({self.mayapy[0]}): set the mayapy path in the settings "
                "or MAYA_LOCATION"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            raise SceneSourceError(
                f"mayapy did not describe {self.path} within {self.timeout:.0f} s"
            ) from exc
        reasons = []
        for line in result.stdout.splitlines():
            event = protocol.event_or_none(line)
            if event is None:
                continue
            if event.name == "described":
                return SceneDescription.from_dict(event["scene"])
            if event.name == "error":
                reasons.append(str(event.get("reason")))
        detail = "; ".join(reasons) or (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise SceneSourceError(
            f"mayapy could not describe {self.path} (exit code {result.returncode}): {detail}"
        )


def sniff_scene_kind(path: Path) -> str:
    """``"ma"`` or ``"mb"``, from the file's first bytes (not its name).

    Raises:
        MayaAsciiError: a missing or unreadable file; a file that is neither (the .ma
            reader then says what it found).
    """
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
    except FileNotFoundError:
        raise MayaAsciiError(f"scene not found: {path}") from None
    except OSError as exc:
        raise MayaAsciiError(f"cannot read scene {path}: {exc}") from exc
    if head[:4] in (b"FOR4", b"FOR8"):
        return "mb"
    return "ma"


def scene_source_for(
    path: str | os.PathLike[str], mayapy: Sequence[str] | None = None
) -> SceneSource:
    """The source for a scene file: the .ma reader, or mayapy for .mb.

    Raises:
        SceneSourceError: a missing file, a non-Maya file, or a .mb with no mayapy to read it.
    """
    target = Path(path)
    try:
        kind = sniff_scene_kind(target)
    except MayaAsciiError as exc:
        raise SceneSourceError(str(exc)) from exc
    if kind == "ma":
        return MayaAsciiSource(target)
    if mayapy is None:
        raise SceneSourceError(
            f"{target} is a Maya Binary (.mb) scene, which only Maya can read: give the path "
            "of mayapy (--mayapy), or save the scene as Maya ASCII (.ma)"
        )
    return MayapySource(target, mayapy)
