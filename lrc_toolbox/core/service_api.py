""":class:`ServiceBatchAPI`: the ``BatchRenderAPI`` whose batches run in the local render
service (:mod:`lrc_toolbox.service`), beside the process that asked.

It keeps every signal and method the dashboard, the CLI and scripts use, so they need no
change; the signals are fed from the service's coalesced events, which a ``QTimer`` on
the caller's thread takes from the client's queue (``poll_ms``, 50 ms by default; a tick
emits for at most ``TICK_SECONDS`` and the rest follows 10 ms later, so a flood of log lines
never holds Maya's event loop for long): the socket is read on a thread of its own and raw
renderer lines never reach the caller unless it asked for them (``log_level="info"``).
Planning (``plan_batch``, ``--dry-run``) stays local: it reads the scene and starts nothing.

Which batches it reports (``follow``):

- ``"all"`` (the dashboard): whatever the service runs, whoever started it, replayed on
  attach: a dashboard opened after a Maya crash shows the running batch with its counts;
- ``"own"`` (the CLI, the Python API): only the batches it started, resumed or
  :meth:`follow`-ed.

If the service dies, the running batch ends here as INTERRUPTED (exit 3): its workers exit
with their manager, and ``resume`` renders the rest.
"""

from __future__ import annotations

import contextlib
import queue
import time
from collections import deque
from typing import Any

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core.batch_render_api import (
    BadRequest,
    BatchError,
    BatchRenderAPI,
    EnvironmentProblem,
)
from lrc_toolbox.core.qt_compat import emit_signal
from lrc_toolbox.core.qtcore import QtCore
from lrc_toolbox.records.batch import BatchSummary, GpuHandback
from lrc_toolbox.records.models import BatchState, RenderConfig, RenderStatus
from lrc_toolbox.records.service import ErrorKind, Event, EventBatch, EventName, Op, Reply
from lrc_toolbox.service.client import ServiceClient, ServiceUnavailable

__all__ = ["ServiceBatchAPI"]

#: seconds the service has to plan a batch and copy its scene before the request fails
START_REPLY_TIMEOUT = 600.0
#: seconds of signals one timer tick emits at most: a flush of 160 log lines (about 8 ms of
#: the dashboard's slots) is spread over a few ticks instead of one stall of Maya's event loop
TICK_SECONDS = 0.003
#: the timer's interval (ms) while events wait beyond a tick's share
BACKLOG_POLL_MS = 10


class ServiceBatchAPI(BatchRenderAPI):
    """Start, watch, stop and resume batches in the local render service.

    Args:
        settings, simulate: as :class:`BatchRenderAPI`; the service is started with them.
        follow: ``"all"`` or ``"own"`` (see the module docstring).
        log_level: the least severe log line wanted (``"info"``: the renderer's lines too).
        attach: connect at once to a service that runs (starts none): what it renders is
            reported from the start. Start and resume start one when needed.
        client: how the service's log names this client.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        simulate: bool = False,
        follow: str = "all",
        log_level: str = "warning",
        attach: bool = True,
        client: str = "",
        poll_ms: int = 50,
        parent: QtCore.QObject | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(settings, simulate=simulate, parent=parent, **kwargs)
        self.follow_mode = follow
        self.log_level = log_level
        #: workers whose renderer lines are wanted whatever ``log_level`` says
        self.log_workers: list[str] = []
        self.client_name = client
        self._client: ServiceClient | None = None
        self._followed: set[str] = set()
        self._running: str | None = None
        self._statuses: list[RenderStatus] = []
        #: the last start or resume waits behind another batch in the service
        self.queued = False
        #: batches of ours that wait in the service's queue (not started yet)
        self._waiting: set[str] = set()
        self._poll_ms = poll_ms
        #: events taken from the client and not emitted yet (TICK_SECONDS of them a tick)
        self._backlog: deque[Event] = deque()
        self._timer = QtCore.QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._deliver)
        if attach:
            with contextlib.suppress(ServiceUnavailable):
                self.attach(start=False)

    # ------------------------------------------------------------------ the service

    @property
    def attached(self) -> bool:
        return self._client is not None and self._client.connected

    @property
    def service_pid(self) -> int | None:
        return self._client.welcome.service_pid if self.attached and self._client else None

    def attach(self, *, start: bool = True) -> bool:
        """Connect and subscribe (replaying what runs); with ``start``, start a service
        when none runs. False when none runs and ``start`` is False.

        Raises:
            ServiceUnavailable: it refused, could not be started or does not answer.
        """
        if self.attached:
            return True
        client = ServiceClient.attach(
            self.settings, simulate=self.simulate, client=self.client_name, start=start
        )
        if client is None:
            return False
        self._client = client
        client.request(Op.SUBSCRIBE, log_level=self.log_level, log_workers=self.log_workers)
        self._timer.start()
        return True

    def _ask(self, op: Op, *, timeout: float = 60.0, **fields: Any) -> Reply:
        try:
            self.attach(start=True)
            assert self._client is not None
            reply = self._client.request(op, timeout=timeout, **fields)
        except ServiceUnavailable as exc:
            raise EnvironmentProblem(str(exc)) from exc
        if not reply.ok:
            error = {
                ErrorKind.BAD_REQUEST: BadRequest,
                ErrorKind.ENVIRONMENT: EnvironmentProblem,
            }.get(reply.error_kind, BatchError)
            raise error(reply.error)
        return reply

    def set_log_workers(self, workers: list[str]) -> None:
        """Ask for the renderer's own lines (info and worse) of these workers only: what a
        log view showing one worker needs, at most ~100 lines a second, instead of every
        worker's flood (which never crosses by default)."""
        self.log_workers = list(workers)
        if self._client is not None and self._client.connected:
            with contextlib.suppress(ServiceUnavailable):
                self._client.request(
                    Op.LOGS, log_level=self.log_level, log_workers=self.log_workers
                )

    def follow(self, batch_id: str) -> None:
        """Report this batch too (``follow="own"``): ``status --follow``."""
        self._followed.add(batch_id)

    def service_state(self) -> Any:
        """The service's :class:`~lrc_toolbox.records.service.ServiceState`, or None when
        none runs."""
        if not self.attached and not self.attach(start=False):
            return None
        return self._ask(Op.STATUS).state

    # ------------------------------------------------------------------ BatchRenderAPI

    @property
    def is_running(self) -> bool:
        return self._running is not None

    def get_render_status(self) -> list[RenderStatus]:
        return list(self._statuses) if self._running is not None else []

    def start_batch_render(
        self, config: RenderConfig, *, include_all_lights: bool | None = None
    ) -> str:
        from lrc_toolbox.core.batch_handle import absolute_config

        reply = self._ask(
            Op.START,
            # the service runs in a folder of its own: no path may depend on ours
            config=absolute_config(config),
            include_all_lights=self._lights(include_all_lights),
            timeout=START_REPLY_TIMEOUT,
        )
        return self._took(reply)

    def resume(self, batch_id: str, *, include_all_lights: bool | None = None) -> str:
        reply = self._ask(
            Op.RESUME,
            batch_id=batch_id,
            include_all_lights=self._lights(include_all_lights),
            timeout=START_REPLY_TIMEOUT,
        )
        return self._took(reply)

    def _lights(self, given: bool | None) -> bool | None:
        return given if given is not None else self.live_include_all_lights()

    def live_include_all_lights(self) -> bool | None:
        """The asking session's Render Setup "include all lights" preference, sent with a
        start or resume (the service cannot ask this Maya); None: the service reads the
        saved preference. The Maya session's API answers from the live optionVar."""
        return None

    def _took(self, reply: Reply) -> str:
        self._followed.add(reply.batch_id)
        self.queued = reply.queued
        if reply.queued:
            self._waiting.add(reply.batch_id)
            emit_signal(
                self,
                "log_message",
                time.time(),
                "info",
                "",
                f"batch {reply.batch_id} waits in the render service for the batch before it",
            )
        return reply.batch_id

    def stop_all_renders(self) -> bool:
        if self._running is None:
            return False
        self._ask(Op.STOP, batch_id=self._running)
        return True

    def kill_all_renders(self) -> bool:
        if self._running is None:
            return False
        self._ask(Op.STOP, batch_id=self._running, kill=True)
        return True

    def stop_batch(self, batch_id: str) -> bool:
        try:
            self._ask(Op.STOP, batch_id=batch_id)
        except BatchError:
            return False
        return True

    def stop_worker(self, worker_id: str) -> bool:
        try:
            return self._ask(Op.STOP_WORKER, worker_id=worker_id).ok
        except BatchError:
            return False

    def release_gpu(
        self, gpu: int, *, finish_frame: bool = True, batch_id: str = ""
    ) -> GpuHandback:
        """:meth:`BatchRenderAPI.release_gpu` in the render service: ``batch_id`` (default:
        the batch this API follows, else the service's running one)."""
        reply = self._ask(
            Op.RELEASE_GPU,
            gpu=gpu,
            finish_frame=finish_frame,
            batch_id=batch_id or self._running or "",
        )
        assert reply.handback is not None, "a release_gpu reply carries its handback"
        return reply.handback

    def return_gpu(self, gpu: int, *, batch_id: str = "") -> GpuHandback:
        """:meth:`BatchRenderAPI.return_gpu` in the render service (``batch_id`` as
        :meth:`release_gpu`)."""
        reply = self._ask(Op.RETURN_GPU, gpu=gpu, batch_id=batch_id or self._running or "")
        assert reply.handback is not None, "a return_gpu reply carries its handback"
        return reply.handback

    def shutdown(self) -> None:
        """Detach: the service goes on rendering (a Maya that quits, a CLI that exits)."""
        self._timer.stop()
        self._timer.setInterval(self._poll_ms)
        self._backlog.clear()  # as the client's queue: what was not emitted is dropped
        if self._client is not None:
            self._client.close()
            self._client = None

    # ------------------------------------------------------------------ events

    def _wanted(self, batch_id: str) -> bool:
        return self.follow_mode == "all" or batch_id in self._followed

    def _deliver(self) -> None:
        """The timer: emit what the service sent, in order, for TICK_SECONDS at most."""
        client = self._client
        if client is None:
            return
        backlog = self._backlog
        deadline = time.perf_counter() + TICK_SECONDS
        while True:
            while backlog:
                if time.perf_counter() >= deadline:
                    self._poll(BACKLOG_POLL_MS)  # the rest, soon
                    return
                event = backlog.popleft()
                if event.batch_id and not self._wanted(event.batch_id):
                    continue
                self._emit(event)
                if self._client is not client:  # a slot detached this api
                    return
            try:
                batch = client.events.get_nowait()
            except queue.Empty:
                self._poll(self._poll_ms)
                return
            if batch is None:
                self._lost()
                return
            self._apply(batch)

    def _poll(self, ms: int) -> None:
        if self._timer.interval() != ms:
            self._timer.setInterval(ms)

    def _apply(self, batch: EventBatch) -> None:
        if batch.statuses is not None:
            self._statuses = batch.statuses
        self._backlog.extend(batch.events)

    def _emit(self, event: Event) -> None:
        name = event.name
        if name is EventName.BATCH_STARTED:
            if event.plan is None:
                return
            self._running = event.batch_id
            self.batch_id = event.batch_id
            self._waiting.discard(event.batch_id)
            emit_signal(self, "batch_started", event.batch_id, event.plan)
        elif name is EventName.WORKER_STARTED:
            emit_signal(self, "worker_started", event.worker, event.pid, event.device)
        elif name is EventName.FRAME_STARTED:
            emit_signal(self, "frame_started", event.worker, event.layer, event.frame)
        elif name is EventName.FRAME_PROGRESS:
            emit_signal(self, "frame_progress", event.worker, event.frame, event.percent)
        elif name is EventName.FRAME_FINISHED:
            emit_signal(
                self, "frame_finished", event.worker, event.layer, event.frame, event.outputs
            )
        elif name is EventName.FRAME_FAILED:
            emit_signal(
                self,
                "frame_failed",
                event.worker,
                event.layer,
                event.frame,
                event.reason,
                event.retry,
            )
        elif name is EventName.WORKER_FINISHED:
            emit_signal(self, "worker_finished", event.worker, event.state, event.reason)
        elif name is EventName.LOG:
            emit_signal(self, "log_message", event.time, event.level, event.worker, event.text)
        elif name is EventName.BATCH_FINISHED and event.summary is not None:
            if self._running == event.batch_id:
                self._running = None
                self._statuses = []
            emit_signal(self, "batch_finished", event.summary)

    def _lost(self) -> None:
        """The service went away: the running batch ends here as interrupted."""
        self._timer.stop()
        self._client = None
        batch_id, self._running = self._running, None
        self._statuses = []
        ended = [] if batch_id is None else [(batch_id, "was rendering; its workers stopped")]
        ended += [(waiting, "had not started it") for waiting in sorted(self._waiting)]
        self._waiting.clear()
        for ended_id, what in ended:
            reason = (
                f"the render service stopped while batch {ended_id} {what}. Resume it to "
                f"render the rest: lrc-batch-render resume {ended_id}"
            )
            emit_signal(self, "log_message", time.time(), "error", "", reason)
            summary = BatchSummary(
                batch_id=ended_id,
                state=BatchState.INTERRUPTED,
                finished=True,
                error=reason,
                environment=True,
            )
            emit_signal(self, "batch_finished", summary)
