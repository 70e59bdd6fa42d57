"""The API's signals as one stream of named events: ``callback(name, data)``.

The command line's ``--json`` lines, ``lrc_toolbox.api``'s ``on_event`` and the Python
handle's bookkeeping all read this one stream, so the event names and fields are defined
in one place (and documented in ``docs/cli.md``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lrc_toolbox.records.batch import BatchPlan, BatchSummary

if TYPE_CHECKING:
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI

__all__ = ["EVENT_NAMES", "LEVELS", "WORKER_SIGNALS", "connect_events"]

#: log levels of ``log_message``, least to most severe
LEVELS = ("debug", "info", "warning", "error", "fatal")

EventCallback = Callable[[str, dict[str, Any]], None]

#: the manager's per-worker signals; BatchRenderAPI re-emits them under the same names
WORKER_SIGNALS = (
    "worker_started",
    "frame_started",
    "frame_progress",
    "frame_finished",
    "frame_failed",
    "worker_finished",
)

EVENT_NAMES = ("batch_started", *WORKER_SIGNALS, "log", "batch_finished")


def connect_events(api: BatchRenderAPI, callback: EventCallback, *, all_logs: bool = False) -> None:
    """Connect every signal of a BatchRenderAPI to ``callback``; records become their
    documented JSON (``BatchPlan.to_dict()``, ``BatchSummary.to_dict()``).

    ``log`` events carry warnings and worse unless ``all_logs`` is set.
    """

    def started(batch_id: str, plan: BatchPlan) -> None:
        callback("batch_started", {"batch_id": batch_id, "plan": plan.to_dict()})

    def finished(summary: BatchSummary) -> None:
        callback("batch_finished", {"summary": summary.to_dict()})

    api.batch_started.connect(started)
    api.worker_started.connect(
        lambda worker, pid, device: callback(
            "worker_started", {"worker": worker, "pid": pid, "device": device}
        )
    )
    api.frame_started.connect(
        lambda worker, layer, frame: callback(
            "frame_started", {"worker": worker, "layer": layer, "frame": frame}
        )
    )
    api.frame_progress.connect(
        lambda worker, frame, percent: callback(
            "frame_progress", {"worker": worker, "frame": frame, "percent": percent}
        )
    )
    api.frame_finished.connect(
        lambda worker, layer, frame, outputs: callback(
            "frame_finished",
            {"worker": worker, "layer": layer, "frame": frame, "outputs": list(outputs)},
        )
    )
    api.frame_failed.connect(
        lambda worker, layer, frame, reason, retry: callback(
            "frame_failed",
            {"worker": worker, "layer": layer, "frame": frame, "reason": reason, "retry": retry},
        )
    )
    api.worker_finished.connect(
        lambda worker, state, reason: callback(
            "worker_finished", {"worker": worker, "state": state, "reason": reason}
        )
    )

    def log(timestamp: float, level: str, worker: str, text: str) -> None:
        if all_logs or level in ("warning", "error", "fatal"):
            callback("log", {"level": level, "worker": worker, "text": text})

    api.log_message.connect(log)
    api.batch_finished.connect(finished)
