"""Check, on a real NVIDIA machine, that pinning a worker by GPU UUID works as designed.

For every GPU that NVML reports, start a child process with ``CUDA_DEVICE_ORDER=PCI_BUS_ID``
and ``CUDA_VISIBLE_DEVICES=<that GPU's UUID>`` (what the manager gives each worker) and ask
the CUDA driver, through ctypes and libcuda alone, how many devices it sees and which UUID
device 0 has. Also checks that an unknown UUID hides every GPU (CUDA then reports none).

Run by hand: ``python scripts/gpu_pinning_check.py`` from the repository root. Prints JSON.
"""

from __future__ import annotations

import ctypes
import json
import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def cuda_view() -> dict[str, object]:
    """What the CUDA driver sees in this process (device count, UUID of device 0)."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as exc:
        return {"error": f"libcuda not loadable: {exc}"}
    rc = cuda.cuInit(0)
    count = ctypes.c_int(0)
    if rc == 0:
        rc = cuda.cuDeviceGetCount(ctypes.byref(count))
    view: dict[str, object] = {"cuInit_or_count_rc": rc, "device_count": count.value}
    if rc == 0 and count.value > 0:
        device = ctypes.c_int(0)
        cuda.cuDeviceGet(ctypes.byref(device), 0)
        raw = (ctypes.c_ubyte * 16)()
        fn = getattr(cuda, "cuDeviceGetUuid_v2", None) or cuda.cuDeviceGetUuid
        if fn(raw, device) == 0:
            view["device0_uuid"] = "GPU-" + str(uuid.UUID(bytes=bytes(raw)))
        name = ctypes.create_string_buffer(256)
        cuda.cuDeviceGetName(name, 256, device)
        view["device0_name"] = name.value.decode(errors="replace")
    return view


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(cuda_view()))
        return 0
    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.core.system_detector import SystemDetector

    info = SystemDetector(Settings()).detect()
    results = []
    targets = [g.uuid for g in info.gpus] + ["GPU-00000000-0000-0000-0000-000000000000"]
    for target in targets:
        env = dict(os.environ, CUDA_DEVICE_ORDER="PCI_BUS_ID", CUDA_VISIBLE_DEVICES=target)
        out = subprocess.run(  # noqa: S603 - an argument list, no shell
            [sys.executable, __file__, "--child"], env=env, capture_output=True, text=True
        )
        try:
            seen = json.loads(out.stdout)
        except ValueError:
            seen = {"error": out.stderr[-500:]}
        seen["pinned_to"] = target
        seen["pinned_ok"] = (
            seen.get("device0_uuid") == target and seen.get("device_count") == 1
            if target in [g.uuid for g in info.gpus]
            else seen.get("device_count", 0) == 0
        )
        results.append(seen)
    print(json.dumps({"system": info.to_dict(), "pinning": results}, indent=2))
    return 0 if all(r["pinned_ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
