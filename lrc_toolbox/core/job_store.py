"""The job store: one SQLite database per user holding every batch, frame and worker.

The manager writes here *before* it tells the UI or CLI anything, so after a crash (or a
SIGKILL) of the manager this file is the truth and ``resume`` starts from it. Hence:

- Every write is one short transaction that has committed when the method returns.
  ``BEGIN IMMEDIATE`` takes the write lock up front, so two writers wait for each other
  (``busy_timeout``) instead of failing on a lock upgrade.
- WAL journal with ``synchronous=NORMAL``: readers (``lrc-batch-render history``) never block
  the running batch, commits need no fsync, and a killed *process* loses nothing that was
  committed (only a power cut may lose the last few commits).
- The file is never deleted or rebuilt behind the user's back. Its integrity is checked at
  every open (the header, ``PRAGMA quick_check``, a zero-length file): a damaged file gets a
  clear error naming it, or, opened with ``recover=True`` (the CLI and the API do), is MOVED
  aside to ``<name>.damaged-<timestamp>`` (with its -wal/-shm files) and a fresh store is
  started; :attr:`JobStore.recovered` says where the old file went, for the user. A file of
  another program, or one written by a newer lrc_toolbox, is never moved: it gets an error.
- A new store appears complete or not at all (built under a temporary name, then linked into
  place), so a zero-length file is always damage, never another process's half-made store.
- One live manager per batch and one running batch per output folder: the owner
  (:class:`~lrc_toolbox.core.batch_lock.ManagerIdentity`) is taken and checked inside one
  write transaction (:meth:`JobStore.claim_batch`, :meth:`JobStore.create_batch`).

SQLite over a network share is not safe with WAL; keep the database on a local disk
(``job_store_path``) when ``MAYA_APP_DIR`` lives on a server.

Standard library only: no Qt, no Maya.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from lrc_toolbox.config.batch_render_defaults import Settings, load_settings, prefs_dir
from lrc_toolbox.core.batch_lock import (
    BatchOwnedError,
    ManagerIdentity,
    OutputFolderBusyError,
    owner_alive,
    process_alive,
)
from lrc_toolbox.records.batch import BatchSummary, FrameOutcome, FrameProvenance, LayerCounts
from lrc_toolbox.records.models import BatchState, FrameState, RenderConfig, WorkerState
from lrc_toolbox.utils.processes import pid_alive

__all__ = [
    "DB_FILE_NAME",
    "FINISHED_BATCH_STATES",
    "MIN_PREFIX_LENGTH",
    "SCHEMA_VERSION",
    "BatchNotFoundError",
    "BatchRecord",
    "ClaimResult",
    "CorruptJobStoreError",
    "FrameChange",
    "JobStore",
    "JobStoreError",
    "SchemaVersionError",
    "StoreRecovery",
    "WorkerRecord",
    "default_job_store_path",
    "output_folder_key",
    "pid_alive",
]

DB_FILE_NAME = "batch_render_jobs.sqlite"
SCHEMA_VERSION = 3
#: shortest batch id prefix accepted (as with git, shorter ones match too much).
MIN_PREFIX_LENGTH = 4
BUSY_TIMEOUT_S = 15.0

#: batches that will not change again; only these are ever pruned.
FINISHED_BATCH_STATES = frozenset({BatchState.DONE, BatchState.FAILED, BatchState.CANCELLED})
#: batches a live manager should own; a dead owner turns them INTERRUPTED.
_OWNED_BATCH_STATES = (BatchState.PENDING, BatchState.RUNNING)
#: frames that resume does not render again.
_COMPLETE_FRAME_STATES = (FrameState.DONE, FrameState.SKIPPED)

_SCHEMA = (
    """
    CREATE TABLE batches (
        id TEXT PRIMARY KEY,
        created REAL NOT NULL,
        updated REAL NOT NULL,
        state TEXT NOT NULL,
        scene TEXT NOT NULL,
        snapshot TEXT,
        config_json TEXT NOT NULL,
        manager_pid INTEGER,
        manager_host TEXT,
        summary_json TEXT,
        error TEXT,
        manager_started REAL,
        manager_since REAL,
        manager_command TEXT,
        output_dir TEXT
    )
    """,
    "CREATE INDEX batches_by_created ON batches (created)",
    "CREATE INDEX batches_by_state ON batches (state)",
    "CREATE INDEX batches_by_output_dir ON batches (output_dir)",
    """
    CREATE TABLE frames (
        batch_id TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        layer TEXT NOT NULL,
        frame INTEGER NOT NULL,
        ord INTEGER NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        worker TEXT,
        device TEXT,
        started REAL,
        ended REAL,
        outputs_json TEXT NOT NULL DEFAULT '[]',
        error TEXT,
        provenance_json TEXT,
        PRIMARY KEY (batch_id, layer, frame)
    ) WITHOUT ROWID
    """,
    "CREATE UNIQUE INDEX frames_by_plan_order ON frames (batch_id, ord)",
    """
    CREATE TABLE workers (
        batch_id TEXT NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
        worker_id TEXT NOT NULL,
        pid INTEGER,
        device TEXT,
        state TEXT NOT NULL,
        started REAL,
        ended REAL,
        exit_code INTEGER,
        reason TEXT,
        log_path TEXT,
        PRIMARY KEY (batch_id, worker_id)
    ) WITHOUT ROWID
    """,
)


#: _MIGRATIONS[v] takes a schema-v file to v + 1 (v1 -> v2: each DONE frame's provenance;
#: v2 -> v3: the owner's start time, since when, its command, and the output folder)
_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (),  # v0 is a new file: _SCHEMA creates the latest schema at once
    ("ALTER TABLE frames ADD COLUMN provenance_json TEXT",),
    (
        "ALTER TABLE batches ADD COLUMN manager_started REAL",
        "ALTER TABLE batches ADD COLUMN manager_since REAL",
        "ALTER TABLE batches ADD COLUMN manager_command TEXT",
        "ALTER TABLE batches ADD COLUMN output_dir TEXT",
        "CREATE INDEX batches_by_output_dir ON batches (output_dir)",
    ),
)
assert len(_MIGRATIONS) == SCHEMA_VERSION

#: what each frame event writes (the values follow in the same order)
_SET_STARTED = (
    "state = ?, attempts = attempts + 1, worker = ?, device = ?, started = ?,"
    " ended = NULL, error = NULL"
)
_SET_DONE = "state = ?, ended = ?, outputs_json = ?, error = NULL, provenance_json = ?"
_SET_FAILED = "state = ?, ended = ?, error = ?"
_SET_SKIPPED = "state = ?, error = ?, outputs_json = ?"


# --------------------------------------------------------------------------- errors


class JobStoreError(RuntimeError):
    """The database cannot be used; the message names the file and what to do."""


class CorruptJobStoreError(JobStoreError):
    """The file is damaged or not a SQLite database. It is left exactly as it was (opened
    with ``recover=True``, the store moves it aside instead of raising this).

    ``reason`` is what is wrong, in a few words (``file is not a database``)."""

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message


class SchemaVersionError(JobStoreError):
    """The file was written by a newer lrc_toolbox (or is another program's database)."""


class BatchNotFoundError(KeyError):
    """No batch, or more than one, matches the id or prefix the user gave."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return self.message


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class WorkerRecord:
    """One worker process of a batch; ``ended`` None means it may still be running."""

    batch_id: str
    worker_id: str
    state: WorkerState
    pid: int | None = None
    device: str | None = None
    started: float | None = None
    ended: float | None = None
    exit_code: int | None = None
    reason: str | None = None
    log_path: str | None = None


@dataclass(frozen=True)
class BatchRecord:
    """A batch as stored, with how many of its frames are in each state."""

    id: str
    created: float
    updated: float
    state: BatchState
    scene: str
    snapshot: str | None
    config: RenderConfig
    #: the manager that last took the batch: it owns it while the state is PENDING or
    #: RUNNING and it is alive (:func:`~lrc_toolbox.core.batch_lock.owner_alive`)
    manager: ManagerIdentity | None
    summary: BatchSummary | None
    error: str | None
    counts: LayerCounts
    #: the output folder as the ownership check compares it (:func:`output_folder_key`)
    output_dir: str | None = None

    @property
    def total(self) -> int:
        return self.counts.total

    @property
    def manager_pid(self) -> int | None:
        return None if self.manager is None else self.manager.pid

    @property
    def manager_host(self) -> str | None:
        return None if self.manager is None else self.manager.host


@dataclass(frozen=True)
class ClaimResult:
    """What :meth:`JobStore.claim_batch` found and did."""

    batch_id: str
    owner: ManagerIdentity
    previous_state: BatchState
    previous_error: str | None
    previous_owner: ManagerIdentity | None
    #: the previous manager stopped without finishing (its state was left INTERRUPTED,
    #: PENDING or RUNNING): the claim took the batch over from it
    took_over: bool

    def note(self) -> str | None:
        """The line that tells the user about a take-over, or None."""
        if not self.took_over:
            return None
        if (
            self.previous_state is BatchState.PENDING
            and self.previous_owner is not None
            and self.previous_owner.same_process(self.owner)
        ):
            return None  # its own queued batch (the render service starting it)
        who = self.previous_owner.describe() if self.previous_owner else "an unknown manager"
        return (
            f"batch {self.batch_id} was left unfinished by its previous manager ({who}), "
            f"which has stopped managing it; pid {self.owner.pid} took it over"
        )


@dataclass(frozen=True)
class StoreRecovery:
    """A damaged job database that was moved aside when the store was opened."""

    path: str
    moved_to: str
    reason: str
    when: float

    def message(self) -> str:
        """What to tell the user, once."""
        return (
            f"the job database {self.path} was damaged ({self.reason}); it was moved aside "
            f"to {self.moved_to} (kept, never deleted: it may still hold history worth "
            "recovering) and a new, empty job database was started. Batches recorded before "
            "are not in `history` any more and cannot be resumed by id; to finish one, "
            "render it again with --skip-existing (frames already on disk are kept)."
        )


class FrameChange(NamedTuple):
    """One entry of :meth:`JobStore.update_frames` (``error`` replaces the stored one)."""

    layer: str
    frame: int
    state: FrameState
    error: str | None = None

    @classmethod
    def of(cls, outcome: FrameOutcome) -> FrameChange:
        """The change that stores a frame's current state and reason."""
        return cls(outcome.layer, outcome.frame, outcome.state, outcome.error)


# --------------------------------------------------------------------------- helpers


def default_job_store_path(settings: Settings | None = None) -> Path:
    """``settings.job_store_path`` if set, else ``<prefs dir>/batch_render_jobs.sqlite``.

    ``settings`` defaults to the user's loaded settings (preferences file + ``LRC_*``).
    """
    if settings is None:
        settings = load_settings().settings
    if settings.job_store_path:
        return Path(settings.job_store_path).expanduser()
    return prefs_dir() / DB_FILE_NAME


def output_folder_key(folder: str | os.PathLike[str]) -> str:
    """One spelling per output folder (absolute, links resolved, case as the OS compares),
    so two batches writing into one folder are found whatever path each was given."""
    return os.path.normcase(os.path.realpath(os.path.expanduser(os.fspath(folder))))


def _identity(
    pid: int | None,
    host: str | None,
    started: float | None,
    since: float | None,
    command: str | None,
) -> ManagerIdentity | None:
    if pid is None or not host:
        return None
    return ManagerIdentity(
        pid=int(pid), host=str(host), started=started, since=since, command=command
    )


def _new_batch_id(now: float) -> str:
    """Local date and minute (what the artist remembers) plus 6 random hex digits."""
    return time.strftime("%Y%m%d-%H%M", time.localtime(now)) + "-" + secrets.token_hex(3)


def _check_plan(plan: Mapping[str, Sequence[int]]) -> list[tuple[str, int]]:
    rows: list[tuple[str, int]] = []
    for layer, frames in plan.items():
        if not isinstance(layer, str) or not layer:
            raise ValueError(f"plan: layer names must be non-empty strings, got {layer!r}")
        if isinstance(frames, (str, bytes)):
            raise ValueError(f"plan[{layer!r}]: expected a list of frame numbers, got a string")
        seen: set[int] = set()
        for frame in frames:
            if isinstance(frame, bool) or not isinstance(frame, int):
                raise ValueError(f"plan[{layer!r}]: frame numbers must be integers, got {frame!r}")
            if frame in seen:
                raise ValueError(f"plan[{layer!r}]: frame {frame} is listed twice")
            seen.add(frame)
            rows.append((layer, frame))
    if not rows:
        raise ValueError("plan: no frames to render")
    return rows


#: the first 16 bytes of every SQLite 3 database
_SQLITE_MAGIC = b"SQLite format 3\x00"


def _has_content(path: Path) -> bool:
    try:
        return path.stat().st_size > 0
    except OSError:
        return False


def _config_from_json(text: str) -> RenderConfig:
    """Rebuild the config, ignoring keys a newer lrc_toolbox may have added."""
    return RenderConfig.from_stored(json.loads(text))


def _placeholders(n: int) -> str:
    return ",".join("?" * n)


# --------------------------------------------------------------------------- the store


class JobStore:
    """Batches, frames and workers in one SQLite file (see the module docstring).

    Frame and worker writes take the full batch id (the manager has it); everything else
    also takes a unique prefix of at least 4 characters, as git does with commits.
    One instance may be shared between threads; each call holds an internal lock.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        busy_timeout: float = BUSY_TIMEOUT_S,
        recover: bool = False,
    ) -> None:
        """Open (or create) the store and check the file's integrity.

        Args:
            recover: a damaged file is moved aside and a fresh store started
                (:attr:`recovered` says where it went) instead of raising
                :class:`CorruptJobStoreError`.

        Raises:
            CorruptJobStoreError: the file is damaged (only without ``recover``).
            SchemaVersionError: a newer lrc_toolbox's file, or another program's database.
            JobStoreError: the file or its folder cannot be used (read-only, locked, ...).
        """
        self.path = Path(path).expanduser() if path is not None else default_job_store_path()
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._host = socket.gethostname()
        self._conn: sqlite3.Connection | None = None
        #: set when a damaged file was moved aside while opening: tell the user once
        self.recovered: StoreRecovery | None = None
        self._checked: os.stat_result | None = None
        self._conn = self._open(recover)

    # ------------------------------------------------------------------ opening

    def _open(self, recover: bool) -> sqlite3.Connection:
        if self.path.is_dir():
            raise JobStoreError(
                f"The job database path {self.path} is a folder; set job_store_path to a file."
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JobStoreError(
                f"Cannot create the folder of the job database {self.path}: {exc}. "
                "Set job_store_path to a writable location."
            ) from exc
        try:
            return self._open_checked()
        except CorruptJobStoreError as exc:
            if not recover:
                raise
            self.recovered = self._move_aside(exc.reason)
        return self._open_checked()  # a fresh store now (or another process's fresh one)

    def _open_checked(self) -> sqlite3.Connection:
        """Connect to the existing file (creating a complete one first if there is none)
        and check it: header, integrity, schema."""
        try:
            self._checked = os.stat(self.path)
        except FileNotFoundError:
            self._create()
            self._checked = os.stat(self.path)
        except OSError as exc:
            raise JobStoreError(f"Cannot read the job database {self.path}: {exc}") from exc
        reason = self._header_problem()
        if reason:  # SQLite never sees it: opening a damaged file can delete its -wal
            raise CorruptJobStoreError(self._damaged_message(reason), reason)
        try:
            conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=rw",  # never create: _create does
                uri=True,
                timeout=self._busy_timeout,
                isolation_level=None,  # transactions are explicit: BEGIN IMMEDIATE ... COMMIT
                check_same_thread=False,  # guarded by self._lock
            )
        except sqlite3.Error as exc:
            raise self._wrap(exc) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            self._check_integrity(conn)
            self._check_and_migrate(conn)
            conn.execute("PRAGMA journal_mode = WAL").fetchone()
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise self._wrap(exc) from exc
        except JobStoreError:
            conn.close()
            raise
        return conn

    def _create(self) -> None:
        """Build a complete, empty store under a temporary name, then link it into place:
        the file appears whole or not at all, and if another process made one first, that
        one is kept."""
        tmp = self.path.with_name(f".{self.path.name}.new-{os.getpid()}-{secrets.token_hex(4)}")
        try:
            conn = sqlite3.connect(str(tmp), isolation_level=None)
            try:
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("COMMIT")
                conn.execute("PRAGMA journal_mode = WAL").fetchone()
            finally:
                conn.close()
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pass  # another process created it meanwhile: use theirs
            except OSError:  # no hard links on this file system (FAT, some shares)
                if not self.path.exists():
                    os.replace(tmp, self.path)
        except (sqlite3.Error, OSError) as exc:
            raise JobStoreError(
                f"Cannot create the job database {self.path}: {exc}. Check that the folder "
                f"{self.path.parent} is writable, or set job_store_path to a writable location."
            ) from exc
        finally:
            for suffix in ("", "-journal", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    Path(f"{tmp}{suffix}").unlink()

    def _header_problem(self) -> str | None:
        """What is wrong with the file's first 100 bytes (SQLite's header), or None."""
        checked = self._checked
        if checked is not None and checked.st_size == 0:
            if _has_content(Path(f"{self.path}-wal")):
                return None  # SQLite may rebuild it from its WAL; the checks below decide
            return "empty: 0 bytes"
        try:
            with open(self.path, "rb") as handle:
                header = handle.read(100)
        except OSError as exc:
            raise JobStoreError(f"Cannot read the job database {self.path}: {exc}") from exc
        if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
            return "not a SQLite database: its header is missing or overwritten"
        page_size = int.from_bytes(header[16:18], "big")
        if page_size != 1 and (page_size < 512 or page_size & (page_size - 1)):
            return f"its header is damaged (page size {page_size})"
        return None

    def _check_integrity(self, conn: sqlite3.Connection) -> None:
        """``PRAGMA quick_check``: every page of every table and index is readable and
        well-formed (a damaged header or page raises here or reports a problem)."""
        rows = conn.execute("PRAGMA quick_check(5)").fetchall()
        problems = [str(row[0]) for row in rows if row and row[0] != "ok"]
        if problems:
            reason = "integrity check failed: " + "; ".join(problems)
            raise CorruptJobStoreError(self._damaged_message(reason), reason)

    def _move_aside(self, reason: str) -> StoreRecovery | None:
        """Rename the damaged file (and its -wal/-shm files) to ``<name>.damaged-<time>``.

        Returns None when the file is no longer the one found damaged (another process
        moved it aside and started a fresh store first).
        """
        checked = self._checked
        try:
            current = os.stat(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._unmovable(reason, exc) from exc
        if checked is not None and (current.st_ino, current.st_dev) != (
            checked.st_ino,
            checked.st_dev,
        ):
            return None
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        number = 1
        while any(Path(f"{target}{s}").exists() for s in ("", "-wal", "-shm")):
            number += 1
            target = self.path.with_name(f"{self.path.name}.damaged-{stamp}-{number}")
        try:
            os.rename(self.path, target)
        except FileNotFoundError:
            return None  # another process moved it aside first
        except OSError as exc:
            raise self._unmovable(reason, exc) from exc
        moved = os.stat(target)
        if checked is not None and (moved.st_ino, moved.st_dev) != (
            checked.st_ino,
            checked.st_dev,
        ):  # another process replaced it in the instant between: put its store back
            with contextlib.suppress(OSError):
                os.link(target, self.path)
                os.unlink(target)
            return None
        try:
            for suffix in ("-wal", "-shm"):
                side = Path(f"{self.path}{suffix}")
                if side.exists():
                    os.rename(side, f"{target}{suffix}")
        except OSError as exc:
            raise self._unmovable(reason, exc) from exc
        return StoreRecovery(
            path=str(self.path), moved_to=str(target), reason=reason, when=time.time()
        )

    def _unmovable(self, reason: str, exc: OSError) -> JobStoreError:
        return JobStoreError(
            f"The job database {self.path} is damaged ({reason}) and could not be moved "
            f"aside: {exc.strerror or exc}. Make the folder {self.path.parent} writable, move "
            "the file (with its -wal and -shm files) away yourself, or set job_store_path to "
            "another file."
        )

    def _damaged_message(self, reason: str) -> str:
        return (
            f"The job database {self.path} is damaged or is not a database ({reason}). "
            f"Move it aside (e.g. rename it to {self.path.name}.broken, with its -wal and "
            "-shm files if present) and a new, empty one is created next time; the old "
            "file keeps the history for recovery."
        )

    def _check_and_migrate(self, conn: sqlite3.Connection) -> None:
        """Create the schema on first use; refuse files this version cannot read."""
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"The job database {self.path} was made by a newer lrc_toolbox (schema "
                f"{version}; this version reads schema {SCHEMA_VERSION}). Update lrc_toolbox, "
                "or set job_store_path to another file to keep both."
            )
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if version == 0:  # another process may have created it while we waited
                tables = [
                    row[0]
                    for row in conn.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                    )
                ]
                if tables:
                    raise SchemaVersionError(
                        f"{self.path} is not an lrc_toolbox job database (it holds the tables "
                        f"{', '.join(tables)}). Set job_store_path to another file."
                    )
                for statement in _SCHEMA:
                    conn.execute(statement)
            else:  # an older lrc_toolbox's file: bring it up to date, keeping everything
                for step in _MIGRATIONS[version:]:
                    for statement in step:
                        conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _wrap(self, exc: sqlite3.Error) -> JobStoreError:
        """Turn an sqlite error into one a user can act on, naming the file."""
        text = str(exc)
        lowered = text.lower()
        if "not a database" in lowered or "malformed" in lowered or "corrupt" in lowered:
            return CorruptJobStoreError(self._damaged_message(text), text)
        if "locked" in lowered or "busy" in lowered:
            return JobStoreError(
                f"The job database {self.path} stayed locked by another process for more "
                f"than {self._busy_timeout:g} s ({text}). Try again; if it persists, look for "
                "a stuck lrc-batch-render process."
            )
        if "unable to open" in lowered:
            return JobStoreError(
                f"Cannot open the job database {self.path} ({text}). Check that its folder "
                "is writable, or set job_store_path to another file."
            )
        return JobStoreError(f"The job database {self.path} could not be used: {text}")

    # ------------------------------------------------------------------ transactions

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[sqlite3.Connection]:
        """One transaction: committed on success, rolled back on any error."""
        with self._lock:
            conn = self._conn
            if conn is None:
                raise JobStoreError(f"The job store {self.path} is closed.")
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            except sqlite3.Error as exc:
                raise self._wrap(exc) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):  # keep the original error
                        conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
                    raise self._wrap(exc) from exc
                raise

    def close(self) -> None:
        """Close the connection (idempotent); later calls raise :class:`JobStoreError`."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> JobStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # ------------------------------------------------------------------ batch ids

    def resolve_id(self, text: str) -> str:
        """The full id for ``text``: the id itself or a unique prefix (>= 4 characters).

        Raises:
            BatchNotFoundError: (a ``KeyError``) unknown, too short, or ambiguous.
        """
        with self._transaction(write=False) as conn:
            return self._resolve(conn, text)

    def _resolve(self, conn: sqlite3.Connection, text: str) -> str:
        text = text.strip()
        if conn.execute("SELECT 1 FROM batches WHERE id = ?", (text,)).fetchone():
            return text
        hint = "`lrc-batch-render history` lists them"
        if len(text) < MIN_PREFIX_LENGTH:
            raise BatchNotFoundError(
                f"no batch {text!r}: give at least {MIN_PREFIX_LENGTH} characters of a batch "
                f"id; {hint}"
            )
        rows = conn.execute(
            "SELECT id FROM batches WHERE substr(id, 1, ?) = ? ORDER BY created DESC, id DESC",
            (len(text), text),
        ).fetchall()
        if not rows:
            raise BatchNotFoundError(f"no batch {text!r}; {hint}")
        if len(rows) > 1:
            shown = ", ".join(row[0] for row in rows[:10])
            more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
            raise BatchNotFoundError(
                f"batch id {text!r} is ambiguous: it matches {shown}{more}; give more characters"
            )
        return str(rows[0][0])

    # ------------------------------------------------------------------ batches

    def create_batch(
        self,
        config: RenderConfig,
        plan: Mapping[str, Sequence[int]],
        *,
        scene: str,
        snapshot: str | None,
        now: float | None = None,
        manager_pid: int | None = None,
        manager_host: str | None = None,
        owner: ManagerIdentity | None = None,
        output_dir: str | None = None,
        is_alive: Callable[[ManagerIdentity, str], bool] = owner_alive,
    ) -> str:
        """Record a new PENDING batch and all its frames (PENDING) in one transaction.

        ``plan`` maps layer -> frames in the order they should be rendered; that order is
        kept. The manager (``owner``) is this process unless given (or ``manager_pid`` /
        ``manager_host`` are).

        Raises:
            OutputFolderBusyError: ``output_dir`` is given and a batch whose manager is alive
                (``is_alive``) renders into it; nothing is recorded.

        Returns:
            The new batch id, e.g. ``20261125-2359-a1b2c3``.
        """
        rows = _check_plan(plan)
        now = time.time() if now is None else now
        config_json = json.dumps(config.to_dict(), sort_keys=True)
        owner = self._owner(owner, manager_pid, manager_host, now)
        folder = None if output_dir is None else output_folder_key(output_dir)
        with self._transaction(write=True) as conn:
            if folder is not None:
                self._check_folder_free(conn, folder, None, is_alive)
            batch_id = _new_batch_id(now)
            while conn.execute("SELECT 1 FROM batches WHERE id = ?", (batch_id,)).fetchone():
                batch_id = _new_batch_id(now)
            conn.execute(
                "INSERT INTO batches (id, created, updated, state, scene, snapshot, config_json,"
                " output_dir) VALUES (:id, :now, :now, :state, :scene, :snapshot, :config,"
                " :folder)",
                {
                    "id": batch_id,
                    "now": now,
                    "state": BatchState.PENDING.value,
                    "scene": scene,
                    "snapshot": snapshot,
                    "config": config_json,
                    "folder": folder,
                },
            )
            self._set_owner(conn, batch_id, owner, now)
            conn.executemany(
                "INSERT INTO frames (batch_id, layer, frame, ord, state) VALUES (?, ?, ?, ?, ?)",
                (
                    (batch_id, layer, frame, ord_, FrameState.PENDING.value)
                    for ord_, (layer, frame) in enumerate(rows)
                ),
            )
        return batch_id

    def _owner(
        self,
        owner: ManagerIdentity | None,
        pid: int | None,
        host: str | None,
        now: float,
    ) -> ManagerIdentity:
        """The manager to record: ``owner``, else one made of ``pid``/``host``, else this
        process; ``since`` is ``now``."""
        if owner is None and pid is None and host is None:
            owner = ManagerIdentity.this_process(now)
        elif owner is None:
            owner = ManagerIdentity(
                pid=os.getpid() if pid is None else pid, host=host or self._host
            )
        return replace(owner, since=now)

    @staticmethod
    def _set_owner(
        conn: sqlite3.Connection, batch_id: str, owner: ManagerIdentity, now: float
    ) -> None:
        conn.execute(
            "UPDATE batches SET manager_pid = ?, manager_host = ?, manager_started = ?,"
            " manager_since = ?, manager_command = ?, updated = ? WHERE id = ?",
            (owner.pid, owner.host, owner.started, owner.since, owner.command, now, batch_id),
        )

    @staticmethod
    def _check_folder_free(
        conn: sqlite3.Connection,
        folder: str,
        batch_id: str | None,
        is_alive: Callable[[ManagerIdentity, str], bool],
    ) -> None:
        """Raise OutputFolderBusyError if a live batch other than ``batch_id`` renders into
        ``folder`` (an output_folder_key)."""
        rows = conn.execute(
            "SELECT id, manager_pid, manager_host, manager_started, manager_since,"
            f" manager_command FROM batches WHERE output_dir = ? AND state IN"
            f" ({_placeholders(len(_OWNED_BATCH_STATES))}) ORDER BY created",
            (folder, *(s.value for s in _OWNED_BATCH_STATES)),
        ).fetchall()
        for row in rows:
            if row[0] == batch_id:
                continue
            other = _identity(*row[1:6])
            if other is not None and is_alive(other, str(row[0])):
                raise OutputFolderBusyError.of(folder, str(row[0]), other)

    def output_folder_owner(
        self,
        output_dir: str,
        *,
        is_alive: Callable[[ManagerIdentity, str], bool] = owner_alive,
    ) -> tuple[str, ManagerIdentity] | None:
        """The live batch (id, manager) rendering into ``output_dir``, or None. A quick
        look before the work of starting a batch; :meth:`create_batch` checks again."""
        with self._transaction(write=False) as conn:
            try:
                self._check_folder_free(conn, output_folder_key(output_dir), None, is_alive)
            except OutputFolderBusyError as busy:
                return busy.batch_id, busy.owner
        return None

    def set_batch_state(
        self,
        batch_id: str,
        state: BatchState,
        *,
        error: str | None = None,
        summary: BatchSummary | None = None,
        now: float | None = None,
    ) -> None:
        """Change a batch's state. ``error`` replaces the stored one (None clears it, as it
        describes the current state); ``summary`` is kept unless a new one is given."""
        now = time.time() if now is None else now
        state = BatchState(state)
        summary_json = None if summary is None else json.dumps(summary.to_dict(), sort_keys=True)
        with self._transaction(write=True) as conn:
            full = self._resolve(conn, batch_id)
            conn.execute(
                "UPDATE batches SET state = ?, error = ?, updated = ?,"
                " summary_json = coalesce(?, summary_json) WHERE id = ?",
                (state.value, error, now, summary_json, full),
            )

    def claim_batch(
        self,
        batch_id: str,
        *,
        owner: ManagerIdentity | None = None,
        pid: int | None = None,
        host: str | None = None,
        output_dir: str | None = None,
        now: float | None = None,
        is_alive: Callable[[ManagerIdentity, str], bool] = owner_alive,
    ) -> ClaimResult:
        """Make ``owner`` (default: this process) the batch's one manager, atomically.

        In one write transaction: refuse if the recorded manager is alive and the batch is
        PENDING or RUNNING (two commands that claim at once: exactly one wins), or if
        another live batch renders into ``output_dir`` (default: the recorded one); else
        record the new manager and make the batch PENDING. Frames a dead manager left
        RUNNING go back to PENDING. Restore the previous state with :meth:`set_batch_state`
        (``previous_state``, ``previous_error``) if the new manager then fails to start.

        Raises:
            BatchOwnedError: another live manager owns it (nothing is changed).
            OutputFolderBusyError: another live batch renders into its folder.
            BatchNotFoundError: no such batch.
        """
        now = time.time() if now is None else now
        owner = self._owner(owner, pid, host, now)
        with self._transaction(write=True) as conn:
            full = self._resolve(conn, batch_id)
            row = conn.execute(
                "SELECT state, manager_pid, manager_host, manager_started, manager_since,"
                " manager_command, error, output_dir FROM batches WHERE id = ?",
                (full,),
            ).fetchone()
            state = BatchState(row[0])
            previous = _identity(*row[1:6])
            owned = state in _OWNED_BATCH_STATES
            if owned and previous is not None and is_alive(previous, full):
                raise BatchOwnedError.of(full, previous)
            folder = output_folder_key(output_dir) if output_dir is not None else row[7]
            if folder:
                self._check_folder_free(conn, folder, full, is_alive)
            if owned:
                self._requeue_running(conn, full, now)
            conn.execute(
                "UPDATE batches SET state = ?, output_dir = ? WHERE id = ?",
                (BatchState.PENDING.value, folder, full),
            )
            self._set_owner(conn, full, owner, now)
        return ClaimResult(
            batch_id=full,
            owner=owner,
            previous_state=state,
            previous_error=row[6],
            previous_owner=previous,
            took_over=state is BatchState.INTERRUPTED or owned,
        )

    def release_batch(
        self, batch_id: str, owner: ManagerIdentity, reason: str, *, now: float | None = None
    ) -> bool:
        """``owner`` gives up a batch it has not finished: INTERRUPTED with ``reason``, its
        RUNNING frames PENDING again, so another manager may take it at once. Nothing
        changes (False) if the batch is finished, or owned by another manager now."""
        now = time.time() if now is None else now
        with self._transaction(write=True) as conn:
            full = self._resolve(conn, batch_id)
            row = conn.execute(
                "SELECT state, manager_pid, manager_host, manager_started, manager_since,"
                " manager_command FROM batches WHERE id = ?",
                (full,),
            ).fetchone()
            recorded = _identity(*row[1:6])
            if BatchState(row[0]) not in _OWNED_BATCH_STATES or recorded is None:
                return False
            if not recorded.same_process(owner):
                return False
            self._requeue_running(conn, full, now)
            conn.execute(
                "UPDATE batches SET state = ?, error = ?, updated = ? WHERE id = ?",
                (BatchState.INTERRUPTED.value, reason, now, full),
            )
        return True

    @staticmethod
    def _requeue_running(conn: sqlite3.Connection, batch_id: str, now: float) -> None:
        """Frames a dead manager left RUNNING go back to PENDING (their render was cut off)."""
        conn.execute(
            "UPDATE frames SET state = ?, ended = coalesce(ended, ?), error = ?"
            " WHERE batch_id = ? AND state = ?",
            (
                FrameState.PENDING.value,
                now,
                "interrupted: the manager stopped while this frame was rendering",
                batch_id,
                FrameState.RUNNING.value,
            ),
        )

    def get_batch(self, batch_id: str) -> BatchRecord:
        """The batch with this id or unique prefix, with its frame counts."""
        with self._transaction(write=False) as conn:
            full = self._resolve(conn, batch_id)
            row = conn.execute(f"{_BATCH_SELECT} WHERE id = ?", (full,)).fetchone()
            counts = self._counts(conn, [full])
        return _batch_record(row, counts.get(full, {}))

    def list_batches(
        self, limit: int = 50, states: Iterable[BatchState] | None = None
    ) -> list[BatchRecord]:
        """The most recent batches, newest first, optionally only those in ``states``."""
        where, args = "", []
        if states is not None:
            values = [BatchState(s).value for s in states]
            if not values:
                return []
            where = f" WHERE state IN ({_placeholders(len(values))})"
            args = list(values)
        with self._transaction(write=False) as conn:
            rows = conn.execute(
                f"{_BATCH_SELECT}{where} ORDER BY created DESC, id DESC LIMIT ?",
                (*args, int(limit)),
            ).fetchall()
            counts = self._counts(conn, [row[0] for row in rows])
        return [_batch_record(row, counts.get(row[0], {})) for row in rows]

    @staticmethod
    def _counts(conn: sqlite3.Connection, ids: list[str]) -> dict[str, dict[str, int]]:
        result: dict[str, dict[str, int]] = {}
        for start in range(0, len(ids), 500):  # stay under SQLite's bound-variable limit
            chunk = ids[start : start + 500]
            for batch_id, state, n in conn.execute(
                "SELECT batch_id, state, count(*) FROM frames"
                f" WHERE batch_id IN ({_placeholders(len(chunk))}) GROUP BY batch_id, state",
                chunk,
            ):
                result.setdefault(batch_id, {})[state] = int(n)
        return result

    def find_interrupted(self, now_alive: Callable[[int], bool] | None = None) -> list[str]:
        """Mark INTERRUPTED the PENDING/RUNNING batches of this host whose manager is dead.

        Dead: its pid runs no process, or one started at another time than the recorded
        manager (the pid was reused); ``now_alive(pid)`` replaces that check. Their RUNNING
        frames go back to PENDING (the render was cut off); their workers keep no end time,
        so :meth:`live_worker_pids` still lists them for reaping. Batches of other hosts are
        left alone: their pids mean nothing here.

        Returns:
            The ids marked, oldest first.
        """
        marked: list[str] = []
        now = time.time()
        with self._transaction(write=True) as conn:
            rows = conn.execute(
                "SELECT id, manager_pid, manager_started FROM batches WHERE state IN (?, ?)"
                " AND manager_host = ? ORDER BY created, id",
                (*(s.value for s in _OWNED_BATCH_STATES), self._host),
            ).fetchall()
            for batch_id, pid, started in rows:
                if pid is not None and (
                    now_alive(int(pid)) if now_alive else process_alive(int(pid), started)
                ):
                    continue
                conn.execute(
                    "UPDATE batches SET state = ?, updated = ?, error = ? WHERE id = ?",
                    (
                        BatchState.INTERRUPTED.value,
                        now,
                        f"the manager (pid {pid} on {self._host}) stopped before the batch "
                        "finished; resume it to render the rest",
                        batch_id,
                    ),
                )
                self._requeue_running(conn, batch_id, now)
                marked.append(str(batch_id))
        return marked

    def prune(self, keep_days: int, now: float | None = None) -> int:
        """Delete finished batches (DONE/FAILED/CANCELLED) not updated for ``keep_days``.

        PENDING, RUNNING and INTERRUPTED batches are never deleted: they are resumable.

        Returns:
            How many batches were deleted (their frames and workers go with them).
        """
        if keep_days < 0:
            raise ValueError(f"keep_days must be 0 or more, got {keep_days}")
        now = time.time() if now is None else now
        cutoff = now - keep_days * 86400.0
        finished = sorted(s.value for s in FINISHED_BATCH_STATES)
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                f"DELETE FROM batches WHERE state IN ({_placeholders(len(finished))})"
                " AND updated < ?",
                (*finished, cutoff),
            )
            return int(cursor.rowcount)

    # ------------------------------------------------------------------ frames

    def _update_frame(
        self,
        batch_id: str,
        layer: str,
        frame: int,
        now: float | None,
        sql: str,
        args: tuple[Any, ...],
    ) -> None:
        now = time.time() if now is None else now
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                f"UPDATE frames SET {sql} WHERE batch_id = ? AND layer = ? AND frame = ?",
                (*args, batch_id, layer, frame),
            )
            if cursor.rowcount != 1:
                raise BatchNotFoundError(
                    f"no frame {frame} of layer {layer!r} in batch {batch_id!r}"
                )
            conn.execute("UPDATE batches SET updated = ? WHERE id = ?", (now, batch_id))

    def frame_started(
        self,
        batch_id: str,
        layer: str,
        frame: int,
        *,
        worker: str,
        device: str,
        now: float | None = None,
    ) -> None:
        """A worker took the frame: RUNNING, one more attempt, previous end/error cleared."""
        now = time.time() if now is None else now
        values = (FrameState.RUNNING.value, worker, device, now)
        self._update_frame(batch_id, layer, frame, now, _SET_STARTED, values)

    def frame_done(
        self,
        batch_id: str,
        layer: str,
        frame: int,
        *,
        outputs: Sequence[str],
        provenance: FrameProvenance | None = None,
        now: float | None = None,
    ) -> None:
        """The frame's outputs were verified: DONE, with the files it wrote and where it
        came from."""
        now = time.time() if now is None else now
        origin = None if provenance is None else json.dumps(provenance.to_dict(), sort_keys=True)
        values = (FrameState.DONE.value, now, json.dumps([str(p) for p in outputs]), origin)
        self._update_frame(batch_id, layer, frame, now, _SET_DONE, values)

    def frame_failed(
        self,
        batch_id: str,
        layer: str,
        frame: int,
        *,
        state: FrameState,
        error: str,
        now: float | None = None,
    ) -> None:
        """An attempt failed: PENDING when it will be retried, FAILED when it gave up."""
        state = FrameState(state)
        if state not in (FrameState.PENDING, FrameState.FAILED):
            raise ValueError(f"frame_failed: state must be pending or failed, got {state.value}")
        now = time.time() if now is None else now
        self._update_frame(batch_id, layer, frame, now, _SET_FAILED, (state.value, now, error))

    def frame_skipped(
        self,
        batch_id: str,
        layer: str,
        frame: int,
        reason: str,
        *,
        outputs: Sequence[str] = (),
        now: float | None = None,
    ) -> None:
        """Not rendered on purpose (e.g. outputs already there): SKIPPED, ``reason`` kept."""
        values = (FrameState.SKIPPED.value, reason, json.dumps([str(p) for p in outputs]))
        self._update_frame(batch_id, layer, frame, now, _SET_SKIPPED, values)

    def update_frames(
        self, batch_id: str, changes: Iterable[FrameChange], *, now: float | None = None
    ) -> int:
        """Change many frames at once (cancel, requeue): all or nothing.

        A RUNNING frame that changes state gets an end time. Use :meth:`frame_started`
        to make a frame RUNNING.

        Returns:
            How many frames changed.

        Raises:
            BatchNotFoundError: a frame is not in the batch (nothing is changed).
        """
        now = time.time() if now is None else now
        items = [FrameChange(*c) for c in changes]
        for change in items:
            if FrameState(change.state) is FrameState.RUNNING:
                raise ValueError("update_frames cannot start frames; use frame_started")
        if not items:
            return 0
        with self._transaction(write=True) as conn:
            for change in items:
                cursor = conn.execute(
                    "UPDATE frames SET"
                    " ended = CASE WHEN state = ? THEN ? ELSE ended END, state = ?, error = ?"
                    " WHERE batch_id = ? AND layer = ? AND frame = ?",
                    (
                        FrameState.RUNNING.value,
                        now,
                        FrameState(change.state).value,
                        change.error,
                        batch_id,
                        change.layer,
                        change.frame,
                    ),
                )
                if cursor.rowcount != 1:
                    raise BatchNotFoundError(
                        f"no frame {change.frame} of layer {change.layer!r} in batch "
                        f"{batch_id!r}; no frame was changed"
                    )
            conn.execute("UPDATE batches SET updated = ? WHERE id = ?", (now, batch_id))
        return len(items)

    def frames_given_back(
        self, batch_id: str, frames: Iterable[tuple[str, int]], *, now: float | None = None
    ) -> int:
        """Frames a worker was rendering when the user gave its GPU back to Maya: PENDING
        again, and the try they were in does not count (attempts - 1). Frames no longer
        RUNNING are left alone. Returns how many changed."""
        now = time.time() if now is None else now
        items = [(str(layer), int(frame)) for layer, frame in frames]
        if not items:
            return 0
        changed = 0
        with self._transaction(write=True) as conn:
            for layer, frame in items:
                cursor = conn.execute(
                    "UPDATE frames SET state = ?, attempts = MAX(attempts - 1, 0),"
                    " started = NULL, ended = NULL"
                    " WHERE batch_id = ? AND layer = ? AND frame = ? AND state = ?",
                    (FrameState.PENDING.value, batch_id, layer, frame, FrameState.RUNNING.value),
                )
                changed += cursor.rowcount
            conn.execute("UPDATE batches SET updated = ? WHERE id = ?", (now, batch_id))
        return changed

    def frames(
        self, batch_id: str, states: Iterable[FrameState] | None = None
    ) -> list[FrameOutcome]:
        """The batch's frames in plan order, optionally only those in ``states``.

        The store keeps one reason per frame: the last failure (``errors``) or, for a frame
        skipped or cancelled, why (``note``); ``failed_on`` is the worker that last held it.
        """
        where, args = "", []
        if states is not None:
            values = [FrameState(s).value for s in states]
            if not values:
                return []
            where = f" AND state IN ({_placeholders(len(values))})"
            args = values
        with self._transaction(write=False) as conn:
            full = self._resolve(conn, batch_id)
            rows = conn.execute(
                "SELECT batch_id, layer, frame, state, attempts, worker, device, started, ended,"
                f" outputs_json, error, provenance_json FROM frames WHERE batch_id = ?{where}"
                " ORDER BY ord",
                (full, *args),
            ).fetchall()
        return [_frame_outcome(r) for r in rows]

    def plan(self, batch_id: str) -> dict[str, list[int]]:
        """Layer -> frames exactly as given to :meth:`create_batch` (order kept)."""
        return self._plan(batch_id, None)

    def unfinished_frames(self, batch_id: str) -> dict[str, list[int]]:
        """Layer -> frames not DONE/SKIPPED, in plan order: what resume renders."""
        return self._plan(batch_id, _COMPLETE_FRAME_STATES)

    def _plan(self, batch_id: str, exclude: Sequence[FrameState] | None) -> dict[str, list[int]]:
        where, args = "", []
        if exclude:
            where = f" AND state NOT IN ({_placeholders(len(exclude))})"
            args = [s.value for s in exclude]
        with self._transaction(write=False) as conn:
            full = self._resolve(conn, batch_id)
            rows = conn.execute(
                f"SELECT layer, frame FROM frames WHERE batch_id = ?{where} ORDER BY ord",
                (full, *args),
            ).fetchall()
        result: dict[str, list[int]] = {}
        for layer, frame in rows:
            result.setdefault(layer, []).append(int(frame))
        return result

    # ------------------------------------------------------------------ workers

    def worker_started(
        self,
        batch_id: str,
        worker_id: str,
        *,
        pid: int | None,
        device: str,
        log_path: str | Path | None,
        now: float | None = None,
    ) -> None:
        """A worker process started (STARTING). A reused worker id replaces the old record."""
        now = time.time() if now is None else now
        with self._transaction(write=True) as conn:
            try:
                conn.execute(
                    "INSERT INTO workers (batch_id, worker_id, pid, device, state, started,"
                    " log_path) VALUES (?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (batch_id, worker_id) DO UPDATE SET pid = excluded.pid,"
                    " device = excluded.device, state = excluded.state,"
                    " started = excluded.started, ended = NULL, exit_code = NULL,"
                    " reason = NULL, log_path = excluded.log_path",
                    (
                        batch_id,
                        worker_id,
                        pid,
                        device,
                        WorkerState.STARTING.value,
                        now,
                        None if log_path is None else str(log_path),
                    ),
                )
            except sqlite3.IntegrityError as exc:  # the foreign key: no such batch
                raise BatchNotFoundError(f"no batch {batch_id!r} to add a worker to") from exc
            conn.execute("UPDATE batches SET updated = ? WHERE id = ?", (now, batch_id))

    def set_worker_state(
        self, batch_id: str, worker_id: str, state: WorkerState, *, now: float | None = None
    ) -> None:
        """Record a live state change (IDLE, RENDERING, STOPPING) of a running worker."""
        self._update_worker(batch_id, worker_id, "state = ?", (WorkerState(state).value,), now)

    def worker_finished(
        self,
        batch_id: str,
        worker_id: str,
        *,
        state: WorkerState,
        exit_code: int | None,
        reason: str | None,
        now: float | None = None,
    ) -> None:
        """The worker process ended (FINISHED, FAILED, DISABLED or RELEASED); it is no
        longer live."""
        now = time.time() if now is None else now
        self._update_worker(
            batch_id,
            worker_id,
            "state = ?, ended = ?, exit_code = ?, reason = ?",
            (WorkerState(state).value, now, exit_code, reason),
            now,
        )

    def _update_worker(
        self, batch_id: str, worker_id: str, sql: str, args: tuple[Any, ...], now: float | None
    ) -> None:
        now = time.time() if now is None else now
        with self._transaction(write=True) as conn:
            cursor = conn.execute(
                f"UPDATE workers SET {sql} WHERE batch_id = ? AND worker_id = ?",
                (*args, batch_id, worker_id),
            )
            if cursor.rowcount != 1:
                raise BatchNotFoundError(f"no worker {worker_id!r} in batch {batch_id!r}")
            conn.execute("UPDATE batches SET updated = ? WHERE id = ?", (now, batch_id))

    def workers(self, batch_id: str) -> list[WorkerRecord]:
        """Every worker recorded for the batch, in start order."""
        with self._transaction(write=False) as conn:
            full = self._resolve(conn, batch_id)
            rows = conn.execute(
                "SELECT batch_id, worker_id, state, pid, device, started, ended, exit_code,"
                " reason, log_path FROM workers WHERE batch_id = ? ORDER BY started, worker_id",
                (full,),
            ).fetchall()
        return [
            WorkerRecord(
                batch_id=r[0],
                worker_id=r[1],
                state=WorkerState(r[2]),
                pid=r[3],
                device=r[4],
                started=r[5],
                ended=r[6],
                exit_code=r[7],
                reason=r[8],
                log_path=r[9],
            )
            for r in rows
        ]

    def live_worker_pids(self, batch_id: str) -> list[int]:
        """Pids of workers recorded without an end: orphans a resume must reap first."""
        with self._transaction(write=False) as conn:
            full = self._resolve(conn, batch_id)
            rows = conn.execute(
                "SELECT pid FROM workers WHERE batch_id = ? AND ended IS NULL"
                " AND pid IS NOT NULL ORDER BY started, worker_id",
                (full,),
            ).fetchall()
        return [int(r[0]) for r in rows]


def _frame_outcome(row: Sequence[Any]) -> FrameOutcome:
    state = FrameState(row[3])
    error: str | None = row[10]
    as_note = state in (FrameState.SKIPPED, FrameState.CANCELLED) or (
        state is FrameState.FAILED and not row[4]  # given up without a try of its own
    )
    failed = error is not None and not as_note
    return FrameOutcome(
        layer=row[1],
        frame=int(row[2]),
        state=state,
        attempts=int(row[4]),
        worker=row[5],
        device=row[6],
        started=row[7],
        finished=row[8],
        outputs=[str(p) for p in json.loads(row[9] or "[]")],
        errors=[error] if failed and error is not None else [],
        failed_on=row[5] if failed else None,
        note=error if as_note else None,
        provenance=_provenance(row[11]),
    )


def _provenance(text: str | None) -> FrameProvenance | None:
    """A stored provenance; None when absent, and when unreadable (it only informs)."""
    if not text:
        return None
    try:
        return FrameProvenance.from_stored(json.loads(text))
    except ValueError:  # not JSON, or not a provenance (ValidationError)
        return None


_BATCH_SELECT = (
    "SELECT id, created, updated, state, scene, snapshot, config_json, manager_pid,"
    " manager_host, summary_json, error, manager_started, manager_since, manager_command,"
    " output_dir FROM batches"
)


def _batch_record(row: Sequence[Any], counts: Mapping[str, int]) -> BatchRecord:
    return BatchRecord(
        id=row[0],
        created=float(row[1]),
        updated=float(row[2]),
        state=BatchState(row[3]),
        scene=row[4],
        snapshot=row[5],
        config=_config_from_json(row[6]),
        manager=_identity(row[7], row[8], row[11], row[12], row[13]),
        summary=None if row[9] is None else BatchSummary.from_stored(json.loads(row[9])),
        error=row[10],
        counts=LayerCounts.of({state: int(counts.get(state.value, 0)) for state in FrameState}),
        output_dir=row[14],
    )
