"""Run one batch from the command line: a QCoreApplication event loop around
:class:`BatchRenderAPI`, printing its signals as text or JSON lines.

JSON lines (``--json``): one object per line, ``{"event": NAME, "time": EPOCH, ...}`` with
NAME one of ``batch_started`` {batch_id, plan}, ``worker_started`` {worker, pid, device},
``frame_started`` {worker, layer, frame}, ``frame_progress`` {worker, frame, percent},
``frame_finished`` {worker, layer, frame, outputs}, ``frame_failed`` {worker, layer, frame,
reason, retry}, ``worker_finished`` {worker, state, reason}, ``log`` {level, worker, text}
(warnings and worse; all with ``--verbose``) and last ``batch_finished`` {summary}.

Ctrl-C stops gracefully (workers finish or are terminated after the grace period); a second
Ctrl-C kills them at once. Either way no worker is left behind and the exit code is 130.
With a :class:`~lrc_toolbox.core.service_api.ServiceBatchAPI` (the batch renders in the
local render service) Ctrl-C stops that batch there, a batch still waiting in the service's
queue included; with ``on_interrupt="detach"`` (``status --follow``) it only stops following:
the batch goes on rendering in the service.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from lrc_toolbox.core.batch_render_api import BatchRenderAPI
from lrc_toolbox.core.events import connect_events
from lrc_toolbox.core.qt_compat import emit_signal, exec_loop, in_event_loop
from lrc_toolbox.core.qtcore import QtCore
from lrc_toolbox.records.batch import BatchPlan, BatchSummary, ExitCode


class _Printer:
    """Prints events and text; a reader that goes away (``| head``) stops the printing,
    never the batch: the frames go on rendering and are recorded as usual."""

    def __init__(self, out: TextIO, err: TextIO, *, as_json: bool, verbose: bool, quiet: bool):
        self.out, self.err = out, err
        self.as_json, self.verbose, self.quiet = as_json, verbose, quiet
        self._gone: set[int] = set()

    def event(self, name: str, **fields: Any) -> None:
        if self.as_json:
            line = json.dumps({"event": name, "time": round(time.time(), 3), **fields})
            self._write(self.out, line)

    def text(self, line: str, *, important: bool = False) -> None:
        if self.as_json or (self.quiet and not important):
            return
        self._write(self.err if important else self.out, line)

    def _write(self, stream: TextIO, line: str) -> None:
        if id(stream) in self._gone:
            return
        try:
            stream.write(line + "\n")
            stream.flush()
        except BrokenPipeError:
            self._gone.add(id(stream))
            # point the descriptor at devnull, so the interpreter's flush at exit is quiet
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, stream.fileno())
                os.close(devnull)


def run_batch(
    api: BatchRenderAPI,
    starts: Sequence[Callable[[], str]],
    *,
    out: TextIO,
    err: TextIO,
    as_json: bool = False,
    verbose: bool = False,
    quiet: bool = False,
    on_interrupt: str = "stop",
) -> int:
    """Run batches one after another: each ``start()`` starts one and returns its id.

    ``on_interrupt``: what Ctrl-C (or SIGTERM) does: ``"stop"`` the batch, or ``"detach"``:
    stop following a batch that renders in the render service, which goes on rendering.

    Several jobs from one job file run in turn in this one command; the exit code is the
    worst of them (130 as soon as the user interrupts: the remaining jobs do not start).

    Raises:
        BatchError: from a ``start()`` — bad input or environment; the caller prints it.
    """
    app = QtCore.QCoreApplication.instance() or QtCore.QCoreApplication(sys.argv[:1])
    live_view = out.isatty() and not (as_json or verbose or quiet)
    printer = _Printer(out, err, as_json=as_json, verbose=verbose, quiet=quiet or live_view)
    result: dict[str, BatchSummary] = {}
    interrupted = {"count": 0}
    current: dict[str, str] = {}  # the batch id the last start() returned
    from lrc_toolbox.core.service_api import ServiceBatchAPI

    in_service = isinstance(api, ServiceBatchAPI)

    def on_event(name: str, data: dict[str, Any]) -> None:
        printer.event(name, **data)
        text = _event_text(name, data, verbose)
        if text is not None:
            printer.text(text[1], important=text[0])

    def on_started(batch_id: str, plan: BatchPlan) -> None:
        printer.text(_plan_text(batch_id, plan))

    def on_finished(summary: BatchSummary) -> None:
        printer.text(_summary_text(summary), important=True)
        result["summary"] = summary
        app.quit()

    api.batch_started.connect(on_started)
    connect_events(api, on_event, all_logs=verbose)
    api.batch_finished.connect(on_finished)

    acted = {"count": 0}  # the interrupts already acted on
    last_signal = {"number": int(signal.SIGINT)}

    def on_sigint(signum: int, frame: Any) -> None:
        # counted at once (the next job must not start), acted on from the event loop
        interrupted["count"] += 1
        last_signal["number"] = signum
        deferred(signum, frame)

    def act_on_interrupts(_signum: int = 0) -> None:
        while acted["count"] < interrupted["count"]:
            acted["count"] += 1
            act_on_interrupt(last_signal["number"], acted["count"])

    def act_on_interrupt(signum: int, count: int) -> None:
        # SIGTERM (a farm, systemd, `kill`) is the first Ctrl-C: a graceful stop that ends
        # the batch with its state and ready.json true, not a bare exit 143 (issue 12)
        what = "terminated" if signum == signal.SIGTERM else "interrupted"
        again = "Ctrl-C" if signum != signal.SIGTERM else "the signal"
        if in_service and on_interrupt == "detach":
            batch = current.get("batch_id", "")
            printer.text(
                f"{what}: stopped following batch {batch}; it goes on rendering in the render "
                f"service (lrc-batch-render status --follow {batch})",
                important=True,
            )
            app.quit()
            return
        if count == 1:
            if in_service:
                printer.text(
                    f"{what}: stopping batch {current.get('batch_id', '')} in the render "
                    f"service ({again} again to kill its workers)",
                    important=True,
                )
                _stop_in_service(api, current.get("batch_id", ""), app)
                return
            printer.text(
                f"{what}: stopping the workers ({again} again to kill them)", important=True
            )
            api.stop_all_renders()
        else:
            printer.text("killing the workers", important=True)
            if isinstance(api, ServiceBatchAPI):  # its workers are the service's
                with contextlib.suppress(Exception):
                    api.kill_all_renders()
            else:
                api.shutdown()

    deferred = in_event_loop(act_on_interrupts)
    watch = _QueueWatch(api, current, result, printer, app) if in_service else None

    live = _LiveDisplay(api, out) if out.isatty() and not (as_json or verbose or quiet) else None
    previous = signal.signal(signal.SIGINT, on_sigint)
    previous_term = signal.signal(signal.SIGTERM, on_sigint)
    # Python runs signal handlers only between bytecodes: wake up regularly in the Qt loop.
    waker = QtCore.QTimer()
    waker.timeout.connect(live.redraw if live else (lambda: None))
    waker.start(250 if live else 200)
    watcher = QtCore.QTimer()
    if watch is not None:
        watcher.timeout.connect(watch.check)
        watcher.start(int(_QueueWatch.EVERY_SECONDS * 1000))
    codes: list[ExitCode] = []
    try:
        for start in starts:
            if interrupted["count"]:
                break
            result.pop("summary", None)
            current["batch_id"] = start()
            if interrupted["count"] and in_service:
                # interrupted while the service took the batch: stop it (or detach) now
                act_on_interrupts()
            stopped_waiting = in_service and interrupted["count"] and not api.is_running
            if "summary" not in result and not stopped_waiting:
                exec_loop(app)
            if live:
                live.finish()
            summary = result.get("summary")
            if interrupted["count"]:
                codes.append(ExitCode.INTERRUPTED)
            elif watch is not None and watch.ended is not None and summary is None:
                codes.append(watch.ended)
                break
            else:
                codes.append(summary.exit_code if summary else ExitCode.FAILED_FRAMES)
    finally:
        waker.stop()
        watcher.stop()
        signal.signal(signal.SIGINT, previous)
        signal.signal(signal.SIGTERM, previous_term)
        api.shutdown()
    if interrupted["count"] or ExitCode.INTERRUPTED in codes:
        return int(ExitCode.INTERRUPTED)
    return int(max(codes, default=ExitCode.OK))


def _stop_in_service(api: BatchRenderAPI, batch_id: str, app: QtCore.QCoreApplication) -> None:
    """Stop ``batch_id`` in the render service. A batch that renders ends with its
    ``batch_finished`` (cancelled); one that still waited in the service's queue never
    started, so the loop ends here."""
    from lrc_toolbox.core.batch_render_api import BatchError

    if api.is_running:
        with contextlib.suppress(BatchError):
            api.stop_all_renders()
        return
    if batch_id:
        api.stop_batch(batch_id)
    app.quit()


class _QueueWatch:
    """A batch that waits in the render service's queue sends no events until it starts:
    every few seconds ask the service whether it still waits, so the command does not wait
    forever for a batch another client took out of the queue, or a service that went away."""

    EVERY_SECONDS = 2.0

    def __init__(
        self,
        api: BatchRenderAPI,
        current: dict[str, str],
        result: dict[str, BatchSummary],
        printer: _Printer,
        app: QtCore.QCoreApplication,
    ) -> None:
        self.api, self.current, self.result = api, current, result
        self.printer, self.app = printer, app
        self.strikes = 0
        #: the exit code when the batch ended without its batch_finished
        self.ended: ExitCode | None = None

    def check(self) -> None:
        from lrc_toolbox.core.batch_render_api import BatchError
        from lrc_toolbox.core.service_api import ServiceBatchAPI

        api, batch_id = self.api, self.current.get("batch_id", "")
        if "summary" in self.result or api.is_running or not batch_id:
            self.strikes = 0
            return
        assert isinstance(api, ServiceBatchAPI)
        if not api.attached:
            self._end(
                f"error: the render service stopped before batch {batch_id} started; start it "
                f"again with: lrc-batch-render resume {batch_id}",
                ExitCode.ENVIRONMENT,
            )
            return
        try:
            state = api.service_state()
        except BatchError:
            return  # the next check, or the lost connection, tells
        entry = next((b for b in state.batches if b.batch_id == batch_id), None) if state else None
        if entry is not None and entry.status in ("running", "queued"):
            self.strikes = 0
            return
        self.strikes += 1
        if self.strikes < 2:
            return  # its events may be on their way
        if entry is not None and entry.summary is not None:
            emit_signal(api, "batch_finished", entry.summary)  # it ran: its own summary
            return
        self._end(
            f"batch {batch_id} was taken out of the render service's queue before it started",
            ExitCode.INTERRUPTED,
        )

    def _end(self, text: str, code: ExitCode) -> None:
        if code is ExitCode.ENVIRONMENT:  # as a batch that could not start: an error event
            self.printer.event("error", message=text.removeprefix("error: "), exit_code=code)
        self.printer.text(text, important=True)
        self.ended = code
        self.app.quit()


class _LiveDisplay:
    """A terminal view redrawn in place: one line per worker and an overall bar."""

    def __init__(self, api: BatchRenderAPI, out: TextIO) -> None:
        self.api, self.out = api, out
        self.lines = 0
        self.total = 0
        self.finished = 0
        api.batch_started.connect(self._started)
        api.frame_finished.connect(self._count)
        api.frame_failed.connect(lambda *a: self._count() if not a[-1] else None)

    def _started(self, batch_id: str, plan: BatchPlan) -> None:
        self.total, self.finished, self.lines = plan.frame_count, 0, 0

    def _count(self, *args: Any) -> None:
        self.finished += 1

    def redraw(self) -> None:
        statuses = self.api.get_render_status()
        if not statuses:
            return
        rows = []
        for status in statuses:
            if status.current_frame is not None:
                percent = f"{status.progress_percent or 0:5.1f}%"
                eta = f"ETA {_clock(status.eta)}" if status.eta else ""
                what = f"{status.layer} frame {status.current_frame}  {percent}  {eta}"
            else:
                what = status.state.value + (f": {status.message}" if status.message else "")
            rows.append(f"  {status.worker_id:<8} {status.device[:34]:<34} {what}")
        width = 30
        done = min(self.finished, self.total)
        filled = int(width * done / self.total) if self.total else 0
        rows.append(f"  [{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} frames")
        text = ("\x1b[F\x1b[2K" * self.lines) + "\n".join(f"\x1b[2K{r}" for r in rows) + "\n"
        self.out.write(text)
        self.out.flush()
        self.lines = len(rows)

    def finish(self) -> None:
        self.redraw()
        self.lines = 0


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _event_text(name: str, data: dict[str, Any], verbose: bool) -> tuple[bool, str] | None:
    """The plain-text line for an event, as (important, text), or None to print nothing."""
    worker = data.get("worker")
    if name == "worker_started":
        return False, f"[{worker}] started (pid {data['pid']}) on {data['device']}"
    if name == "frame_started":
        return (False, f"[{worker}] {data['layer']} frame {data['frame']} ...") if verbose else None
    if name == "frame_finished":
        return False, f"[{worker}] {data['layer']} frame {data['frame']} done"
    if name == "frame_failed":
        again = "will retry" if data["retry"] else "gave up"
        return (
            True,
            f"[{worker}] {data['layer']} frame {data['frame']} FAILED ({again}): {data['reason']}",
        )
    if name == "worker_finished":
        if data["state"] == "finished" and not verbose:
            return None
        if data["state"] == "released":  # its GPU given back to Maya: asked for, no failure
            return False, f"[{worker}] {data['reason']}"
        return data["state"] != "finished", f"[{worker}] {data['state']}: {data['reason']}"
    if name == "log":
        level = data["level"]
        if level in ("error", "fatal") or verbose:
            return level != "info", f"[{worker or 'manager'}] {level}: {data['text']}"
        return None
    return None  # batch_started and batch_finished: see _plan_text and _summary_text


def _plan_text(batch_id: str, plan: BatchPlan) -> str:
    workers = ", ".join(f"{w.id} ({w.device})" for w in plan.workers)
    return (
        f"batch {batch_id}: {plan.frame_count} frame(s) in {len(plan.frames_by_layer)} "
        f"layer(s) on {len(plan.workers)} worker(s): {workers}\noutput: {plan.output_dir}"
    )


def _summary_text(summary: BatchSummary) -> str:
    counts = {
        "done": summary.done,
        "skipped": summary.skipped,
        "failed": summary.failed,
        "cancelled": summary.cancelled,
        "left pending": summary.pending,  # a batch stopped for its environment keeps them
    }
    parts = [f"{n} {k}" for k, n in counts.items() if n]
    line = f"batch {summary.batch_id} {summary.state.value}: " + (
        ", ".join(parts) or "nothing rendered"
    )
    if summary.retries:
        line += f" ({summary.retries} retried)"
    if summary.error:
        line += f"\n{summary.error}"
    if summary.pending and summary.resumable:
        line += f"\nresume with: lrc-batch-render resume {summary.batch_id}"
    for failed in summary.failed_frames[:20]:
        line += f"\n  failed {failed.layer} frame {failed.frame}: {failed.reason}"
    for worker, info in summary.workers.items():
        if info.released:  # not a failure: said apart from the disabled ones
            line += f"\n  {worker}: {info.released}"
    return line


__all__ = ["run_batch"]
