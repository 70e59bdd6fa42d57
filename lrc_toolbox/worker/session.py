"""The long-lived render worker that runs INSIDE mayapy.

``mayapy -m lrc_toolbox.worker --scene SNAPSHOT`` starts Maya standalone, opens the scene
once, says ``hello`` and then renders whatever frames the manager sends on stdin, one JSON
command per line, reporting ``@lrc`` events on stdout (see :mod:`lrc_toolbox.records.protocol`).
With ``--await-scene`` instead of ``--scene`` it starts Maya and then waits for the manager's
``open`` command naming the scene: the manager starts its workers while it still copies the
snapshot, so Maya's own start-up and the copy overlap.

How a frame is rendered follows what farm tools do (MAYA_REFERENCE §1): switch layer only
when it changes, then override the render globals rather than trusting the scene
(animation on, start = end = the frame, by 1, prefix, resolution, camera), call the layer's
renderer, and report the files Maya was expected to write. Every exception from a Maya call
becomes ``frame_failed``; the worker itself only ends on ``quit``, end of input, a fatal
start-up error or its manager's death (:func:`watch_parent`). It ignores Ctrl-C (SIGINT):
the manager stops it through the protocol or kills it (:func:`ignore_interrupts`).

Exit codes: 0 quit or end of input; 2 bad arguments; 3 start-up failure (Maya would not
start, the scene would not open); 4 the manager died (``LRC_PARENT_PID``); on Linux a
worker whose parent is the manager is killed with it instead (SIGKILL, ``PR_SET_PDEATHSIG``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import queue
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

from lrc_toolbox.records import protocol
from lrc_toolbox.records.batch import RenderOverrides
from lrc_toolbox.records.models import ValidationError
from lrc_toolbox.records.renderers import MAYA_DEFAULT_RENDERER
from lrc_toolbox.utils.image_check import check_image
from lrc_toolbox.utils.output_paths import MASTER_LAYER, OutputSpec, expected_outputs
from lrc_toolbox.worker.mel import mel_call
from lrc_toolbox.worker.renderers import (
    ProductQuery,
    RendererHandler,
    RendererSettingError,
    RenderSettings,
    UnsupportedRendererError,
    handler_for,
)

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_STARTUP = 3
EXIT_ORPHANED = 4

#: environment variables reported in ``hello`` so the manager can check the pinning.
DEVICE_VARIABLES = (
    "CUDA_VISIBLE_DEVICES",
    "CUDA_DEVICE_ORDER",
    "REDSHIFT_GPUDEVICES",
    "LRC_WORKER_ID",
)


class CommandInbox:
    """The manager's commands, read by a thread as they arrive.

    The manager sends a worker its next command while the worker still renders (one
    command ahead, so the worker never waits for it between frames). A ``stop`` therefore
    may arrive behind a render command not begun yet: it is seen at once and goes first
    (:meth:`stop_waiting`), so a stop never costs one more frame. ``quit`` keeps its place
    in the queue (a farm task writes ``render`` then ``quit`` at once). Blank lines are
    dropped.
    """

    def __init__(self, stream: TextIO) -> None:
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        reader = threading.Thread(
            target=self._read, args=(stream,), name="lrc-worker-stdin", daemon=True
        )
        reader.start()

    def _read(self, stream: TextIO) -> None:
        try:
            for line in _lines_of(stream):
                if not line.strip():
                    continue
                if _is_stop(line):
                    self._stop.set()
                self._lines.put(line)
        except (OSError, ValueError):  # the pipe broke or closed under us: end of input
            pass
        self._lines.put(None)

    def next(self) -> str | None:
        """The next command line (waits for it), or None at end of input."""
        return self._lines.get()

    def stop_waiting(self) -> bool:
        """True once a ``stop`` has arrived."""
        return self._stop.is_set()


def _lines_of(stream: TextIO) -> Iterator[str]:
    """The lines of ``stream``; a real file is read with ``os.read`` on its descriptor, so
    the reading thread never holds the buffered reader's lock (a daemon thread blocked
    inside ``sys.stdin`` can abort the interpreter's shutdown)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # StringIO and other in-memory streams
        yield from stream
        return
    pending = b""
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        *lines, pending = (pending + chunk).split(b"\n")
        for raw in lines:
            yield raw.decode("utf-8", errors="replace") + "\n"
    if pending:
        yield pending.decode("utf-8", errors="replace")


def _is_stop(line: str) -> bool:
    try:
        return protocol.decode_command(line).op == "stop"
    except protocol.ProtocolError:
        return False


class Emitter:
    """Writes one event per line and flushes, so the manager sees it at once."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, name: str, **fields: Any) -> None:
        line = protocol.encode_event(name, **fields)
        # if a renderer left half a line on stdout, the manager's decoder still finds the
        # event inside the line (protocol.split_event), so no blank line is forced here
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (BrokenPipeError, ConnectionResetError):
            # nobody reads our events any more: the manager is gone (item 5)
            _exit_orphaned("the manager closed the worker's output")


class FrameFailure(Exception):
    """A frame could not be rendered. ``fatal`` means no retry on this worker will help."""

    def __init__(self, reason: str, fatal: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fatal = fatal


def _complete(path: str) -> bool:
    """An existing output counts only when it is a complete image (utils.image_check)."""
    return check_image(path).ok


def _exit_orphaned(why: str) -> None:
    """Leave at once (exit code 4): the manager is gone, nobody reads what we do.

    The farewell line is best effort and can never stop the exit: with the manager dead,
    stderr is usually a broken pipe (``BrokenPipeError``) or, when something else still
    holds its read end, a full one that would block; so it is one non-blocking write to
    file descriptor 2, every error ignored, and ``os._exit`` runs in ``finally``.
    """
    try:
        try:
            os.set_blocking(2, False)
        except BaseException:
            pass  # Windows before 3.12 cannot; its dead reader makes the write fail instead
        os.write(2, f"lrc worker: {why}; exiting\n".encode())
    except BaseException:
        pass
    finally:
        os._exit(EXIT_ORPHANED)


def _manager_alive(pid: int, direct: bool) -> bool:
    """Whether the manager process ``pid`` still runs. ``direct``: it is our parent, so
    its death re-parents us (POSIX), which no pid reuse can fake."""
    if direct:
        return os.getppid() == pid
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists (another user's process answers EPERM)
    return True


def _arm_parent_death_signal() -> bool:
    """Linux: have the kernel SIGKILL this process when its parent dies
    (``prctl(PR_SET_PDEATHSIG)``). It acts even when a render call holds the interpreter
    (the GIL), which a Python thread cannot. False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1  # <linux/prctl.h>
        return int(libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)) == 0
    except Exception:
        return False


def _windows_process_handle(pid: int) -> int:
    """A handle to wait on the manager with (Windows keeps no parent link to watch)."""
    import ctypes

    synchronize = 0x00100000
    kernel32: Any = getattr(ctypes, "windll").kernel32  # noqa: B009 - absent off Windows
    return int(kernel32.OpenProcess(synchronize, False, pid) or 0)


def _windows_process_ended(handle: int) -> bool:
    import ctypes

    kernel32: Any = getattr(ctypes, "windll").kernel32  # noqa: B009 - absent off Windows
    wait_object_0 = 0
    return int(kernel32.WaitForSingleObject(handle, 0)) == wait_object_0


def watch_parent(expected_parent: int, interval: float = 1.0, *, death_signal: bool = True) -> None:
    """Exit when the manager that started us is gone, so no worker outlives it.

    Two guards, so the worker leaves within a few seconds in every state (idle, waiting on
    stdin, rendering, a hung renderer, its output pipes closed):

    - Linux, when the manager is our parent: the kernel kills us with it
      (``PR_SET_PDEATHSIG``), even while a renderer holds the GIL.
    - Everywhere: a daemon thread checks every ``interval`` seconds; when the manager is
      gone (POSIX: we were re-parented, or, when a launcher stands between us, the pid no
      longer exists; Windows: its process handle is signalled) it exits with code 4. A
      broken or full stderr cannot stop that exit (:func:`_exit_orphaned`).

    ``death_signal=False`` leaves the kernel guard out (tests of the thread alone).
    """
    import threading

    direct = os.getppid() == expected_parent
    if sys.platform == "win32":
        handle = _windows_process_handle(expected_parent)
        if not handle:
            _exit_orphaned("the manager is gone")

        def gone() -> bool:
            return _windows_process_ended(handle)

    else:
        if direct and death_signal:
            _arm_parent_death_signal()

        def gone() -> bool:
            return not _manager_alive(expected_parent, direct)

    if gone():  # died before the guards were in place
        _exit_orphaned("the manager is gone")

    def run() -> None:
        while True:
            try:
                time.sleep(interval)
                if not gone():
                    continue
            except BaseException:
                continue  # a failed check is not a dead manager: look again
            _exit_orphaned("the manager is gone")

    threading.Thread(target=run, name="lrc-parent-watch", daemon=True).start()


def ignore_interrupts() -> Callable[[], None]:
    """Ignore SIGINT (Ctrl-C): a Ctrl-C in the terminal reaches the whole process group,
    but the manager stops its workers itself (``quit``, then a kill), so a worker neither
    dies mid-frame nor prints a KeyboardInterrupt traceback. Returns the undo (for
    in-process callers); a no-op off the main thread, where signals cannot be set."""
    import signal

    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread
        return lambda: None

    def restore() -> None:
        try:
            signal.signal(signal.SIGINT, previous)
        except (ValueError, TypeError):
            pass

    return restore


_C_RUNTIME: list[Any] = []  # the C runtime, loaded once (None: it cannot be flushed here)


def _flush_all() -> None:
    """Flush Python's and, when possible, the C runtime's stdout buffers."""
    sys.stdout.flush()
    if not _C_RUNTIME:
        try:
            import ctypes

            _C_RUNTIME.append(ctypes.CDLL(None))
        except Exception:  # Windows has no process-wide handle to ask
            _C_RUNTIME.append(None)
    runtime = _C_RUNTIME[0]
    if runtime is not None:
        try:
            runtime.fflush(None)
        except Exception:
            pass


class WorkerSession:
    """One opened scene in one mayapy process."""

    def __init__(
        self,
        cmds: Any,
        mel: Any,
        emit: Emitter,
        *,
        scene_name: str | None = None,
        renderer_override: str | None = None,
        settings: RenderSettings | None = None,
    ) -> None:
        self.cmds = cmds
        self.mel = mel
        self.emit = emit
        self.scene_name = scene_name
        self.renderer_override = renderer_override
        self.settings = settings or RenderSettings()
        self.current_layer: str | None = None
        self.handler: RendererHandler | None = None
        self.output_dir: str | None = None
        #: renderLayer node -> display name, refreshed at each layer switch
        self.layer_names: dict[str, str] = {}
        #: display name -> node, read once per scene: a batch's snapshot does not change
        #: its layers, so a frame need not ask Maya again (see :meth:`resolve_layer`)
        self._layer_nodes: dict[str, str] | None = None
        #: (layer node, overrides) whose frame-independent globals are set: they stay
        #: until the next layer switch (a layer's adjustments may set them again)
        self._globals_set: tuple[str, RenderOverrides] | None = None

    # ------------------------------------------------------------------ scene

    def open_scene(self, path: str, project: str | None, output_dir: str | None) -> None:
        """Open the snapshot; keep ``<Scene>`` pointing at the artist's scene name.

        Raises:
            RuntimeError: the scene could not be opened at all.
        """
        cmds = self.cmds
        if project:
            os.makedirs(project, exist_ok=True)
            cmds.workspace(project, openWorkspace=True)
        try:
            cmds.file(path, open=True, force=True, prompt=False)
        except RuntimeError as exc:
            # Maya raises for missing references or plug-ins but still opens the scene.
            if not cmds.file(query=True, sceneName=True):
                raise RuntimeError(f"could not open scene {path}: {exc}") from exc
            print(f"// Warning: scene opened with errors: {exc}", flush=True)
        if self.scene_name:
            folder, ext = os.path.split(path)[0], os.path.splitext(path)[1]
            cmds.file(rename=os.path.join(folder, self.scene_name + ext))
        if output_dir:
            self.set_output_dir(output_dir)
        pre_mel = cmds.getAttr("defaultRenderGlobals.preMel") or ""
        if pre_mel.strip():
            try:
                self.mel.eval(pre_mel)
            except Exception as exc:
                print(f"// Warning: pre render MEL failed: {exc}", flush=True)

    def set_output_dir(self, output_dir: str) -> None:
        os.makedirs(output_dir, exist_ok=True)
        self.cmds.workspace(fileRule=["images", output_dir])
        self.output_dir = output_dir

    def images_dir(self) -> str:
        if self.output_dir:
            return self.output_dir
        cmds = self.cmds
        rule = cmds.workspace(fileRuleEntry="images") or "images"
        return str(cmds.workspace(expandName=rule))

    # ------------------------------------------------------------------ layers

    def layer_nodes(self) -> dict[str, str]:
        """Display name -> renderLayer node, for every render layer of the main manager."""
        result: dict[str, str] = {}
        for node in self.cmds.ls(type="renderLayer") or []:
            if ":" in node:  # referenced layers are not ours to render
                continue
            try:
                name = self.mel.eval(mel_call("renderLayerDisplayName", str(node))) or node
            except Exception:
                name = node
            if node == "defaultRenderLayer":
                name = MASTER_LAYER
            result[str(name)] = str(node)
        return result

    def resolve_layer(self, layer: str) -> tuple[str, str]:
        """(renderLayer node, display name) for a layer given by either (asked of Maya
        once per scene, and again only for a name not found)."""
        for fresh in (False, True):
            if fresh or self._layer_nodes is None:
                self._layer_nodes = self.layer_nodes()
            nodes = self._layer_nodes
            if layer in nodes:
                return nodes[layer], layer
            for name, node in nodes.items():
                if node == layer:
                    return node, name
        raise FrameFailure(
            f"render layer {layer!r} not found in the scene; it has: {', '.join(nodes)}",
            fatal=True,
        )

    def switch_layer(self, node: str) -> None:
        if node == self.current_layer:
            return
        # the layer counts as current only once its renderer is ready: after a failed
        # switch, the next frame of the layer tries again (and fails with the same reason)
        # instead of finding no handler
        self.current_layer = None
        self.handler = None
        self._globals_set = None
        self.layer_names = {n: name for name, n in self.layer_nodes().items()}
        self.cmds.editRenderLayerGlobals(currentRenderLayer=node)
        renderer = self.renderer_override or str(
            self.cmds.getAttr("defaultRenderGlobals.currentRenderer") or MAYA_DEFAULT_RENDERER
        )
        try:
            handler = handler_for(renderer)
        except UnsupportedRendererError as exc:
            self.handler = None
            raise FrameFailure(str(exc), fatal=True) from exc
        if self.renderer_override:
            self.cmds.setAttr(
                "defaultRenderGlobals.currentRenderer", self.renderer_override, type="string"
            )
        try:
            handler.ensure_plugin(self.cmds)
        except RuntimeError as exc:
            self.handler = None
            raise FrameFailure(str(exc), fatal=True) from exc
        handler.configure(self.cmds, self.mel, self.settings)
        self.handler = handler
        self.current_layer = node

    def renderable_cameras(self) -> list[str]:
        cameras = []
        for shape in self.cmds.ls(type="camera") or []:
            if self.cmds.getAttr(f"{shape}.renderable"):
                parents = self.cmds.listRelatives(shape, parent=True) or [shape]
                cameras.append(str(parents[0]))
        return cameras

    # ------------------------------------------------------------------ frames

    def set_global(self, plug: str, value: Any, **kwargs: Any) -> None:
        """setAttr on a render setting the batch must control, through the layer system.

        - Legacy layers: DL runs ``removeRenderLayerAdjustmentAndUnlock`` before every
          such set (``GetStartFrameCommand`` and the others), so a layer's adjustment or a
          plug lock cannot keep the value. Best effort: the procedure may not exist.
        - Render Setup: a set on a plug an override drives is written into the override
          (RS-MODEL ``overriddenAttributeManager``), but refused when that override's value
          plug is locked or connected (``applyOverride.isOverrideValueSettable``). Then the
          override is disabled in this snapshot only, as DL's
          ``unlockRenderSetupOverrides`` does (``setSelfEnabled(False)``), and the set is
          tried again; the artist's scene is never touched.

        Raises:
            RendererSettingError: Maya still refuses the value.
        """
        cmds = self.cmds
        try:
            self.mel.eval(mel_call("removeRenderLayerAdjustmentAndUnlock", plug))
        except Exception:
            pass
        try:
            cmds.setAttr(plug, value, **kwargs)
            return
        except Exception as exc:
            first = str(exc).strip() or type(exc).__name__
        disabled = self.disable_render_setup_override(plug)
        if disabled:
            print(
                f"// Warning: {plug} is driven by a locked Render Setup override in layer "
                f"{disabled}; the override is disabled in this batch's snapshot",
                flush=True,
            )
            try:
                cmds.setAttr(plug, value, **kwargs)
                return
            except Exception as exc:
                first = str(exc).strip() or type(exc).__name__
        raise RendererSettingError(
            f"cannot set {plug} = {value!r}: Maya refused it: {first}. If a Render Setup "
            "override or a connection drives it, unlock or disable it in the scene"
        )

    def disable_render_setup_override(self, plug: str) -> str | None:
        """Disable the current layer's render-settings overrides of ``plug`` (DL
        ``DeadlineMayaBatchFunctions.unlockRenderSetupOverrides``: Render Setup layers,
        their ``RenderSettingsCollection``, ``targetNodeName``/``attributeName``,
        ``setSelfEnabled(False)``). Returns the layer's name, or None when nothing was
        disabled (no Render Setup, no such override)."""
        try:
            render_setup = importlib.import_module("maya.app.renderSetup.model.renderSetup")
            collection = importlib.import_module("maya.app.renderSetup.model.collection")
        except ImportError:
            return None
        node, _, attr = plug.partition(".")
        current = self.layer_names.get(self.current_layer or "", "")
        found = None
        for layer in render_setup.instance().getRenderLayers():
            if layer.name() != current:
                continue
            for coll in layer.getCollections():
                if not isinstance(coll, collection.RenderSettingsCollection):
                    continue
                for override in coll.getOverrides():
                    if override.targetNodeName() == node and override.attributeName() == attr:
                        override.setSelfEnabled(False)
                        found = layer.name()
        return found

    def apply_overrides(self, frame: int, overrides: RenderOverrides) -> list[str]:
        """Set the globals for one frame; returns the cameras to render. The ones that do
        not depend on the frame are set once per layer (after each switch, as a farm task
        sets them once per task), the frame range for every frame."""
        cmds = self.cmds
        assert self.handler is not None and self.current_layer is not None
        if self._globals_set != (self.current_layer, overrides):
            for attr, value in (
                ("animation", 1),
                ("byFrameStep", 1),
                ("putFrameBeforeExt", 1),
                ("periodInExt", 1),
            ):
                self.set_global(f"defaultRenderGlobals.{attr}", value)
            if overrides.image_prefix:
                self.set_global(self.handler.prefix_plug, overrides.image_prefix, type="string")
            self._globals_set = (self.current_layer, overrides)
        for attr, value in (("startFrame", frame), ("endFrame", frame)):
            self.set_global(f"defaultRenderGlobals.{attr}", value)
        camera = overrides.camera
        if camera:
            shapes = cmds.listRelatives(camera, shapes=True, type="camera") or []
            if not shapes and camera in (cmds.ls(type="camera") or []):
                shapes = [camera]
            if not shapes:
                raise FrameFailure(f"camera {camera!r} not found in the scene", fatal=True)
            # the chosen camera is the only renderable one: the renderers' own folder
            # rules count renderable cameras (MTOA hooks.fileTokenCamera), and Maya's
            # batch procedure renders each of them
            for other in cmds.ls(type="camera") or []:
                if other != shapes[0] and cmds.getAttr(f"{other}.renderable"):
                    cmds.setAttr(f"{other}.renderable", 0)
            cmds.setAttr(f"{shapes[0]}.renderable", 1)
            return [str(camera)]
        cameras = self.renderable_cameras()
        if not cameras:
            raise FrameFailure("This scene does not have any renderable cameras", fatal=True)
        return cameras

    def products(self, camera: str, cameras: int, layer_name: str, frame: int) -> list[str]:
        """Every file this frame writes for ``camera``, as Maya and the renderer name
        them (:meth:`RendererHandler.products`); the prediction only for renderers with
        no naming query."""
        assert self.handler is not None and self.current_layer is not None
        scene_path = self.cmds.file(query=True, sceneName=True) or "untitled"
        query = ProductQuery(
            layer_node=self.current_layer,
            camera=camera,
            frame=frame,
            scene=os.path.splitext(os.path.basename(scene_path))[0],
        )
        asked = self.handler.products(self.cmds, self.mel, query)
        if asked is not None:
            return asked
        return self.expected(camera, cameras, layer_name, frame)

    def expected(self, camera: str, cameras: int, layer_name: str, frame: int) -> list[str]:
        """The prediction (:mod:`lrc_toolbox.utils.output_paths`), for Redshift and V-Ray,
        whose own naming has no query found."""
        assert self.handler is not None and self.current_layer is not None
        cmds = self.cmds
        scene_path = cmds.file(query=True, sceneName=True) or "untitled"
        spec = OutputSpec(
            images_dir=self.images_dir(),
            prefix=self.handler.prefix(cmds),
            scene=os.path.splitext(os.path.basename(scene_path))[0],
            layer=layer_name,
            layer_node=self.current_layer,
            camera=camera,
            ext=self.handler.extension(cmds, self.mel),
            padding=self.handler.padding(cmds),
            # Maya's folder rule counts the scene's render layers, renderable or not
            # (ADSK-SUB "more than one render layer"; MTOA counts the same way)
            multiple_layers=len(self.layer_names) > 1,  # read at the layer switch
            multiple_cameras=cameras > 1,
            version=str(cmds.getAttr("defaultRenderGlobals.renderVersion") or ""),
            passes=[self.handler.beauty_pass],
        )
        return expected_outputs(spec, frame)

    def render_frame(self, layer: str, frame: int, overrides: RenderOverrides) -> None:
        started = time.monotonic()
        attempt_start = time.time()  # a product must be written after this (image_check)
        self.emit("frame_started", layer=layer, frame=frame)
        try:
            node, layer_name = self.resolve_layer(layer)
            self.switch_layer(node)
            assert self.handler is not None
            cameras = self.apply_overrides(frame, overrides)
            self.handler.prepare_frame(self.cmds, frame)
            outputs = [
                path
                for camera in cameras
                for path in self.products(camera, len(cameras), layer_name, frame)
            ]
            if overrides.skip_existing and outputs and all(_complete(p) for p in outputs):
                self.emit(
                    "frame_done",
                    layer=layer,
                    frame=frame,
                    outputs=outputs,
                    seconds=0.0,
                    skipped=True,
                )
                return
            for camera in cameras[:1] if self.handler.renders_every_camera else cameras:
                self.handler.render(self.cmds, self.mel, camera, node, frame)
        except FrameFailure as exc:
            _flush_all()
            self.emit("frame_failed", layer=layer, frame=frame, reason=exc.reason, fatal=exc.fatal)
            return
        except Exception as exc:  # any Maya error: report, keep the worker alive
            _flush_all()
            text = str(exc).strip() or type(exc).__name__
            print(traceback.format_exc(), file=sys.stderr, flush=True)
            self.emit("frame_failed", layer=layer, frame=frame, reason=text, fatal=False)
            return
        _flush_all()
        bad = [c for c in (check_image(p, since=attempt_start) for p in outputs) if not c.ok]
        seconds = round(time.monotonic() - started, 3)
        if bad:
            self.emit(
                "frame_failed",
                layer=layer,
                frame=frame,
                reason="; ".join(c.reason or c.path for c in bad),
                fatal=False,
                outputs=outputs,
                seconds=seconds,
            )
        else:
            assert self.handler is not None
            self.emit(
                "frame_done",
                layer=layer,
                frame=frame,
                outputs=outputs,
                seconds=seconds,
                renderer=self.handler.name,
                renderer_version=self.handler.version(self.cmds),
            )

    # ------------------------------------------------------------------ loop

    def serve(self, commands: TextIO | CommandInbox) -> str:
        """Answer commands until ``quit``, ``stop`` or end of input; returns why it stopped.

        A ``stop`` goes before any frame not begun yet, even one of a command that came
        before it (:class:`CommandInbox`): the frame rendering now is finished first."""
        inbox = commands if isinstance(commands, CommandInbox) else CommandInbox(commands)
        self.emit("ready")
        while True:
            line = inbox.next()
            if line is None:
                return "end of input"
            if inbox.stop_waiting():
                return "stop"
            try:
                command = protocol.decode_command(line)
            except protocol.ProtocolError as exc:
                self.emit("error", reason=str(exc))
                continue
            if command.op == "quit":
                return "quit"
            if command.op == "render":
                try:
                    overrides = RenderOverrides.from_dict(command.get("overrides") or {})
                except ValidationError as exc:
                    self.emit("error", reason=f"bad render overrides: {exc}")
                    self.emit("ready")
                    continue
                for frame in command.get("frames"):
                    if inbox.stop_waiting():
                        return "stop"
                    self.render_frame(str(command.get("layer")), int(frame), overrides)
            self.emit("ready")


def _await_scene(inbox: CommandInbox, emit: Emitter) -> tuple[str, str]:
    """Wait for the manager's ``open`` (``--await-scene``): (scene, "") once it names one,
    ("", why) when the manager says ``quit`` or ``stop`` first, closes stdin, or sends
    another command (an ``error`` event says which)."""
    line = inbox.next()
    if line is None:
        return "", "end of input"
    try:
        command = protocol.decode_command(line)
    except protocol.ProtocolError as exc:
        emit("error", reason=str(exc), fatal=True)
        return "", "bad first command"
    if command.op in ("quit", "stop"):
        return "", command.op
    scene = command.get("scene") if command.op == "open" else None
    if not isinstance(scene, str) or not scene:
        emit(
            "error",
            reason=f"a worker started with --await-scene needs 'open' with a scene first, "
            f"got {line.strip()[:200]!r}",
            fatal=True,
        )
        return "", "bad first command"
    return scene, ""


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="mayapy -m lrc_toolbox.worker",
        description="LRC batch render worker (runs inside mayapy; driven through stdin).",
    )
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--scene", help="scene (snapshot) to open and render")
    what.add_argument("--describe", metavar="SCENE", help="print the scene's layers as JSON")
    what.add_argument(
        "--await-scene",
        action="store_true",
        help="start Maya, then wait for an 'open' command on stdin naming the scene (the "
        "manager starts workers while it still copies the snapshot)",
    )
    parser.add_argument(
        "--scene-name", help="name for <Scene> (the artist's scene, not the snapshot)"
    )
    parser.add_argument("--project", help="Maya project folder to open")
    parser.add_argument("--output-dir", help="images folder (overrides the project's rule)")
    parser.add_argument("--renderer", help="render with this renderer instead of the scene's")
    parser.add_argument("--device", choices=("gpu", "cpu"), default="gpu")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for the renderer")
    parser.add_argument(
        "--path-mapping-rules",
        metavar="FILE",
        help="OpenJD path mapping rules (JSON) to apply with dirmap before opening the scene",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None, stdin: TextIO | None = None) -> int:
    restore_interrupts = ignore_interrupts()
    try:
        return _main(argv, stdin)
    finally:
        restore_interrupts()


def _manager_pid() -> int | None:
    """The process to outlive never: ``LRC_PARENT_PID`` (the manager), else the process
    that started us (a farm task's ``run_chunk``, ``describe``'s caller), unless that is
    init (pid 1), which means we already lost it."""
    parent = os.environ.get("LRC_PARENT_PID", "")
    if parent.isdigit():
        return int(parent)
    ppid = os.getppid()
    return ppid if ppid > 1 else None


def _main(argv: Sequence[str] | None, stdin: TextIO | None) -> int:
    try:
        args = _parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    stdout = sys.stdout
    emit = Emitter(stdout)
    manager = _manager_pid()
    if manager is not None:
        watch_parent(manager)
    try:
        import maya.standalone

        maya.standalone.initialize(name="python")
    except Exception as exc:
        emit("error", reason=f"Maya standalone failed to start: {exc}", fatal=True)
        emit("bye", reason="startup failed")
        return EXIT_STARTUP
    try:
        import maya.cmds as cmds
        import maya.mel as mel

        # commands are read from here on, so the manager may write them at any time
        inbox = None if args.describe else CommandInbox(stdin or sys.stdin)
        scene = args.scene or args.describe
        if args.await_scene:
            assert inbox is not None
            scene, reason = _await_scene(inbox, emit)
            if not scene:
                emit("bye", reason=reason)
                return EXIT_OK if reason in ("quit", "stop", "end of input") else EXIT_STARTUP
        session = WorkerSession(
            cmds,
            mel,
            emit,
            scene_name=args.scene_name,
            renderer_override=args.renderer,
            settings=RenderSettings(device=args.device, threads=args.threads),
        )
        if args.path_mapping_rules:
            from lrc_toolbox.worker.path_mapping import PathMappingError, apply_path_mapping

            try:
                for source, destination in apply_path_mapping(cmds, args.path_mapping_rules):
                    print(f"lrc worker: dirmap {source} -> {destination}", flush=True)
            except PathMappingError as exc:
                emit("error", reason=str(exc), fatal=True)
                emit("bye", reason="scene failed to open")
                return EXIT_STARTUP
        try:
            session.open_scene(os.path.abspath(scene), args.project, args.output_dir)
        except Exception as exc:
            emit("error", reason=str(exc), fatal=True)
            emit("bye", reason="scene failed to open")
            return EXIT_STARTUP
        if args.describe:
            from lrc_toolbox.worker.describe import describe_open_scene

            description = describe_open_scene(cmds, mel, path=os.path.abspath(scene))
            emit("described", scene=description.to_dict())
            return EXIT_OK
        emit(
            "hello",
            protocol=protocol.PROTOCOL_VERSION,
            maya_version=str(cmds.about(version=True)),
            renderer=args.renderer
            or str(cmds.getAttr("defaultRenderGlobals.currentRenderer") or MAYA_DEFAULT_RENDERER),
            devices={k: os.environ[k] for k in DEVICE_VARIABLES if k in os.environ},
            device=args.device,
            pid=os.getpid(),
            scene=os.path.abspath(scene),
        )
        assert inbox is not None
        reason = session.serve(inbox)
        emit("bye", reason=reason)
        return EXIT_OK
    finally:
        try:
            maya.standalone.uninitialize()
        except Exception:
            pass
