"""The local render service: the engine in its own process, beside Maya.

``python -m lrc_toolbox.service`` (started on demand by :mod:`.client`) runs ONE
:class:`~lrc_toolbox.core.batch_render_api.BatchRenderAPI` engine (QProcess workers,
scheduler, job store, product checks, ``ready.json``) in a ``QCoreApplication`` of its own,
so the workers are children of the service, not of the artist's Maya: a Maya crash leaves
them rendering. One service per user and temp root also means two Maya sessions (or Maya
and a CLI batch) share the GPUs: a batch asked for while another renders waits in the
service's queue (recorded in the job store at once, PENDING, with its scene snapshot).

Threads: the engine and everything it owns live on the Qt thread. Each client has a
reader thread (requests go to the Qt thread through a queue the 10 ms pump drains) and a
writer thread (a bounded outbox: a client that stops reading, a frozen Maya, is dropped
rather than ever blocking the engine; it re-attaches later and is replayed the batch).

What a client receives is coalesced on the Qt thread and sent every ``FLUSH_SECONDS``
(:class:`~lrc_toolbox.records.service.EventBatch`): progress as the latest per worker,
renderer log lines only for clients that asked for them (and at most
``LINES_PER_FLUSH`` per flush), everything else individually, in order.

The service exits when it has had no batch to run or wait for, and no client attached,
for ``idle_seconds``; SIGTERM or Ctrl-C stop its batch as the CLI's Ctrl-C does (the frames
left stay pending for ``resume``). If it dies, its workers see their parent die and exit
within seconds (``worker/session.py`` ``watch_parent``), as they did with a dead CLI.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, Listener
from pathlib import Path
from typing import Any

from lrc_toolbox import __version__
from lrc_toolbox.core.batch_render_api import (
    BadRequest,
    BatchError,
    BatchRenderAPI,
    EnvironmentProblem,
)
from lrc_toolbox.core.events import LEVELS
from lrc_toolbox.core.qt_compat import in_event_loop
from lrc_toolbox.core.qtcore import QtCore
from lrc_toolbox.records.batch import BatchPlan, BatchSummary
from lrc_toolbox.records.models import BatchState, FrameState, RenderStatus
from lrc_toolbox.records.service import (
    PROTOCOL,
    ChannelError,
    ErrorKind,
    Event,
    EventBatch,
    EventName,
    Hello,
    Op,
    Refused,
    Reply,
    Request,
    ServiceBatch,
    ServiceState,
    Welcome,
    decode,
    encode,
)
from lrc_toolbox.service.channel import hang_up, remove_info, same_token

__all__ = ["FLUSH_SECONDS", "LINES_PER_FLUSH", "OUTBOX_LIMIT", "RenderService"]

#: how often attached clients get what happened (10 per second)
FLUSH_SECONDS = 0.1
#: renderer log lines per worker per flush for a client that asked for them (the full
#: log is on disk: ``lrc-batch-render log``)
LINES_PER_FLUSH = 10
#: frames waiting for a client before it counts as gone (it is dropped, never waited for)
OUTBOX_LIMIT = 2000
#: warnings and worse kept to replay to a client that attaches late
REPLAY_LOG_LINES = 200
#: finished batches the service remembers for ``status``
HISTORY = 20
#: seconds a client has to say hello
HELLO_TIMEOUT = 10.0
#: how often the Qt thread looks at what the clients sent
PUMP_MS = 10
#: statuses go out at most this often (they carry elapsed times that always change)
STATUS_SECONDS = 0.5

_SEVERE = ("warning", "error", "fatal")


def _level_rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else LEVELS.index("info")


class _Link:
    """One attached client: its socket, a reader and a writer thread."""

    _ids = itertools.count(1)

    def __init__(self, connection: Connection, hello: Hello, inbox: queue.Queue[Any]) -> None:
        self.id = next(self._ids)
        self.connection = connection
        self.name = hello.client or f"client {self.id}"
        self.inbox = inbox
        self.outbox: queue.Queue[bytes | None] = queue.Queue(maxsize=OUTBOX_LIMIT)
        self.subscribed = False
        self.log_level = "warning"
        #: workers whose renderer lines this client wants whatever its level
        self.log_workers: frozenset[str] = frozenset()
        self.alive = True
        self._writer: threading.Thread | None = None

    def start(self) -> None:
        self._writer = threading.Thread(
            target=self._write, name=f"lrc-link{self.id}-write", daemon=True
        )
        self._writer.start()
        threading.Thread(target=self._read, name=f"lrc-link{self.id}-read", daemon=True).start()

    def send(self, data: bytes) -> bool:
        """Queue one frame; False (and the client is dropped) when it stopped reading."""
        if not self.alive:
            return False
        try:
            self.outbox.put_nowait(data)
        except queue.Full:
            self.close()
            return False
        return True

    def finish(self, timeout: float = 2.0) -> None:
        """Send what is queued (the service is exiting), then hang up."""
        if self.alive and self._writer is not None:
            with contextlib.suppress(queue.Full):
                self.outbox.put_nowait(None)
            self._writer.join(timeout)
        self.close()

    def close(self) -> None:
        if not self.alive:
            return
        self.alive = False
        with contextlib.suppress(queue.Full):
            self.outbox.put_nowait(None)
        hang_up(self.connection)
        self.inbox.put(("gone", self, None))

    def _read(self) -> None:
        while self.alive:
            try:
                data = self.connection.recv_bytes()
            except (EOFError, OSError, TypeError, ValueError):  # closed on another thread
                break
            try:
                message = decode(data, Request)
            except ChannelError as exc:
                self.inbox.put(("garbled", self, str(exc)))
                break
            self.inbox.put(("request", self, message))
        self.close()
        # the descriptor is closed here, by its reader, once the writer has stopped too
        if self._writer is not None:
            self._writer.join(5.0)
        with contextlib.suppress(OSError):
            self.connection.close()

    def _write(self) -> None:
        while True:
            data = self.outbox.get()
            if data is None or not self.alive:
                return
            try:
                self.connection.send_bytes(data)
            except (OSError, ValueError):
                self.close()
                return


@dataclass
class _Queued:
    batch_id: str
    client: str
    scene: str
    #: a resume of a batch that stopped (else a new batch recorded at submission)
    resume: bool = False
    include_all_lights: bool | None = None


@dataclass
class _Coalescer:
    """What happened since the last flush, as the clients will get it."""

    events: list[Event] = field(default_factory=list)
    progress: dict[str, Event] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    dropped: int = 0

    def add(self, event: Event) -> None:
        if event.name in (
            EventName.FRAME_STARTED,
            EventName.FRAME_FINISHED,
            EventName.FRAME_FAILED,
            EventName.WORKER_FINISHED,
        ):
            self.progress.pop(event.worker, None)  # older than what this says
        self.events.append(event)

    def take(self) -> list[Event]:
        events = self.events + list(self.progress.values())
        self.events, self.progress, self.lines = [], {}, {}
        return events


class RenderService(QtCore.QObject):
    """The service's Qt-thread half: the engine, the queue and the attached clients.

    Args:
        api: the engine (a local :class:`BatchRenderAPI`).
        listener: where clients connect (:func:`lrc_toolbox.service.channel.listen`).
        token: the secret a client must send.
        idle_seconds: exit after this long with nothing to do and nobody attached.
        on_exit: called once, when the service has decided to exit (the caller quits the
            event loop).
    """

    def __init__(
        self,
        api: BatchRenderAPI,
        listener: Listener,
        token: str,
        *,
        idle_seconds: float,
        on_exit: Callable[[], None],
        simulate: bool = False,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.api = api
        self.listener = listener
        self.token = token
        self.idle_seconds = idle_seconds
        self.simulate = simulate
        self._on_exit = on_exit
        #: where its service.json is (removed as soon as it decides to exit)
        self.info_folder: Path | None = None
        self.started = time.time()
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.links: list[_Link] = []
        self.waiting: list[_Queued] = []
        self.history: deque[ServiceBatch] = deque(maxlen=HISTORY)
        self.current: _Queued | None = None
        self._plan: BatchPlan | None = None
        #: the last batch that finished here, replayed when nothing runs
        self._last: tuple[BatchPlan, BatchSummary] | None = None
        self._recent_logs: deque[Event] = deque(maxlen=REPLAY_LOG_LINES)
        self._pending = _Coalescer()
        self._last_statuses: list[RenderStatus] | None = None
        self._last_status_time = 0.0
        self._idle_since = time.monotonic()
        self._exiting = False
        self._shutdown_when_idle = False
        self._connect_engine()
        self._pump = QtCore.QTimer(self)
        self._pump.setInterval(PUMP_MS)
        self._pump.timeout.connect(self._drain)
        self._flush_timer = QtCore.QTimer(self)
        self._flush_timer.setInterval(int(FLUSH_SECONDS * 1000))
        self._flush_timer.timeout.connect(self._flush)
        self._idle_timer = QtCore.QTimer(self)
        self._idle_timer.setInterval(500)
        self._idle_timer.timeout.connect(self._check_idle)

    # ------------------------------------------------------------------ life

    def start(self) -> None:
        threading.Thread(target=self._accept, name="lrc-service-accept", daemon=True).start()
        self._pump.start()
        self._flush_timer.start()
        self._idle_timer.start()

    def stop_batches(self, reason: str) -> None:
        """Stop the running batch (its frames left stay pending), forget the queue (its
        batches stay PENDING in the store: ``resume`` renders them) and exit after."""
        self._shutdown_when_idle = True
        self.waiting.clear()
        if self.api.is_running:
            self._log("warning", f"{reason}: stopping batch {self.api.batch_id}")
            self.api.stop_all_renders()

    def _check_idle(self) -> None:
        busy = self.api.is_running or bool(self.waiting)
        if busy or (self.links and not self._shutdown_when_idle):
            self._idle_since = time.monotonic()
            return
        if self._shutdown_when_idle or time.monotonic() - self._idle_since >= self.idle_seconds:
            self._exit()

    def _exit(self) -> None:
        if self._exiting:
            return
        self._exiting = True
        if self.info_folder is not None:  # new clients start a new service from now on
            remove_info(self.info_folder, os.getpid())
        self._flush()
        for link in list(self.links):
            link.finish()  # the last events (batch_finished) reach the clients first
        self.api.shutdown()
        self._on_exit()

    # ------------------------------------------------------------------ clients

    def _accept(self) -> None:
        while True:
            try:
                connection = self.listener.accept()
            except OSError:
                if self._exiting:
                    return
                time.sleep(0.05)
                continue
            threading.Thread(
                target=self._greet, args=(connection,), name="lrc-service-hello", daemon=True
            ).start()

    def _greet(self, connection: Connection) -> None:
        """The handshake, off the Qt thread: a client that never says hello costs a thread
        for HELLO_TIMEOUT seconds, nothing else."""
        try:
            if not connection.poll(HELLO_TIMEOUT):
                raise EOFError
            hello = decode(connection.recv_bytes(), Hello)
            assert isinstance(hello, Hello)
        except (EOFError, OSError, ChannelError) as exc:
            with contextlib.suppress(OSError, ValueError):
                if isinstance(exc, ChannelError):
                    connection.send_bytes(encode(Refused(reason=f"not a hello: {exc}")))
                connection.close()
            return
        reason = self._refusal(hello)
        try:
            if reason:
                connection.send_bytes(encode(Refused(reason=reason)))
                connection.close()
                return
            connection.send_bytes(
                encode(
                    Welcome(
                        protocol=PROTOCOL,
                        version=__version__,
                        service_pid=os.getpid(),
                        simulate=self.simulate,
                    )
                )
            )
        except (OSError, ValueError):
            return
        self.inbox.put(("hello", _Link(connection, hello, self.inbox), None))

    def _refusal(self, hello: Hello) -> str:
        if not same_token(hello.token, self.token):
            return (
                "the token does not match: this render service belongs to another user, or "
                "was restarted since the token was read; only the user who started it can "
                "attach"
            )
        if hello.protocol != PROTOCOL:
            return (
                f"this render service (lrc_toolbox {__version__}, protocol {PROTOCOL}) cannot "
                f"talk to lrc_toolbox {hello.version} (protocol {hello.protocol}): stop it "
                "once its batches finish (`lrc-batch-render service stop`), and the next "
                "command starts one of the same version"
            )
        if hello.simulate != self.simulate:
            kinds = {True: "simulated", False: "real mayapy"}
            return (
                f"this render service runs {kinds[self.simulate]} workers and the client asked "
                f"for {kinds[hello.simulate]} ones: stop it (`lrc-batch-render service stop`) "
                "or use another temp root (LRC_TEMP_ROOT)"
            )
        return ""

    def _drain(self) -> None:
        """The pump: new clients, their requests, gone clients (Qt thread)."""
        for _ in range(200):
            try:
                kind, link, payload = self.inbox.get_nowait()
            except queue.Empty:
                return
            self._idle_since = time.monotonic()  # a client came, went or asked: not idle
            if kind == "hello":
                self.links.append(link)
                link.start()
            elif kind == "gone":
                with contextlib.suppress(ValueError):
                    self.links.remove(link)
            elif kind == "garbled":
                link.close()
            elif kind == "request":
                self._serve(link, payload)

    def _serve(self, link: _Link, request: Request) -> None:
        try:
            reply = self._handle(link, request)
        except BatchError as exc:
            kind = (
                ErrorKind.BAD_REQUEST
                if isinstance(exc, BadRequest)
                else ErrorKind.ENVIRONMENT
                if isinstance(exc, EnvironmentProblem)
                else ErrorKind.FAILED
            )
            reply = Reply(id=request.id, ok=False, error=str(exc), error_kind=kind)
        except Exception as exc:  # one bad request never takes the service down
            reply = Reply(
                id=request.id,
                ok=False,
                error=f"the render service could not do it: {type(exc).__name__}: {exc}",
            )
        link.send(encode(reply))

    def _handle(self, link: _Link, request: Request) -> Reply:
        op = request.op
        if op is Op.START:
            return self._start(link, request)
        if op is Op.RESUME:
            return self._resume(link, request)
        if op is Op.STOP:
            return self._stop(request)
        if op is Op.STOP_WORKER:
            return Reply(id=request.id, ok=self.api.stop_worker(request.worker_id))
        if op is Op.RELEASE_GPU:
            handback = self.api.release_gpu(
                request.gpu, finish_frame=request.finish_frame, batch_id=request.batch_id
            )
            self._log("info", f"{handback.message} (asked by {link.name})")
            return Reply(id=request.id, batch_id=handback.batch_id, handback=handback)
        if op is Op.RETURN_GPU:
            handback = self.api.return_gpu(request.gpu, batch_id=request.batch_id)
            self._log("info", f"{handback.message} (asked by {link.name})")
            return Reply(id=request.id, batch_id=handback.batch_id, handback=handback)
        if op in (Op.SUBSCRIBE, Op.LOGS):
            link.log_level = request.log_level if request.log_level in LEVELS else "warning"
            link.log_workers = frozenset(request.log_workers)
            if op is Op.SUBSCRIBE:
                link.subscribed = True
                link.send(encode(self._replay()))
            return Reply(id=request.id, batch_id=self.api.batch_id or "")
        if op is Op.STATUS:
            return Reply(id=request.id, state=self.state())
        if op is Op.SHUTDOWN:
            if request.kill:
                self.stop_batches(f"asked to stop by {link.name}")
            self._shutdown_when_idle = True
            return Reply(id=request.id, state=self.state())
        raise BadRequest(f"unknown request {op!r}")  # pragma: no cover - Op is closed

    def _busy(self) -> bool:
        return self.api.is_running or bool(self.waiting)

    def _start(self, link: _Link, request: Request) -> Reply:
        config = request.config
        if config is None:
            raise BadRequest("a start request needs a render config")
        if self._shutdown_when_idle:
            raise EnvironmentProblem(
                "the render service is shutting down; start the batch again in a moment"
            )
        if not self._busy():
            batch_id = self.api.start_batch_render(
                config, include_all_lights=request.include_all_lights
            )
            self.current = _Queued(batch_id, link.name, config.scene)
            return Reply(id=request.id, batch_id=batch_id)
        batch_id = self.api.record_batch(config)
        self.waiting.append(
            _Queued(
                batch_id,
                link.name,
                config.scene,
                include_all_lights=request.include_all_lights,
            )
        )
        self._log("info", f"batch {batch_id} from {link.name} waits for the batch before it")
        return Reply(id=request.id, batch_id=batch_id, queued=True)

    def _resume(self, link: _Link, request: Request) -> Reply:
        try:
            record = self.api.store.get_batch(request.batch_id)
        except KeyError as exc:
            raise BadRequest(str(exc.args[0] if exc.args else exc)) from exc
        if record.id == self.api.batch_id and self.api.is_running:
            raise BadRequest(f"batch {record.id} is already rendering in the render service")
        if any(item.batch_id == record.id for item in self.waiting):
            raise BadRequest(f"batch {record.id} already waits in the render service's queue")
        if not self._busy():
            batch_id = self.api.resume(
                request.batch_id, include_all_lights=request.include_all_lights
            )
            self.current = _Queued(batch_id, link.name, "", resume=True)
            return Reply(id=request.id, batch_id=batch_id)
        self.waiting.append(
            _Queued(
                record.id,
                link.name,
                record.scene,
                resume=True,
                include_all_lights=request.include_all_lights,
            )
        )
        return Reply(id=request.id, batch_id=record.id, queued=True)

    def _stop(self, request: Request) -> Reply:
        wanted = request.batch_id
        for item in list(self.waiting):
            if wanted and item.batch_id.startswith(wanted):
                self.waiting.remove(item)
                if not item.resume:  # recorded here and never started
                    self.api.store.set_batch_state(
                        item.batch_id, BatchState.CANCELLED, error="stopped while it waited"
                    )
                return Reply(id=request.id, batch_id=item.batch_id)
        if not self.api.is_running:
            return Reply(id=request.id, ok=False, error="no batch is running")
        if wanted and not (self.api.batch_id or "").startswith(wanted):
            return Reply(id=request.id, ok=False, error=f"batch {wanted} is not running here")
        if request.kill and self.api.manager is not None:
            self.api.manager.kill_all_now()
        else:
            self.api.stop_all_renders()
        return Reply(id=request.id, batch_id=self.api.batch_id or "")

    def _next(self) -> None:
        """Start the batch that waited longest (after one finished)."""
        while self.waiting and not self.api.is_running and not self._exiting:
            item = self.waiting.pop(0)
            try:
                self.api.resume(item.batch_id, include_all_lights=item.include_all_lights)
            except BatchError as exc:
                self._log("error", f"batch {item.batch_id} could not start: {exc}")
                continue
            self.current = item
            return

    def state(self) -> ServiceState:
        batches = list(self.history)
        if self.api.is_running and self.api.batch_id:
            current = self.current
            batches.append(
                ServiceBatch(
                    batch_id=self.api.batch_id,
                    status="running",
                    scene=current.scene if current else "",
                    client=current.client if current else "",
                    summary=self.api.manager.scheduler.summary()
                    if self.api.manager is not None
                    else None,
                )
            )
        batches.extend(
            ServiceBatch(batch_id=i.batch_id, status="queued", scene=i.scene, client=i.client)
            for i in self.waiting
        )
        return ServiceState(
            pid=os.getpid(),
            version=__version__,
            started=self.started,
            clients=len(self.links),
            simulate=self.simulate,
            batches=batches,
        )

    # ------------------------------------------------------------------ events

    def _connect_engine(self) -> None:
        api = self.api
        api.batch_started.connect(self._batch_started)
        api.worker_started.connect(
            lambda worker, pid, device: self._event(
                Event(name=EventName.WORKER_STARTED, worker=worker, pid=pid, device=device)
            )
        )
        api.frame_started.connect(
            lambda worker, layer, frame: self._event(
                Event(name=EventName.FRAME_STARTED, worker=worker, layer=layer, frame=frame)
            )
        )
        api.frame_progress.connect(self._progress)
        api.frame_finished.connect(
            lambda worker, layer, frame, outputs: self._event(
                Event(
                    name=EventName.FRAME_FINISHED,
                    worker=worker,
                    layer=layer,
                    frame=frame,
                    outputs=[str(p) for p in outputs],
                )
            )
        )
        api.frame_failed.connect(
            lambda worker, layer, frame, reason, retry: self._event(
                Event(
                    name=EventName.FRAME_FAILED,
                    worker=worker,
                    layer=layer,
                    frame=frame,
                    reason=reason,
                    retry=retry,
                )
            )
        )
        api.worker_finished.connect(
            lambda worker, state, reason: self._event(
                Event(name=EventName.WORKER_FINISHED, worker=worker, state=state, reason=reason)
            )
        )
        api.log_message.connect(self._log_line)
        api.batch_finished.connect(self._batch_finished)

    def _wants(self, level: str, worker: str) -> bool:
        rank = _level_rank(level)
        return any(
            link.subscribed and (rank >= _level_rank(link.log_level) or worker in link.log_workers)
            for link in self.links
        )

    def _event(self, event: Event) -> None:
        event.batch_id = self.api.batch_id or ""
        self._pending.add(event)

    def _progress(self, worker: str, frame: int, percent: float) -> None:
        self._pending.progress[worker] = Event(
            name=EventName.FRAME_PROGRESS,
            batch_id=self.api.batch_id or "",
            worker=worker,
            frame=frame,
            percent=percent,
        )

    def _log_line(self, timestamp: float, level: str, worker: str, text: str) -> None:
        event = Event(
            name=EventName.LOG,
            batch_id=self.api.batch_id or "",
            time=timestamp,
            level=level,
            worker=worker,
            text=text,
        )
        if level in _SEVERE:
            self._recent_logs.append(event)
            self._pending.add(event)
            return
        if not self._wants(level, worker):
            return
        pending = self._pending
        count = pending.lines.get(worker, 0)
        if count >= LINES_PER_FLUSH:
            pending.dropped += 1
            return
        pending.lines[worker] = count + 1
        pending.add(event)

    def _log(self, level: str, text: str) -> None:
        """The service's own message to its clients (and its log file)."""
        print(f"{time.strftime('%H:%M:%S')} {level}: {text}", flush=True)
        self._log_line(time.time(), level, "", text)

    def _batch_started(self, batch_id: str, plan: BatchPlan) -> None:
        self._plan = plan
        self._recent_logs.clear()
        self._pending.add(Event(name=EventName.BATCH_STARTED, batch_id=batch_id, plan=plan))

    def _batch_finished(self, summary: BatchSummary) -> None:
        self._pending.add(
            Event(name=EventName.BATCH_FINISHED, batch_id=summary.batch_id, summary=summary)
        )
        current = self.current
        self.history.append(
            ServiceBatch(
                batch_id=summary.batch_id,
                status="finished",
                scene=current.scene if current else "",
                client=current.client if current else "",
                summary=summary,
            )
        )
        self.current = None
        if self._plan is not None:
            self._last = (self._plan, summary)
        self._plan = None
        self._flush()
        QtCore.QTimer.singleShot(0, self._next)

    def _statuses(self, now: float) -> list[RenderStatus] | None:
        if now - self._last_status_time < STATUS_SECONDS:
            return None
        statuses = self.api.get_render_status()
        if not statuses and not self._last_statuses:
            return None
        self._last_status_time = now
        self._last_statuses = statuses
        return statuses

    def _flush(self) -> None:
        pending = self._pending
        if not self.links:
            pending.take()
            pending.dropped = 0
            return
        statuses = self._statuses(time.monotonic())
        if not pending.events and not pending.progress and statuses is None:
            return
        dropped = pending.dropped
        pending.dropped = 0
        events = pending.take()
        encoded: dict[tuple[str, frozenset[str]], bytes] = {}
        for link in list(self.links):
            if not link.subscribed:
                continue
            key = (link.log_level, link.log_workers)
            data = encoded.get(key)
            if data is None:
                rank, workers = _level_rank(link.log_level), link.log_workers
                chosen = [
                    e
                    for e in events
                    if e.name is not EventName.LOG
                    or _level_rank(e.level) >= rank
                    or e.worker in workers
                ]
                data = encoded[key] = encode(
                    EventBatch(events=chosen, statuses=statuses, dropped_lines=dropped)
                )
            link.send(data)

    def _replay(self) -> EventBatch:
        """The running batch as events, for a client that attaches now; when none runs, the
        last one that finished here (its plan and how it ended)."""
        api, manager, plan = self.api, self.api.manager, self._plan
        if not api.is_running or manager is None or plan is None or not api.batch_id:
            if self._last is None:
                return EventBatch(replay=True)
            last_plan, summary = self._last  # how the last batch here ended
            return EventBatch(
                events=[
                    Event(name=EventName.BATCH_STARTED, batch_id=summary.batch_id, plan=last_plan),
                    Event(
                        name=EventName.BATCH_FINISHED, batch_id=summary.batch_id, summary=summary
                    ),
                ],
                replay=True,
            )
        batch_id = api.batch_id
        events = [Event(name=EventName.BATCH_STARTED, batch_id=batch_id, plan=plan)]
        statuses = api.get_render_status()
        for status in statuses:
            if status.pid:
                events.append(
                    Event(
                        name=EventName.WORKER_STARTED,
                        batch_id=batch_id,
                        worker=status.worker_id,
                        pid=status.pid,
                        device=status.device,
                    )
                )
        for task in manager.scheduler.tasks:
            common: dict[str, Any] = {
                "batch_id": batch_id,
                "worker": task.worker or "",
                "layer": task.layer,
                "frame": task.frame,
            }
            if task.state is FrameState.DONE:
                events.append(
                    Event(name=EventName.FRAME_FINISHED, outputs=list(task.outputs), **common)
                )
            elif task.state is FrameState.FAILED:
                events.append(Event(name=EventName.FRAME_FAILED, reason=task.error or "", **common))
            elif task.state is FrameState.RUNNING:
                events.append(Event(name=EventName.FRAME_STARTED, **common))
        events.extend(self._recent_logs)
        return EventBatch(events=events, statuses=statuses, replay=True)


def install_stop_signals(service: RenderService) -> None:
    """SIGTERM and SIGINT (Ctrl-C where it was started in a terminal) stop the batch as the
    CLI's Ctrl-C does; the pump timer lets Python run the handler promptly."""

    def stop(signum: int) -> None:
        service.stop_batches(f"the render service got signal {signum}")

    for name in ("SIGTERM", "SIGINT", "SIGBREAK"):
        number = getattr(signal, name, None)
        if number is not None:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(number, in_event_loop(stop))
