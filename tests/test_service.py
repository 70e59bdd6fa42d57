"""The local render service: its channel, who may attach, and what happens when it dies.

End-to-end tests start a real service (``python -m lrc_toolbox.service --simulate``) in the
test's own temp root and talk to it with :class:`ServiceClient`, as the dashboard and the
CLI do; every service is killed when its test ends.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Client
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sim_helpers import SHOT
from test_cli_render import wait_gone

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core.batch_lock import process_alive
from lrc_toolbox.core.batch_render_api import BatchRenderAPI
from lrc_toolbox.core.job_store import JobStore
from lrc_toolbox.records.batch import BatchPlan, BatchSummary
from lrc_toolbox.records.models import BatchState, FrameState, RenderConfig
from lrc_toolbox.records.service import (
    PROTOCOL,
    ChannelError,
    Event,
    EventBatch,
    EventName,
    Hello,
    Op,
    Refused,
    Reply,
    ServiceBatch,
    ServiceState,
    decode,
    encode,
)
from lrc_toolbox.service.channel import (
    ServiceInfo,
    ServiceLock,
    address_for,
    new_token,
    read_info,
    service_dir,
    write_info,
)
from lrc_toolbox.service.client import ServiceClient, ServiceRefused

# --------------------------------------------------------------------------- messages


def _plan() -> BatchPlan:
    return BatchPlan(
        config=RenderConfig(scene=str(SHOT), frames="1-3"),
        scene_name="shot",
        renderer="arnold",
        frames_by_layer={"BG": [1, 2, 3], "FG": [5]},
        output_dir="/out",
    )


def test_an_event_batch_survives_the_wire_with_its_plan_and_summary() -> None:
    batch = EventBatch(
        events=[
            Event(name=EventName.BATCH_STARTED, batch_id="b1", plan=_plan()),
            Event(name=EventName.FRAME_FINISHED, worker="gpu1", layer="BG", frame=2, outputs=["x"]),
            Event(
                name=EventName.BATCH_FINISHED,
                batch_id="b1",
                summary=BatchSummary(batch_id="b1", state=BatchState.DONE, done=4, total=4),
            ),
        ]
    )
    assert decode(encode(batch)) == batch


def test_a_reply_carries_the_service_state() -> None:
    state = ServiceState(pid=7, version="0.1.0", started=1.0, batches=[ServiceBatch("b", "queued")])
    reply = Reply(id=3, state=state)
    assert decode(encode(reply)) == reply


def test_keys_a_newer_peer_adds_are_ignored() -> None:
    data = b'{"type":"reply","body":{"id":1,"ok":true,"from_the_future":2}}'
    assert decode(data) == Reply(id=1)


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe",
        b"[]",
        b'{"type":"hello"}',
        b'{"type":"nope","body":{}}',
        b'{"type":"reply","body":{}}',
    ],
)
def test_a_frame_that_is_not_a_message_is_a_channel_error(data: bytes) -> None:
    with pytest.raises(ChannelError):
        decode(data)


_events = st.builds(
    Event,
    name=st.sampled_from(list(EventName)),
    batch_id=st.text(max_size=8),
    worker=st.text(max_size=8),
    layer=st.text(max_size=8),
    frame=st.integers(-(2**31), 2**31),
    percent=st.floats(0, 100),
    pid=st.integers(0, 2**22),
    device=st.text(max_size=8),
    outputs=st.lists(st.text(max_size=12), max_size=3),
    reason=st.text(max_size=20),
    retry=st.booleans(),
    state=st.text(max_size=8),
    time=st.floats(0, 2e9),
    level=st.sampled_from(["", "info", "warning", "error", "fatal"]),
    text=st.text(max_size=40),
)


@given(st.lists(_events, max_size=5))
def test_any_event_batch_comes_back_as_it_was_sent(events: list[Event]) -> None:
    batch = EventBatch(events=events)
    assert decode(encode(batch)) == batch


@pytest.mark.parametrize(
    "event",
    [
        {"name": "frame_finished", "frame": "3"},
        {"name": "frame_failed", "retry": 1},
        {"name": "frame_progress", "percent": True},
        {"name": "frame_finished", "outputs": "a.exr"},
        {"name": "frame_exploded"},
    ],
)
def test_an_event_field_of_the_wrong_type_is_a_channel_error(event: dict[str, object]) -> None:
    data = encode(EventBatch()).replace(
        b'"events":[]', b'"events":[' + json.dumps(event).encode() + b"]"
    )
    with pytest.raises(ChannelError):
        decode(data)


def test_an_event_leaves_its_unused_fields_off_the_wire() -> None:
    event = Event(name=EventName.FRAME_STARTED, batch_id="b", worker="gpu1", layer="BG", frame=4)
    assert event.to_wire() == {
        "name": "frame_started",
        "batch_id": "b",
        "worker": "gpu1",
        "layer": "BG",
        "frame": 4,
    }


def test_decode_refuses_an_unexpected_type() -> None:
    with pytest.raises(ChannelError, match="expected 'hello'"):
        decode(encode(Reply(id=1)), Hello)


# --------------------------------------------------------------------------- channel files


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_the_service_folder_and_token_are_the_users_only(tmp_path: Path) -> None:
    folder = service_dir(tmp_path)
    new_token(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((folder / "token").stat().st_mode) == 0o600


def test_a_second_lock_on_one_folder_is_refused_until_the_first_is_released(
    tmp_path: Path,
) -> None:
    first, second = ServiceLock(tmp_path), ServiceLock(tmp_path)
    assert first.acquire()
    try:
        assert not second.acquire()
    finally:
        first.release()
    assert second.acquire()
    second.release()


@pytest.mark.skipif(os.name != "posix", reason="Unix sockets")
def test_a_socket_path_too_long_for_unix_sockets_moves_to_a_short_private_one(
    tmp_path: Path,
) -> None:
    deep = tmp_path / ("x" * 60) / ("y" * 60)
    deep.mkdir(parents=True)
    address, family = address_for(deep)
    assert family == "AF_UNIX" and len(address) <= 100
    assert stat.S_IMODE(Path(address).parent.stat().st_mode) == 0o700


# --------------------------------------------------------------------------- a live service


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        simulate_gpus=4,
        temp_root=str(tmp_path / "tmp"),
        job_store_path=str(tmp_path / "jobs.sqlite"),
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
        stop_grace_seconds=1.0,
        service_idle_seconds=2.0,
    )


def _service_pid(settings: Settings) -> int | None:
    info = read_info(Path(settings.resolved_temp_root()) / "service")
    return info.pid if info is not None else None


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings of a test's own service (simulated workers), killed when the test ends."""
    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.02")
    monkeypatch.setenv("LRC_SIM_STATE_DIR", str(tmp_path / "sim-state"))
    value = _settings(tmp_path)
    yield value
    pid = _service_pid(value)
    if pid is not None and process_alive(pid):
        os.kill(pid, signal.SIGKILL)
        wait_gone([pid])


def _config(tmp_path: Path, frames: str = "1-6", folder: str = "images") -> RenderConfig:
    return RenderConfig(
        scene=str(SHOT), frames=frames, output_dir=str(tmp_path / folder), frame_timeout=60
    )


def _attach(settings: Settings, **kwargs: object) -> ServiceClient:
    client = ServiceClient.attach(settings, simulate=True, **kwargs)  # type: ignore[arg-type]
    assert client is not None
    return client


def _events_until_finished(
    client: ServiceClient, batch_id: str, timeout: float = 120.0
) -> list[Event]:
    seen: list[Event] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batch = client.events.get(timeout=max(0.1, deadline - time.monotonic()))
        assert batch is not None, "the service went away"
        seen.extend(batch.events)
        if any(e.name is EventName.BATCH_FINISHED and e.batch_id == batch_id for e in seen):
            return seen
    raise AssertionError(f"batch {batch_id} did not finish in {timeout} s")


def _finished(events: list[Event], batch_id: str) -> BatchSummary:
    summary = next(
        e.summary for e in events if e.name is EventName.BATCH_FINISHED and e.batch_id == batch_id
    )
    assert summary is not None
    return summary


def test_a_batch_renders_in_the_service_and_its_events_reach_the_client(
    settings: Settings, tmp_path: Path
) -> None:
    client = _attach(settings)
    client.request(Op.SUBSCRIBE)
    reply = client.request(Op.START, config=_config(tmp_path), timeout=120)
    assert reply.ok and not reply.queued, reply.error
    events = _events_until_finished(client, reply.batch_id)
    assert _finished(events, reply.batch_id).state is BatchState.DONE
    finished = [e for e in events if e.name is EventName.FRAME_FINISHED]
    assert len(finished) == 12  # 2 renderable layers x 6 frames


def test_the_workers_are_children_of_the_service_not_of_the_client(
    settings: Settings, tmp_path: Path
) -> None:
    import psutil

    client = _attach(settings)
    client.request(Op.SUBSCRIBE)
    reply = client.request(Op.START, config=_config(tmp_path, "1-30"), timeout=120)
    deadline = time.monotonic() + 60
    started: list[Event] = []
    while not started and time.monotonic() < deadline:
        batch = client.events.get(timeout=30)
        assert batch is not None
        started = [e for e in batch.events if e.name is EventName.WORKER_STARTED]
    assert started
    parent = psutil.Process(started[0].pid).ppid()
    assert parent == client.welcome.service_pid != os.getpid()
    client.request(Op.STOP, batch_id=reply.batch_id)


def test_two_clients_at_once_both_see_the_batch_one_of_them_started(
    settings: Settings, tmp_path: Path
) -> None:
    first, second = _attach(settings, client="one"), _attach(settings, client="two")
    for client in (first, second):
        client.request(Op.SUBSCRIBE)
    reply = first.request(Op.START, config=_config(tmp_path), timeout=120)
    for client in (first, second):
        events = _events_until_finished(client, reply.batch_id)
        assert _finished(events, reply.batch_id).done == 12
    state = second.request(Op.STATUS).state
    assert state is not None and state.clients == 2


def test_a_client_that_attaches_late_is_replayed_the_running_batch(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _attach(settings)
    first.request(Op.SUBSCRIBE)
    reply = first.request(Op.START, config=_config(tmp_path, "1-40"), timeout=120)
    done = 0
    while done < 4:  # some frames finish before the second client comes
        batch = first.events.get(timeout=60)
        assert batch is not None
        done += sum(1 for e in batch.events if e.name is EventName.FRAME_FINISHED)
    late = _attach(settings, client="late")
    late.request(Op.SUBSCRIBE)
    replay = late.events.get(timeout=30)
    assert replay is not None and replay.replay
    names = [e.name for e in replay.events]
    assert names[0] is EventName.BATCH_STARTED and replay.events[0].batch_id == reply.batch_id
    assert names.count(EventName.FRAME_FINISHED) >= 4
    first.request(Op.STOP, batch_id=reply.batch_id)


def test_a_second_batch_waits_in_the_queue_and_renders_after_the_first(
    settings: Settings, tmp_path: Path
) -> None:
    client = _attach(settings)
    client.request(Op.SUBSCRIBE)
    first = client.request(Op.START, config=_config(tmp_path, "1-8", "a"), timeout=120)
    second = client.request(Op.START, config=_config(tmp_path, "1-4", "b"), timeout=120)
    assert not first.queued and second.queued and second.ok
    events = _events_until_finished(client, second.batch_id, timeout=180)
    assert _finished(events, first.batch_id).state is BatchState.DONE
    assert _finished(events, second.batch_id).state is BatchState.DONE
    order = [e.batch_id for e in events if e.name is EventName.BATCH_STARTED]
    assert order == [first.batch_id, second.batch_id]


def test_a_bad_request_is_answered_with_its_reason_and_the_service_goes_on(
    settings: Settings, tmp_path: Path
) -> None:
    client = _attach(settings)
    bad = client.request(Op.START, config=_config(tmp_path, "10-1x"), timeout=120)
    assert not bad.ok and bad.error_kind.exit_code == 2 and "frames" in bad.error
    assert client.request(Op.STATUS).ok


def test_a_client_with_the_wrong_token_is_refused_saying_why(settings: Settings) -> None:
    _attach(settings).close()
    folder = Path(settings.resolved_temp_root()) / "service"
    (folder / "token").write_text("not-the-token\n")
    with pytest.raises(ServiceRefused, match=r"token does not match.*another user"):
        ServiceClient.attach(settings, simulate=True, start=False)


def test_a_client_of_another_protocol_is_refused_not_left_hanging(settings: Settings) -> None:
    _attach(settings).close()
    folder = Path(settings.resolved_temp_root()) / "service"
    info = read_info(folder)
    assert info is not None
    connection = Client(info.address, family=info.family)
    token = (folder / "token").read_text().strip()
    connection.send_bytes(
        encode(Hello(protocol=PROTOCOL + 1, version="9.0", token=token, simulate=True))
    )
    assert connection.poll(10)
    answer = decode(connection.recv_bytes())
    assert isinstance(answer, Refused)
    assert "lrc_toolbox 9.0" in answer.reason and "service stop" in answer.reason


def test_a_client_that_never_says_hello_does_not_block_others(settings: Settings) -> None:
    _attach(settings).close()
    info = read_info(Path(settings.resolved_temp_root()) / "service")
    assert info is not None
    silent = Client(info.address, family=info.family)
    try:
        assert _attach(settings).request(Op.STATUS).ok
    finally:
        silent.close()


def test_a_simulating_client_is_refused_by_a_real_service(settings: Settings) -> None:
    _attach(settings).close()
    with pytest.raises(ServiceRefused, match="simulated workers"):
        ServiceClient.attach(settings, simulate=False, start=False)


def test_a_dead_services_record_is_replaced_by_a_new_service(settings: Settings) -> None:
    folder = service_dir(Path(settings.resolved_temp_root()))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    address, family = address_for(folder)
    write_info(
        folder,
        ServiceInfo(pid=dead.pid, version="0.0", protocol=PROTOCOL, address=address, family=family),
    )
    client = _attach(settings)
    assert client.welcome.service_pid != dead.pid and process_alive(client.welcome.service_pid)


def test_two_clients_starting_at_once_get_one_service(settings: Settings) -> None:
    import threading

    pids: list[int] = []

    def attach() -> None:
        pids.append(_attach(settings).welcome.service_pid)

    threads = [threading.Thread(target=attach) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(pids) == 3 and len(set(pids)) == 1


def test_an_idle_service_exits_by_itself(settings: Settings) -> None:
    client = _attach(settings)
    pid = client.welcome.service_pid
    client.close()
    assert wait_gone([pid], timeout=30) == []
    assert read_info(Path(settings.resolved_temp_root()) / "service") is None


def test_a_killed_service_leaves_no_orphan_worker_and_resume_renders_the_rest(
    settings: Settings, tmp_path: Path
) -> None:
    client = _attach(settings)
    client.request(Op.SUBSCRIBE)
    reply = client.request(Op.START, config=_config(tmp_path, "1-60"), timeout=120)
    workers: set[int] = set()
    done = 0
    while done < 3:
        batch = client.events.get(timeout=60)
        assert batch is not None
        workers |= {e.pid for e in batch.events if e.name is EventName.WORKER_STARTED}
        done += sum(1 for e in batch.events if e.name is EventName.FRAME_FINISHED)
    os.kill(client.welcome.service_pid, signal.SIGKILL)
    assert wait_gone(sorted(workers), timeout=15) == []
    api = BatchRenderAPI(settings, simulate=True)
    try:
        from Qt import QtCore

        app = QtCore.QCoreApplication.instance() or QtCore.QCoreApplication([])
        ended: list[BatchSummary] = []
        api.batch_finished.connect(ended.append)
        api.resume(reply.batch_id)
        deadline = time.monotonic() + 180
        while not ended and time.monotonic() < deadline:
            app.processEvents(QtCore.QEventLoop.AllEvents, 50)
            time.sleep(0.01)
        assert ended and ended[0].state is BatchState.DONE
    finally:
        api.shutdown()
    with JobStore(settings.job_store_path) as store:
        states = {f.state for f in store.frames(reply.batch_id)}
    assert states == {FrameState.DONE}


def test_sigterm_stops_the_batch_resumable_and_the_service_exits(
    settings: Settings, tmp_path: Path
) -> None:
    client = _attach(settings)
    client.request(Op.SUBSCRIBE)
    reply = client.request(Op.START, config=_config(tmp_path, "1-60"), timeout=120)
    pid = client.welcome.service_pid
    batch = client.events.get(timeout=60)
    assert batch is not None
    os.kill(pid, signal.SIGTERM)
    events = _events_until_finished(client, reply.batch_id, timeout=60)
    summary = _finished(events, reply.batch_id)
    assert summary.state.resumable and summary.state is not BatchState.DONE
    assert wait_gone([pid], timeout=30) == []


def test_a_waiting_batch_can_be_stopped_before_it_starts(
    settings: Settings, tmp_path: Path
) -> None:
    client = _attach(settings)
    client.request(Op.SUBSCRIBE)
    first = client.request(Op.START, config=_config(tmp_path, "1-30", "a"), timeout=120)
    second = client.request(Op.START, config=_config(tmp_path, "1-4", "b"), timeout=120)
    assert client.request(Op.STOP, batch_id=second.batch_id).ok
    with JobStore(settings.job_store_path) as store:
        assert store.get_batch(second.batch_id).state is BatchState.CANCELLED
    state = client.request(Op.STATUS).state
    assert state is not None and [b.status for b in state.batches] == ["running"]
    client.request(Op.STOP, batch_id=first.batch_id)


def test_a_client_that_attaches_after_the_batch_is_replayed_how_it_ended(
    settings: Settings, tmp_path: Path
) -> None:
    first = _attach(settings)
    first.request(Op.SUBSCRIBE)
    reply = first.request(Op.START, config=_config(tmp_path, "1-2"), timeout=120)
    _events_until_finished(first, reply.batch_id)
    late = _attach(settings, client="late")
    late.request(Op.SUBSCRIBE)
    replay = late.events.get(timeout=30)
    assert replay is not None and replay.replay
    assert [e.name for e in replay.events] == [EventName.BATCH_STARTED, EventName.BATCH_FINISHED]
    assert _finished(replay.events, reply.batch_id).done == 4


def test_a_resume_of_the_batch_rendering_in_the_service_is_refused(
    settings: Settings, tmp_path: Path
) -> None:
    client = _attach(settings)
    client.request(Op.SUBSCRIBE)
    first = client.request(Op.START, config=_config(tmp_path, "1-30"), timeout=120)
    again = client.request(Op.RESUME, batch_id=first.batch_id, timeout=120)
    assert not again.ok and "already rendering" in again.error
    assert again.error_kind.exit_code == 2
    client.request(Op.STOP, batch_id=first.batch_id)


def test_a_resume_of_an_unknown_batch_is_a_bad_request(settings: Settings) -> None:
    reply = _attach(settings).request(Op.RESUME, batch_id="nope", timeout=60)
    assert not reply.ok and reply.error_kind.exit_code == 2 and "nope" in reply.error


def test_a_client_sees_the_batch_finish_when_the_service_stops_it_and_exits(
    settings: Settings, tmp_path: Path
) -> None:
    """The service's exit sends what it queued (batch_finished) before hanging up."""
    client = _attach(settings)
    client.request(Op.SUBSCRIBE)
    reply = client.request(Op.START, config=_config(tmp_path, "1-60"), timeout=120)
    assert client.events.get(timeout=60) is not None
    client.request(Op.SHUTDOWN, kill=True)
    events = _events_until_finished(client, reply.batch_id, timeout=60)
    assert _finished(events, reply.batch_id).state.resumable


def test_a_batch_still_waiting_when_the_service_dies_ends_interrupted_for_its_client(
    qtbot: object, tmp_path: Path
) -> None:
    import types

    from lrc_toolbox.core.service_api import ServiceBatchAPI

    api = ServiceBatchAPI(_settings(tmp_path), simulate=True, attach=False, follow="own")
    ended: list[BatchSummary] = []
    api.batch_finished.connect(ended.append)
    api._took(Reply(id=1, batch_id="20261205-1200-abcdef", queued=True))
    gone: queue.Queue[EventBatch | None] = queue.Queue()
    gone.put(None)
    api._client = types.SimpleNamespace(events=gone)  # type: ignore[assignment]
    api._deliver()
    assert [(s.batch_id, s.state, s.exit_code) for s in ended] == [
        ("20261205-1200-abcdef", BatchState.INTERRUPTED, 3)
    ]
    assert "resume 20261205-1200-abcdef" in (ended[0].error or "")


def test_renderer_lines_cross_only_for_the_worker_a_client_asks_for(
    settings: Settings, tmp_path: Path
) -> None:
    """By default no renderer (info) line reaches a client; asking for one worker's lines
    brings that worker's and no other's."""
    quiet, curious = _attach(settings, client="quiet"), _attach(settings, client="curious")
    quiet.request(Op.SUBSCRIBE)
    curious.request(Op.SUBSCRIBE, log_workers=["gpu2"])
    reply = quiet.request(Op.START, config=_config(tmp_path, "1-8"), timeout=120)
    by_client = {
        name: [
            e
            for e in _events_until_finished(client, reply.batch_id)
            if e.name is EventName.LOG and e.level in ("info", "debug")
        ]
        for name, client in (("quiet", quiet), ("curious", curious))
    }
    assert by_client["quiet"] == []
    assert by_client["curious"] and {e.worker for e in by_client["curious"]} == {"gpu2"}


def test_a_client_changes_the_workers_whose_lines_it_gets_without_a_replay(
    settings: Settings,
) -> None:
    client = _attach(settings)
    client.request(Op.SUBSCRIBE)
    assert client.events.get(timeout=30) is not None  # the replay
    assert client.request(Op.LOGS, log_workers=["gpu1"]).ok
    with pytest.raises(queue.Empty):  # nothing replayed again
        client.events.get(timeout=1)
