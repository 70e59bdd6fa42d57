"""A damaged job store: checked at open, moved aside (never deleted), a fresh store started
and the user told once where the old file went; exit 3 where a store is needed and cannot
be made; ``history`` and ``status`` never print a traceback."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_cli_render import CLI, cli_env, events, render_args

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.core.batch_render_api import BatchRenderAPI, EnvironmentProblem
from lrc_toolbox.core.job_store import (
    CorruptJobStoreError,
    JobStore,
    JobStoreError,
    SchemaVersionError,
)
from lrc_toolbox.records.batch import BatchPlan, ExitCode
from lrc_toolbox.records.models import RenderConfig

DAMAGES = ("header", "garbage", "data_page", "empty")


def _real_store(path: Path, batches: int = 12, frames: int = 150) -> list[str]:
    """A store with enough rows to span many pages, closed (WAL checkpointed)."""
    ids = []
    with JobStore(path) as store:
        for _ in range(batches):
            batch_id = store.create_batch(
                RenderConfig(scene="/shots/sh010.ma"),
                {"BG": list(range(1, frames + 1))},
                scene="/shots/sh010.ma",
                snapshot=None,
            )
            for frame in range(1, frames // 2):
                store.frame_done(batch_id, "BG", frame, outputs=[f"/out/BG.{frame:04d}.exr"])
            ids.append(batch_id)
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return ids


def _sqlite_says_damaged(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return conn.execute("PRAGMA quick_check").fetchone()[0] != "ok"
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return True


def _damage(path: Path, kind: str) -> None:
    """Damage a real store the way disks, sync tools and crashes do."""
    rng = random.Random(7)
    data = bytearray(path.read_bytes())
    if kind == "header":
        data[0:16] = b"NOT A DB HEADER\0"
    elif kind == "garbage":
        data = bytearray(rng.randbytes(len(data)))
    elif kind == "data_page":
        page = int.from_bytes(data[16:18], "big") or 65536
        middle = len(data) // page // 2
        data[middle * page : (middle + 1) * page] = rng.randbytes(page)
    elif kind == "empty":
        data = bytearray()
    path.write_bytes(bytes(data))
    if kind != "empty":
        assert _sqlite_says_damaged(path), f"{kind}: SQLite itself should see the damage"


@pytest.fixture
def damaged_store(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, bytes]:
    path = tmp_path / "jobs.sqlite"
    _real_store(path)
    _damage(path, request.param)
    return path, path.read_bytes()


def _damaged_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if ".damaged-" in p.name)


# --------------------------------------------------------------------------- the store


@pytest.mark.parametrize("damaged_store", DAMAGES, indirect=True)
def test_a_damaged_store_is_moved_aside_byte_for_byte_and_a_fresh_one_started(
    damaged_store: tuple[Path, bytes],
) -> None:
    path, original = damaged_store
    with JobStore(path, recover=True) as store:
        assert store.recovered is not None
        moved = Path(store.recovered.moved_to)
        assert moved.read_bytes() == original  # kept exactly: nothing deleted or rewritten
        assert moved.name.startswith("jobs.sqlite.damaged-")
        assert store.list_batches() == []  # a fresh store, and a usable one
        store.create_batch(RenderConfig(scene="/s.ma"), {"BG": [1]}, scene="/s.ma", snapshot=None)
        assert len(store.list_batches()) == 1


@pytest.mark.parametrize("damaged_store", DAMAGES, indirect=True)
def test_the_recovery_message_names_the_damage_and_where_the_old_file_went(
    damaged_store: tuple[Path, bytes],
) -> None:
    path, _ = damaged_store
    with JobStore(path, recover=True) as store:
        assert store.recovered is not None
        message = store.recovered.message()
    assert str(path) in message and store.recovered.moved_to in message
    assert "damaged" in message and "never deleted" in message


@pytest.mark.parametrize("damaged_store", DAMAGES, indirect=True)
def test_without_recover_a_damaged_store_raises_and_stays_as_it_was(
    damaged_store: tuple[Path, bytes],
) -> None:
    path, original = damaged_store
    with pytest.raises(CorruptJobStoreError, match="damaged") as info:
        JobStore(path)
    assert str(path) in str(info.value)
    assert path.read_bytes() == original
    assert _damaged_files(path.parent) == []


def test_a_zero_length_store_is_reported_not_silently_emptied(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    path.write_bytes(b"")
    with JobStore(path, recover=True) as store:
        assert store.recovered is not None
        assert "empty" in store.recovered.reason


def test_the_wal_and_shm_files_move_with_the_damaged_file(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    path.write_bytes(b"garbage" * 1000)
    Path(f"{path}-wal").write_bytes(b"wal frames")
    Path(f"{path}-shm").write_bytes(b"shm index")
    with JobStore(path, recover=True) as store:
        assert store.recovered is not None
        moved = store.recovered.moved_to
    assert Path(f"{moved}-wal").read_bytes() == b"wal frames"
    assert Path(f"{moved}-shm").read_bytes() == b"shm index"


def test_a_second_damage_in_the_same_second_gets_its_own_name(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    moved = []
    for content in (b"first damaged file", b"second damaged file"):
        path.write_bytes(content * 100)
        with JobStore(path, recover=True) as store:
            assert store.recovered is not None
            moved.append(Path(store.recovered.moved_to))
    assert moved[0] != moved[1]
    assert [p.read_bytes()[:6] for p in moved] == [b"first ", b"second"]


def test_a_healthy_store_is_never_moved(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    ids = _real_store(path)
    with JobStore(path, recover=True) as store:
        assert store.recovered is None
        assert len(store.list_batches(limit=100)) == len(ids)
    assert _damaged_files(tmp_path) == []


def test_another_programs_database_is_never_moved_even_with_recover(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE contacts (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(SchemaVersionError):
        JobStore(path, recover=True)
    assert path.exists() and _damaged_files(tmp_path) == []


def test_a_new_store_never_exists_half_made(tmp_path: Path) -> None:
    """A fresh store is built aside and linked into place: no zero-length file that another
    process could take for damage, and nothing left beside it."""
    path = tmp_path / "jobs.sqlite"
    with JobStore(path):
        pass
    assert path.stat().st_size > 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs.sqlite"]


_OPEN_AT_ONCE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from lrc_toolbox.core.job_store import JobStore
    from lrc_toolbox.records.models import RenderConfig
    path, go = Path(sys.argv[1]), Path(sys.argv[2])
    while not go.exists():
        time.sleep(0.001)
    with JobStore(path, recover=True) as store:
        store.create_batch(RenderConfig(scene="/s.ma"), {"BG": [1]}, scene="/s.ma",
                           snapshot=None)
        print("moved" if store.recovered else "opened")
    """
)


def _open_at_once(path: Path, count: int) -> list[subprocess.CompletedProcess[str]]:
    go = path.parent / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _OPEN_AT_ONCE, str(path), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    go.write_text("go")
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        results.append(subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return results


def test_processes_creating_a_new_store_at_once_all_use_one_store(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    results = _open_at_once(path, 4)
    assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
    assert _damaged_files(tmp_path) == []  # nobody took another's new store for damage
    with JobStore(path) as store:
        assert len(store.list_batches()) == 4


def test_processes_opening_a_damaged_store_at_once_move_it_aside_once(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    path.write_bytes(b"garbage" * 1000)
    results = _open_at_once(path, 4)
    assert [r.returncode for r in results] == [0] * 4, [r.stderr for r in results]
    assert len(_damaged_files(tmp_path)) == 1
    assert sorted(r.stdout.strip() for r in results).count("moved") == 1
    with JobStore(path) as store:
        assert len(store.list_batches()) == 4  # all four wrote into the one fresh store


# --------------------------------------------------------------------------- read-only


@contextlib.contextmanager
def _read_only_folder(base: Path, files: dict[str, bytes]) -> Iterator[Path]:
    """A folder holding ``files`` that nothing may write to: by permissions for a normal
    user; for root (whom permissions do not stop) a small tmpfs remounted read-only."""
    folder = base / "read-only"
    folder.mkdir()
    if os.name == "posix" and os.geteuid() != 0:
        for name, data in files.items():
            (folder / name).write_bytes(data)
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)
        return
    mount = shutil.which("mount")
    if os.name != "posix" or mount is None:
        pytest.skip("cannot make a read-only folder here (root without mount)")
    made = subprocess.run(
        [mount, "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {made.stderr.decode(errors='replace')}")
    try:
        for name, data in files.items():
            (folder / name).write_bytes(data)
        subprocess.run([mount, "-o", "remount,ro", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _run_cli(tmp_path: Path, store: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(tmp_path, LRC_JOB_STORE_PATH=str(store))
    return subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=180, check=False
    )


def test_render_with_a_store_in_a_read_only_folder_exits_3_and_says_so(tmp_path: Path) -> None:
    with _read_only_folder(tmp_path, {}) as folder:
        store = folder / "jobs.sqlite"
        env = cli_env(tmp_path, LRC_JOB_STORE_PATH=str(store))
        result = subprocess.run(
            render_args(tmp_path, "1-2"), env=env, capture_output=True, text=True, timeout=180
        )
    assert result.returncode == ExitCode.ENVIRONMENT
    assert "Traceback" not in result.stderr
    (error,) = events(result.stdout)
    assert error["event"] == "error" and str(store) in error["message"]
    assert "writable" in error["message"]
    assert not (tmp_path / "images" / "ready.json").exists()  # nothing was started


def test_a_damaged_store_in_a_read_only_folder_exits_3_and_stays_where_it_is(
    tmp_path: Path,
) -> None:
    garbage = b"garbage" * 1000
    with _read_only_folder(tmp_path, {"jobs.sqlite": garbage}) as folder:
        store = folder / "jobs.sqlite"
        result = _run_cli(tmp_path, store, "history")
        assert store.read_bytes() == garbage
    assert result.returncode == ExitCode.ENVIRONMENT
    assert "Traceback" not in result.stderr
    assert "could not be moved aside" in result.stderr and str(store) in result.stderr


@pytest.mark.parametrize("command", ["history", "status"])
def test_history_and_status_on_a_read_only_store_exit_3_without_a_traceback(
    tmp_path: Path, command: str
) -> None:
    healthy = tmp_path / "made.sqlite"
    _real_store(healthy, batches=2, frames=5)
    with _read_only_folder(tmp_path, {"jobs.sqlite": healthy.read_bytes()}) as folder:
        result = _run_cli(tmp_path, folder / "jobs.sqlite", command)
    assert result.returncode == ExitCode.ENVIRONMENT
    assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def _settings(tmp_path: Path, store: Path) -> Settings:
    return Settings(
        job_store_path=str(store),
        temp_root=str(tmp_path / "tmp"),
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
        simulate_gpus=4,
    )


def test_the_api_turns_a_store_that_cannot_be_made_into_exit_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no read-only folder can be made, a store whose creation fails the same way."""
    real_connect = sqlite3.connect

    def read_only(database: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if str(tmp_path / "ro") in str(database):
            raise sqlite3.OperationalError("unable to open database file")
        return real_connect(database, *args, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    (tmp_path / "ro").mkdir()
    api = BatchRenderAPI(_settings(tmp_path, tmp_path / "ro" / "jobs.sqlite"), simulate=True)
    from sim_helpers import SHOT

    with pytest.raises(EnvironmentProblem, match="Cannot create the job database") as info:
        api.start_batch_render(RenderConfig(scene=str(SHOT), output_dir=str(tmp_path / "out")))
    assert info.value.exit_code == ExitCode.ENVIRONMENT
    assert list((tmp_path / "ro").iterdir()) == []


def test_a_damaged_store_that_cannot_be_moved_is_left_and_explained(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "jobs.sqlite"
    path.write_bytes(b"garbage" * 1000)

    def refuse(*args: Any) -> None:
        raise PermissionError(30, "Read-only file system")

    monkeypatch.setattr(os, "rename", refuse)
    with pytest.raises(JobStoreError, match="could not be moved aside") as info:
        JobStore(path, recover=True)
    assert "Read-only file system" in str(info.value)
    assert path.read_bytes() == b"garbage" * 1000


# --------------------------------------------------------------------------- commands


@pytest.mark.parametrize("command", ["history", "status"])
@pytest.mark.parametrize("damaged_store", DAMAGES, indirect=True)
def test_history_and_status_on_a_damaged_store_say_where_it_went_and_never_traceback(
    tmp_path: Path, damaged_store: tuple[Path, bytes], command: str
) -> None:
    path, _ = damaged_store
    result = _run_cli(tmp_path, path, command)
    assert result.returncode == ExitCode.OK, result.stderr
    assert "Traceback" not in result.stderr
    (moved,) = _damaged_files(path.parent)
    assert result.stderr.count("moved aside") == 1 and str(moved) in result.stderr
    assert "no batches yet" in result.stdout


def test_the_next_command_after_a_recovery_says_nothing_more(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    path.write_bytes(b"")
    first = _run_cli(tmp_path, path, "history")
    second = _run_cli(tmp_path, path, "history")
    assert "moved aside" in first.stderr
    assert second.stderr == "" and second.returncode == ExitCode.OK


@pytest.mark.parametrize("damaged_store", ["header", "data_page"], indirect=True)
def test_render_on_a_damaged_store_renders_and_says_so_once(
    tmp_path: Path, damaged_store: tuple[Path, bytes]
) -> None:
    path, _ = damaged_store
    env = cli_env(tmp_path, LRC_JOB_STORE_PATH=str(path))
    result = subprocess.run(
        render_args(tmp_path, "1-2"), env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == ExitCode.OK, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.count("moved aside") == 1
    stream = events(result.stdout)
    notes = [e for e in stream if e["event"] == "log" and "moved aside" in e["text"]]
    assert len(notes) == 1 and notes[0]["level"] == "warning"
    assert stream[-1]["event"] == "batch_finished" and stream[-1]["summary"]["done"] == 4
    with JobStore(path) as store:
        assert len(store.list_batches()) == 1


def test_resume_on_a_damaged_store_says_the_batch_is_gone_and_why(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite"
    (batch_id, *_) = _real_store(path, batches=1, frames=5)
    _damage(path, "header")
    result = _run_cli(tmp_path, path, "resume", batch_id, "--simulate")
    assert result.returncode == ExitCode.BAD_INPUT
    assert "Traceback" not in result.stderr
    assert "moved aside" in result.stderr and f"no batch {batch_id!r}" in result.stderr


def test_the_api_tells_a_recovery_once_in_the_next_plan(
    tmp_path: Path, qtbot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sim_helpers import SHOT

    for key, value in cli_env(tmp_path).items():
        if key.startswith("LRC_SIM"):
            monkeypatch.setenv(key, value)
    path = tmp_path / "jobs.sqlite"
    path.write_bytes(b"garbage" * 1000)
    api = BatchRenderAPI(_settings(tmp_path, path), simulate=True)
    plans: list[BatchPlan] = []
    api.batch_started.connect(lambda _id, plan: plans.append(plan))
    for number in (1, 2):
        config = RenderConfig(
            scene=str(SHOT), layers=["BG"], frames="1", output_dir=str(tmp_path / f"o{number}")
        )
        with qtbot.waitSignal(api.batch_finished, timeout=120_000):
            api.start_batch_render(config)
    api.shutdown()
    first, second = (sum("moved aside" in w for w in p.warnings) for p in plans)
    assert (first, second) == (1, 0)
