"""Tests for the dispatch policy: affinity, most-work-left, chunks, orders, retries, lost
workers, stale events, resume, estimates, and a discrete-event simulation of a batch.

Everything here is plain arithmetic on the scheduler: times are passed in as numbers, so
no test sleeps or reads a clock.
"""

from __future__ import annotations

import heapq
import random
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrc_toolbox.core.scheduler import (
    Assignment,
    Scheduler,
    dispatch_order,
    preview_order,
)
from lrc_toolbox.records.batch import FailedFrame, FrameOutcome, LayerCounts
from lrc_toolbox.records.frame_parser import parse_frames
from lrc_toolbox.records.models import FrameOrder, FrameState

PENDING = FrameState.PENDING
RUNNING = FrameState.RUNNING
DONE = FrameState.DONE
FAILED = FrameState.FAILED
SKIPPED = FrameState.SKIPPED
CANCELLED = FrameState.CANCELLED
SETTLED = (DONE, SKIPPED, FAILED)


def render(s: Scheduler, worker: str, a: Assignment, start: float, seconds: float) -> float:
    """Render every frame of ``a`` back to back; returns the time the last one ends."""
    now = start
    for frame in a.frames:
        s.frame_started(a.layer, frame, worker, now)
        now += seconds
        s.frame_done(a.layer, frame, [f"/out/{a.layer}.{frame}.exr"], now)
    return now


def take(s: Scheduler, worker: str, layer: str | None = None) -> Assignment:
    a = s.next_assignment(worker, layer)
    assert a is not None
    return a


def start(s: Scheduler, worker: str, layer: str | None = None, now: float = 0.0) -> Assignment:
    """Hand ``worker`` its next frames and start the first one."""
    a = take(s, worker, layer)
    s.frame_started(a.layer, a.frames[0], worker, now)
    return a


# --------------------------------------------------------------------------- construction


def test_a_new_plan_lists_every_frame_pending_in_plan_order() -> None:
    s = Scheduler({"BG": [1, 2], "CHAR": [5, 3]})
    assert s.layers == ["BG", "CHAR"]
    assert [(t.layer, t.frame, t.state) for t in s.tasks] == [
        ("BG", 1, PENDING),
        ("BG", 2, PENDING),
        ("CHAR", 5, PENDING),
        ("CHAR", 3, PENDING),
    ]
    assert s.pending_count == s.queued_count == s.total_count == 4
    assert not s.is_finished


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"chunk_size": 0}, "chunk_size"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"chunk_size": True}, "chunk_size"),
    ],
)
def test_constructor_rejects_bad_limits(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Scheduler({"A": [1]}, **kwargs)


def test_constructor_rejects_a_frame_listed_twice_in_a_layer() -> None:
    with pytest.raises(ValueError, match="'A' lists frame 3 twice"):
        Scheduler({"A": [1, 3, 3]})


def test_the_same_frame_number_in_two_layers_is_two_frames() -> None:
    s = Scheduler({"A": [1], "B": [1]})
    assert s.total_count == 2


def test_an_empty_plan_is_finished_at_once() -> None:
    s = Scheduler({})
    assert s.is_finished
    assert s.next_assignment("w", None) is None


# --------------------------------------------------------------------------- layer choice


def test_idle_worker_keeps_its_current_layer_while_it_has_frames() -> None:
    s = Scheduler({"A": [1, 2, 3], "B": list(range(10, 30))})
    assert take(s, "w1", "A") == Assignment("A", (1,))
    assert take(s, "w2", "A") == Assignment("A", (2,))


def test_worker_whose_layer_ran_dry_moves_to_the_layer_with_most_frames_left() -> None:
    s = Scheduler({"A": [1], "B": [1, 2], "C": [1, 2, 3]})
    render(s, "w", take(s, "w", "A"), 0.0, 1.0)
    # no frame time is known for B or C, so the frame count decides
    assert take(s, "w", "A").layer == "C"


def test_unknown_current_layer_means_no_affinity() -> None:
    s = Scheduler({"A": [1], "B": [1, 2]})
    assert take(s, "w", "defaultRenderLayer").layer == "B"


def test_equal_work_goes_to_the_layer_given_first() -> None:
    s = Scheduler({"B": [1, 2], "A": [1, 2]})
    assert take(s, "w", None).layer == "B"


def test_most_work_left_weighs_frames_by_observed_frame_time() -> None:
    """Costs 1:3:6 with 30, 20 and 12 frames: the heavy layer starts first."""
    s = Scheduler({"A": range(30), "B": range(20), "C": range(12)})
    for layer, seconds in (("A", 1.0), ("B", 3.0), ("C", 6.0)):
        render(s, "probe", take(s, "probe", layer), 0.0, seconds)
    # work left: A 29 x 1 = 29, B 19 x 3 = 57, C 11 x 6 = 66 -> C, then C (60), then B (57)
    assert [take(s, w, None).layer for w in ("w1", "w2", "w3")] == ["C", "C", "B"]


def test_a_layer_without_observations_uses_the_mean_of_the_observed_layers() -> None:
    s = Scheduler({"A": range(15), "B": range(3), "C": range(5)})
    render(s, "p", take(s, "p", "A"), 0.0, 2.0)
    render(s, "p", take(s, "p", "B"), 0.0, 10.0)
    # fallback (2 + 10) / 2 = 6: A 14 x 2 = 28, B 2 x 10 = 20, C 5 x 6 = 30
    assert take(s, "w", None).layer == "C"


def test_ask_without_frames_queued_gets_none() -> None:
    s = Scheduler({"A": [1]})
    start(s, "w1")
    assert s.next_assignment("w2", "A") is None
    assert not s.is_finished


# --------------------------------------------------------------------------- chunks


def test_chunks_take_up_to_chunk_size_frames_of_one_layer_in_order() -> None:
    s = Scheduler({"A": [1, 2, 3, 4, 5]}, chunk_size=2)
    assert [take(s, w, "A").frames for w in ("w1", "w2", "w3")] == [(1, 2), (3, 4), (5,)]


def test_a_chunk_never_mixes_layers() -> None:
    s = Scheduler({"A": [1, 2], "B": [7, 8, 9]}, chunk_size=4)
    assert take(s, "w1", "A") == Assignment("A", (1, 2))
    assert take(s, "w2", "A") == Assignment("B", (7, 8, 9))


def test_a_worker_asking_again_returns_its_unstarted_chunk_frames_first() -> None:
    s = Scheduler({"A": [1, 2, 3, 4]}, chunk_size=3)
    a = take(s, "w", "A")
    render(s, "w", Assignment("A", a.frames[:1]), 0.0, 1.0)
    # frames 2 and 3 were never started: asking again means they were dropped
    assert take(s, "w", "A").frames == (2, 3, 4)


def test_asking_again_while_a_frame_is_rendering_is_an_error() -> None:
    s = Scheduler({"A": [1, 2]})
    start(s, "w")
    with pytest.raises(ValueError, match="still rendering 'A' frame 1"):
        s.next_assignment("w", "A")


def test_asking_ahead_while_a_frame_renders_adds_the_next_frames_to_what_it_holds() -> None:
    s = Scheduler({"A": [1, 2, 3]})
    start(s, "w", "A")
    ahead = s.next_assignment("w", "A", ahead=True)
    assert ahead == Assignment("A", (2,))
    assert [(t.frame, t.state) for t in s.held_by("w")] == [(1, RUNNING), (2, PENDING)]
    assert s.task("A", 2).worker == "w"
    assert take(s, "w2", "A").frames == (3,)  # another worker gets the next queued frame


def test_asking_ahead_keeps_layer_affinity_and_moves_on_when_the_layer_runs_dry() -> None:
    s = Scheduler({"A": [1], "B": [1, 2]})
    start(s, "w", "A")
    assert s.next_assignment("w", "A", ahead=True) == Assignment("B", (1,))


def test_asking_ahead_gets_none_when_nothing_is_queued_or_after_a_stop() -> None:
    s = Scheduler({"A": [1, 2]})
    start(s, "w", "A")
    assert s.next_assignment("w", "A", ahead=True) == Assignment("A", (2,))
    assert s.next_assignment("w", "A", ahead=True) is None
    stopped = Scheduler({"A": [1, 2]})
    start(stopped, "w", "A")
    stopped.cancel()
    assert stopped.next_assignment("w", "A", ahead=True) is None


def test_frames_sent_ahead_go_back_uncharged_when_the_worker_is_lost() -> None:
    s = Scheduler({"A": [1, 2, 3]})
    start(s, "w", "A")
    s.next_assignment("w", "A", ahead=True)
    s.worker_lost("w", "crashed", 5.0)
    assert (s.task("A", 1).state, s.task("A", 1).attempts) == (PENDING, 1)
    assert (s.task("A", 2).state, s.task("A", 2).attempts) == (PENDING, 0)
    assert take(s, "w2", "A").frames == (1,)  # the charged retry is served first
    assert take(s, "w3", "A").frames == (2,)  # then the unstarted one, back at the front


def test_frames_sent_ahead_are_cancelled_by_a_stop() -> None:
    s = Scheduler({"A": [1, 2, 3]})
    start(s, "w", "A")
    s.next_assignment("w", "A", ahead=True)
    cancelled = s.cancel()
    assert [t.frame for t in cancelled] == [2, 3]
    assert [t.frame for t in s.held_by("w")] == [1]


def test_return_unstarted_puts_frames_back_at_the_front_uncharged() -> None:
    s = Scheduler({"A": [1, 2, 3, 4]}, chunk_size=3)
    a = start(s, "w")
    s.frame_failed("A", 1, "licence", 1.0, retry=False)
    back = s.return_unstarted([("A", 2), ("A", 3), ("A", 1)])
    assert [t.frame for t in back] == [2, 3]
    assert all(t.attempts == 0 and t.worker is None for t in back)
    assert a.frames == (1, 2, 3)
    assert take(s, "w2", "A").frames == (2, 3, 4)


# --------------------------------------------------------------------------- orders


def test_sequential_keeps_the_given_order_even_descending() -> None:
    frames = parse_frames("10-1x3, 20")  # 10, 7, 4, 1, 20
    s = Scheduler({"A": frames})
    got = [take(s, f"w{i}", "A").frames[0] for i in range(len(frames))]
    assert got == [10, 7, 4, 1, 20]


def test_preview_first_order_for_one_to_nine() -> None:
    assert dispatch_order(range(1, 10), FrameOrder.PREVIEW_FIRST) == [1, 9, 5, 3, 7, 2, 4, 6, 8]


def test_preview_first_order_for_one_to_a_hundred_starts_with_the_bisection_levels() -> None:
    order = dispatch_order(range(1, 101), FrameOrder.PREVIEW_FIRST)
    assert order[:17] == [1, 100, 50, 25, 75, 13, 37, 62, 87, 7, 19, 31, 43, 56, 68, 81, 93]
    assert sorted(order) == list(range(1, 101))


@pytest.mark.parametrize(("count", "expected"), [(0, []), (1, [0]), (2, [0, 1]), (3, [0, 2, 1])])
def test_preview_order_of_tiny_layers(count: int, expected: list[int]) -> None:
    assert preview_order(count) == expected


def test_preview_first_starts_from_the_given_first_frame_of_a_descending_layer() -> None:
    assert dispatch_order(range(10, 0, -1), FrameOrder.PREVIEW_FIRST)[:3] == [10, 1, 6]


def test_scheduler_hands_out_frames_in_preview_first_order() -> None:
    s = Scheduler({"A": range(1, 10)}, order=FrameOrder.PREVIEW_FIRST)
    got = [take(s, f"w{i}", "A").frames[0] for i in range(9)]
    assert got == [1, 9, 5, 3, 7, 2, 4, 6, 8]


def test_preview_first_with_chunks_orders_contiguous_chunks_preview_first() -> None:
    s = Scheduler({"A": range(1, 11)}, chunk_size=3, order=FrameOrder.PREVIEW_FIRST)
    got = [take(s, f"w{i}", "A").frames for i in range(4)]
    assert got == [(1, 2, 3), (10,), (4, 5, 6), (7, 8, 9)]


def test_preview_first_chunk_never_spans_two_chunks_of_the_plan() -> None:
    s = Scheduler({"A": range(1, 11)}, chunk_size=3, order=FrameOrder.PREVIEW_FIRST)
    a = start(s, "w1")  # 1, 2, 3
    s.frame_done("A", 1, ["x"], 1.0)
    s.worker_lost("w1", "crash", 2.0)  # 2 charged and retried alone, 3 back uncharged
    assert a.frames == (1, 2, 3)
    assert take(s, "w2", "A").frames == (2,)
    assert take(s, "w3", "A").frames == (3,)  # not 3, 10: those are different plan chunks
    assert take(s, "w4", "A").frames == (10,)


@given(
    frames=st.lists(st.integers(-1000, 1000), unique=True, max_size=300),
    chunk_size=st.integers(1, 7),
    order=st.sampled_from(FrameOrder),
)
def test_dispatch_order_lists_every_frame_exactly_once(
    frames: list[int], chunk_size: int, order: FrameOrder
) -> None:
    got = dispatch_order(frames, order, chunk_size)
    assert sorted(got) == sorted(frames)
    if len(frames) >= 2 and order is FrameOrder.PREVIEW_FIRST and chunk_size == 1:
        assert got[:2] == [frames[0], frames[-1]]


# --------------------------------------------------------------------------- retries


def test_a_failed_frame_is_retried_until_max_attempts_then_failed() -> None:
    s = Scheduler({"A": [1]}, max_attempts=3)
    states = []
    for i in range(3):
        start(s, f"w{i}", "A", now=float(i))
        states.append(s.frame_failed("A", 1, f"boom {i}", float(i) + 0.5))
    task = s.task("A", 1)
    assert states == [PENDING, PENDING, FAILED]
    assert task.attempts == 3
    assert task.errors == ["boom 0", "boom 1", "boom 2"]
    assert s.next_assignment("w9", "A") is None
    assert s.is_finished and s.failed_count == 1


def test_a_retry_goes_to_the_front_of_its_layer() -> None:
    s = Scheduler({"A": [1, 2, 3, 4]})
    start(s, "w1")
    take(s, "w2")
    s.frame_failed("A", 1, "boom", 1.0)
    assert take(s, "w3", "A").frames == (1,)


def test_a_retried_frame_is_dispatched_alone() -> None:
    s = Scheduler({"A": [1, 2, 3, 4, 5]}, chunk_size=3)
    start(s, "w1")
    s.frame_failed("A", 1, "boom", 1.0)
    s.return_unstarted([("A", 2), ("A", 3)])
    assert take(s, "w2", "A").frames == (1,)
    assert take(s, "w3", "A").frames == (2, 3, 4)


def test_a_returned_unstarted_retry_stays_a_retry_that_avoids_its_worker() -> None:
    s = Scheduler({"A": [1, 2, 3]}, chunk_size=2)
    start(s, "w1")
    s.frame_failed("A", 1, "boom", 1.0)
    s.return_unstarted([("A", 2)])
    assert take(s, "w2", "A").frames == (1,)
    s.return_unstarted([("A", 1)])  # w2's command ended before the frame started
    assert take(s, "w1", "A").frames == (2, 3)
    assert take(s, "w3", "A").frames == (1,)


def test_a_fatal_failure_fails_the_frame_at_once() -> None:
    s = Scheduler({"A": [1, 2]}, max_attempts=5)
    start(s, "w")
    assert s.frame_failed("A", 1, "no licence", 1.0, retry=False) is FAILED
    assert s.task("A", 1).attempts == 1
    assert take(s, "w", "A").frames == (2,)


def test_a_failure_reported_before_frame_started_still_counts_a_try() -> None:
    s = Scheduler({"A": [1]}, max_attempts=1)
    take(s, "w")
    assert s.frame_failed("A", 1, "layer switch failed", 1.0) is FAILED
    assert s.task("A", 1).attempts == 1


def test_a_failed_frame_avoids_the_worker_it_failed_on() -> None:
    s = Scheduler({"A": [1, 2, 3]})
    start(s, "w1")
    s.frame_failed("A", 1, "boom", 1.0)
    assert take(s, "w1", "A").frames == (2,)  # not the retry
    assert take(s, "w2", "A").frames == (1,)  # another worker gets it
    assert s.task("A", 1).failed_on == "w1"


def test_a_failed_frame_goes_back_to_its_worker_when_nothing_else_is_left() -> None:
    s = Scheduler({"A": [1]})
    start(s, "w1")
    s.frame_failed("A", 1, "boom", 1.0)
    assert take(s, "w1", "A").frames == (1,)  # never deadlock


def test_a_worker_moves_layers_rather_than_retry_its_own_failure() -> None:
    s = Scheduler({"A": [1], "B": [5, 6]})
    start(s, "w1", "A")
    s.frame_failed("A", 1, "boom", 1.0)
    a = take(s, "w1", "A")
    assert a == Assignment("B", (5,))
    assert take(s, "w2", "B") == Assignment("B", (6,))
    render(s, "w1", a, 2.0, 1.0)
    assert take(s, "w1", "B") == Assignment("A", (1,))  # nothing else left


def test_avoidance_finds_a_retry_behind_one_that_failed_on_this_worker() -> None:
    s = Scheduler({"A": [1, 2]})
    start(s, "w1")
    start(s, "w2")
    s.frame_failed("A", 1, "boom", 1.0)
    s.frame_failed("A", 2, "boom", 1.0)
    assert take(s, "w1", "A").frames == (2,)
    assert take(s, "w2", "A").frames == (1,)


# --------------------------------------------------------------------------- lost workers


def test_worker_lost_requeues_its_running_frame_and_counts_the_try() -> None:
    s = Scheduler({"A": [1, 2]})
    start(s, "w1")
    lost = s.worker_lost("w1", "exit code -11", 5.0)
    assert [(t.frame, t.state, t.attempts, t.errors) for t in lost] == [
        (1, PENDING, 1, ["exit code -11"])
    ]
    assert s.held_by("w1") == []
    assert take(s, "w2", "A").frames == (1,)


def test_worker_lost_returns_the_rest_of_the_chunk_uncharged_in_order() -> None:
    s = Scheduler({"A": [1, 2, 3, 4, 5]}, chunk_size=3)
    start(s, "w1")
    lost = s.worker_lost("w1", "hung", 9.0)
    assert [(t.frame, t.attempts) for t in lost] == [(1, 1), (2, 0), (3, 0)]
    assert take(s, "w2", "A").frames == (1,)
    assert take(s, "w3", "A").frames == (2, 3, 4)


def test_worker_lost_before_any_frame_started_charges_the_first_frame() -> None:
    s = Scheduler({"A": [1, 2]}, chunk_size=2, max_attempts=2)
    for w in ("w1", "w2"):
        take(s, w, "A")
        s.worker_lost(w, "crashed switching layer", 1.0)
    assert s.task("A", 1).state is FAILED  # the command kept killing workers
    assert s.task("A", 1).attempts == 2
    assert s.task("A", 2).attempts == 0


def test_worker_lost_on_the_last_try_fails_the_frame() -> None:
    s = Scheduler({"A": [1]}, max_attempts=1)
    start(s, "w1")
    assert [t.state for t in s.worker_lost("w1", "crash", 1.0)] == [FAILED]
    assert s.is_finished


def test_worker_lost_for_a_worker_holding_nothing_changes_nothing() -> None:
    s = Scheduler({"A": [1]})
    assert s.worker_lost("ghost", "exit code 1", 1.0) == []
    assert s.queued_count == 1


def test_late_frame_done_after_worker_lost_counts_as_done() -> None:
    s = Scheduler({"A": [1, 2]})
    start(s, "w1")
    s.worker_lost("w1", "no output for 1800 s", 100.0)
    s.frame_done("A", 1, ["/out/A.1.exr"], 101.0)
    task = s.task("A", 1)
    assert (task.state, task.attempts, task.outputs) == (DONE, 1, ["/out/A.1.exr"])
    assert take(s, "w2", "A").frames == (2,)  # the frame left the queue


def test_late_frame_done_for_a_frame_reassigned_to_another_worker_counts_once() -> None:
    s = Scheduler({"A": [1]})
    start(s, "w1")
    s.worker_lost("w1", "hung", 10.0)
    start(s, "w2", now=11.0)
    s.frame_done("A", 1, ["late"], 12.0)
    assert s.held_by("w2") == []
    s.frame_done("A", 1, ["second"], 20.0)
    s.frame_failed("A", 1, "killed", 21.0)
    assert s.task("A", 1).outputs == ["late"]
    assert s.done_count == 1 and s.summary().ignored_events == 2


def test_late_frame_done_after_the_frame_failed_for_good_counts_as_done() -> None:
    s = Scheduler({"A": [1]}, max_attempts=1)
    start(s, "w1")
    s.worker_lost("w1", "hung", 10.0)
    s.frame_done("A", 1, ["late"], 11.0)
    assert s.task("A", 1).state is DONE
    assert s.failed_count == 0 and s.summary().failed_frames == []


# --------------------------------------------------------------------------- stale events


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.frame_started("A", 99, "w", 0.0),
        lambda s: s.frame_done("Z", 1, [], 0.0),
        lambda s: s.frame_failed("A", 99, "x", 0.0),
        lambda s: s.skip("Z", 1, "x"),
        lambda s: s.task("A", 99),
        lambda s: s.return_unstarted([("A", 99)]),
    ],
)
def test_an_unknown_layer_or_frame_is_a_value_error(call: object) -> None:
    s = Scheduler({"A": [1]})
    with pytest.raises(ValueError, match="no frame"):
        call(s)  # type: ignore[operator]


def test_a_second_frame_done_is_ignored() -> None:
    s = Scheduler({"A": [1]})
    start(s, "w")
    s.frame_done("A", 1, ["a"], 2.0)
    s.frame_done("A", 1, ["b"], 3.0)
    assert s.task("A", 1).outputs == ["a"]
    assert s.task("A", 1).finished == 2.0
    assert s.summary().ignored_events == 1


def test_frame_started_from_a_worker_not_holding_the_frame_is_ignored() -> None:
    s = Scheduler({"A": [1, 2]})
    take(s, "w1")
    s.frame_started("A", 1, "w2", 0.0)  # another worker
    s.frame_started("A", 2, "w1", 0.0)  # queued, nobody holds it
    assert s.running_count == 0
    assert s.task("A", 1).attempts == 0


def test_a_duplicate_frame_started_counts_one_try() -> None:
    s = Scheduler({"A": [1]})
    start(s, "w")
    s.frame_started("A", 1, "w", 1.0)
    assert s.task("A", 1).attempts == 1


def test_a_failure_of_a_settled_frame_is_ignored_and_returns_its_state() -> None:
    s = Scheduler({"A": [1]})
    start(s, "w")
    s.frame_done("A", 1, ["a"], 1.0)
    assert s.frame_failed("A", 1, "late", 2.0) is DONE
    assert s.task("A", 1).errors == []


def test_frame_done_without_frame_started_counts_one_try() -> None:
    s = Scheduler({"A": [1]})
    take(s, "w")
    s.frame_done("A", 1, ["a"], 1.0)
    assert (s.task("A", 1).state, s.task("A", 1).attempts) == (DONE, 1)


# --------------------------------------------------------------------------- skip, cancel


def test_skip_takes_a_queued_frame_out_of_the_batch() -> None:
    s = Scheduler({"A": [1, 2]})
    s.skip("A", 1, "outputs already exist")
    assert take(s, "w", "A").frames == (2,)
    task = s.task("A", 1)
    assert (task.state, task.note) == (SKIPPED, "outputs already exist")
    assert s.skipped_count == 1


def test_skip_of_a_running_frame_releases_it() -> None:
    s = Scheduler({"A": [1, 2]})
    start(s, "w")
    s.skip("A", 1, "the worker found the outputs")
    assert s.held_by("w") == [] and s.running_count == 0
    assert take(s, "w", "A").frames == (2,)


def test_skip_of_a_done_frame_is_ignored() -> None:
    s = Scheduler({"A": [1]})
    render(s, "w", take(s, "w"), 0.0, 1.0)
    s.skip("A", 1, "exists")
    assert s.task("A", 1).state is DONE


def test_cancel_cancels_queued_and_handed_out_frames_but_not_running_ones() -> None:
    s = Scheduler({"A": [1, 2, 3, 4, 5]}, chunk_size=2)
    start(s, "w1")  # 1 running, 2 handed out
    cancelled = s.cancel()
    assert s.is_cancelled
    assert [t.frame for t in cancelled] == [2, 3, 4, 5]
    assert s.task("A", 1).state is RUNNING
    assert s.next_assignment("w2", "A") is None
    assert not s.is_finished


def test_after_cancel_a_failed_running_frame_is_cancelled_not_requeued() -> None:
    s = Scheduler({"A": [1, 2]})
    start(s, "w1")
    s.cancel()
    assert s.frame_failed("A", 1, "terminated", 1.0) is CANCELLED
    assert s.is_finished and s.cancelled_count == 2


def test_after_cancel_a_lost_worker_frame_is_cancelled_without_a_charge() -> None:
    s = Scheduler({"A": [1]}, max_attempts=1)
    start(s, "w1")
    s.cancel()
    lost = s.worker_lost("w1", "stopped by the user", 2.0)
    assert [(t.state, t.attempts) for t in lost] == [(CANCELLED, 1)]
    assert s.is_finished


def test_after_cancel_a_running_frame_can_still_finish() -> None:
    s = Scheduler({"A": [1, 2]})
    start(s, "w1")
    s.cancel()
    s.frame_done("A", 1, ["a"], 3.0)
    assert (s.done_count, s.cancelled_count, s.is_finished) == (1, 1, True)


def test_fail_pending_fails_every_pending_frame_with_the_reason() -> None:
    s = Scheduler({"A": [1, 2], "B": [3]})
    start(s, "w1")
    failed = s.fail_pending("every worker slot failed")
    assert [(t.layer, t.frame) for t in failed] == [("A", 2), ("B", 3)]
    summary = s.summary()
    assert summary.failed_frames[0].reason == "every worker slot failed"
    assert s.running_count == 1


# --------------------------------------------------------------------------- restore


def _stored(
    layer: str, frame: int, state: FrameState, attempts: int = 0, **kw: object
) -> FrameOutcome:
    return FrameOutcome(layer, frame, state, attempts, **kw)  # type: ignore[arg-type]


def test_restore_keeps_finished_frames_and_reopens_the_rest_keeping_attempts() -> None:
    s = Scheduler({"A": [1, 2, 3, 4, 5, 6]})
    s.restore(
        [
            _stored("A", 1, DONE, 1, outputs=["a1"]),
            _stored("A", 2, SKIPPED),
            _stored("A", 3, FAILED, 2, errors=["x", "y"]),
            _stored("A", 4, CANCELLED, 0),
            _stored("A", 5, RUNNING, 1),
        ]
    )
    got = {t.frame: (t.state, t.attempts) for t in s.tasks}
    assert got == {
        1: (DONE, 1),
        2: (SKIPPED, 0),
        3: (PENDING, 2),
        4: (PENDING, 0),
        5: (PENDING, 1),
        6: (PENDING, 0),
    }
    assert s.task("A", 1).outputs == ["a1"]
    assert s.pending_count == 4


def test_restore_queues_frames_that_failed_before_first_and_alone() -> None:
    s = Scheduler({"A": [1, 2, 3, 4]}, chunk_size=4)
    s.restore([_stored("A", 3, FAILED, 1, errors=["boom"])])
    assert take(s, "w1", "A").frames == (3,)
    assert take(s, "w2", "A").frames == (1, 2, 4)


def test_a_restored_frame_that_used_every_try_gets_one_more() -> None:
    s = Scheduler({"A": [1]}, max_attempts=2)
    s.restore([_stored("A", 1, FAILED, 2, errors=["x", "y"])])
    start(s, "w")
    assert s.frame_failed("A", 1, "z", 1.0) is FAILED
    assert s.task("A", 1).attempts == 3


def test_restore_ignores_stored_frames_outside_the_plan() -> None:
    s = Scheduler({"A": [2]})
    s.restore([_stored("A", 1, DONE, 1), _stored("Z", 2, DONE, 1)])
    assert s.total_count == 1 and s.pending_count == 1


def test_restore_takes_frame_times_and_errors_from_the_stored_outcomes() -> None:
    s = Scheduler({"A": [1, 2, 3]})
    s.restore(
        [
            _stored("A", 1, DONE, 1, started=10.0, finished=14.0, outputs=["o"]),
            _stored("A", 2, FAILED, 3, errors=["boom"], failed_on="w1"),
        ]
    )
    assert s.task("A", 1).finished == 14.0
    assert s.task("A", 2).errors == ["boom"]
    assert take(s, "w2", "A").frames == (2,)  # the retry first, on another worker


def test_restore_while_frames_are_handed_out_is_an_error() -> None:
    s = Scheduler({"A": [1]})
    take(s, "w")
    with pytest.raises(ValueError, match="still hold frames"):
        s.restore([])


def test_restore_after_cancel_reopens_the_batch() -> None:
    s = Scheduler({"A": [1, 2]})
    cancelled = s.cancel()
    s.restore(cancelled)
    assert not s.is_cancelled
    assert take(s, "w", "A").frames == (1,)


def test_frame_outcome_round_trips_through_json_data() -> None:
    task = FrameOutcome("A", 1, FAILED, 2, "w1", "GPU 1", 1.0, 2.0, [], ["x"], "w1")
    assert FrameOutcome.from_dict(task.to_dict()) == task


# --------------------------------------------------------------------------- views


def test_is_finished_and_summary_count_every_state() -> None:
    s = Scheduler({"A": [1, 2, 3], "B": [4, 5]}, max_attempts=1)
    render(s, "w", take(s, "w", "A"), 0.0, 1.0)
    start(s, "w", "A")
    s.frame_failed("A", 2, "boom", 2.0)
    s.skip("A", 3, "exists")
    start(s, "w", "B")
    assert not s.is_finished
    summary = s.summary()
    counts = (summary.total, summary.pending, summary.running, summary.done, summary.failed)
    assert (*counts, summary.skipped) == (5, 1, 1, 1, 1, 1)
    assert summary.layers["A"] == LayerCounts(total=3, done=1, failed=1, skipped=1)
    assert summary.layers["B"] == LayerCounts(total=2, pending=1, running=1)
    assert summary.failed_frames == [
        FailedFrame(layer="A", frame=2, attempts=1, reason="boom", errors=["boom"])
    ]
    s.frame_done("B", 4, ["b"], 3.0)
    render(s, "w", take(s, "w", "B"), 3.0, 1.0)
    assert s.is_finished and s.summary().finished is True


def test_summary_counts_retries() -> None:
    s = Scheduler({"A": [1]}, max_attempts=3)
    start(s, "w1")
    s.frame_failed("A", 1, "boom", 1.0)
    start(s, "w2")
    s.worker_lost("w2", "crash", 2.0)
    assert s.summary().retries == 2


# --------------------------------------------------------------------------- simulation


def simulate(
    frames_by_layer: Mapping[str, Sequence[int]],
    cost: Mapping[str, float],
    *,
    workers: int,
    startup: float,
    chunk_size: int = 1,
    order: FrameOrder = FrameOrder.SEQUENTIAL,
) -> float:
    """Discrete-event run of a batch with no failures; returns the makespan.

    Each worker pays ``startup`` once, then renders its chunk frame by frame and asks for
    more when it is empty. Ties in time are broken by worker number, so runs repeat exactly.
    """
    s = Scheduler(frames_by_layer, chunk_size=chunk_size, order=order)
    events = [(startup, i) for i in range(workers)]  # (time the worker is next free, worker)
    layer: list[str | None] = [None] * workers
    queue: list[list[int]] = [[] for _ in range(workers)]
    running: list[int | None] = [None] * workers
    end = 0.0
    while events:
        now, i = heapq.heappop(events)
        name = f"w{i}"
        frame = running[i]
        if frame is not None:
            assert layer[i] is not None
            s.frame_done(layer[i], frame, ["out"], now)  # type: ignore[arg-type]
            running[i] = None
            end = max(end, now)
        if not queue[i]:
            a = s.next_assignment(name, layer[i], now)
            if a is None:
                continue  # no failures here, so nothing will come back: the worker quits
            layer[i], queue[i] = a.layer, list(a.frames)
        frame = running[i] = queue[i].pop(0)
        s.frame_started(layer[i], frame, name, now)  # type: ignore[arg-type]
        heapq.heappush(events, (now + cost[layer[i]], i))  # type: ignore[index]
    assert s.is_finished and s.done_count == s.total_count
    return end


def test_simulated_batch_finishes_within_five_percent_of_the_lower_bound() -> None:
    plan = {name: range(1, 49) for name in ("light", "medium", "heavy")}
    cost = {"light": 1.0, "medium": 3.0, "heavy": 6.0}
    workers, startup = 3, 5.0
    total = sum(len(frames) * cost[name] for name, frames in plan.items())
    lower_bound = max(startup + max(cost.values()), startup + total / workers)  # 165
    makespan = simulate(plan, cost, workers=workers, startup=startup)
    assert makespan <= 1.05 * lower_bound, (makespan, lower_bound)


@pytest.mark.parametrize("order", list(FrameOrder))
def test_simulated_batch_is_near_the_bound_whatever_the_layer_order(order: FrameOrder) -> None:
    cost = {"light": 1.0, "medium": 3.0, "heavy": 6.0}
    plan = {name: range(1, 49) for name in ("heavy", "light", "medium")}
    makespan = simulate(plan, cost, workers=3, startup=5.0, order=order)
    assert makespan <= 1.05 * 165.0


# --------------------------------------------------------------------------- properties


@st.composite
def plans(draw: st.DrawFn) -> dict[str, list[int]]:
    n_layers = draw(st.integers(1, 4))
    return {
        f"L{i}": draw(st.lists(st.integers(-20, 200), unique=True, max_size=12))
        for i in range(n_layers)
    }


@dataclass
class _Sim:
    """Simulated workers driving a scheduler with random outcomes, checking invariants."""

    s: Scheduler
    workers: list[str]
    rnd: random.Random
    max_attempts: int
    layer: dict[str, str | None] = field(default_factory=dict)
    todo: dict[str, list[int]] = field(default_factory=dict)
    owner: dict[tuple[str, int], str] = field(default_factory=dict)
    settled: Counter[tuple[str, int]] = field(default_factory=Counter)
    dispatched: dict[str, list[int]] = field(default_factory=dict)
    #: also send stale and late events for frames no worker holds
    late_events: bool = False
    now: float = 0.0

    def run(self, p_done: float, p_fail: float, p_fatal: float, p_skip: float) -> None:
        states = {(t.layer, t.frame): t.state for t in self.s.tasks}
        for step in range(20_000):
            if self.s.is_finished:
                return
            self.now += 1.0
            worker = self.rnd.choice(self.workers)
            if self.late_events and self.rnd.random() < 0.2:
                self._stale_event(worker)
            elif not self.todo.get(worker):
                self._ask(worker)
            else:
                self._act(worker, p_done, p_fail, p_fatal, p_skip)
            states = self._check(states)
            assert step < 19_999, "the batch never finished"

    def _ask(self, worker: str) -> None:
        a = self.s.next_assignment(worker, self.layer.get(worker), self.now)
        if a is None:
            assert any(self.todo.values()), "deadlock: frames left, nobody holds any"
            return
        assert 1 <= len(a.frames) <= self.s.chunk_size
        for frame in a.frames:
            assert (a.layer, frame) not in self.owner, "a frame handed to two workers"
            self.owner[a.layer, frame] = worker
        self.layer[worker] = a.layer
        self.todo[worker] = list(a.frames)
        self.dispatched.setdefault(a.layer, []).extend(a.frames)

    def _act(
        self, worker: str, p_done: float, p_fail: float, p_fatal: float, p_skip: float
    ) -> None:
        layer = self.layer[worker]
        assert layer is not None
        frame = self.todo[worker][0]
        if self.s.task(layer, frame).state is PENDING:
            self.s.frame_started(layer, frame, worker, self.now)
            return
        roll = self.rnd.random()
        if roll < p_done + p_fail + p_fatal + p_skip:
            if roll < p_done:
                self.s.frame_done(layer, frame, ["out"], self.now)
            elif roll < p_done + p_fail:
                self.s.frame_failed(layer, frame, "boom", self.now)
            elif roll < p_done + p_fail + p_fatal:
                self.s.frame_failed(layer, frame, "fatal", self.now, retry=False)
            else:
                self.s.skip(layer, frame, "exists")
            self.todo[worker].pop(0)
            del self.owner[layer, frame]
        else:
            lost = self.s.worker_lost(worker, "crash", self.now)
            assert [(t.layer, t.frame) for t in lost] == [(layer, f) for f in self.todo[worker]]
            for task in lost:
                del self.owner[task.layer, task.frame]
            self.todo[worker] = []
            self.layer[worker] = None  # a restarted worker has no layer loaded

    def _stale_event(self, worker: str) -> None:
        free = [t for t in self.s.tasks if (t.layer, t.frame) not in self.owner]
        if not free:
            return
        task = self.rnd.choice(free)
        kind = self.rnd.randrange(3)
        if kind == 0:
            self.s.frame_done(task.layer, task.frame, ["late"], self.now)
        elif kind == 1:
            self.s.frame_failed(task.layer, task.frame, "late", self.now)
        else:
            self.s.frame_started(task.layer, task.frame, worker, self.now)

    def _check(
        self, before: dict[tuple[str, int], FrameState]
    ) -> dict[tuple[str, int], FrameState]:
        after = {}
        for task in self.s.tasks:
            key = (task.layer, task.frame)
            after[key] = task.state
            if task.state in SETTLED and before[key] not in SETTLED:
                self.settled[key] += 1
            if self.late_events:  # a late success may turn FAILED into DONE, nothing else
                assert before[key] not in (DONE, SKIPPED) or task.state is before[key]
                assert before[key] is not FAILED or task.state in (FAILED, DONE)
            else:
                assert before[key] not in SETTLED or task.state is before[key], "reopened"
            assert task.attempts <= self.max_attempts
        for worker in self.workers:
            held = [(t.layer, t.frame) for t in self.s.held_by(worker)]
            assert held == [(self.layer[worker], f) for f in self.todo.get(worker, [])]
        counts = Counter(after.values())
        assert self.s.pending_count == counts[PENDING]
        assert self.s.running_count == counts[RUNNING]
        return after


@settings(max_examples=300, deadline=None)
@given(
    plan=plans(),
    chunk_size=st.integers(1, 4),
    order=st.sampled_from(FrameOrder),
    max_attempts=st.integers(1, 4),
    n_workers=st.integers(1, 4),
    rnd=st.randoms(use_true_random=False),
)
def test_random_batches_settle_every_frame_exactly_once(
    plan: dict[str, list[int]],
    chunk_size: int,
    order: FrameOrder,
    max_attempts: int,
    n_workers: int,
    rnd: random.Random,
) -> None:
    s = Scheduler(plan, chunk_size=chunk_size, order=order, max_attempts=max_attempts)
    sim = _Sim(s, [f"w{i}" for i in range(n_workers)], rnd, max_attempts)
    sim.run(p_done=0.55, p_fail=0.2, p_fatal=0.05, p_skip=0.05)
    assert s.is_finished
    everything = {(t.layer, t.frame) for t in s.tasks}
    assert all(t.state in SETTLED for t in s.tasks)
    assert set(sim.settled) == everything
    assert all(n == 1 for n in sim.settled.values())
    summary = s.summary()
    assert summary.done + summary.skipped + summary.failed == len(everything)


@settings(max_examples=200, deadline=None)
@given(
    plan=plans(),
    chunk_size=st.integers(1, 5),
    n_workers=st.integers(1, 5),
    rnd=st.randoms(use_true_random=False),
)
def test_without_failures_each_layer_is_dispatched_in_its_given_order(
    plan: dict[str, list[int]], chunk_size: int, n_workers: int, rnd: random.Random
) -> None:
    s = Scheduler(plan, chunk_size=chunk_size)
    sim = _Sim(s, [f"w{i}" for i in range(n_workers)], rnd, max_attempts=1)
    sim.run(p_done=1.0, p_fail=0.0, p_fatal=0.0, p_skip=0.0)
    assert s.done_count == s.total_count
    assert sim.dispatched == {layer: frames for layer, frames in plan.items() if frames}


@settings(max_examples=100, deadline=None)
@given(
    plan=plans(),
    chunk_size=st.integers(1, 4),
    rnd=st.randoms(use_true_random=False),
)
def test_preview_first_batches_dispatch_each_frame_once_in_dispatch_order(
    plan: dict[str, list[int]], chunk_size: int, rnd: random.Random
) -> None:
    s = Scheduler(plan, chunk_size=chunk_size, order=FrameOrder.PREVIEW_FIRST)
    sim = _Sim(s, ["w0", "w1", "w2"], rnd, max_attempts=1)
    sim.run(p_done=1.0, p_fail=0.0, p_fatal=0.0, p_skip=0.0)
    expected = {
        layer: dispatch_order(frames, FrameOrder.PREVIEW_FIRST, chunk_size)
        for layer, frames in plan.items()
        if frames
    }
    assert sim.dispatched == expected


@settings(max_examples=200, deadline=None)
@given(
    plan=plans(),
    chunk_size=st.integers(1, 3),
    max_attempts=st.integers(1, 3),
    n_workers=st.integers(1, 3),
    rnd=st.randoms(use_true_random=False),
)
def test_stale_and_late_events_never_corrupt_the_batch(
    plan: dict[str, list[int]],
    chunk_size: int,
    max_attempts: int,
    n_workers: int,
    rnd: random.Random,
) -> None:
    s = Scheduler(plan, chunk_size=chunk_size, max_attempts=max_attempts)
    sim = _Sim(s, [f"w{i}" for i in range(n_workers)], rnd, max_attempts, late_events=True)
    sim.run(p_done=0.5, p_fail=0.2, p_fatal=0.05, p_skip=0.05)
    assert s.is_finished
    assert all(t.state in SETTLED for t in s.tasks)
    assert s.done_count + s.skipped_count + s.failed_count == s.total_count
