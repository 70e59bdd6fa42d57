"""The simulator's image writer on a full or read-only disk: a Maya-like error (a
RuntimeError naming the image and the reason), and nothing left behind: no zero-byte
temporary file, an existing image untouched.

Real faults on a small private tmpfs where the test can mount one (``tests/fs_faults.py``);
monkeypatched writes everywhere else."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import pytest
from fs_faults import SMALL_TMPFS_SKIP, run_in_small_tmpfs, small_tmpfs_available
from sim_helpers import MAYAPY, SHOT, command, parse_output, sim_env

from lrc_toolbox.sim import images
from lrc_toolbox.sim.images import ImageWriteError, write_image

WIDTH, HEIGHT = 8, 4


class _FullDisk:
    """What ``os.fdopen`` gives when the disk fills: the first write fails (ENOSPC)."""

    def __init__(self, fd: int, _mode: str = "wb") -> None:
        self.fd = fd

    def __enter__(self) -> _FullDisk:
        return self

    def __exit__(self, *_exc: object) -> None:
        os.close(self.fd)

    def write(self, _data: bytes) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _fail_with(code: int) -> Any:
    def fail(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError(code, os.strerror(code))

    return fail


def test_a_full_disk_raises_a_maya_like_error_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images.os, "fdopen", _FullDisk)
    target = tmp_path / "BG" / "BG.0001.exr"

    with pytest.raises(ImageWriteError) as info:
        write_image(target, WIDTH, HEIGHT, 1)

    assert list((tmp_path / "BG").iterdir()) == []
    assert isinstance(info.value, RuntimeError)  # what maya.cmds raises
    assert str(info.value) == (
        f'Error: cannot write image "{target}": No space left on device (ENOSPC)'
    )
    assert (info.value.path, info.value.errno) == (target, errno.ENOSPC)


def test_a_read_only_folder_raises_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images.tempfile, "mkstemp", _fail_with(errno.EROFS))

    with pytest.raises(ImageWriteError, match=r"Read-only file system \(EROFS\)"):
        write_image(tmp_path / "BG.0001.exr", WIDTH, HEIGHT, 1)

    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_made_raises(tmp_path: Path) -> None:
    (tmp_path / "images").write_text("a file where the folder should be")

    with pytest.raises(ImageWriteError, match="cannot write image"):
        write_image(tmp_path / "images" / "BG" / "BG.0001.exr", WIDTH, HEIGHT, 1)


def test_a_failed_rename_keeps_the_existing_image_and_removes_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "BG.0001.png"
    write_image(target, WIDTH, HEIGHT, 1)
    before = target.read_bytes()
    monkeypatch.setattr(images.os, "replace", _fail_with(errno.EIO))

    with pytest.raises(ImageWriteError, match="Input/output error"):
        write_image(target, WIDTH, HEIGHT, 2)

    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["BG.0001.png"]


def test_an_interrupted_write_removes_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(images.os, "replace", _interrupt)

    with pytest.raises(KeyboardInterrupt):
        write_image(tmp_path / "BG.0001.exr", WIDTH, HEIGHT, 1)

    assert list(tmp_path.iterdir()) == []


def _interrupt(*_args: Any) -> None:
    raise KeyboardInterrupt


def test_a_written_image_has_the_mode_a_new_file_gets(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    os.umask(umask)
    target = tmp_path / "BG.0001.tga"

    write_image(target, WIDTH, HEIGHT, 1)

    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


# ----------------------------------------------------------------------------- real tmpfs

_WRITE_SCRIPT = r"""
import json, subprocess, sys
from pathlib import Path
from lrc_toolbox.sim.images import ImageWriteError, write_image

folder, fault = Path(sys.argv[1]), sys.argv[2]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k", "tmpfs", str(folder)], check=True)
kept = folder / "BG.0001.exr"
write_image(kept, 8, 4, 1)
before = kept.read_bytes()
if fault == "ro":
    subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
errors = []
for target in (kept, folder / "BG.0002.exr"):
    try:
        write_image(target, 256, 256, 2)  # 0.5 MB: more than the disk holds
    except ImageWriteError as exc:
        errors.append({"errno": exc.errno, "message": str(exc)})
print(json.dumps({
    "errors": errors,
    "names": sorted(p.name for p in folder.iterdir()),
    "kept": kept.read_bytes() == before,
}))
"""


@pytest.mark.skipif(not small_tmpfs_available(), reason=SMALL_TMPFS_SKIP)
@pytest.mark.parametrize(
    ("fault", "code", "reason"),
    [("full", errno.ENOSPC, "No space left on device"), ("ro", errno.EROFS, "Read-only")],
)
def test_a_real_full_or_read_only_disk_leaves_nothing_behind(
    tmp_path: Path, fault: str, code: int, reason: str
) -> None:
    result = run_in_small_tmpfs(_WRITE_SCRIPT, tmp_path / "mnt", fault)

    assert [e["errno"] for e in result["errors"]] == [code, code]
    assert all(reason in e["message"] for e in result["errors"])
    assert result["names"] == ["BG.0001.exr"]  # no .tmp file, no partial frame 2
    assert result["kept"] is True


_WORKER_SCRIPT = r"""
import json, subprocess, sys
from pathlib import Path

folder, worker_input = Path(sys.argv[1]), sys.argv[2]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(folder)], check=True)
from lrc_toolbox.utils.image_check import check_image

command = json.loads(sys.argv[3])
result = subprocess.run(command, input=worker_input.encode(), capture_output=True, timeout=90)
files = sorted(p for p in folder.rglob("*") if p.is_file())
print(json.dumps({
    "stdout": result.stdout.decode("utf-8", "replace"),
    "names": [str(p.relative_to(folder)) for p in files],
    "bad_images": [str(p) for p in files if not check_image(p).ok],
    "returncode": result.returncode,
}))
"""


@pytest.mark.skipif(not small_tmpfs_available(), reason=SMALL_TMPFS_SKIP)
def test_a_worker_on_a_disk_that_fills_fails_the_frames_that_do_not_fit_and_leaves_no_temp(
    tmp_path: Path,
) -> None:
    out = tmp_path / "mnt"
    worker = [
        *MAYAPY,
        "-m",
        "lrc_toolbox.worker",
        "--scene",
        str(SHOT),
        "--project",
        str(tmp_path / "project"),
        "--output-dir",
        str(out),
    ]
    commands = command("render", layer="BG", frames=list(range(1, 9))) + command("quit")

    result = run_in_small_tmpfs(
        _WORKER_SCRIPT, out, commands, json.dumps(worker), env=sim_env(tmp_path)
    )

    assert result["returncode"] == 0
    events, _log = parse_output(result["stdout"].encode())
    done = [e["frame"] for e in events if e.name == "frame_done"]
    failed = {e["frame"]: e["reason"] for e in events if e.name == "frame_failed"}
    assert done and failed and sorted(done + list(failed)) == list(range(1, 9))
    assert all("No space left on device (ENOSPC)" in r for r in failed.values()), failed
    assert not [n for n in result["names"] if n.endswith(".tmp")]
    assert len(result["names"]) == len(done)  # one complete image per finished frame
    assert result["bad_images"] == []
