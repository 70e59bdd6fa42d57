"""Device check for issue 12 item 12: do NVML's per-process lists show a pinned process on
its own GPU only? No Maya, no simulator: nvidia-ml-py, and libcuda through ctypes.

    python scripts/device_check_gpu_isolation.py   (from the repository root; < 60 s)

Starts one child with CUDA_VISIBLE_DEVICES=<UUID of GPU 0> that creates a CUDA context
(cuInit + cuCtxCreate), prints what ``gpu_utils.gpu_process_lists()`` reports for every
GPU, runs ``core.gpu_isolation.check_isolation`` on the child, and ends with one line:
``VERDICT: PASS|FAIL|INCONCLUSIVE|SKIPPED ...``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lrc_toolbox.core.gpu_isolation import WorkerOnGpu, check_isolation
from lrc_toolbox.utils.gpu_utils import gpu_process_lists

CHILD = r"""
import ctypes, os, sys
names = ["nvcuda.dll"] if os.name == "nt" else ["libcuda.so.1", "libcuda.so"]
cuda = None
for name in names:
    try:
        cuda = ctypes.CDLL(name)
        break
    except OSError:
        pass
if cuda is None:
    print("nocuda no CUDA driver library (libcuda) could be loaded", flush=True)
    sys.exit(0)
def ok(result, what):
    if result != 0:
        print(f"nocuda {what} failed with CUresult {result}", flush=True)
        sys.exit(0)
ok(cuda.cuInit(0), "cuInit")
count, device, ctx = ctypes.c_int(), ctypes.c_int(), ctypes.c_void_p()
ok(cuda.cuDeviceGetCount(ctypes.byref(count)), "cuDeviceGetCount")
ok(cuda.cuDeviceGet(ctypes.byref(device), 0), "cuDeviceGet")
raw = (ctypes.c_ubyte * 16)()
ok(cuda.cuDeviceGetUuid(raw, device), "cuDeviceGetUuid")
h = bytes(raw).hex()
uuid = f"GPU-{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
create = getattr(cuda, "cuCtxCreate_v2", None) or cuda.cuCtxCreate
ok(create(ctypes.byref(ctx), 0, device), "cuCtxCreate")
print(f"ready {os.getpid()} {count.value} {uuid}", flush=True)
sys.stdin.read()  # hold the context until the parent closes stdin
"""


def verdict(text: str) -> int:
    print(f"VERDICT: {text}", flush=True)
    return 0


def main() -> int:
    started = time.monotonic()
    first = gpu_process_lists()
    if first.error and not first.lists:
        return verdict(f"SKIPPED: NVML unavailable: {first.error}")
    gpu0 = next((p for p in first.lists.values() if p.index == 0), None)
    if gpu0 is None:
        return verdict(f"SKIPPED: NVML lists no GPU 0 ({first.error})")
    env = dict(os.environ, CUDA_VISIBLE_DEVICES=gpu0.uuid, CUDA_DEVICE_ORDER="PCI_BUS_ID")
    child = subprocess.Popen(  # noqa: S603 - an argument list, never a shell
        [sys.executable, "-c", CHILD],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    stdout = child.stdout
    assert stdout is not None
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(30)
    try:
        said = (line[0] if line else "").split()
        if not said or said[0] != "ready":
            why = " ".join(said[1:]) or "no answer in 30 s"
            return verdict(f"SKIPPED: the CUDA child did not start: {why}")
        pid, seen_count, seen_uuid = int(said[1]), int(said[2]), said[3]
        print(f"child pid {pid}: sees {seen_count} CUDA device(s), device 0 = {seen_uuid}")
        pinning = "OK" if seen_uuid == gpu0.uuid else "WRONG"
        print(f"GPU 0 by NVML: {gpu0.uuid}; pinning {pinning}")
        query = first
        while time.monotonic() - started < 45:  # NVML may list a new context a moment late
            query = gpu_process_lists()
            if any(pid in (p.pids or ()) for p in query.lists.values()):
                break
            time.sleep(0.5)
        for found in sorted(query.lists.values(), key=lambda p: p.index or 0):
            pids = "unknown" if found.pids is None else sorted(found.pids)
            note = f"  ({found.error})" if found.error else ""
            print(f"GPU {found.index} {found.uuid}: pids {pids}{note}")
        report = check_isolation([WorkerOnGpu("child", pid, gpu0.uuid)], query.lists)
        on = [p.index for p in query.lists.values() if pid in (p.pids or ())]
        print(f"child pid {pid} listed on GPU(s) {on}; violations {len(report.violations)}")
        if report.violations:
            return verdict(f"FAIL: {report.violations[0].reason()}")
        took = time.monotonic() - started
        if on == [0] and seen_count == 1 and seen_uuid == gpu0.uuid:
            return verdict(f"PASS: child pid {pid} on GPU 0 only ({took:.1f} s)")
        listed = {q for p in query.lists.values() for q in (p.pids or ())}
        foreign = sorted(q for q in listed if not Path(f"/proc/{q}").exists())
        if not on and foreign and sys.platform.startswith("linux"):
            return verdict(
                f"INCONCLUSIVE: NVML lists pids {foreign} that do not exist here: it reports "
                "another pid namespace (a container without --pid=host), so pids cannot be "
                "matched"
            )
        if not on and not listed:
            return verdict(
                "INCONCLUSIVE: NVML lists no process on any GPU, not even the child's CUDA "
                f"context (process information hidden here?); unknown lists: {report.unknown}"
            )
        return verdict(f"INCONCLUSIVE: child pid {pid} on GPU(s) {on}; unknown: {report.unknown}")
    finally:
        if child.stdin is not None:
            child.stdin.close()
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


if __name__ == "__main__":
    sys.exit(main())
