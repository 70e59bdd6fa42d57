"""``render()`` and ``submit()`` for scripts, Nuke, cron jobs and Maya's script editor.

- In plain Python (no Qt event loop running) the batch runs in a background thread with
  its own Qt event loop; a ``QCoreApplication`` is created when none exists. ``submit()``
  returns at once; ``wait()`` blocks until the batch ends.
- Inside Maya's GUI (a running ``QApplication``, the call made on its thread), the batch
  runs in Maya's own event loop, like the dashboard; ``wait()`` keeps Maya's UI alive by
  running a local event loop until the batch ends.

``on_event(name, data)`` is called for every event with the same names and fields as the
command line's ``--json`` lines (see ``docs/cli.md``), from the thread running the batch.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from Qt import QtCore

from lrc_toolbox.config.batch_render_defaults import Settings, load_settings
from lrc_toolbox.core.batch_render_api import BatchError, BatchRenderAPI
from lrc_toolbox.core.events import connect_events
from lrc_toolbox.core.models import RenderConfig
from lrc_toolbox.core.qt_compat import exec_loop

__all__ = ["BatchHandle", "render", "submit"]

EventCallback = Callable[[str, dict[str, Any]], None]


def _as_config(config: RenderConfig | Mapping[str, Any]) -> RenderConfig:
    if isinstance(config, RenderConfig):
        return config.validate()
    from lrc_toolbox.config.job_file import merge_job

    return merge_job(config)


def _in_maya_gui() -> bool:
    if "maya.cmds" not in sys.modules:
        return False
    try:
        return not bool(sys.modules["maya.cmds"].about(batch=True))
    except Exception:
        return False


class BatchHandle:
    """A submitted batch. Thread-safe: ``status()``, ``wait()`` and ``stop()`` may be called
    from any thread."""

    def __init__(self, on_event: EventCallback | None = None) -> None:
        self._on_event = on_event
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._started = threading.Event()
        self._stop = threading.Event()
        self.batch_id: str | None = None
        self.summary: dict[str, Any] | None = None
        self.error: BatchError | None = None
        self._counts = {"done": 0, "failed": 0, "retried": 0}
        self._workers: dict[str, dict[str, Any]] = {}
        self._api: BatchRenderAPI | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ queries

    def status(self) -> dict[str, Any]:
        """A snapshot: state, frames done/failed, and each worker's current frame."""
        if self._thread is None and self._api is not None and not self._done.is_set():
            QtCore.QCoreApplication.processEvents()
        with self._lock:
            state = (
                self.summary.get("state")
                if self.summary
                else ("error" if self.error else ("running" if self.batch_id else "starting"))
            )
            return {
                "batch_id": self.batch_id,
                "state": state,
                **self._counts,
                "workers": {k: dict(v) for k, v in self._workers.items()},
                "error": str(self.error) if self.error else None,
            }

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the batch ends; returns its summary.

        Raises:
            BatchError: the batch could not start (bad input, no mayapy, ...).
            TimeoutError: ``timeout`` seconds passed first (the batch keeps running).
        """
        if self._thread is None and self._api is not None:
            loop = QtCore.QEventLoop()
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._done.is_set():
                if deadline is not None and time.monotonic() > deadline:
                    break
                loop.processEvents(QtCore.QEventLoop.AllEvents, 50)
        elif not self._done.wait(timeout):
            pass
        if self.error is not None:
            raise self.error
        if not self._done.is_set():
            raise TimeoutError(f"batch {self.batch_id} still running after {timeout} s")
        assert self.summary is not None
        return self.summary

    def stop(self) -> None:
        """Stop the batch gracefully (workers finish or are terminated, never orphaned)."""
        self._stop.set()
        if self._thread is None and self._api is not None:
            self._api.stop_all_renders()

    # ------------------------------------------------------------------ wiring

    def _emit(self, name: str, **data: Any) -> None:
        if self._on_event is not None:
            try:
                self._on_event(name, data)
            except Exception as exc:  # a broken callback must not kill the batch
                print(f"lrc_toolbox: on_event raised {exc!r}", file=sys.stderr)

    def _connect(self, api: BatchRenderAPI) -> None:
        self._api = api
        connect_events(api, self._record)

    def _record(self, name: str, data: dict[str, Any]) -> None:
        """Keep the status up to date, then pass the event on."""
        worker = data.get("worker")
        with self._lock:
            if name == "batch_started":
                self.batch_id = data["batch_id"]
            elif name == "frame_started":
                self._workers[worker] = {
                    "layer": data["layer"],
                    "frame": data["frame"],
                    "percent": 0.0,
                }
            elif name == "frame_progress":
                self._workers.setdefault(worker, {}).update(
                    frame=data["frame"], percent=data["percent"]
                )
            elif name == "frame_finished":
                self._counts["done"] += 1
            elif name == "frame_failed":
                self._counts["retried" if data["retry"] else "failed"] += 1
            elif name == "worker_finished":
                self._workers.pop(worker, None)
            elif name == "batch_finished":
                self.summary = data["summary"]
        if name == "batch_started":
            self._started.set()
        self._emit(name, **data)
        if name == "batch_finished":
            self._done.set()

    def _fail(self, error: BatchError) -> None:
        with self._lock:
            self.error = error
        self._emit("error", message=str(error), exit_code=error.exit_code)
        self._started.set()
        self._done.set()


def submit(
    config: RenderConfig | Mapping[str, Any],
    *,
    on_event: EventCallback | None = None,
    simulate: bool = False,
    settings: Settings | None = None,
) -> BatchHandle:
    """Start a batch and return at once with a :class:`BatchHandle`.

    Args:
        config: a RenderConfig, or a dict with its keys (as in a JSON job file).
        on_event: called as ``on_event(name, data)`` for every event.
        simulate: use the simulated mayapy (tests, demos).
        settings: preferences; default: the user's (``load_settings()``).

    Raises:
        ValidationError: ``config`` is malformed (raised here, before anything starts).
    """
    render_config = _as_config(config)
    settings = settings or load_settings().settings
    handle = BatchHandle(on_event)
    if _in_maya_gui():
        api = BatchRenderAPI(settings, simulate=simulate)
        handle._connect(api)
        try:
            api.start_batch_render(render_config)
        except BatchError as exc:
            handle._fail(exc)
        return handle
    if QtCore.QCoreApplication.instance() is None:
        _APP.append(QtCore.QCoreApplication(sys.argv[:1] or ["lrc_toolbox"]))

    def run() -> None:
        api = BatchRenderAPI(settings, simulate=simulate)
        handle._connect(api)
        loop = QtCore.QEventLoop()
        api.batch_finished.connect(lambda _summary: loop.quit())
        watcher = QtCore.QTimer()
        watcher.timeout.connect(
            lambda: api.stop_all_renders() if handle._stop.is_set() and api.is_running else None
        )
        watcher.start(100)
        try:
            try:
                api.start_batch_render(render_config)
            except BatchError as exc:
                handle._fail(exc)
                return
            finally:
                handle._started.set()
            if not handle.done:
                exec_loop(loop)
        except BaseException as exc:  # never leave wait() hanging on a dead thread
            handle._fail(BatchError(f"the batch thread failed: {exc!r}"))
            raise
        finally:
            watcher.stop()
            api.shutdown()
            handle._api = None  # the Qt objects live in this thread: let them die here

    handle._thread = threading.Thread(target=run, name="lrc-batch", daemon=True)
    handle._thread.start()
    handle._started.wait()
    return handle


def render(
    config: RenderConfig | Mapping[str, Any],
    *,
    wait: bool = True,
    on_event: EventCallback | None = None,
    simulate: bool = False,
    settings: Settings | None = None,
) -> dict[str, Any] | BatchHandle:
    """Render a batch. With ``wait`` (default) block and return the summary dict
    (``summary["state"]`` is done, failed or cancelled); else return the handle.

    Raises:
        BatchError: the batch could not start; its ``exit_code`` says why (2 bad input,
            3 environment).
    """
    handle = submit(config, on_event=on_event, simulate=simulate, settings=settings)
    return handle.wait() if wait else handle


#: the QCoreApplication made for plain-Python callers, kept alive for the process
_APP: list[Any] = []
