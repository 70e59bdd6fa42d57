"""The dispatch policy of the render engine: which frames an idle worker gets next, and what
success, failure or a dead worker means for a frame.

The QProcess manager owns processes and clocks; this module owns only the decisions, as plain
data, so they can be tested exhaustively without Qt, Maya or time: every event takes ``now``
from the caller.

Policy
------
* **Layer affinity.** A worker that asks for work gets frames of the layer it has loaded
  if that layer has any left, because switching layers inside Maya costs time.
* **Most work left.** Otherwise it gets the layer with the most work still queued:
  queued frames x the layer's mean observed frame time (frame_started -> frame_done); a
  layer with no observation yet uses the mean over the layers that have one, or 1.0. Long
  layers start first (LPT), so the batch does not end with one worker on a heavy layer.
  Ties go to the layer given first.
* **Chunks.** Up to ``chunk_size`` frames of one layer, consecutive in the layer's queue. A
  chunk never mixes layers. A frame that has failed before is always dispatched alone, so
  a bad frame cannot take healthy frames down with it and a failure names its frame.
* **One command ahead.** ``next_assignment(..., ahead=True)`` hands a worker its next
  command while it still renders (the manager sends it when the worker starts the last
  frame it has), so a worker never waits for the manager between frames; the frames it
  holds stay its own. The manager asks ahead only while more frames are queued than
  workers are busy, so a frame handed out early can never leave another worker idle at
  the end of the batch.
* **Orders.** ``SEQUENTIAL`` keeps the given order (the frame parser's, which may descend).
  ``PREVIEW_FIRST`` renders first, last, middle, then halves, quarters, ... so the artist
  sees the whole shot early (:func:`preview_order`). With ``chunk_size`` > 1 the layer is
  first cut into chunks of consecutive frames and the *chunks* are put in preview order:
  every chunk stays a contiguous frame run (cheap for the renderer) and the first chunks
  still cover the start, the end and the middle of the shot.
* **Retries.** ``frame_started`` counts a try. A failed try goes back to the front of its
  layer until the frame has had ``max_attempts`` tries, then it is FAILED and the batch
  goes on; ``retry=False`` (a fatal error such as a licence failure) fails it at once.
  A retried frame prefers a worker other than the one it last failed on; that worker gets
  it only when nothing else is queued for it, so the preference never stalls the batch.
* **Dead workers.** :meth:`Scheduler.worker_lost` charges a try to the frame(s) that were
  rendering, or, if none had started, to the first frame of the chunk (the command itself
  killed the worker); the rest of the chunk goes back uncharged, in order, at the front.
* **GPUs given back.** :meth:`Scheduler.give_back` takes a worker's frames back without
  charging them (the user gave its GPU back to Maya): a frame cut off mid-render keeps
  the tries it had.
* **Stop and resume.** :meth:`Scheduler.cancel` cancels every frame not yet started; after
  it, a frame that would have been re-queued becomes CANCELLED, so the batch can finish.
  :meth:`Scheduler.restore` takes stored frames (the job store's :class:`FrameOutcome`
  records) and re-opens the unfinished ones, keeping their attempts and history.
* **Bad events.** An unknown (layer, frame) is a programming error: ``ValueError``. Events
  that are merely stale (a second frame_done, frame_started from a worker that no longer
  holds the frame, a failure of a frame already settled) are ignored and counted in
  ``summary().ignored_events``; they never change state, and ``frame_failed`` then
  returns the frame's current state. A frame_done is accepted in
  any unfinished state: the caller has checked the files exist, so a late success after a
  worker was presumed lost counts as DONE.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from lrc_toolbox.records.batch import (
    BatchSummary,
    FailedFrame,
    FrameOutcome,
    FrameProvenance,
    LayerCounts,
)
from lrc_toolbox.records.models import FrameOrder, FrameState

__all__ = [
    "Assignment",
    "Scheduler",
    "dispatch_order",
    "preview_order",
]

_PENDING = FrameState.PENDING
_RUNNING = FrameState.RUNNING
_DONE = FrameState.DONE
_FAILED = FrameState.FAILED
_SKIPPED = FrameState.SKIPPED
_CANCELLED = FrameState.CANCELLED
_COMPLETE = (_DONE, _SKIPPED)

# where a queued entry lives
_NOWHERE, _FRESH, _RETRY = 0, 1, 2


# --------------------------------------------------------------------------- public data


@dataclass(frozen=True)
class Assignment:
    """Work for one idle worker: 1..chunk_size frames of one layer, in render order."""

    layer: str
    frames: tuple[int, ...]


# --------------------------------------------------------------------------- orders


def preview_order(count: int) -> list[int]:
    """Indices ``0..count-1`` as first, last, middle, then quarters, eighths, ...

    Breadth-first bisection, left to right at each level, midpoints rounded down: for
    nine items ``[0, 8, 4, 2, 6, 1, 3, 5, 7]``. Deterministic, and each index exactly once.
    """
    if count <= 0:
        return []
    if count == 1:
        return [0]
    result = [0, count - 1]
    spans: deque[tuple[int, int]] = deque([(0, count - 1)])
    while spans:
        lo, hi = spans.popleft()
        if hi - lo < 2:
            continue
        mid = (lo + hi) // 2
        result.append(mid)
        spans.append((lo, mid))
        spans.append((mid, hi))
    return result


def _blocks(count: int, chunk_size: int, order: FrameOrder) -> list[tuple[int, int]]:
    """(index, block) in dispatch order; a chunk never spans two blocks."""
    if order is FrameOrder.SEQUENTIAL:
        return [(i, 0) for i in range(count)]
    if chunk_size == 1:
        return [(i, i) for i in preview_order(count)]
    n_blocks = -(-count // chunk_size)
    return [
        (i, block)
        for block in preview_order(n_blocks)
        for i in range(block * chunk_size, min(count, (block + 1) * chunk_size))
    ]


def dispatch_order(
    frames: Sequence[int], order: FrameOrder = FrameOrder.SEQUENTIAL, chunk_size: int = 1
) -> list[int]:
    """The order in which one layer's frames are handed out when nothing fails."""
    return [frames[i] for i, _ in _blocks(len(frames), chunk_size, FrameOrder(order))]


# --------------------------------------------------------------------------- internals


class _Layer:
    """Per-layer queues and counters, so dispatch never scans all frames."""

    __slots__ = (
        "avoid",
        "busy_seconds",
        "counts",
        "entries",
        "fresh",
        "n_fresh",
        "n_retry",
        "name",
        "observed",
        "order",
        "rank",
        "retry",
    )

    def __init__(self, name: str, rank: int) -> None:
        self.name = name
        self.rank = rank
        self.entries: list[_Entry] = []  # given order
        self.order: list[_Entry] = []  # dispatch order
        # queues hold (entry, generation); an entry whose generation moved on is stale
        self.fresh: deque[tuple[_Entry, int]] = deque()  # never failed, dispatch order
        self.retry: deque[tuple[_Entry, int]] = deque()  # failed before, FIFO, served first
        self.n_fresh = 0
        self.n_retry = 0
        self.avoid: dict[str | None, int] = {}  # queued retries by the worker they failed on
        self.counts = dict.fromkeys(FrameState, 0)
        self.busy_seconds = 0.0
        self.observed = 0

    @property
    def queued(self) -> int:
        return self.n_fresh + self.n_retry

    def offers(self, worker: str) -> bool:
        """True if something queued here has not last failed on ``worker``."""
        return self.n_fresh > 0 or self.n_retry > self.avoid.get(worker, 0)

    def mean(self, fallback: float) -> float:
        return self.busy_seconds / self.observed if self.observed else fallback


class _Entry:
    __slots__ = ("avoid", "block", "holder", "index", "layer", "limit", "qgen", "queue", "task")

    def __init__(self, task: FrameOutcome, layer: _Layer, index: int, limit: int) -> None:
        self.task = task
        self.layer = layer
        self.index = index
        self.block = 0
        self.holder: str | None = None  # worker holding it (assigned or rendering)
        self.queue = _NOWHERE
        self.qgen = 0
        self.limit = limit  # tries allowed in total
        self.avoid: str | None = None  # private copy of task.failed_on


# --------------------------------------------------------------------------- scheduler


class Scheduler:
    """Pure dispatch state for one batch. Not thread-safe: call it from one thread.

    Args:
        frames_by_layer: Layer -> frames in the order the user gave them; layers in plan
            order. Frames must be unique within a layer.
        chunk_size: Most frames per assignment (1 or more).
        order: SEQUENTIAL or PREVIEW_FIRST (see the module docstring).
        max_attempts: Tries a frame gets before it is FAILED (1 or more).

    Raises:
        ValueError: A bad chunk size or attempt limit, or a frame listed twice in a layer.
    """

    def __init__(
        self,
        frames_by_layer: Mapping[str, Sequence[int]],
        *,
        chunk_size: int = 1,
        order: FrameOrder = FrameOrder.SEQUENTIAL,
        max_attempts: int = 3,
    ) -> None:
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a whole number, 1 or more, got {chunk_size!r}")
        if isinstance(max_attempts, bool) or not isinstance(max_attempts, int) or max_attempts < 1:
            raise ValueError(
                f"max_attempts must be a whole number, 1 or more, got {max_attempts!r}"
            )
        self.chunk_size = chunk_size
        self.order = FrameOrder(order)
        self.max_attempts = max_attempts
        self._layers: dict[str, _Layer] = {}
        self._entries: dict[tuple[str, int], _Entry] = {}
        self._held: dict[str, list[_Entry]] = {}  # worker -> frames it holds, chunk order
        self._counts = dict.fromkeys(FrameState, 0)
        self._failed: dict[tuple[str, int], _Entry] = {}
        self._retries = 0
        self._ignored = 0
        self._cancelled = False
        self._halted = False
        self._means_total = 0.0  # sum of the observed layers' mean frame times
        self._means_count = 0
        for rank, (name, frames) in enumerate(frames_by_layer.items()):
            layer = _Layer(name, rank)
            self._layers[name] = layer
            for index, frame in enumerate(frames):
                if (name, frame) in self._entries:
                    raise ValueError(f"layer {name!r} lists frame {frame} twice")
                entry = _Entry(FrameOutcome(name, frame), layer, index, max_attempts)
                layer.entries.append(entry)
                self._entries[name, frame] = entry
            for index, block in _blocks(len(layer.entries), chunk_size, self.order):
                entry = layer.entries[index]
                entry.block = block
                layer.order.append(entry)
                self._enqueue(entry, _FRESH)
            layer.counts[_PENDING] = len(layer.entries)
        self._counts[_PENDING] = len(self._entries)

    # ------------------------------------------------------------------ dispatch

    def next_assignment(
        self,
        worker_id: str,
        current_layer: str | None,
        now: float = 0.0,
        *,
        ahead: bool = False,
    ) -> Assignment | None:
        """The frames an idle worker should render next, or None if nothing is queued.

        ``current_layer`` is the layer the worker has loaded (None, or a layer outside this
        batch, means no affinity). Asking for work means the worker finished its previous
        command, so frames it still holds unstarted go back to the queue first. None does
        not mean the batch is over: running frames may still fail and come back
        (see :attr:`is_finished`). ``now`` is accepted for a uniform event signature.

        ``ahead=True`` asks for the command after the one the worker is on (sent before it
        asks, so it never waits for the manager between frames): the frames it holds stay
        its own and the new ones are added after them; ``current_layer`` is then the layer
        of the command it is on.

        Raises:
            ValueError: The worker still has a frame rendering (report it first), unless
                ``ahead``.
        """
        held = self._held.get(worker_id)
        if held and not ahead:
            running = [e.task for e in held if e.task.state is _RUNNING]
            if running:
                t = running[0]
                raise ValueError(
                    f"worker {worker_id!r} is still rendering {t.layer!r} frame {t.frame}: "
                    "report frame_done / frame_failed or worker_lost before asking for more"
                )
            self._return_entries(list(held))
        if self._cancelled or self._halted:
            return None
        layer = self._choose_layer(worker_id, current_layer)
        if layer is None:
            return None
        entries = self._take(layer, worker_id)
        for entry in entries:
            entry.holder = worker_id
            entry.task.worker = worker_id
        self._held.setdefault(worker_id, []).extend(entries)
        return Assignment(layer.name, tuple(e.task.frame for e in entries))

    def _choose_layer(self, worker: str, current: str | None) -> _Layer | None:
        layer = self._layers.get(current) if current is not None else None
        if layer is not None and layer.offers(worker):
            return layer
        best = self._heaviest(worker)
        if best is not None:
            return best
        # Only frames that last failed on this worker are queued: it takes one rather
        # than leave them waiting for a worker that may never come.
        if layer is not None and layer.queued:
            return layer
        return self._heaviest(None)

    def _heaviest(self, worker: str | None) -> _Layer | None:
        """The layer with the most queued work (that offers ``worker`` a frame, if given).

        One pass over the layers, kept tight because it runs on every layer change.
        """
        fallback = self._fallback_mean()
        best: _Layer | None = None
        best_work = -1.0
        for layer in self._layers.values():  # plan order: strict '>' keeps the first on ties
            queued = layer.n_fresh + layer.n_retry
            if not queued:
                continue
            if worker is not None and not layer.offers(worker):
                continue
            observed = layer.observed
            work = queued * (layer.busy_seconds / observed if observed else fallback)
            if work > best_work:
                best, best_work = layer, work
        return best

    def _fallback_mean(self) -> float:
        """The mean frame time over layers with observations, for layers without."""
        return self._means_total / self._means_count if self._means_count else 1.0

    def _observe(self, layer: _Layer, seconds: float) -> None:
        """Add one frame time to ``layer`` and keep the mean of layer means current."""
        if layer.observed:
            self._means_total -= layer.busy_seconds / layer.observed
        else:
            self._means_count += 1
        layer.busy_seconds += seconds
        layer.observed += 1
        self._means_total += layer.busy_seconds / layer.observed

    def _take(self, layer: _Layer, worker: str) -> list[_Entry]:
        entry = self._take_retry(layer, worker, strict=layer.offers(worker))
        if entry is not None:
            return [entry]
        first = self._pop_head(layer.fresh, _FRESH)
        assert first is not None  # _choose_layer only picks layers with queued frames
        chunk = [first]
        while len(chunk) < self.chunk_size:
            head = self._peek(layer.fresh, _FRESH)
            if head is None or head.block != first.block:
                break
            self._pop_head(layer.fresh, _FRESH)
            chunk.append(head)
        return chunk

    def _take_retry(self, layer: _Layer, worker: str, *, strict: bool) -> _Entry | None:
        """The oldest queued retry, skipping those that last failed on ``worker`` if strict."""
        head = self._peek(layer.retry, _RETRY)
        if head is None:
            return None
        if not strict or head.avoid != worker:
            return self._pop_head(layer.retry, _RETRY)
        if layer.n_retry <= layer.avoid.get(worker, 0):
            return None
        for i, (entry, gen) in enumerate(layer.retry):  # rare: the head failed on this worker
            if entry.queue == _RETRY and entry.qgen == gen and entry.avoid != worker:
                del layer.retry[i]
                self._unqueue(entry)
                return entry
        return None  # pragma: no cover - the counters say one exists

    # ------------------------------------------------------------------ queues

    def _enqueue(self, entry: _Entry, where: int, *, front: bool = False) -> None:
        layer = entry.layer
        entry.queue = where
        entry.qgen += 1
        item = (entry, entry.qgen)
        queue = layer.fresh if where == _FRESH else layer.retry
        if front:
            queue.appendleft(item)
        else:
            queue.append(item)
        if where == _FRESH:
            layer.n_fresh += 1
        else:
            layer.n_retry += 1
            layer.avoid[entry.avoid] = layer.avoid.get(entry.avoid, 0) + 1

    def _unqueue(self, entry: _Entry) -> None:
        """Take ``entry`` out of the counts; any copy left in a deque is now stale."""
        layer = entry.layer
        if entry.queue == _FRESH:
            layer.n_fresh -= 1
        elif entry.queue == _RETRY:
            layer.n_retry -= 1
            left = layer.avoid[entry.avoid] - 1
            if left:
                layer.avoid[entry.avoid] = left
            else:
                del layer.avoid[entry.avoid]
        entry.queue = _NOWHERE

    @staticmethod
    def _peek(queue: deque[tuple[_Entry, int]], where: int) -> _Entry | None:
        while queue:
            entry, gen = queue[0]
            if entry.queue == where and entry.qgen == gen:
                return entry
            queue.popleft()  # stale: settled or re-queued since
        return None

    def _pop_head(self, queue: deque[tuple[_Entry, int]], where: int) -> _Entry | None:
        entry = self._peek(queue, where)
        if entry is not None:
            queue.popleft()
            self._unqueue(entry)
        return entry

    def _release(self, entry: _Entry) -> None:
        """Forget which worker holds ``entry``."""
        holder = entry.holder
        if holder is None:
            return
        held = self._held[holder]
        held.remove(entry)
        if not held:
            del self._held[holder]
        entry.holder = None

    def _return_entries(self, entries: Sequence[_Entry]) -> None:
        """Put unstarted frames back at the front of their layers, in their order, uncharged.

        Never called after :meth:`cancel`, which takes unstarted frames from their workers.
        """
        for entry in reversed(entries):
            self._release(entry)
            entry.task.worker = None
            if entry.task.errors:  # still a retry: it stays alone and keeps its avoidance
                self._enqueue(entry, _RETRY, front=True)
            else:
                self._enqueue(entry, _FRESH, front=True)

    def _set_state(self, entry: _Entry, state: FrameState) -> None:
        task = entry.task
        old = task.state
        if old is state:
            return
        self._counts[old] -= 1
        self._counts[state] += 1
        entry.layer.counts[old] -= 1
        entry.layer.counts[state] += 1
        task.state = state
        key = (task.layer, task.frame)
        if state is _FAILED:
            self._failed[key] = entry
        elif old is _FAILED:
            del self._failed[key]

    def _entry(self, layer: str, frame: int) -> _Entry:
        entry = self._entries.get((layer, frame))
        if entry is None:
            where = "layer" if layer in self._layers else "unknown layer"
            raise ValueError(f"{where} {layer!r} has no frame {frame} in this batch")
        return entry

    # ------------------------------------------------------------------ events

    def frame_started(
        self, layer: str, frame: int, worker_id: str, now: float, *, device: str | None = None
    ) -> None:
        """A worker began a frame it holds: one more try.

        Ignored unless ``worker_id`` holds the frame and has not started it yet (e.g. a
        worker already presumed lost).
        """
        entry = self._entry(layer, frame)
        task = entry.task
        if task.state is not _PENDING or entry.holder != worker_id:
            self._ignored += 1
            return
        self._set_state(entry, _RUNNING)
        task.attempts += 1
        task.started = now
        task.finished = None
        task.device = device

    def frame_done(
        self,
        layer: str,
        frame: int,
        outputs: Sequence[str],
        now: float,
        *,
        provenance: FrameProvenance | None = None,
    ) -> None:
        """A frame rendered and its outputs were verified.

        Accepted in any state but DONE and SKIPPED (those repeat are ignored): a success
        that arrives after the frame was re-queued, re-assigned or given up counts. Only a
        frame that was running adds to the layer's observed frame time. ``provenance`` is
        kept with the try that rendered it (its ``attempt`` is set here).
        """
        entry = self._entry(layer, frame)
        task = entry.task
        if task.state in _COMPLETE:
            self._ignored += 1
            return
        if task.state is _RUNNING and task.started is not None and now >= task.started:
            self._observe(entry.layer, now - task.started)
        elif entry.holder is not None and task.state is _PENDING:
            task.attempts += 1  # rendered without reporting its start
        self._unqueue(entry)
        self._release(entry)
        task.outputs = list(outputs)
        task.finished = now
        if provenance is not None:
            task.provenance = dataclasses.replace(provenance, attempt=task.attempts)
        self._set_state(entry, _DONE)

    def frame_failed(
        self, layer: str, frame: int, reason: str, now: float, *, retry: bool = True
    ) -> FrameState:
        """A try failed; returns the frame's state afterwards.

        PENDING: re-queued at the front of its layer. FAILED: no try left, or ``retry`` is
        False (a fatal error). CANCELLED: it would have been re-queued but the batch was
        cancelled. A failure of a frame no worker holds is stale: it is ignored and the
        current state is returned.
        """
        entry = self._entry(layer, frame)
        task = entry.task
        holder = entry.holder
        if holder is None or task.state not in (_PENDING, _RUNNING):
            self._ignored += 1
            return task.state
        if task.state is _PENDING:
            task.attempts += 1  # failed before it reported its start
        self._release(entry)
        return self._settle_failure(entry, reason, holder, now, fatal=not retry)

    def _settle_failure(
        self, entry: _Entry, reason: str, worker: str, now: float, *, fatal: bool
    ) -> FrameState:
        task = entry.task
        task.errors.append(reason)
        task.finished = now
        task.failed_on = entry.avoid = worker
        if fatal or task.attempts >= entry.limit:
            self._set_state(entry, _FAILED)
        elif self._cancelled:
            task.worker = None
            self._set_state(entry, _CANCELLED)
        else:
            task.worker = None
            self._set_state(entry, _PENDING)
            self._enqueue(entry, _RETRY)
            self._retries += 1
        return task.state

    def worker_lost(self, worker_id: str, reason: str, now: float) -> list[FrameOutcome]:
        """A worker crashed, hung or was killed: settle every frame it held.

        Frames that were rendering are charged a failed try (they already counted it); if
        none had started, the first frame of the chunk is charged one, since the command
        itself may have killed the worker. A charged frame is re-queued, or FAILED when it
        has no try left. The rest of the chunk goes back uncharged. After :meth:`cancel`
        nothing is charged and everything becomes CANCELLED (the stop is the likely cause).
        Returns the frames it held, in chunk order; [] for a worker that held none.
        """
        held = self._held.pop(worker_id, None)
        if not held:
            return []
        for entry in held:
            entry.holder = None
        running = [e for e in held if e.task.state is _RUNNING]
        if self._halted:  # the batch stopped for its environment: nothing is charged
            self._requeue(held)
            return [e.task for e in held]
        if self._cancelled:
            for entry in running:
                entry.task.errors.append(reason)
                entry.task.finished = now
            for entry in held:
                entry.task.worker = None
                self._set_state(entry, _CANCELLED)
            return [e.task for e in held]
        charged = running or held[:1]
        for entry in charged:
            if entry.task.state is _PENDING:
                entry.task.attempts += 1
            self._settle_failure(entry, reason, worker_id, now, fatal=False)
        self._return_entries([e for e in held if e not in charged])
        return [e.task for e in held]

    def give_back(self, worker_id: str) -> list[FrameOutcome]:
        """A worker stops for a reason that is not its frames' (the user gave its GPU back
        to Maya): every frame it holds goes back to the front of its layer, PENDING, and
        a frame it was rendering loses the try it had begun (nothing is charged, no error
        is added). After :meth:`cancel` they become CANCELLED instead. Returns the frames
        it held, in chunk order; [] for a worker that held none."""
        held = self._held.pop(worker_id, None)
        if not held:
            return []
        for entry in held:
            entry.holder = None
            entry.task.worker = None
            if entry.task.state is _RUNNING:
                entry.task.attempts = max(0, entry.task.attempts - 1)
                entry.task.started = None
                self._set_state(entry, _CANCELLED if self._cancelled else _PENDING)
        if self._cancelled:
            for entry in held:
                self._set_state(entry, _CANCELLED)
        else:
            self._return_entries(held)
        return [e.task for e in held]

    def holds(self, worker_id: str, layer: str, frame: int) -> bool:
        """Whether ``worker_id`` holds the frame now (a report from a worker that no longer
        holds it is stale)."""
        entry = self._entries.get((layer, frame))
        return entry is not None and entry.holder == worker_id

    def halt(self) -> list[FrameOutcome]:
        """Stop handing out work because the batch cannot go on (its disk, its job store):
        unlike :meth:`cancel`, frames stay PENDING, so ``resume`` renders them. Frames a
        worker holds go back uncharged when it is lost (:meth:`worker_lost`); running ones
        become PENDING at once. Returns the frames that were running."""
        self._halted = True
        running: list[FrameOutcome] = []
        for worker_id in list(self._held):
            held = self._held.pop(worker_id)
            for entry in held:
                entry.holder = None
                if entry.task.state is _RUNNING:
                    running.append(entry.task)
            self._requeue(held)
        return running

    def _requeue(self, entries: Sequence[_Entry]) -> None:
        """Frames a halted batch takes back from its workers: PENDING again, uncharged."""
        for entry in entries:
            entry.holder = None
            entry.task.worker = None
            if entry.task.state is _RUNNING:
                self._set_state(entry, _PENDING)
        self._return_entries(list(entries))

    @property
    def halted(self) -> bool:
        return self._halted

    def return_unstarted(self, frames: Iterable[tuple[str, int]]) -> list[FrameOutcome]:
        """Put frames a worker held but never started back at the front, uncharged.

        For a command that ended early (a fatal frame stopped the chunk). Frames that are
        not held unstarted are left alone. Returns the tasks that went back.
        """
        entries = [self._entry(layer, frame) for layer, frame in frames]
        back = [e for e in entries if e.holder is not None and e.task.state is _PENDING]
        self._return_entries(back)
        return [e.task for e in back]

    def skip(self, layer: str, frame: int, reason: str) -> None:
        """The frame's outputs already exist (skip_existing): SKIPPED, never rendered.

        Allowed in any state but DONE/SKIPPED (ignored), including RUNNING, since a worker
        may find the outputs itself.
        """
        entry = self._entry(layer, frame)
        task = entry.task
        if task.state in _COMPLETE:
            self._ignored += 1
            return
        self._unqueue(entry)
        self._release(entry)
        task.note = reason
        self._set_state(entry, _SKIPPED)

    def cancel(self) -> list[FrameOutcome]:
        """Stop: every PENDING frame, queued or handed out but unstarted, becomes CANCELLED.

        Running frames are the caller's to stop; afterwards a frame that would have been
        re-queued becomes CANCELLED and :meth:`next_assignment` hands out nothing until
        :meth:`restore`. Returns the cancelled frames in plan order.
        """
        self._cancelled = True
        return self._close_pending(_CANCELLED, None)

    def fail_pending(self, reason: str) -> list[FrameOutcome]:
        """Give up on every PENDING frame (no worker can render): FAILED with ``reason``."""
        return self._close_pending(_FAILED, reason)

    def _close_pending(self, state: FrameState, note: str | None) -> list[FrameOutcome]:
        closed: list[FrameOutcome] = []
        for layer in self._layers.values():
            if not layer.counts[_PENDING]:
                continue
            for entry in layer.entries:
                if entry.task.state is _PENDING:
                    self._unqueue(entry)
                    self._release(entry)
                    entry.task.worker = None
                    if note is not None:
                        entry.task.note = note
                    self._set_state(entry, state)
                    closed.append(entry.task)
            layer.fresh.clear()
            layer.retry.clear()
        return closed

    def restore(self, tasks: Iterable[FrameOutcome]) -> None:
        """Resume from stored frames: DONE and SKIPPED stay finished; PENDING, RUNNING,
        FAILED and CANCELLED become PENDING again, keeping their attempts and history.

        A re-opened frame keeps the tries it has left, but gets at least one more even if
        it had used them all (the user asked for the resume). Frames that failed before are
        queued first and dispatched alone. Stored frames outside this plan are ignored: a
        resumed plan usually holds only the unfinished frames. Clears a previous cancel.

        Raises:
            ValueError: Frames are handed out to workers right now.
        """
        if self._held:
            raise ValueError(
                "restore() needs a scheduler with no frames handed out: "
                f"workers {sorted(self._held)} still hold frames"
            )
        for stored in tasks:
            entry = self._entries.get((stored.layer, stored.frame))
            if entry is not None:
                self._restore_one(entry, stored)
        self._cancelled = False
        self._means_total, self._means_count = 0.0, 0
        for layer in self._layers.values():
            layer.fresh.clear()
            layer.retry.clear()
            layer.n_fresh = layer.n_retry = 0
            layer.avoid.clear()
            layer.busy_seconds, layer.observed = 0.0, 0
            for entry in layer.order:
                entry.queue = _NOWHERE
                task = entry.task
                if task.state is _PENDING:
                    self._enqueue(entry, _RETRY if task.errors else _FRESH)
                elif task.state is _DONE and (seconds := task.seconds) is not None:
                    self._observe(layer, seconds)

    def _restore_one(self, entry: _Entry, stored: FrameOutcome) -> None:
        task = entry.task
        task.attempts = stored.attempts
        task.errors = list(stored.errors)
        task.outputs = list(stored.outputs)
        task.started, task.finished = stored.started, stored.finished
        task.device = stored.device
        task.failed_on = stored.failed_on
        task.note = stored.note
        task.provenance = stored.provenance
        if stored.complete:
            task.worker = stored.worker
            entry.avoid = None
            entry.limit = self.max_attempts
            self._set_state(entry, stored.state)
        else:
            task.worker = None
            entry.avoid = task.failed_on
            entry.limit = max(self.max_attempts, task.attempts + 1)
            self._set_state(entry, _PENDING)

    # ------------------------------------------------------------------ views

    @property
    def tasks(self) -> list[FrameOutcome]:
        """Every frame, in plan order (layers as given, frames as given). Read only."""
        return [entry.task for layer in self._layers.values() for entry in layer.entries]

    @property
    def layers(self) -> list[str]:
        return list(self._layers)

    def task(self, layer: str, frame: int) -> FrameOutcome:
        """The frame's task. Raises ValueError if it is not in this batch."""
        return self._entry(layer, frame).task

    def held_by(self, worker_id: str) -> list[FrameOutcome]:
        """The frames a worker holds (handed out or rendering), in chunk order: the one
        record of what a worker is doing, read by the manager."""
        return [entry.task for entry in self._held.get(worker_id, [])]

    @property
    def total_count(self) -> int:
        return len(self._entries)

    @property
    def pending_count(self) -> int:
        """Frames still to render: queued, or handed out but not started yet."""
        return self._counts[_PENDING]

    @property
    def queued_count(self) -> int:
        """PENDING frames waiting for a worker (not handed out)."""
        return sum(layer.queued for layer in self._layers.values())

    @property
    def running_count(self) -> int:
        return self._counts[_RUNNING]

    @property
    def done_count(self) -> int:
        return self._counts[_DONE]

    @property
    def failed_count(self) -> int:
        return self._counts[_FAILED]

    @property
    def skipped_count(self) -> int:
        return self._counts[_SKIPPED]

    @property
    def cancelled_count(self) -> int:
        return self._counts[_CANCELLED]

    @property
    def is_finished(self) -> bool:
        """Nothing pending or running: every frame is DONE, SKIPPED, FAILED or CANCELLED."""
        return not self._counts[_PENDING] and not self._counts[_RUNNING]

    @property
    def is_cancelled(self) -> bool:
        return self._cancelled

    def summary(self) -> BatchSummary:
        """The counts, retries and failed frames so far (the batch fields are the caller's)."""
        failed = sorted(self._failed.values(), key=lambda e: (e.layer.rank, e.index))
        counts = self._counts
        return BatchSummary(
            total=len(self._entries),
            pending=counts[_PENDING],
            running=counts[_RUNNING],
            done=counts[_DONE],
            failed=counts[_FAILED],
            skipped=counts[_SKIPPED],
            cancelled=counts[_CANCELLED],
            queued=self.queued_count,
            finished=self.is_finished,
            retries=self._retries,
            ignored_events=self._ignored,
            layers={name: LayerCounts.of(layer.counts) for name, layer in self._layers.items()},
            failed_frames=[
                FailedFrame(
                    layer=e.task.layer,
                    frame=e.task.frame,
                    attempts=e.task.attempts,
                    reason=e.task.error or "",
                    errors=list(e.task.errors),
                )
                for e in failed
            ],
        )
