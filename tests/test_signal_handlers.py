"""POSIX signals are acted on from the Qt event loop, never from wherever Python was.

Python runs a signal handler between any two bytecodes of the main thread. A SIGTERM that
arrived while the CLI's engine was inside a job-store transaction stopped the batch from
there: the store's nested ``BEGIN`` failed, the batch never ended and the command hung
(CI, py3.10 leg, ``test_sigterm_leaves_ready_json_with_the_batch_state``).
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from lrc_toolbox.core.job_store import JobStore, JobStoreError
from lrc_toolbox.core.qt_compat import in_event_loop
from lrc_toolbox.service.server import RenderService, install_stop_signals

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    with JobStore(tmp_path / "jobs.sqlite") as opened:
        yield opened


@pytest.fixture
def restore_signals() -> Iterator[None]:
    saved = {n: signal.getsignal(n) for n in (signal.SIGUSR1, signal.SIGTERM, signal.SIGINT)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def _raise_in_this_thread(number: int) -> None:
    os.kill(os.getpid(), number)
    for _ in range(3):  # Python runs the handler at the next bytecodes
        pass


def test_a_store_call_from_inside_one_of_its_transactions_fails(store: JobStore) -> None:
    # why handlers must not act where they land: the store is re-entrant per thread
    with store._transaction(write=False), pytest.raises(JobStoreError, match="transaction"):
        store.list_batches()


def test_a_deferred_handler_waits_for_the_event_loop(
    qtbot: Any, store: JobStore, restore_signals: None
) -> None:
    seen: list[object] = []
    signal.signal(
        signal.SIGUSR1, in_event_loop(lambda number: seen.append(len(store.list_batches())))
    )
    with store._transaction(write=False):
        _raise_in_this_thread(signal.SIGUSR1)
        assert seen == []
    qtbot.waitUntil(lambda: seen == [0], timeout=5000)


def test_the_handler_is_given_the_signal_number(qtbot: Any, restore_signals: None) -> None:
    seen: list[int] = []
    signal.signal(signal.SIGUSR1, in_event_loop(seen.append))
    _raise_in_this_thread(signal.SIGUSR1)
    qtbot.waitUntil(lambda: seen == [int(signal.SIGUSR1)], timeout=5000)


class _Service:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    def stop_batches(self, reason: str) -> None:
        self.reasons.append(reason)


def test_the_render_service_stops_its_batches_from_the_event_loop_on_sigterm(
    qtbot: Any, restore_signals: None
) -> None:
    service = _Service()
    install_stop_signals(cast(RenderService, service))
    _raise_in_this_thread(signal.SIGTERM)
    assert service.reasons == []
    qtbot.waitUntil(lambda: len(service.reasons) == 1, timeout=5000)
    assert f"signal {int(signal.SIGTERM)}" in service.reasons[0]
