"""Tests for lrc_toolbox.utils.temp_file_manager: names, snapshots, retention, disk checks."""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections import namedtuple
from datetime import datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lrc_toolbox.utils.temp_file_manager import (
    MAX_NAME_PART,
    DiskStatus,
    TempFileManager,
    check_disk_space,
    sanitize_name_part,
    snapshot_name,
    write_snapshot,
)

SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
WHEN = datetime(2024, 1, 2, 3, 4, 5)
posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX modes and symlinks")


@pytest.fixture
def manager(tmp_path: Path) -> TempFileManager:
    return TempFileManager(tmp_path / "root", keep_latest=5, pid_alive=lambda pid: False)


def make_snapshot(
    manager: TempFileManager, name: str, age_s: float, pid: int | None = None
) -> Path:
    """A snapshot file named for ``pid`` (default: this process), ``age_s`` seconds old."""
    path = manager.snapshot_path(name, "beauty", manager.pid if pid is None else pid, WHEN)
    path.write_text("//Maya ASCII 2024 scene\n", encoding="utf-8")
    stamp = 1_700_000_000 - age_s
    os.utime(path, (stamp, stamp))
    return path


# --------------------------------------------------------------------------- sanitising


def test_sanitize_replaces_forward_slashes() -> None:
    assert sanitize_name_part("shots/sh010/anim") == "shots_sh010_anim"


def test_sanitize_replaces_backslashes() -> None:
    assert sanitize_name_part(r"shots\sh010") == "shots_sh010"


def test_sanitize_removes_parent_references() -> None:
    assert sanitize_name_part("../../etc/passwd") == "etc_passwd"


def test_sanitize_removes_drive_letters() -> None:
    result = sanitize_name_part(r"C:\Users\me\scene")
    assert ":" not in result and result == "C_Users_me_scene"


def test_sanitize_folds_accents_to_ascii() -> None:
    assert sanitize_name_part("Scène_Café") == "Scene_Cafe"


def test_sanitize_non_latin_only_falls_back() -> None:
    assert sanitize_name_part("日本語") == "unnamed"


def test_sanitize_empty_falls_back() -> None:
    assert sanitize_name_part("") == "unnamed"


def test_sanitize_only_dots_falls_back() -> None:
    assert sanitize_name_part("..") == "unnamed"


def test_sanitize_caps_length() -> None:
    assert len(sanitize_name_part("a" * 500)) == MAX_NAME_PART


def test_sanitize_collapses_repeats() -> None:
    assert sanitize_name_part("a   b///c") == "a_b_c"


def test_sanitize_windows_device_name_is_changed() -> None:
    assert sanitize_name_part("con").upper() != "CON"


@given(st.text(max_size=300))
def test_sanitize_always_gives_a_safe_nonempty_part(text: str) -> None:
    result = sanitize_name_part(text)
    assert SAFE.match(result) and 0 < len(result) <= MAX_NAME_PART
    assert ".." not in result and "/" not in result and "\\" not in result


# --------------------------------------------------------------------------- names


def test_snapshot_name_has_the_required_format() -> None:
    assert (
        snapshot_name("shot010_v003", "beauty", 4242, WHEN)
        == "render_shot010_v003_20240102-030405_beauty_4242.ma"
    )


def test_snapshot_name_accepts_epoch_seconds() -> None:
    stamp = WHEN.timestamp()
    assert snapshot_name("a", "b", 1, stamp) == snapshot_name("a", "b", 1, WHEN)


def test_snapshot_name_sanitises_every_part() -> None:
    name = snapshot_name("../x y", "rs_layer:1", "12/3", WHEN)
    assert name == "render_x_y_20240102-030405_rs_layer_1_12_3.ma"


def test_snapshot_name_for_several_layers() -> None:
    assert "_3layers_" in snapshot_name("shot", "3layers", 7, WHEN)


def test_snapshot_name_keeps_binary_extension() -> None:
    assert snapshot_name("s", "l", 1, WHEN, extension=".MB").endswith(".mb")


# --------------------------------------------------------------------------- paths


def test_snapshot_path_is_under_snapshots(manager: TempFileManager) -> None:
    path = manager.snapshot_path("shot", "beauty", 99, WHEN)
    assert path.parent == manager.root / "snapshots"
    assert path.name == "render_shot_20240102-030405_beauty_99.ma"


def test_snapshot_path_is_unique_within_one_second(manager: TempFileManager) -> None:
    first = manager.snapshot_path("shot", "beauty", 99, WHEN)
    second = manager.snapshot_path("shot", "beauty", 99, WHEN)
    assert first != second and second.name.endswith("_99-2.ma")


def test_snapshot_path_skips_existing_files(tmp_path: Path) -> None:
    root = tmp_path / "root"
    TempFileManager(root).snapshot_path("s", "l", 5, WHEN).write_text("x")
    fresh = TempFileManager(root).snapshot_path("s", "l", 5, WHEN)  # a new manager: no memory
    assert not fresh.exists()


def test_default_process_id_is_this_process(manager: TempFileManager) -> None:
    assert manager.snapshot_path("s", "l", now=WHEN).name.endswith(f"_{os.getpid()}.ma")


@posix_only
def test_root_is_private(tmp_path: Path) -> None:
    manager = TempFileManager(tmp_path / "root")
    assert stat.S_IMODE(manager.root.stat().st_mode) == 0o700


@posix_only
def test_existing_root_is_made_private(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    TempFileManager(root)
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


@posix_only
def test_worker_folders_are_private(manager: TempFileManager) -> None:
    folder = manager.worker_dir("b1", "gpu1")
    for path in (folder, folder / "maya_app_dir", folder / "tmp"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o700


@posix_only
def test_root_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "root"
    root.mkdir()
    monkeypatch.setattr(os, "getuid", lambda: root.stat().st_uid + 1)
    with pytest.raises(PermissionError, match="temp_root"):
        TempFileManager(root)


def test_worker_dir_has_app_dir_tmp_and_owner(manager: TempFileManager) -> None:
    folder = manager.worker_dir("batch/1", "gpu1")
    assert folder == manager.root / "workers" / "batch_1" / "gpu1"
    assert (folder / "maya_app_dir").is_dir() and (folder / "tmp").is_dir()
    assert (folder.parent / "owner.pid").read_text().strip() == str(os.getpid())


def test_worker_dir_takes_over_a_folder_a_dead_manager_of_the_batch_left(
    manager: TempFileManager,
) -> None:
    first = manager.worker_dir("resumed", "gpu1")
    (first.parent / "owner.pid").write_text("999999999\n")  # the killed manager
    manager.worker_dir("resumed", "gpu1")
    assert (first.parent / "owner.pid").read_text().strip() == str(os.getpid())


# --------------------------------------------------------------------------- copies


def copy_snapshot(manager: TempFileManager, source: Path, layer: str) -> Path:
    """The engine's two steps: a new snapshot path, then the atomic copy to it."""
    target = manager.new_snapshot_path(source, "scene", layer, 1, WHEN)
    write_snapshot(source, target)
    return target


def test_a_snapshot_copy_has_the_bytes(manager: TempFileManager, tmp_path: Path) -> None:
    source = tmp_path / "scene.ma"
    source.write_bytes(b'//Maya ASCII 2024 scene\nrequires maya "2024";\n')
    target = copy_snapshot(manager, source, "beauty")
    assert target.read_bytes() == source.read_bytes()
    assert target.parent == manager.snapshots_dir


def test_a_snapshot_copy_gets_a_fresh_mtime(manager: TempFileManager, tmp_path: Path) -> None:
    source = tmp_path / "scene.ma"
    source.write_text("x")
    os.utime(source, (1_000_000, 1_000_000))
    target = copy_snapshot(manager, source, "beauty")
    assert target.stat().st_mtime > 1_000_000 + 86400


def test_a_snapshot_path_keeps_the_binary_extension(
    manager: TempFileManager, tmp_path: Path
) -> None:
    source = tmp_path / "scene.mb"
    source.write_bytes(b"FOR4")
    assert copy_snapshot(manager, source, "l").suffix == ".mb"


def test_a_snapshot_copy_is_renamed_into_place(
    manager: TempFileManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "scene.ma"
    source.write_text("content")
    real_replace = os.replace
    seen: list[tuple[str, bool]] = []

    def checking_replace(src: str, dst: str) -> None:
        seen.append((Path(src).read_text(), Path(dst).exists()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", checking_replace)
    copy_snapshot(manager, source, "l")
    assert seen == [("content", False)]  # complete before it gets its name


def test_failed_copy_leaves_nothing(
    manager: TempFileManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "scene.ma"
    source.write_text("content")

    def half_copy(src: Path, dst: Path) -> None:
        Path(dst).write_text("cont")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copyfile", half_copy)
    with pytest.raises(OSError, match="No space"):
        copy_snapshot(manager, source, "l")
    assert list(manager.snapshots_dir.iterdir()) == []


# --------------------------------------------------------------------------- retention


def test_cleanup_keeps_the_latest_five(manager: TempFileManager) -> None:
    paths = [make_snapshot(manager, f"s{i}", age_s=i * 60) for i in range(8)]
    deleted = manager.cleanup()
    assert sorted(deleted) == sorted(paths[5:])
    assert all(p.exists() for p in paths[:5])


def test_cleanup_never_deletes_a_protected_snapshot(manager: TempFileManager) -> None:
    paths = [make_snapshot(manager, f"s{i}", age_s=i * 60) for i in range(8)]
    manager.cleanup(protected=[paths[-1]])
    assert paths[-1].exists() and not paths[-2].exists()


def test_cleanup_keeps_snapshots_of_other_live_sessions(tmp_path: Path) -> None:
    manager = TempFileManager(tmp_path / "root", keep_latest=0, pid_alive=lambda pid: pid == 777)
    other = make_snapshot(manager, "other", age_s=600, pid=777)
    dead = make_snapshot(manager, "dead", age_s=600, pid=778)
    manager.cleanup()
    assert other.exists() and not dead.exists()


def test_cleanup_with_keep_latest_zero_deletes_all_unprotected(tmp_path: Path) -> None:
    manager = TempFileManager(tmp_path / "root", keep_latest=0)
    path = make_snapshot(manager, "s", age_s=0)
    assert manager.cleanup() == [path]


def test_cleanup_ignores_unrelated_files(manager: TempFileManager) -> None:
    notes = manager.snapshots_dir
    notes.mkdir(parents=True, exist_ok=True)
    (notes / "readme.txt").write_text("keep")
    (manager.root / "mine.ma").write_text("keep")
    manager.cleanup()
    assert (notes / "readme.txt").exists() and (manager.root / "mine.ma").exists()


@posix_only
def test_cleanup_does_not_follow_snapshot_symlinks(
    manager: TempFileManager, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.ma"
    outside.write_text("precious")
    for i in range(6):
        make_snapshot(manager, f"s{i}", age_s=i)
    link = manager.snapshots_dir / "render_link_20240102-030405_l_1.ma"
    link.symlink_to(outside)
    os.utime(link, (1, 1), follow_symlinks=False)
    manager.cleanup()
    assert outside.read_text() == "precious"


@posix_only
def test_cleanup_skips_a_symlinked_snapshots_folder(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "render_x_20240102-030405_l_1.ma"
    victim.write_text("precious")
    root = tmp_path / "root"
    root.mkdir()
    (root / "snapshots").symlink_to(outside, target_is_directory=True)
    manager = TempFileManager(root, keep_latest=0)
    manager.cleanup()
    assert victim.exists() and any("symlink" in e for e in manager.last_errors)


@posix_only
def test_cleanup_of_worker_dirs_stays_inside_root(manager: TempFileManager, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep")
    folder = manager.worker_dir("b1", "gpu1")
    (folder / "tmp" / "link").symlink_to(outside, target_is_directory=True)
    deleted = manager.cleanup()
    assert manager.batch_dir("b1") in deleted
    assert (outside / "precious.txt").read_text() == "keep"


@posix_only
def test_cleanup_leaves_a_symlinked_batch_folder(manager: TempFileManager, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep")
    manager.workers_dir.mkdir(parents=True, exist_ok=True)
    (manager.workers_dir / "b9").symlink_to(outside, target_is_directory=True)
    manager.cleanup()
    assert (outside / "precious.txt").exists()


def test_cleanup_deletes_worker_dirs_of_finished_batches(manager: TempFileManager) -> None:
    manager.worker_dir("old", "gpu1")
    manager.cleanup()
    assert not manager.batch_dir("old").exists()


def test_cleanup_keeps_protected_worker_dirs(manager: TempFileManager) -> None:
    folder = manager.worker_dir("running", "gpu1")
    manager.cleanup(protected=[folder])  # any path inside the batch protects the batch
    assert folder.is_dir()


def test_cleanup_keeps_worker_dirs_of_other_live_sessions(tmp_path: Path) -> None:
    manager = TempFileManager(tmp_path / "root", pid_alive=lambda pid: pid == 4321)
    folder = manager.worker_dir("theirs", "gpu1")
    (folder.parent / "owner.pid").write_text("4321\n")
    manager.cleanup()
    assert folder.is_dir()


def test_cleanup_collects_errors_instead_of_raising(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager = TempFileManager(tmp_path / "root", keep_latest=0)
    path = make_snapshot(manager, "busy", age_s=0)
    real_unlink = Path.unlink

    def busy_unlink(self: Path, missing_ok: bool = False) -> None:
        if self == path:
            raise PermissionError(13, "The process cannot access the file", str(self))
        real_unlink(self, missing_ok=missing_ok)

    monkeypatch.setattr(Path, "unlink", busy_unlink)
    assert manager.cleanup() == []
    assert path.exists() and str(path) in manager.last_errors[0]


def test_cleanup_removes_stale_partial_copies(manager: TempFileManager) -> None:
    manager.snapshots_dir.mkdir(parents=True, exist_ok=True)
    stale = manager.snapshots_dir / ".render_s_20240102-030405_l_1.ma.tmp-0123abcd"
    fresh = manager.snapshots_dir / ".render_s_20240102-030405_l_1.ma.tmp-4567abcd"
    stale.write_text("half")
    fresh.write_text("half")
    os.utime(stale, (1, 1))
    manager.cleanup()
    assert not stale.exists() and fresh.exists()


def test_cleanup_on_exit_applies_the_same_rule(manager: TempFileManager) -> None:
    paths = [make_snapshot(manager, f"s{i}", age_s=i) for i in range(7)]
    assert sorted(manager.cleanup_on_exit(protected=[paths[6]])) == [paths[5]]


# --------------------------------------------------------------------------- disk space

Usage = namedtuple("Usage", "total used free")
MB = 1024 * 1024


def fake_usage(
    monkeypatch: pytest.MonkeyPatch, free_mb: int, seen: list[Path] | None = None
) -> None:
    def disk_usage(path: Path) -> Usage:
        if seen is not None:
            seen.append(Path(path))
        return Usage(10**6 * MB, 0, free_mb * MB)

    monkeypatch.setattr(shutil, "disk_usage", disk_usage)


def test_disk_ok(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_usage(monkeypatch, 50_000)
    status = check_disk_space(tmp_path, min_free_mb=1024, warn_free_mb=10240)
    assert status == DiskStatus(ok=True, free_mb=50_000)


def test_disk_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_usage(monkeypatch, 5000)
    status = check_disk_space(tmp_path, min_free_mb=1024, warn_free_mb=10240)
    assert status.ok and status.error is None
    assert status.warning is not None and "5000 MB free" in status.warning


def test_disk_error_says_free_needed_where_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_usage(monkeypatch, 300)
    status = check_disk_space(tmp_path, min_free_mb=1024, warn_free_mb=10240)
    assert not status.ok and status.error is not None
    for part in ("300 MB free", "1024 MB needed", str(tmp_path), "output folder", "temp_root"):
        assert part in status.error


def test_disk_check_uses_nearest_existing_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Path] = []
    fake_usage(monkeypatch, 50_000, seen)
    check_disk_space(tmp_path / "not" / "yet", min_free_mb=1, warn_free_mb=2)
    assert seen == [tmp_path]


def test_disk_check_that_cannot_run_does_not_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(path: Path) -> Usage:
        raise OSError("no statvfs")

    monkeypatch.setattr(shutil, "disk_usage", broken)
    status = check_disk_space(tmp_path, min_free_mb=1, warn_free_mb=2)
    assert status.ok and status.warning is not None and "no statvfs" in status.warning


def test_disk_check_is_also_a_manager_method(
    manager: TempFileManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_usage(monkeypatch, 10)
    assert not manager.check_disk_space(manager.root, min_free_mb=100, warn_free_mb=200).ok


@posix_only
def test_protected_path_given_through_a_symlink_still_matches(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real, target_is_directory=True)
    manager = TempFileManager(tmp_path / "alias" / "root", keep_latest=0)
    path = make_snapshot(manager, "s", age_s=0)
    manager.cleanup(protected=[path.resolve()])
    assert path.exists()
