"""ready.json's writes: coalesced (cost per frame independent of the batch's size), never
torn, never silent when they fail, true again once the disk is back.

Filesystem faults are real where the test can mount a small tmpfs (``unshare -rm``: a
private user and mount namespace, no root needed); a monkeypatched ``os.replace`` or
``tempfile.mkstemp`` makes writes fail everywhere else."""

from __future__ import annotations

import errno
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fs_faults import SMALL_TMPFS_SKIP, run_in_small_tmpfs, small_tmpfs_available

from lrc_toolbox.core import ready_manifest
from lrc_toolbox.core.ready_manifest import (
    MIN_WRITE_INTERVAL,
    READY_FILE_NAME,
    RETRY_INTERVAL,
    WRITE_COST_FACTOR,
    ManifestWriteError,
    ReadyManifest,
    read_ready,
)
from lrc_toolbox.records.batch import FrameProvenance
from lrc_toolbox.records.frame_parser import parse_frames


class Clock:
    """A monotonic clock the test moves by hand (in steps that binary floats hold exactly)."""

    def __init__(self) -> None:
        self.now = 1024.0

    def __call__(self) -> float:
        return self.now


def origin(frame: int) -> FrameProvenance:
    return FrameProvenance(
        snapshot="/snap/render_shot_1.ma",
        snapshot_sha256="ab" * 32,
        renderer="arnold",
        renderer_version="5.4.0",
        device="GPU 1 (simulated)",
        gpu_uuid="GPU-5f0e1b2a",
        attempt=1,
        render_seconds=float(frame),
        pid=4242,
        host="node01",
    )


def manifest(folder: Path, clock: Clock | None = None, frames: int = 48) -> ReadyManifest:
    return ReadyManifest(
        folder,
        batch_id="20261205-0001",
        scene="/shots/sh010/lighting.ma",
        plan={"BG": list(range(1, frames + 1)), "CHAR": list(range(1, frames + 1))},
        clock=clock or Clock(),
    )


def image(folder: Path, layer: str, frame: int) -> str:
    return str(folder / layer / f"{layer}.{frame:04d}.exr")


def on_disk(folder: Path) -> dict[str, Any]:
    data = read_ready(folder)
    assert data is not None, "ready.json is missing or unreadable"
    return data


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name != READY_FILE_NAME)


@pytest.fixture
def failing_replace(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """``os.replace`` fails with the given errno while ``state["errno"]`` is set (a full
    disk: ENOSPC), as it would on the rename; the temporary file exists at that moment."""
    state: dict[str, Any] = {"errno": errno.ENOSPC, "calls": 0}
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        state["calls"] += 1
        if state["errno"] is not None:
            raise OSError(state["errno"], os.strerror(state["errno"]))
        real(src, dst)

    monkeypatch.setattr(ready_manifest.os, "replace", replace)
    yield state


# ----------------------------------------------------------------------------- content


def test_the_file_has_the_documented_format(tmp_path: Path) -> None:
    ready = manifest(tmp_path)
    ready.add("BG", 2, [image(tmp_path, "BG", 2)], origin(2), write=False)
    ready.add("BG", 1, [image(tmp_path, "BG", 1)], origin(1), write=False)
    ready.add("CHAR", 5, [image(tmp_path, "CHAR", 5)], write=False)
    ready.finish("done")

    data = on_disk(tmp_path)
    assert {k: data[k] for k in ("version", "batch_id", "scene", "state")} == {
        "version": 1,
        "batch_id": "20261205-0001",
        "scene": "/shots/sh010/lighting.ma",
        "state": "done",
    }
    assert isinstance(data["updated"], float)
    assert data["layers"]["BG"] == {
        "frames": "1-2",
        "count": 2,
        "total": 48,
        "files": {"1": [image(tmp_path, "BG", 1)], "2": [image(tmp_path, "BG", 2)]},
        "provenance": {"1": origin(1).to_dict(), "2": origin(2).to_dict()},
    }
    assert data["layers"]["CHAR"] == {
        "frames": "5",
        "count": 1,
        "total": 48,
        "files": {"5": [image(tmp_path, "CHAR", 5)]},
        "provenance": {},
    }


def test_a_layer_with_no_finished_frame_is_listed_empty(tmp_path: Path) -> None:
    manifest(tmp_path).write()

    assert on_disk(tmp_path)["layers"]["CHAR"] == {
        "frames": "",
        "count": 0,
        "total": 48,
        "files": {},
        "provenance": {},
    }


def test_frames_are_listed_in_order_whatever_order_they_finish(tmp_path: Path) -> None:
    ready = manifest(tmp_path, frames=2000)
    order = [1500, 3, 257, 256, 1, 1024, 2, 255, 1999, 4]  # across several cached chunks
    for frame in order:
        ready.add("BG", frame, [image(tmp_path, "BG", frame)], origin(frame))
        ready.flush()

    layer = on_disk(tmp_path)["layers"]["BG"]
    assert list(layer["files"]) == [str(f) for f in sorted(order)]
    assert list(layer["provenance"]) == [str(f) for f in sorted(order)]
    assert parse_frames(layer["frames"]) == sorted(order)


def test_a_frame_finished_again_is_listed_once_with_its_latest_files(tmp_path: Path) -> None:
    ready = manifest(tmp_path)
    ready.add("BG", 7, ["/old/BG.0007.exr"], origin(7), write=False)
    ready.add("BG", 7, [image(tmp_path, "BG", 7)], origin(7), write=False)
    ready.write()

    layer = on_disk(tmp_path)["layers"]["BG"]
    assert (layer["count"], layer["files"]) == (1, {"7": [image(tmp_path, "BG", 7)]})


def test_a_layer_outside_the_plan_has_its_count_as_total(tmp_path: Path) -> None:
    ready = manifest(tmp_path)
    ready.add("FX", 1, [image(tmp_path, "FX", 1)], write=False)
    ready.add("FX", 2, [image(tmp_path, "FX", 2)], write=False)
    ready.write()

    assert on_disk(tmp_path)["layers"]["FX"]["total"] == 2


def test_to_dict_is_what_the_file_holds(tmp_path: Path) -> None:
    ready = manifest(tmp_path)
    ready.add("BG", 1, [image(tmp_path, "BG", 1)], origin(1), write=False)
    ready.write()

    expected, written = ready.to_dict(), on_disk(tmp_path)
    expected.pop("updated"), written.pop("updated")
    assert expected == written


def test_names_that_need_escaping_survive(tmp_path: Path) -> None:
    ready = ReadyManifest(
        tmp_path, batch_id='b"1', scene="C:\\shots\\sh010.ma", plan={'layer "1"\n': [1]}
    )
    ready.add('layer "1"\n', 1, ['C:\\renders\\"odd"\u00e9.exr'], write=False)
    ready.write()

    data = on_disk(tmp_path)
    assert data["batch_id"] == 'b"1' and data["scene"] == "C:\\shots\\sh010.ma"
    assert data["layers"]['layer "1"\n']["files"] == {"1": ['C:\\renders\\"odd"\u00e9.exr']}


# ----------------------------------------------------------------------------- coalescing


def test_frames_finishing_within_the_interval_share_one_write(tmp_path: Path) -> None:
    clock = Clock()
    ready = manifest(tmp_path, clock)
    ready.write()
    for frame in range(1, 49):  # 48 frames in 1.5 intervals
        clock.now += MIN_WRITE_INTERVAL / 32
        ready.add("BG", frame, [image(tmp_path, "BG", frame)], origin(frame))

    assert ready.writes == 1 + 1  # the start, then one when the interval had passed
    assert on_disk(tmp_path)["layers"]["BG"]["frames"] == "1-32"


def test_a_frame_that_is_not_yet_written_is_written_by_the_next_due_flush(
    tmp_path: Path,
) -> None:
    clock = Clock()
    ready = manifest(tmp_path, clock)
    ready.write()
    ready.add("BG", 1, [image(tmp_path, "BG", 1)], origin(1))
    assert on_disk(tmp_path)["layers"]["BG"]["count"] == 0  # coalesced: not yet

    clock.now += MIN_WRITE_INTERVAL
    assert ready.flush_if_due() is True
    assert on_disk(tmp_path)["layers"]["BG"]["files"] == {"1": [image(tmp_path, "BG", 1)]}


def test_nothing_is_written_when_nothing_changed(tmp_path: Path) -> None:
    clock = Clock()
    ready = manifest(tmp_path, clock)
    ready.write()
    clock.now += 60

    assert (ready.flush_if_due(), ready.flush(), ready.writes) == (False, False, 1)


def test_a_slow_write_spaces_out_the_next_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    real = os.replace

    def slow_replace(src: Any, dst: Any) -> None:
        clock.now += 0.125  # this write takes 125 ms (a big batch, a slow share)
        real(src, dst)

    monkeypatch.setattr(ready_manifest.os, "replace", slow_replace)
    ready = manifest(tmp_path, clock)
    ready.write()
    written = clock.now
    ready.add("BG", 1, [image(tmp_path, "BG", 1)], write=False)
    wait = WRITE_COST_FACTOR * 0.125
    assert wait > MIN_WRITE_INTERVAL

    clock.now = written + wait - 0.125
    assert ready.due() is False
    clock.now = written + wait
    assert ready.due() is True


def test_finish_writes_at_once_inside_the_interval(tmp_path: Path) -> None:
    clock = Clock()
    ready = manifest(tmp_path, clock)
    ready.write()
    ready.add("BG", 1, [image(tmp_path, "BG", 1)], origin(1))
    ready.finish("done")

    data = on_disk(tmp_path)
    assert (data["state"], data["layers"]["BG"]["frames"]) == ("done", "1")


def test_each_frame_is_encoded_once_however_many_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[int] = []
    to_dict = FrameProvenance.to_dict

    def counting(self: FrameProvenance) -> dict[str, Any]:
        encoded.append(1)
        return to_dict(self)

    monkeypatch.setattr(FrameProvenance, "to_dict", counting)
    ready = manifest(tmp_path, frames=600)
    for frame in range(1, 601):
        ready.add("BG", frame, [image(tmp_path, "BG", frame)], origin(frame), write=False)
        ready.write()  # 600 writes of a growing file

    assert len(encoded) == 600
    assert on_disk(tmp_path)["layers"]["BG"]["count"] == 600


# ----------------------------------------------------------------------------- the file


def test_no_temporary_file_is_left_after_writes(tmp_path: Path) -> None:
    ready = manifest(tmp_path)
    for frame in range(1, 4):
        ready.add("BG", frame, [image(tmp_path, "BG", frame)], write=False)
        ready.write()

    assert leftovers(tmp_path) == []


def test_the_temporary_name_is_unpredictable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    names: list[str] = []
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        names.append(Path(src).name)
        real(src, dst)

    monkeypatch.setattr(ready_manifest.os, "replace", replace)
    ready = manifest(tmp_path)
    ready.write()
    ready.finish("done")

    assert len(set(names)) == 2
    assert all(n.startswith(".ready.json.") and n.endswith(".tmp") for n in names)
    assert f".ready.json.{os.getpid()}.tmp" not in names


def test_a_planted_link_at_the_old_temporary_name_is_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (tmp_path / f".ready.json.{os.getpid()}.tmp").symlink_to(victim)

    manifest(tmp_path).write()

    assert victim.read_text() == "keep me"
    assert on_disk(tmp_path)["state"] == "running"


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_file_is_readable_as_a_new_file_would_be(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    manifest(tmp_path).write()

    mode = stat.S_IMODE((tmp_path / READY_FILE_NAME).stat().st_mode)
    assert mode == 0o666 & ~umask


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_the_files_own_mode_is_kept(tmp_path: Path) -> None:
    ready = manifest(tmp_path)
    ready.write()
    (tmp_path / READY_FILE_NAME).chmod(0o640)
    ready.finish("done")

    assert stat.S_IMODE((tmp_path / READY_FILE_NAME).stat().st_mode) == 0o640


def test_a_missing_output_folder_is_created(tmp_path: Path) -> None:
    manifest(tmp_path / "new" / "images").write()

    assert on_disk(tmp_path / "new" / "images")["state"] == "running"


def test_a_reader_never_sees_a_torn_file(tmp_path: Path) -> None:
    ready = manifest(tmp_path, frames=400)
    ready.write()
    seen: list[int] = []
    torn: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        path = tmp_path / READY_FILE_NAME
        while not stop.is_set():
            text = path.read_text(encoding="utf-8")
            try:
                seen.append(json.loads(text)["layers"]["BG"]["count"])
            except ValueError:
                torn.append(text[-80:])

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for frame in range(1, 401):
            ready.add("BG", frame, [image(tmp_path, "BG", frame)], origin(frame), write=False)
            ready.write()
    finally:
        stop.set()
        thread.join()

    assert torn == []
    assert seen and seen == sorted(seen)  # the list only grows


def test_windows_retries_a_rename_a_reader_blocks_for_a_moment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refusals = [PermissionError(13, "The process cannot access the file")] * 2
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if refusals:
            raise refusals.pop()
        real(src, dst)

    monkeypatch.setattr(ready_manifest, "_REPLACE_TRIES", 5)
    monkeypatch.setattr(ready_manifest, "_REPLACE_PAUSE", 0.0)
    monkeypatch.setattr(ready_manifest.os, "replace", replace)
    manifest(tmp_path).write()

    assert on_disk(tmp_path)["state"] == "running" and leftovers(tmp_path) == []


# ----------------------------------------------------------------------------- failures


def test_a_failed_write_raises_an_os_error_naming_the_file_and_the_reason(
    tmp_path: Path, failing_replace: dict[str, Any]
) -> None:
    with pytest.raises(ManifestWriteError) as info:
        manifest(tmp_path).write()

    error = info.value
    assert isinstance(error, OSError) and error.errno == errno.ENOSPC
    assert error.path == tmp_path / READY_FILE_NAME
    assert error.reason == os.strerror(errno.ENOSPC)
    message = str(error)
    assert str(tmp_path / READY_FILE_NAME) in message
    assert os.strerror(errno.ENOSPC) in message
    assert "free space" in message and "resume" in message


def test_a_failed_write_leaves_the_last_good_file_and_no_temporary_file(
    tmp_path: Path, failing_replace: dict[str, Any]
) -> None:
    failing_replace["errno"] = None
    ready = manifest(tmp_path)
    ready.add("BG", 1, [image(tmp_path, "BG", 1)], origin(1), write=False)
    ready.write()
    failing_replace["errno"] = errno.ENOSPC
    ready.add("BG", 2, [image(tmp_path, "BG", 2)], origin(2), write=False)

    with pytest.raises(ManifestWriteError):
        ready.write()

    assert on_disk(tmp_path)["layers"]["BG"]["frames"] == "1"
    assert leftovers(tmp_path) == []


def test_a_folder_that_cannot_take_files_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(ready_manifest.tempfile, "mkstemp", read_only)

    with pytest.raises(ManifestWriteError, match="Read-only file system") as info:
        manifest(tmp_path).write()
    assert info.value.errno == errno.EROFS


def test_an_output_path_under_a_file_raises(tmp_path: Path) -> None:
    (tmp_path / "images").write_text("a file where the folder should be")

    with pytest.raises(ManifestWriteError) as info:
        manifest(tmp_path / "images" / "sh010").write()
    assert info.value.path == tmp_path / "images" / "sh010" / READY_FILE_NAME


def test_after_a_failure_the_file_becomes_true_once_the_disk_is_back(
    tmp_path: Path, failing_replace: dict[str, Any]
) -> None:
    clock = Clock()
    ready = manifest(tmp_path, clock)
    failing_replace["errno"] = None
    ready.write()
    failing_replace["errno"] = errno.ENOSPC
    for frame in (1, 2, 3):
        clock.now += RETRY_INTERVAL
        with pytest.raises(ManifestWriteError):
            ready.add("BG", frame, [image(tmp_path, "BG", frame)], origin(frame))
    failing_replace["errno"] = None

    ready.finish("cancelled")

    data = on_disk(tmp_path)
    assert data["state"] == "cancelled"
    assert data["layers"]["BG"]["frames"] == "1-3"
    assert set(data["layers"]["BG"]["provenance"]) == {"1", "2", "3"}


def test_finish_that_fails_keeps_the_state_for_the_next_flush(
    tmp_path: Path, failing_replace: dict[str, Any]
) -> None:
    ready = manifest(tmp_path)
    ready.add("BG", 1, [image(tmp_path, "BG", 1)], write=False)
    with pytest.raises(ManifestWriteError):
        ready.finish("failed")
    failing_replace["errno"] = None

    assert ready.flush() is True
    data = on_disk(tmp_path)
    assert (data["state"], data["layers"]["BG"]["frames"]) == ("failed", "1")


def test_a_failed_write_is_retried_only_after_a_pause(
    tmp_path: Path, failing_replace: dict[str, Any]
) -> None:
    clock = Clock()
    ready = manifest(tmp_path, clock)
    with pytest.raises(ManifestWriteError):
        ready.flush_if_due()
    calls = failing_replace["calls"]

    failed_at = clock.now
    clock.now = failed_at + RETRY_INTERVAL - 0.125
    assert ready.flush_if_due() is False
    assert failing_replace["calls"] == calls
    clock.now = failed_at + RETRY_INTERVAL
    with pytest.raises(ManifestWriteError):
        ready.flush_if_due()


# ----------------------------------------------------------------------------- real tmpfs

_TMPFS_SCRIPT = r"""
import errno, json, subprocess, sys
from pathlib import Path
from lrc_toolbox.core.ready_manifest import ManifestWriteError, ReadyManifest
from lrc_toolbox.records.batch import FrameProvenance

folder, fault = Path(sys.argv[1]), sys.argv[2]
def mount(*options):
    subprocess.run(["mount", *options, str(folder)], check=True)
mount("-t", "tmpfs", "-o", "size=64k", "tmpfs")
ready = ReadyManifest(folder, batch_id="b1", scene="/s.ma", plan={"BG": range(1, 5001)})
ready.write()
written, failure = 0, None
origin = FrameProvenance(snapshot="/snap/s.ma", snapshot_sha256="ab" * 32, renderer="arnold")
for frame in range(1, 5001):
    if fault == "ro" and frame == 6:
        mount("-o", "remount,ro")
    ready.add("BG", frame, [f"{folder}/BG/BG.{frame:04d}.exr"], origin, write=False)
    try:
        ready.write()
    except ManifestWriteError as exc:
        failure = {"errno": exc.errno, "message": str(exc), "frame": frame}
        break
    written = frame
during = {
    "names": sorted(p.name for p in folder.iterdir()),
    "ready": json.loads((folder / "ready.json").read_text()),
}
mount("-o", "remount,rw,size=4m")
ready.finish("cancelled")
after = json.loads((folder / "ready.json").read_text())
print(json.dumps({"written": written, "failure": failure, "during": during, "after": after}))
"""


@pytest.mark.skipif(not small_tmpfs_available(), reason=SMALL_TMPFS_SKIP)
@pytest.mark.parametrize(("fault", "code"), [("full", errno.ENOSPC), ("ro", errno.EROFS)])
def test_a_real_full_or_read_only_disk_raises_and_ready_json_ends_true(
    tmp_path: Path, fault: str, code: int
) -> None:
    result = run_in_small_tmpfs(_TMPFS_SCRIPT, tmp_path / "mnt", fault)

    failure = result["failure"]
    assert failure is not None and failure["errno"] == code
    assert os.strerror(code) in failure["message"]
    during = result["during"]
    assert during["names"] == [READY_FILE_NAME]  # no temporary file left behind
    assert during["ready"]["state"] == "running"
    assert parse_frames(during["ready"]["layers"]["BG"]["frames"]) == list(
        range(1, result["written"] + 1)
    )  # the last good write: only finished frames
    after = result["after"]
    assert after["state"] == "cancelled"
    assert parse_frames(after["layers"]["BG"]["frames"]) == list(range(1, failure["frame"] + 1))


# ----------------------------------------------------------------------------- the engine


@pytest.mark.qt
def test_the_managers_timer_writes_a_frame_that_finished_between_writes(
    qtbot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Frame 2 ends right after frame 1, inside the coalescing interval; frame 3 then hangs.
    Only the manager's periodic flush can list frame 2 before the batch ends."""
    from sim_helpers import SHOT

    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI
    from lrc_toolbox.records.models import RenderConfig

    monkeypatch.setenv("LRC_SIM_TIME_SCALE", "0.002")
    monkeypatch.setenv("LRC_SIM_STATE_DIR", str(tmp_path / "sim-state"))
    monkeypatch.setenv("LRC_SIM_HANG_AT", "3")
    settings = Settings(
        simulate_gpus=2,  # one slot: GPU 0 stays with Maya
        temp_root=str(tmp_path / "tmp"),
        job_store_path=str(tmp_path / "jobs.sqlite"),
        stop_grace_seconds=1.0,
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
    )
    api = BatchRenderAPI(settings, simulate=True)
    out = tmp_path / "images"

    def listed() -> list[int]:
        data = read_ready(out)
        frames = data["layers"]["BG"]["frames"] if data else ""
        return parse_frames(frames) if frames else []

    try:
        api.start_batch_render(
            RenderConfig(
                scene=str(SHOT), layers=["BG"], frames="1-3", output_dir=str(out), frame_timeout=60
            )
        )
        qtbot.waitUntil(lambda: listed() == [1, 2], timeout=60_000)
        assert on_disk(out)["state"] == "running"
        with qtbot.waitSignal(api.batch_finished, timeout=60_000):
            api.stop_all_renders()
    finally:
        api.shutdown()

    data = on_disk(out)
    assert (data["state"], data["layers"]["BG"]["frames"]) == ("cancelled", "1-2")


def test_lists_says_which_frames_are_recorded(tmp_path: Path) -> None:
    manifest = ReadyManifest(tmp_path, batch_id="b", scene="s.ma", plan={"BG": [1, 300]})
    manifest.add("BG", 300, [str(tmp_path / "a.exr")], write=False)
    assert (manifest.lists("BG", 300), manifest.lists("BG", 1), manifest.lists("FG", 300)) == (
        True,
        False,
        False,
    )
