"""Scene snapshots, private worker folders, retention and disk-space checks.

Everything lives under one per-user root (``Settings.resolved_temp_root()``)::

    <root>/snapshots/render_<scene>_<YYYYMMDD-HHMMSS>_<layer>_<pid>.ma
    <root>/workers/<batch>/owner.pid              the pid of the manager that made it
    <root>/workers/<batch>/<worker>/maya_app_dir  the worker's private MAYA_APP_DIR
    <root>/workers/<batch>/<worker>/tmp           the worker's TMPDIR / TEMP / TMP

Why snapshots: workers render a frozen copy, so the artist can keep editing (and saving)
the scene while a batch runs. Why private folders: several mayapy processes sharing one
``MAYA_APP_DIR`` race on the same prefs and temp files (farm tools give each worker its
own, MAYA_REFERENCE §8).

Retention rule (:meth:`TempFileManager.cleanup`), kept simple on purpose:

- the newest ``keep_latest`` snapshots (by modification time, over all snapshots) stay;
- every *protected* path stays, however old (the caller passes the snapshots and worker
  folders of running or resumable batches);
- a snapshot or worker folder that belongs to another live process (its pid is in the
  snapshot name / the batch's ``owner.pid``) stays: a second Maya session of the same user
  cleans up after itself;
- everything else under ``snapshots/`` and ``workers/`` that this module created goes.

Nothing outside the root is ever touched: candidates are direct children of the two
folders, symlinks are never followed, and a symlinked ``snapshots``/``workers`` folder is
skipped. Errors (a file still open on Windows, a permission problem) are collected in
:attr:`TempFileManager.last_errors`, never raised.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import stat
import sys
import time
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from lrc_toolbox.utils.processes import pid_alive as default_pid_alive

__all__ = [
    "MAX_NAME_PART",
    "DiskStatus",
    "TempFileManager",
    "check_disk_space",
    "file_sha256",
    "sanitize_name_part",
    "snapshot_name",
    "write_snapshot",
]

#: longest sanitised name part; keeps full snapshot paths well under Windows' 260 chars.
MAX_NAME_PART = 64
FALLBACK_NAME = "unnamed"
TIMESTAMP_FORMAT = "%Y%m%d-%H%M%S"
SNAPSHOTS_DIR = "snapshots"
WORKERS_DIR = "workers"
OWNER_FILE = "owner.pid"
#: a half-written copy older than this is a leftover of a crash and may go.
STALE_PARTIAL_SECONDS = 3600.0

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_REPEATS = re.compile(r"([_-])[_-]+")
# Windows refuses these as file names whatever the extension (CreateFile docs, "Naming Files").
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {
    f"{kind}{n}" for kind in ("COM", "LPT") for n in range(1, 10)
}
_SNAPSHOT_RE = re.compile(r"^render_.+_(?P<pid>\d+)(?:-\d+)?\.(?:ma|mb)$")
_PARTIAL_RE = re.compile(r"^\.render_.+\.tmp-[0-9a-f]+$")


def sanitize_name_part(text: str, max_length: int = MAX_NAME_PART) -> str:
    """A safe piece of a file name: only ``[A-Za-z0-9_-]``, never empty, never a path.

    Scene and layer names come from artists (and from files): ``../``, ``C:``, slashes,
    spaces or accents must not leak into a path. Accented letters fold to ASCII
    (``é`` -> ``e``); every other run of unsafe characters becomes one ``_``.
    """
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    safe = _REPEATS.sub(r"\1", _UNSAFE.sub("_", folded)).strip("_-")
    safe = safe[: max(1, max_length)].strip("_-")
    if not safe:
        return FALLBACK_NAME
    if safe.upper() in _WINDOWS_RESERVED:
        safe += "_"
    return safe


def _format_timestamp(timestamp: datetime | float) -> str:
    when = timestamp if isinstance(timestamp, datetime) else datetime.fromtimestamp(timestamp)
    return when.strftime(TIMESTAMP_FORMAT)


def snapshot_name(
    scene_name: str,
    layer_name: str,
    process_id: int | str,
    timestamp: datetime | float,
    extension: str = ".ma",
) -> str:
    """``render_{sceneName}_{timestamp}_{layerName}_{processId}.ma`` (the feature's format).

    ``timestamp`` (a datetime, or epoch seconds shown in local time) becomes
    ``YYYYMMDD-HHMMSS``. When one snapshot serves a batch of several layers the caller
    passes a summary such as ``"3layers"`` as ``layer_name``. ``process_id`` is the pid of
    the process that made the snapshot: cleanup uses it to leave another live session's
    snapshots alone. Every part is sanitised, so the result is always a plain file name.
    """
    ext = ".mb" if extension.lower() == ".mb" else ".ma"
    parts = (
        sanitize_name_part(scene_name),
        _format_timestamp(timestamp),
        sanitize_name_part(layer_name),
        sanitize_name_part(str(process_id)),
    )
    return "render_" + "_".join(parts) + ext


@dataclass
class DiskStatus:
    """Outcome of a free-space check: ``error`` blocks a batch, ``warning`` does not."""

    ok: bool
    free_mb: int
    warning: str | None = None
    error: str | None = None


def _nearest_existing(path: Path) -> Path:
    """``path`` or its closest existing parent (an output folder may not exist yet)."""
    current = Path(os.path.abspath(path))
    while not current.exists():
        parent = current.parent
        if parent == current:
            break
        current = parent
    return current


def check_disk_space(path: Path, *, min_free_mb: int, warn_free_mb: int) -> DiskStatus:
    """Is there room to write under ``path``? Checked before a batch starts.

    Uses ``shutil.disk_usage`` on the nearest existing folder. A filesystem that cannot be
    queried gives ``ok`` with a warning: a check that cannot run must not block rendering.
    """
    where = _nearest_existing(Path(path))
    try:
        free_mb = int(shutil.disk_usage(where).free // (1024 * 1024))
    except OSError as exc:
        return DiskStatus(
            ok=True, free_mb=-1, warning=f"Could not check the free disk space at {where}: {exc}"
        )
    shown = f"{path}" if Path(path) == where else f"{path} (checked at {where})"
    if free_mb < min_free_mb:
        return DiskStatus(
            ok=False,
            free_mb=free_mb,
            error=(
                f"Not enough disk space for {shown}: {free_mb} MB free, at least "
                f"{min_free_mb} MB needed. Free some space on that disk, or choose another "
                "output folder (or another temp_root in the settings for snapshots)."
            ),
        )
    if free_mb < warn_free_mb:
        return DiskStatus(
            ok=True,
            free_mb=free_mb,
            warning=(
                f"Disk space is low for {shown}: {free_mb} MB free (warning below "
                f"{warn_free_mb} MB). A long batch may fill it; free some space or choose "
                "another output folder."
            ),
        )
    return DiskStatus(ok=True, free_mb=free_mb)


def _key(path: Path) -> str:
    """Comparable form of a path: a protected path given through a symlinked folder
    (macOS ``/var`` -> ``/private/var``) still matches."""
    return os.path.normcase(os.path.realpath(path))


class TempFileManager:
    """Owns one per-user temp root: snapshot names and copies, worker folders, retention.

    Args:
        root: the temp root, normally ``Settings.resolved_temp_root()``.
        keep_latest: snapshots kept after their batch ends, for debugging
            (``Settings.temp_keep_latest``).
        pid_alive: tells whether a pid runs (tests inject a fake); defaults to psutil /
            ``os.kill(pid, 0)``.

    Raises:
        PermissionError: on POSIX, when the root exists but belongs to another user (in a
            shared ``/tmp`` someone else could have planted it); the message says how to
            choose another ``temp_root``.
    """

    def __init__(
        self,
        root: Path,
        keep_latest: int = 5,
        *,
        pid_alive: Callable[[int], bool] | None = None,
    ) -> None:
        self.root = Path(root)
        self.keep_latest = max(0, keep_latest)
        self.pid = os.getpid()
        self.last_errors: list[str] = []
        self._pid_alive = pid_alive or default_pid_alive
        self._handed_out: set[str] = set()
        self._make_private_dir(self.root)
        self._check_owner(self.root)

    # ------------------------------------------------------------------ folders

    @property
    def snapshots_dir(self) -> Path:
        return self.root / SNAPSHOTS_DIR

    @property
    def workers_dir(self) -> Path:
        return self.root / WORKERS_DIR

    @staticmethod
    def _make_private_dir(path: Path) -> None:
        """Create ``path`` readable by this user only where the OS has POSIX modes.

        ``mkdir(mode=0o700)`` is filtered by the umask and ignored for existing folders, so
        the mode is set again; Windows keeps the default ACLs of the user's temp folder.
        """
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        if os.name == "posix":
            with contextlib.suppress(OSError):  # not ours: _check_owner reports it
                if os.stat(path).st_uid == os.getuid():
                    os.chmod(path, 0o700)

    def _check_owner(self, path: Path) -> None:
        if os.name != "posix":
            return
        owner = os.stat(path).st_uid
        if owner != os.getuid():
            raise PermissionError(
                f"The temp folder {path} belongs to another user (uid {owner}); snapshots "
                "must not go where someone else can read or replace them. Set temp_root in "
                "the settings (or LRC_TEMP_ROOT) to a folder of your own."
            )

    def batch_dir(self, batch_id: str) -> Path:
        """``root/workers/<batch>``; pass it in ``protected`` while the batch may run."""
        return self.workers_dir / sanitize_name_part(batch_id)

    def worker_dir(self, batch_id: str, worker_id: str) -> Path:
        """Create ``root/workers/<batch>/<worker>/`` with ``maya_app_dir/`` and ``tmp/``.

        The batch folder records this process's pid so that another session's cleanup
        leaves it alone while this process lives.
        """
        self._make_private_dir(self.workers_dir)
        batch = self.batch_dir(batch_id)
        self._make_private_dir(batch)
        if self._read_owner(batch) != self.pid:
            # a folder left by a dead manager of the same batch (resume) becomes ours, so
            # another session's clean-up leaves it alone while this process lives
            fresh = batch / f"{OWNER_FILE}.{self.pid}.tmp"
            fresh.write_text(f"{self.pid}\n", encoding="ascii")
            os.replace(fresh, batch / OWNER_FILE)
        folder = batch / sanitize_name_part(worker_id)
        for sub in (folder, folder / "maya_app_dir", folder / "tmp"):
            self._make_private_dir(sub)
        return folder

    # ------------------------------------------------------------------ snapshots

    def snapshot_path(
        self,
        scene_name: str,
        layer_name: str,
        process_id: int | str | None = None,
        now: datetime | float | None = None,
        extension: str = ".ma",
    ) -> Path:
        """A new, unused snapshot path under ``root/snapshots/`` (the file is not created).

        Two calls in the same second get different paths: a ``-2``, ``-3`` ... suffix is
        added to the pid part when the plain name exists or was already handed out.
        """
        self._make_private_dir(self.snapshots_dir)
        pid = self.pid if process_id is None else process_id
        when = time.time() if now is None else now
        base = snapshot_name(scene_name, layer_name, pid, when, extension)
        stem, ext = os.path.splitext(base)
        candidate = self.snapshots_dir / base
        counter = 1
        while _key(candidate) in self._handed_out or os.path.lexists(candidate):
            counter += 1
            candidate = self.snapshots_dir / f"{stem}-{counter}{ext}"
        self._handed_out.add(_key(candidate))
        return candidate

    def new_snapshot_path(
        self,
        source: Path,
        scene_name: str,
        layer_name: str,
        process_id: int | str | None = None,
        now: datetime | float | None = None,
    ) -> Path:
        """A new, unused snapshot path for ``source`` (its extension: ``.mb`` or ``.ma``),
        to copy it to with :func:`write_snapshot`, now (a batch queued in the service) or
        once the workers are starting (the engine: Maya's start-up and the copy overlap)."""
        extension = ".mb" if Path(source).suffix.lower() == ".mb" else ".ma"
        return self.snapshot_path(scene_name, layer_name, process_id, now, extension)

    # ------------------------------------------------------------------ retention

    def cleanup(self, protected: Iterable[Path] = ()) -> list[Path]:
        """Apply the retention rule of the module docstring; returns what was deleted.

        ``protected`` holds snapshot files and/or worker folders (a batch folder, or any
        path inside one) that must survive. Problems are listed in :attr:`last_errors`.
        """
        self.last_errors = []
        keep = {_key(Path(p)) for p in protected}
        deleted: list[Path] = []
        deleted += self._clean_snapshots(keep)
        deleted += self._clean_workers(keep)
        return deleted

    def cleanup_on_exit(self, protected: Iterable[Path] = ()) -> list[Path]:
        """The shutdown pass: the same rule, so a resumable batch keeps its files."""
        return self.cleanup(protected)

    def _scan(self, folder: Path) -> list[os.DirEntry[str]]:
        """Direct children of ``folder`` inside the root; a symlinked folder is refused."""
        if not os.path.lexists(folder):
            return []
        if os.path.islink(folder) or not folder.is_dir():
            self.last_errors.append(
                f"{folder} is not a plain folder (a symlink?); skipped so that nothing "
                "outside the temp root is deleted."
            )
            return []
        try:
            with os.scandir(folder) as entries:
                return list(entries)
        except OSError as exc:
            self.last_errors.append(f"Could not list {folder}: {exc}")
            return []

    def _owned_by_other_live_process(self, pid: int | None) -> bool:
        return pid is not None and pid != self.pid and self._pid_alive(pid)

    def _clean_snapshots(self, keep: set[str]) -> list[Path]:
        snapshots: list[tuple[float, Path, int]] = []
        deleted: list[Path] = []
        now = time.time()
        for entry in self._scan(self.snapshots_dir):
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished meanwhile
            if not stat.S_ISREG(info.st_mode):
                continue  # symlinks and folders were not made here
            path = Path(entry.path)
            if _PARTIAL_RE.match(entry.name):
                if now - info.st_mtime > STALE_PARTIAL_SECONDS and self._remove_file(path):
                    deleted.append(path)
                continue
            match = _SNAPSHOT_RE.match(entry.name)
            if match:
                snapshots.append((info.st_mtime, path, int(match["pid"])))
        snapshots.sort(key=lambda item: item[0], reverse=True)
        for _mtime, path, pid in snapshots[self.keep_latest :]:
            if _key(path) in keep or self._owned_by_other_live_process(pid):
                continue
            if self._remove_file(path):
                deleted.append(path)
        return deleted

    def _clean_workers(self, keep: set[str]) -> list[Path]:
        deleted: list[Path] = []
        for entry in self._scan(self.workers_dir):
            if entry.is_symlink() or not entry.is_dir(follow_symlinks=False):
                continue
            folder = Path(entry.path)
            if self._is_protected_folder(folder, keep):
                continue
            if self._owned_by_other_live_process(self._read_owner(folder)):
                continue
            if self._remove_tree(folder):
                deleted.append(folder)
        return deleted

    @staticmethod
    def _is_protected_folder(folder: Path, keep: set[str]) -> bool:
        """The folder is protected, or holds (or sits inside) a protected path."""
        key = _key(folder)
        prefix = key + os.sep
        return any(k == key or k.startswith(prefix) or key.startswith(k + os.sep) for k in keep)

    @staticmethod
    def _read_owner(folder: Path) -> int | None:
        try:
            return int((folder / OWNER_FILE).read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            return None

    def _remove_file(self, path: Path) -> bool:
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            self.last_errors.append(f"Could not delete {path}: {exc}")
            return False
        return True

    def _remove_tree(self, folder: Path) -> bool:
        """``rmtree`` without following symlinks (it unlinks them); errors are collected."""
        problems: list[str] = []

        def note(failed: str, error: BaseException) -> None:
            if not isinstance(error, FileNotFoundError):
                problems.append(f"Could not delete {failed}: {error}")

        if sys.version_info >= (3, 12):  # onerror is deprecated from 3.12 on
            shutil.rmtree(folder, onexc=lambda _f, failed, exc: note(failed, exc))
        else:
            shutil.rmtree(folder, onerror=lambda _f, failed, info: note(failed, info[1]))
        self.last_errors.extend(problems)
        return not problems and not os.path.lexists(folder)

    # same function as the module-level one, so both call styles work
    check_disk_space = staticmethod(check_disk_space)


def file_sha256(path: str | os.PathLike[str], *, block: int = 1 << 20) -> str:
    """The SHA-256 of a file, hex, read in blocks (a snapshot can be hundreds of MB); an
    unreadable file gives "" (provenance only informs; the render reads the file itself)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(block):
                digest.update(chunk)
    except OSError:
        return ""
    return digest.hexdigest()


def write_snapshot(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically: the bytes go to a hidden temp name beside
    it first and are renamed into place, so a worker never opens a half-written scene; the
    copy gets a fresh modification time (``copyfile``, not ``copy2``): retention sorts by it.

    Raises:
        OSError: the source cannot be read or the copy cannot be written; no partial file
            is left behind.
    """
    target = Path(target)
    partial = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        shutil.copyfile(source, partial)
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
