"""The open Maya session as a scene source, and snapshots of it that leave it untouched.

Runs INSIDE the interactive Maya session (one of the two doors to Maya, with ``worker/``).

- :class:`LiveSessionSource` describes the open scene by asking Maya itself, through the
  same :func:`~lrc_toolbox.worker.describe.describe_open_scene` the mayapy ``--describe``
  path uses (legacy render-layer API, which also covers Render Setup: MAYA_REFERENCE §2).
- :func:`snapshot_current_scene` writes a COPY of the scene as it is in memory, unsaved
  changes included, without renaming the artist's scene or changing its modified flag.
- :class:`LiveSessionBatchAPI` is the :class:`BatchRenderAPI` of a Maya session: a request
  whose ``scene`` is empty (or is the open scene's path) renders the live session from a
  fresh snapshot, keeping the artist's scene name for ``<Scene>`` and the session's project.
- :class:`LiveSessionServiceAPI` is the same, with the batch rendered in the local render
  service (:class:`~lrc_toolbox.core.service_api.ServiceBatchAPI`) instead of inside Maya:
  the session is exported here, the service renders the export and outlives a Maya crash.

Why ``file -exportAll`` and not "rename, save, rename back": an export writes a separate
file and never touches the session's name, file type or modified flag, so nothing has to
be put back, an untitled scene stays untitled, and a ``.mb`` scene does not silently become
``mayaAscii`` for the artist's next Ctrl+S; save callbacks (pipeline "after save" hooks) do
not fire for a temp file either. ``preserveReferences`` keeps references as references
(otherwise they are imported into the copy) and ``exportUnloadedReferences`` keeps
unloaded ones (Autodesk, "Export All/Selection Options": *Preserve references*, *Export
unloaded references*; pymel ``exportAll``: "Export everything into a single file. Returns
the name of the exported file"). The modified flag and scene name are still checked after
the export and put back with ``file -modified`` / ``file -rename`` should a plug-in callback
have changed them (Autodesk, "Avoid unnecessarily dirtying scene when using callbacks":
``file -query -modified`` then ``file -modified false``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lrc_toolbox.core.batch_render_api import (
    BadRequest,
    BatchRenderAPI,
    EnvironmentProblem,
    PlannedBatch,
)
from lrc_toolbox.core.service_api import ServiceBatchAPI
from lrc_toolbox.records.models import BatchState, JsonModel, RenderConfig, ValidationError
from lrc_toolbox.scene.description import SceneDescription
from lrc_toolbox.scene.scene_source import SceneSource, SceneSourceError, scene_source_for
from lrc_toolbox.utils.render_subprocess import INCLUDE_ALL_LIGHTS_OPTION
from lrc_toolbox.utils.temp_file_manager import TempFileManager
from lrc_toolbox.worker.describe import describe_open_scene

__all__ = [
    "LIVE_EXPORTS_DIR",
    "UNTITLED_SCENE_NAME",
    "LiveSessionBatchAPI",
    "LiveSessionServiceAPI",
    "LiveSessionSource",
    "SessionExport",
    "SessionOrigin",
    "SnapshotError",
    "current_scene_name",
    "current_scene_path",
    "export_session",
    "prune_session_exports",
    "session_origin",
    "snapshot_current_scene",
]

#: ``<Scene>`` of a scene that was never saved (what Maya itself renders it as).
UNTITLED_SCENE_NAME = "untitled"
#: folder under the temp root that holds session exports (see :func:`export_session`).
LIVE_EXPORTS_DIR = "live"
ORIGIN_FILE = "origin.json"
#: a session export younger than this is never pruned (its batch may not be recorded yet).
PRUNE_MIN_AGE_SECONDS = 3600.0


class SnapshotError(RuntimeError):
    """The open scene could not be written to a snapshot; the message says why."""


def _maya() -> tuple[Any, Any]:
    """``maya.cmds`` and ``maya.mel``, imported only when a Maya call is made."""
    import maya.cmds as cmds
    import maya.mel as mel

    return cmds, mel


# ---------------------------------------------------------------------- session queries


def current_scene_path(cmds: Any) -> str:
    """The open scene's file, or ``""`` for a scene that was never saved."""
    return str(cmds.file(query=True, sceneName=True) or "")


def current_scene_name(cmds: Any) -> str:
    """What ``<Scene>`` means for the open scene: the file's stem, or ``untitled``."""
    path = current_scene_path(cmds)
    return Path(path).stem if path else UNTITLED_SCENE_NAME


def _is_modified(cmds: Any) -> bool:
    return bool(cmds.file(query=True, modified=True))


def _put_back(cmds: Any, scene_path: str, modified: bool) -> None:
    """Restore the session's scene name and modified flag if anything changed them."""
    if scene_path and current_scene_path(cmds) != scene_path:
        cmds.file(rename=scene_path)
    if _is_modified(cmds) != modified:
        cmds.file(modified=modified)


def _project(cmds: Any) -> str | None:
    try:
        root = str(cmds.workspace(query=True, rootDirectory=True) or "")
    except Exception:
        return None
    return os.path.normpath(root) if root else None


def _images_dir(cmds: Any) -> str | None:
    """The project's ``images`` folder: where Maya itself would render."""
    try:
        rule = str(cmds.workspace(fileRuleEntry="images") or "") or "images"
        return os.path.normpath(str(cmds.workspace(expandName=rule)))
    except Exception:
        return None


@dataclass
class SessionOrigin(JsonModel):
    """Where a session export came from; stored next to it as ``origin.json``."""

    scene_path: str
    scene_name: str
    project: str | None = None
    images_dir: str | None = None


def session_origin(cmds: Any) -> SessionOrigin:
    """The open scene's path and name, the session's project and its images folder."""
    return SessionOrigin(
        scene_path=current_scene_path(cmds),
        scene_name=current_scene_name(cmds),
        project=_project(cmds),
        images_dir=_images_dir(cmds),
    )


# ---------------------------------------------------------------------- scene source


class LiveSessionSource:
    """:class:`~lrc_toolbox.scene.scene_source.SceneSource` for the open Maya session.

    ``describe()`` switches through the render layers (and back), which Maya may count as
    a change to the scene: the modified flag is put back afterwards so that describing
    never asks the artist to save.
    """

    def __init__(self, cmds: Any = None, mel: Any = None) -> None:
        self._cmds = cmds
        self._mel = mel

    def _modules(self) -> tuple[Any, Any]:
        if self._cmds is None or self._mel is None:
            cmds, mel = _maya()
            return self._cmds or cmds, self._mel or mel
        return self._cmds, self._mel

    def describe(self) -> SceneDescription:
        cmds, mel = self._modules()
        try:
            modified = _is_modified(cmds)
        except Exception as exc:
            raise SceneSourceError(f"Maya did not answer about the open scene: {exc}") from exc
        try:
            return describe_open_scene(cmds, mel)
        except Exception as exc:
            raise SceneSourceError(
                f"Could not read the render layers of the open Maya scene: {exc}"
            ) from exc
        finally:
            try:
                if _is_modified(cmds) != modified:
                    cmds.file(modified=modified)
            except Exception:
                pass  # never hide the describe result or error behind a flag problem


# ---------------------------------------------------------------------- snapshots


def snapshot_current_scene(
    target: TempFileManager | str | os.PathLike[str],
    *,
    layer_name: str = "all",
    cmds: Any = None,
    now: float | None = None,
) -> Path:
    """Write the open scene, unsaved changes included, to a new Maya ASCII snapshot.

    The artist's scene keeps its name (or stays untitled) and its modified flag: see the
    module docstring for why this is an export.

    Args:
        target: a :class:`TempFileManager` (the snapshot gets its standard name in
            ``snapshots/``), or a folder (the snapshot is ``<folder>/<scene name>.ma``).
        layer_name: the layer part of the standard snapshot name (``"3layers"``, ...).
        cmds: ``maya.cmds`` (imported when not given).
        now: the timestamp of the standard name (tests).

    Raises:
        SnapshotError: Maya could not write the file; no partial file is left behind.
    """
    if cmds is None:
        cmds, _ = _maya()
    scene_path = current_scene_path(cmds)
    modified = _is_modified(cmds)
    name = Path(scene_path).stem if scene_path else UNTITLED_SCENE_NAME
    if isinstance(target, TempFileManager):
        path = target.snapshot_path(name, layer_name, now=now, extension=".ma")
    else:
        folder = Path(target)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.ma"
    try:
        cmds.file(
            path.as_posix(),
            exportAll=True,
            preserveReferences=True,
            exportUnloadedReferences=True,
            type="mayaAscii",
            force=True,
        )
        if not path.is_file() or path.stat().st_size == 0:
            raise RuntimeError(f"Maya reported success but wrote nothing to {path}")
    except Exception as exc:
        try:
            path.unlink()
        except OSError:
            pass
        shown = scene_path or "the untitled scene"
        raise SnapshotError(
            f"Could not write a snapshot of {shown} to {path}: {exc}. Check the free space "
            "and permissions of the temp folder (temp_root in the settings); your scene "
            "itself was not changed."
        ) from exc
    finally:
        _put_back(cmds, scene_path, modified)
    return path


@dataclass
class SessionExport:
    """A snapshot of the session kept for a batch: ``<root>/live/<id>/<scene name>.ma``.

    Named after the artist's scene so that anything planning from the file alone (the
    CLI's ``resume``) still gets the right ``<Scene>``; ``origin.json`` beside it keeps
    the project and images folder.
    """

    path: Path
    origin: SessionOrigin

    @property
    def folder(self) -> Path:
        return self.path.parent

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def export_session(root: Path, *, cmds: Any = None) -> SessionExport:
    """Snapshot the open scene into a new folder under ``<root>/live/``.

    Raises:
        SnapshotError: as :func:`snapshot_current_scene`.
    """
    if cmds is None:
        cmds, _ = _maya()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    folder = Path(root) / LIVE_EXPORTS_DIR / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    folder.mkdir(parents=True, mode=0o700)
    try:
        origin = session_origin(cmds)
        path = snapshot_current_scene(folder, cmds=cmds)
        (folder / ORIGIN_FILE).write_text(json.dumps(origin.to_dict(), indent=2), "utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return SessionExport(path=path, origin=origin)


def read_origin(root: Path, scene: str) -> SessionOrigin | None:
    """The origin of ``scene`` when it is a session export under ``root``, else None."""
    if not scene:
        return None
    path = Path(scene)
    exports = Path(root) / LIVE_EXPORTS_DIR
    try:
        if os.path.realpath(path.parent.parent) != os.path.realpath(exports):
            return None
        return SessionOrigin.from_stored(json.loads((path.parent / ORIGIN_FILE).read_text("utf-8")))
    except (OSError, ValueError):  # no file, not JSON, or not an origin (ValidationError)
        return None


def prune_session_exports(
    api: BatchRenderAPI, *, now: float | None = None, min_age: float = PRUNE_MIN_AGE_SECONDS
) -> list[Path]:
    """Delete session exports no resumable batch needs; returns the folders deleted.

    An export stays while a batch that keeps its snapshot (one that runs, may run, or may
    be resumed: ``resume`` reads it) plans from it, and for ``min_age`` seconds after it
    was made (a batch that is starting in another Maya may not be recorded yet).
    """
    exports = api.temp.root / LIVE_EXPORTS_DIR
    if not exports.is_dir():
        return []
    needed = set()
    keeping = [state for state in BatchState if state.keeps_snapshot]
    for record in api.store.list_batches(limit=500, states=keeping):
        needed.add(os.path.realpath(Path(record.config.scene).parent))
    moment = time.time() if now is None else now
    deleted = []
    for folder in exports.iterdir():
        if folder.is_symlink() or not folder.is_dir():
            continue
        try:
            age = moment - folder.stat().st_mtime
        except OSError:
            continue
        if age < min_age or os.path.realpath(folder) in needed:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            deleted.append(folder)
    return deleted


# ---------------------------------------------------------------------- the session's API


class LiveSessionBatchAPI(BatchRenderAPI):
    """:class:`BatchRenderAPI` inside a Maya session: it can render the live scene.

    A request whose ``scene`` is ``""`` or the open scene's path (see
    :meth:`follows_session`) is rendered from a snapshot of the session as it is now,
    unsaved changes included; any other path is rendered from that file, as the base
    class does. The batch keeps the artist's scene name for ``<Scene>`` and the session's
    project (textures, ``images`` folder), although the workers open a temp copy.

    Args:
        cmds, mel: ``maya.cmds`` / ``maya.mel`` (imported on first use when not given).
        Other arguments as :class:`BatchRenderAPI`.
    """

    def __init__(self, *args: Any, cmds: Any = None, mel: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cmds = cmds
        self._mel = mel

    def _maya(self) -> tuple[Any, Any]:
        if self._cmds is None or self._mel is None:
            cmds, mel = _maya()
            return self._cmds or cmds, self._mel or mel
        return self._cmds, self._mel

    # ------------------------------------------------------------------ queries

    def include_all_lights(self, scene: SceneDescription) -> bool | None:
        """The live preference (optionVar ``renderSetup_includeAllLights``), which the
        artist may have changed since Maya last saved its preferences."""
        live = self.live_include_all_lights()
        return live if live is not None else super().include_all_lights(scene)

    def live_include_all_lights(self) -> bool | None:
        """The session's preference now, or None (no Maya here, or no answer)."""
        try:
            cmds = self._maya()[0]
            if cmds.optionVar(exists=INCLUDE_ALL_LIGHTS_OPTION):
                return bool(cmds.optionVar(query=INCLUDE_ALL_LIGHTS_OPTION))
        except Exception:  # no Maya (a hand-off after quitting), or no answer: the file
            pass
        return None

    def session_scene_path(self) -> str:
        """The open scene's file (``""`` when untitled): the dashboard's "current scene"."""
        return current_scene_path(self._maya()[0])

    def is_session(self, scene: str) -> bool:
        """Whether ``scene`` names the live session: ``""``, or the open scene's path."""
        scene = scene.strip()
        if not scene:
            return True
        if read_origin(self.temp.root, scene) is not None:
            return False  # an export of the session, not the session
        try:
            current = self.session_scene_path()
        except Exception:
            return False  # no Maya session in this process (the headless manager)
        return bool(current) and _same_file(scene, current)

    def follows_session(self, config: RenderConfig) -> bool:
        """Whether ``config`` asks for the live session rather than a file on disk."""
        return self.is_session(config.scene)

    def scene_source(self, scene: str) -> SceneSource:
        """The dashboard's ``path -> SceneSource``: the live session for ``""`` or the open
        scene, else the file (the .ma reader, or mayapy for a .mb)."""
        if self.is_session(scene):
            return LiveSessionSource(*self._maya())
        try:
            mayapy: list[str] | None = self._mayapy(RenderConfig(scene=scene))
        except EnvironmentProblem:
            mayapy = None  # a .ma needs no mayapy; a .mb then says what is missing
        return scene_source_for(scene, mayapy)

    def describe_session(self) -> SceneDescription:
        """Layers, renderer and frames of the open scene.

        Raises:
            SceneSourceError: Maya could not answer.
        """
        return LiveSessionSource(*self._maya()).describe()

    # ------------------------------------------------------------------ planning

    def plan_batch(self, config: RenderConfig, *, local: bool = True) -> PlannedBatch:
        """As :meth:`BatchRenderAPI.plan_batch`; a live-session request is planned from a
        throwaway snapshot (so it costs one export of the scene), and its plan keeps the
        request as it was asked (``plan.config.scene`` empty: the live session)."""
        if self.follows_session(config):
            self._check_request(config)
            export = export_session(self.temp.root, cmds=self._maya()[0])
            try:
                planned = super().plan_batch(self._session_config(config, export), local=local)
            finally:
                export.discard()
            return replace(planned, plan=replace(planned.plan, config=config))
        origin = read_origin(self.temp.root, config.scene)
        if origin is not None:  # an export made before the request named its origin
            config = _with_origin(config, origin)
        return super().plan_batch(config, local=local)

    # ------------------------------------------------------------------ running

    def start_batch_render(
        self, config: RenderConfig, *, include_all_lights: bool | None = None
    ) -> str:
        """Start a batch; a live-session request first snapshots the session.

        Raises:
            BadRequest, EnvironmentProblem: as the base class, before anything is written.
            SnapshotError: the session could not be written to a snapshot.
        """
        if not self.follows_session(config):
            return super().start_batch_render(config, include_all_lights=include_all_lights)
        self._refuse_while_running()
        self._check_request(config)
        try:
            prune_session_exports(self)
        except Exception:
            pass  # tidying must never block a render
        export = export_session(self.temp.root, cmds=self._maya()[0])
        try:
            return super().start_batch_render(
                self._session_config(config, export), include_all_lights=include_all_lights
            )
        except BaseException:
            export.discard()
            raise

    def _refuse_while_running(self) -> None:
        """One batch at a time in this process: refuse before the (long) export."""
        if self.is_running:
            raise BadRequest(
                f"batch {self.batch_id} is still running: stop it or wait for it to finish"
            )

    @staticmethod
    def _check_request(config: RenderConfig) -> None:
        """Refuse a bad request before the (possibly long) export of the scene."""
        try:
            replace(config, scene=config.scene or UNTITLED_SCENE_NAME).validate()
        except ValidationError as exc:
            raise BadRequest(str(exc)) from exc

    @staticmethod
    def _session_config(config: RenderConfig, export: SessionExport) -> RenderConfig:
        """The request for an export of the session: the export is the scene, the artist's
        scene name and the session's project stay (and are recorded with the batch)."""
        return replace(
            _with_origin(config, export.origin),
            scene=str(export.path),
            output_dir=config.output_dir or export.origin.images_dir,
        )


class LiveSessionServiceAPI(LiveSessionBatchAPI, ServiceBatchAPI):
    """:class:`LiveSessionBatchAPI` whose batches render in the local render service.

    The method order puts the live session first: a live-session request is exported HERE
    (``maya.cmds`` belongs to this Maya), then :meth:`ServiceBatchAPI.start_batch_render`
    sends the export to the service, which copies it and renders it beside Maya; a Maya
    crash leaves it rendering. Planning stays local (it starts nothing), the signals come
    from the service (every batch it runs, replayed on attach), and :meth:`shutdown` only
    detaches.

    Args:
        As :class:`LiveSessionBatchAPI` and :class:`ServiceBatchAPI` (``follow``,
        ``attach``, ``client``...).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("client", "Maya")
        super().__init__(*args, **kwargs)

    def _refuse_while_running(self) -> None:
        """The service queues a batch asked for while another renders: nothing to refuse."""


def _with_origin(config: RenderConfig, origin: SessionOrigin) -> RenderConfig:
    """``config`` with the scene name and project of the session an export came from,
    where the request does not name its own."""
    return replace(
        config,
        scene_name=config.scene_name or origin.scene_name,
        project=config.project or origin.project,
    )


def _same_file(a: str, b: str) -> bool:
    def key(path: str) -> str:
        return os.path.normcase(os.path.realpath(os.path.expanduser(path)))

    return key(a) == key(b)
