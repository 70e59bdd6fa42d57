"""``render()`` and ``submit()`` for scripts, Nuke, cron jobs and Maya's script editor.

The batch runs in the calling thread's Qt event loop, like the dashboard's:
- Inside Maya or Nuke, whose own event loop is running, ``submit()`` returns at once and the
  batch goes on in the background while the artist works; ``wait()`` keeps the UI alive by
  running a local event loop until the batch ends.
- In plain Python a ``QCoreApplication`` is created when none exists; the batch makes
  progress whenever the caller waits (``wait()``) or polls (``status()``), which run the
  event loop. (A background thread was tried first: PySide6 6.8 aborts when a thread other
  than the application's connects signals to Python callables, so everything stays on
  one thread.)

``on_event(name, data)`` is called for every event with the same names and fields as the
command line's ``--json`` lines (see ``docs/cli.md``), from the thread running the batch.

Where the engine runs (``service``): in the local render service (issue 13; the batch
survives the caller, a Maya crash included, and waits in the service's queue behind a batch
another client runs) or in the calling process. The default follows the ``render_service``
setting, like the command line; pass ``service=False`` for a batch that must end with the
caller (a cron script that wants no process left behind).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from lrc_toolbox.config.batch_render_defaults import Settings, load_settings
from lrc_toolbox.core.batch_render_api import (
    BadRequest,
    BatchError,
    BatchRenderAPI,
    EnvironmentProblem,
)
from lrc_toolbox.core.events import connect_events
from lrc_toolbox.core.qtcore import QtCore
from lrc_toolbox.records.batch import BatchSummary, GpuHandback
from lrc_toolbox.records.models import BatchState, RenderConfig

__all__ = [
    "BatchHandle",
    "absolute_config",
    "release_gpu",
    "render",
    "return_gpu",
    "submit",
]

EventCallback = Callable[[str, dict[str, Any]], None]


def absolute_config(config: RenderConfig, cwd: str | None = None) -> RenderConfig:
    """``config`` with its relative scene, output, project and mayapy paths made absolute
    from ``cwd`` (default: this process's): the render service runs in a folder of its
    own, so a path it is sent must not depend on the caller's working directory. A mayapy
    given as a bare name (found on PATH) stays as it is."""
    base = cwd or os.getcwd()

    def absolute(path: str | None) -> str | None:
        return path if not path else os.path.normpath(os.path.join(base, path))

    mayapy = config.mayapy
    if mayapy and (os.sep in mayapy or (os.altsep and os.altsep in mayapy)):
        mayapy = absolute(mayapy)
    return dataclasses.replace(
        config,
        scene=absolute(config.scene) or config.scene,
        output_dir=absolute(config.output_dir),
        project=absolute(config.project),
        mayapy=mayapy,
    )


def _as_config(config: RenderConfig | Mapping[str, Any]) -> RenderConfig:
    if isinstance(config, RenderConfig):
        return config.validate()
    from lrc_toolbox.config.job_file import merge_job

    return merge_job(config)


class BatchHandle:
    """A submitted batch. Call its methods from the thread that submitted it; ``done`` and
    ``summary`` may be read from any thread (a Nuke or Maya helper thread, say)."""

    def __init__(self, on_event: EventCallback | None = None) -> None:
        self._on_event = on_event
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._started = threading.Event()
        self.batch_id: str | None = None
        #: how the batch ended (None while it runs); ``summary`` is its documented JSON
        self.result: BatchSummary | None = None
        self.error: BatchError | None = None
        #: the batch waits in the render service's queue behind another batch
        self.queued = False
        self._began = False
        self._counts = {"done": 0, "failed": 0, "retried": 0}
        self._workers: dict[str, dict[str, Any]] = {}
        self._api: BatchRenderAPI | None = None

    # ------------------------------------------------------------------ queries

    def status(self) -> dict[str, Any]:
        """A snapshot: state, frames done/failed, and each worker's current frame (runs the
        event loop once, so a plain-Python caller that polls makes the batch progress)."""
        if self._api is not None and not self._done.is_set():
            QtCore.QCoreApplication.processEvents()
        with self._lock:
            if self.result:
                state = self.result.state.value
            elif self.error:
                state = "error"
            elif self.queued and not self._began:
                state = "queued"
            else:
                state = "running" if self.batch_id else "starting"
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

    @property
    def summary(self) -> dict[str, Any] | None:
        """The ``batch_finished`` summary as documented (``BatchSummary.to_dict()``)."""
        result = self.result
        return None if result is None else result.to_dict()

    def wait(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the batch ends; returns its summary.

        Raises:
            BatchError: the batch could not start (bad input, no mayapy, ...).
            TimeoutError: ``timeout`` seconds passed first (the batch keeps running).
        """
        loop = QtCore.QEventLoop()
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._done.is_set():
            if deadline is not None and time.monotonic() > deadline:
                break
            loop.processEvents(QtCore.QEventLoop.ProcessEventsFlag.AllEvents, 50)
        if self.error is not None:
            raise self.error
        if not self._done.is_set():
            raise TimeoutError(f"batch {self.batch_id} still running after {timeout} s")
        summary = self.summary
        assert summary is not None
        return summary

    def stop(self) -> None:
        """Stop the batch gracefully (workers finish or are terminated, never orphaned); a
        batch still waiting in the render service's queue is taken out of it (cancelled)."""
        api = self._api
        if api is None or self._done.is_set():
            return
        from lrc_toolbox.core.service_api import ServiceBatchAPI

        if isinstance(api, ServiceBatchAPI) and self.batch_id:
            # by id: its batch_started may still be on its way from the service
            if api.stop_batch(self.batch_id) and self.queued and not self._began:
                # it never started: no batch_finished will come from the service
                summary = BatchSummary(
                    batch_id=self.batch_id, state=BatchState.CANCELLED, finished=True
                )
                self._finished(summary)
                self._record("batch_finished", {"summary": summary.to_dict()})
            return
        api.stop_all_renders()

    def release_gpu(self, gpu: int, *, finish_frame: bool = True) -> GpuHandback:
        """Give GPU ``gpu`` back to Maya while the batch renders (see
        :func:`release_gpu`); works for a batch of the render service and for one
        rendering in this process (``service=False``).

        Raises:
            BadRequest: the batch is not rendering, or ``gpu`` is not one of its GPUs, or
                it is given back already.
        """
        return self._live_api().release_gpu(
            gpu, finish_frame=finish_frame, batch_id=self.batch_id or ""
        )

    def return_gpu(self, gpu: int) -> GpuHandback:
        """Take GPU ``gpu`` back into the batch (see :func:`return_gpu`).

        Raises:
            BadRequest: the batch is not rendering, or ``gpu`` was not given back.
        """
        return self._live_api().return_gpu(gpu, batch_id=self.batch_id or "")

    def _live_api(self) -> BatchRenderAPI:
        api = self._api
        if api is None or self._done.is_set() or not self.batch_id:
            raise BadRequest(
                f"batch {self.batch_id or '(not started)'} is not rendering: GPUs are given "
                "back and taken back only while it renders"
            )
        return api

    # ------------------------------------------------------------------ wiring

    def _emit(self, name: str, **data: Any) -> None:
        if self._on_event is not None:
            try:
                self._on_event(name, data)
            except Exception as exc:  # a broken callback must not kill the batch
                print(f"lrc_toolbox: on_event raised {exc!r}", file=sys.stderr)

    def _connect(self, api: BatchRenderAPI) -> None:
        self._api = api
        api.batch_finished.connect(self._finished)  # before the event stream's own slot
        connect_events(api, self._record)

    def _finished(self, summary: BatchSummary) -> None:
        with self._lock:
            self.result = summary

    def _record(self, name: str, data: dict[str, Any]) -> None:
        """Keep the status up to date, then pass the event on."""
        worker = str(data.get("worker"))
        with self._lock:
            if name == "batch_started":
                self.batch_id = data["batch_id"]
                self._began = True
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
        if name == "batch_started":
            self._started.set()
        self._emit(name, **data)
        if name == "batch_finished":
            self._done.set()
            if self._api is not None:
                self._api.shutdown()

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
    service: bool | None = None,
) -> BatchHandle:
    """Start a batch and return at once with a :class:`BatchHandle`.

    Args:
        config: a RenderConfig, or a dict with its keys (as in a JSON job file).
        on_event: called as ``on_event(name, data)`` for every event.
        simulate: use the simulated mayapy (tests, demos).
        settings: preferences; default: the user's (``load_settings()``).
        service: render in the local render service (True) or in this process (False);
            None: as the ``render_service`` setting says (default: the service). Relative
            paths are this process's either way.

    Raises:
        ValidationError: ``config`` is malformed (raised here, before anything starts).
    """
    render_config = _as_config(config)
    settings = settings or load_settings().settings
    if QtCore.QCoreApplication.instance() is None:
        _APP.append(QtCore.QCoreApplication(sys.argv[:1] or ["lrc_toolbox"]))
    handle = BatchHandle(on_event)
    api: BatchRenderAPI
    if settings.render_service if service is None else service:
        from lrc_toolbox.core.service_api import ServiceBatchAPI

        render_config = absolute_config(render_config)  # the service runs elsewhere
        api = ServiceBatchAPI(
            settings,
            simulate=simulate,
            follow="own",
            attach=False,
            client=f"python {os.getpid()}",
        )
    else:
        api = BatchRenderAPI(settings, simulate=simulate)
    handle._connect(api)
    try:
        batch_id = api.start_batch_render(render_config)
    except BatchError as exc:
        handle._fail(exc)
    else:
        with handle._lock:
            handle.batch_id = handle.batch_id or batch_id
            handle.queued = bool(getattr(api, "queued", False))
    handle._started.set()
    return handle


def render(
    config: RenderConfig | Mapping[str, Any],
    *,
    wait: bool = True,
    on_event: EventCallback | None = None,
    simulate: bool = False,
    settings: Settings | None = None,
    service: bool | None = None,
) -> dict[str, Any] | BatchHandle:
    """Render a batch. With ``wait`` (default) block and return the summary dict
    (``summary["state"]`` is done, failed or cancelled); else return the handle.
    ``service``: as :func:`submit`.

    Raises:
        BatchError: the batch could not start; its ``exit_code`` says why (2 bad input,
            3 environment).
    """
    handle = submit(
        config, on_event=on_event, simulate=simulate, settings=settings, service=service
    )
    return handle.wait() if wait else handle


#: the QCoreApplication made for plain-Python callers, kept alive for the process
_APP: list[Any] = []


# --------------------------------------------------------------------------- GPUs given back


def release_gpu(
    batch_id: str, gpu: int, *, finish_frame: bool = True, settings: Settings | None = None
) -> GpuHandback:
    """Give GPU ``gpu`` of batch ``batch_id`` (rendering in the render service) back to
    Maya: its worker finishes its current frame (``finish_frame``) or abandons it now (the
    frame goes back to the queue without costing it a try), then exits and frees the GPU;
    its frames go to the other GPUs. :func:`return_gpu` takes it back.

    Raises:
        BadRequest: no render service runs that batch, ``gpu`` is not one of its GPUs, or
            it is given back already (exit code 2).
        EnvironmentProblem: the render service cannot be reached (exit code 3).
    """
    from lrc_toolbox.records.service import Op

    return _ask_service(
        Op.RELEASE_GPU, settings, batch_id=batch_id, gpu=gpu, finish_frame=finish_frame
    )


def return_gpu(batch_id: str, gpu: int, *, settings: Settings | None = None) -> GpuHandback:
    """Take GPU ``gpu`` back into batch ``batch_id`` (rendering in the render service)
    after :func:`release_gpu`: a fresh worker joins the batch and takes frames again.

    Raises:
        BadRequest: no render service runs that batch, or ``gpu`` was not given back.
        EnvironmentProblem: the render service cannot be reached.
    """
    from lrc_toolbox.records.service import Op

    return _ask_service(Op.RETURN_GPU, settings, batch_id=batch_id, gpu=gpu)


def _ask_service(op: Any, settings: Settings | None, **fields: Any) -> GpuHandback:
    """One GPU request to the running render service (none is started for it)."""
    from lrc_toolbox.core.batch_lock import process_alive
    from lrc_toolbox.records.service import ErrorKind
    from lrc_toolbox.service.channel import SERVICE_DIR_NAME, read_info
    from lrc_toolbox.service.client import ServiceClient, ServiceUnavailable

    settings = settings or load_settings().settings
    folder = settings.resolved_temp_root() / SERVICE_DIR_NAME
    info = read_info(folder) if folder.is_dir() else None
    absent = BadRequest(
        f"no render service runs for {settings.resolved_temp_root()}: GPUs are given back "
        "only to a batch rendering in the render service (a batch rendered in its own "
        "process, service=False or --foreground, is reached through its BatchHandle)"
    )
    if info is None or not process_alive(info.pid, info.started):
        raise absent
    try:
        client = ServiceClient.attach(
            settings, simulate=info.simulate, client=f"python {os.getpid()}", start=False
        )
        if client is None:
            raise absent
        try:
            reply = client.request(op, **fields)
        finally:
            client.close()
    except ServiceUnavailable as exc:
        raise EnvironmentProblem(str(exc)) from exc
    if not reply.ok:
        error = {
            ErrorKind.BAD_REQUEST: BadRequest,
            ErrorKind.ENVIRONMENT: EnvironmentProblem,
        }.get(reply.error_kind, BatchError)
        raise error(reply.error)
    assert reply.handback is not None, "a gpu reply carries its handback"
    return reply.handback
