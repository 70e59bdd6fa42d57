"""The log lines real renderers print, for the simulator to print while it pretends to render.

The batch manager learns progress, outputs and fatal errors only from these lines
(:mod:`lrc_toolbox.utils.log_parser`), so the simulator must speak each renderer's real
format or tests prove nothing. Every format below is modelled on public samples; the
comment above each names its source. Short names: DL = Thinkbox Deadline 10's MayaBatch /
MayaCmd plug-ins (``applemin/Deadline_Development``), CGRU = ``CGRU/cgru``
``afanasy/python/parsers``, LB = ``pedohorse/lifeblood``
``tests/nodes/data/mock_redshift/redshiftCmdLine`` (a captured ``redshiftCmdLine`` log),
ADSK = Autodesk's "How to Read a Render Log" page for Arnold.

Everything here is pure: functions return lists of lines (no line endings) and print
nothing. Values that vary in real logs (memory, block coordinates, timings) are derived
deterministically from the arguments so tests can compare exact text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lrc_toolbox.records.renderers import MAYA_DEFAULT_RENDERER, RENDERERS, LogFormat

__all__ = [
    "FATAL_KINDS",
    "FrameLog",
    "error_line",
    "fatal_line",
    "frame_log",
    "startup_lines",
]

FATAL_KINDS: tuple[str, ...] = (
    "licence",
    "cuda",
    "missing_plugin",
    "invalid_device",
    "no_renderable_camera",
    "aborted",
    "out_of_vram",
)
"""Faults :func:`fatal_line` can print (``"license"`` is accepted for ``"licence"``)."""

DEFAULT_GPU_NAME = "NVIDIA RTX A4500"
#: Arnold's processor line (ADSK: "|  1 x Intel(R) Xeon(R) ..."), printed for CPU renders
_ARNOLD_CPU = " 1 x Intel(R) Xeon(R) W-2245 CPU @ 3.90GHz (8 cores, 16 logical) with 65218MB"
_ARNOLD_VERSION = (
    # deadline-cloud-samples PR #121 (a Maya 2026 + MtoA Deadline Cloud job log).
    "Arnold 7.4.0.0 [516ade3d] linux x86_64 clang-15.0.7 oiio-2.6.3 osl-1.13.3 vdb-11.0.0 "
    "adlsdk-9.5.0.53 clmhub-3.1.1.43 rlm-14.2.5 optix-8.0.0 2025/02/04 21:52:37"
)
_REDSHIFT_BLOCK = 128  # LB: "Rendering blocks... (resolution: 1280x720, block size: 128, ...)"


def _is_gpu(device: str) -> bool:
    """True for a CUDA_VISIBLE_DEVICES-style value ("0", "1,2", "GPU-..."), not "CPU"."""
    value = device.strip()
    return bool(value) and value.upper() != "CPU" and not value.startswith("-")


def _hms(seconds: float) -> str:
    total = max(0, int(seconds))
    return f"{total // 3600:02d}:{total // 60 % 60:02d}:{total % 60:02d}"


def _arnold(elapsed: float, memory_mb: int, message: str, severity: str = "") -> str:
    """One Arnold line: ``00:00:15   325MB         |    20% done - 115 rays/pixel``.

    Columns as in MAYA_REFERENCE.md section 6, ADSK and deadline-cloud-for-maya PR #214
    (``00:34:55  5452MB ERROR   |  aborting render ...``): elapsed time, memory right
    aligned in 5 digits, severity left aligned in 8, then ``| `` and the message.
    """
    return f"{_hms(elapsed)} {memory_mb:5d}MB {severity:<8}| {message}"


def _arnold_driver(path: str) -> str:
    ext = path.rsplit(".", 1)[-1].lower() if "." in path else "exr"
    return {"tif": "tiff", "jpg": "jpeg"}.get(ext, ext)


def _vray_stamp(seconds: float) -> str:
    """V-Ray's ``[2021/Jul/8|06:41:39] [2117 MB]`` prefix (a fixed date, deterministic)."""
    return f"[2024/Jan/1|{_hms(seconds)}] [{1800 + int(seconds) % 400} MB]"


def _percent(percent: float) -> int:
    """Renderers print whole percentages; keep the value inside 0..100."""
    return min(100, max(0, round(percent)))


@dataclass(frozen=True)
class FrameLog:
    """What one renderer prints while rendering one frame.

    ``start`` comes before the first progress line, ``progress(percent)`` gives the
    line(s) for one progress step and ``end`` comes once the image is written (it names
    each output path). ``layer`` and ``camera`` are kept for callers; real renderers print
    them only at higher verbosity, so the formats below do not.
    """

    renderer: str
    frame: int
    layer: str
    camera: str
    outputs: tuple[str, ...]
    device: str
    seconds: float
    gpu_name: str = DEFAULT_GPU_NAME
    started: float = 0.0
    resolution: tuple[int, int] = (1920, 1080)
    start: list[str] = field(default_factory=list)
    end: list[str] = field(default_factory=list)

    @property
    def gpu(self) -> bool:
        """Whether the frame renders on a GPU (device is not "CPU")."""
        return _is_gpu(self.device)

    @property
    def blocks(self) -> int:
        """Redshift's block count for the resolution (1920x1080 -> 135, as in CGRU)."""
        width, height = self.resolution
        return max(1, math.ceil(width / _REDSHIFT_BLOCK) * math.ceil(height / _REDSHIFT_BLOCK))

    def elapsed(self, percent: float) -> float:
        """Seconds since the renderer's log started when ``percent`` is reached."""
        return self.started + self.seconds * max(0.0, min(100.0, percent)) / 100.0

    def memory(self, percent: float) -> int:
        """A plausible, deterministic memory column in MB."""
        return 1200 + int(4 * max(0.0, min(100.0, percent)))

    def progress(self, percent: float) -> list[str]:
        """The line(s) the renderer prints when it reaches ``percent`` (0..100)."""
        value = _percent(percent)
        if self.renderer == "arnold":
            # MAYA_REFERENCE §6 / CGRU arnold.py: "|    20% done - 115 rays/pixel".
            rays = 12 + value
            return [
                _arnold(
                    self.elapsed(percent),
                    self.memory(percent),
                    f"{value:5d}% done - {rays} rays/pixel",
                )
            ]
        if self.renderer == "redshift":
            # LB and CGRU redshift.py: "    Block 32/48 (7,4) rendered by GPU 0 in 2ms".
            total = self.blocks
            done = min(total, round(value * total / 100))
            columns = max(1, math.ceil(self.resolution[0] / _REDSHIFT_BLOCK))
            x, y = done % columns, done // columns
            unit = "GPU 0" if self.gpu else "CPU"
            millis = 2 + int(self.seconds * 1000 / total) % 997
            return [f"    Block {done}/{total} ({x},{y}) rendered by {unit} in {millis}ms"]
        if self.renderer == "vray":
            # DL MayaBatch.py: handlers "V-Ray: +([0-9]+) %" and "([0-9]+) % completed".
            return [f"V-Ray: {value:3d} % completed"]
        # Maya Software / Hardware 2.0. A Maya 2012 Script Editor log (public gist) shows
        # "// Result: Percentage of rendering done: 5 (/Users/.../hud_shot.001.tga) //";
        # in batch mode Maya prints the same text without "// Result: ".
        target = f" ({self.outputs[0]})" if self.outputs else ""
        return [f"Percentage of rendering done: {value}{target}"]


def frame_log(
    renderer: str,
    *,
    frame: int,
    layer: str,
    camera: str,
    outputs: list[str],
    device: str,
    seconds: float,
    gpu_name: str = DEFAULT_GPU_NAME,
    started: float = 0.0,
    resolution: tuple[int, int] = (1920, 1080),
) -> FrameLog:
    """The lines ``renderer`` prints around rendering ``frame`` to ``outputs``.

    Args:
        renderer: A supported renderer's name (:mod:`lrc_toolbox.records.renderers`);
            others print Maya Software's lines.
        frame: The frame number (renderers that name the frame print it).
        layer: The render layer's display name.
        camera: The camera rendered.
        outputs: The image paths written, beauty first.
        device: ``CUDA_VISIBLE_DEVICES`` as the worker set it, or ``"CPU"``.
        seconds: How long the frame takes (drives Arnold's elapsed column, timings).
        gpu_name: The GPU's name for device lines.
        started: Seconds since the renderer's log started (Arnold's first column).
        resolution: Image size (Redshift's block count depends on it).
    """
    name = renderer if renderer in RENDERERS else MAYA_DEFAULT_RENDERER
    log = FrameLog(
        renderer=name,
        frame=frame,
        layer=layer,
        camera=camera,
        outputs=tuple(outputs),
        device=device,
        seconds=max(0.0, seconds),
        gpu_name=gpu_name,
        started=started,
        resolution=resolution,
    )
    log_format = RENDERERS[name].log_format
    log.start.extend(_START[log_format](log))
    log.end.extend(_END[log_format](log))
    return log


def _arnold_start(log: FrameLog) -> list[str]:
    t, mem = log.elapsed(0), log.memory(0)
    lines = []
    if log.gpu:
        # MAYA_REFERENCE §6: "|  GPU 0: Quadro RTX 6000 @ 1770MHz (compute 7.5) with ...".
        lines.append(
            _arnold(
                t,
                mem,
                f" GPU 0: {log.gpu_name} @ 1650MHz (compute 8.6) with 20470MB (19886MB available)",
            )
        )
    else:
        # on the CPU Arnold names the processors instead (ADSK: "|  1 x Intel(R) Xeon(R) ...")
        lines.append(_arnold(t, mem, _ARNOLD_CPU))
    return [
        *lines,
        # ADSK: "| [mtoa.session]     Initializing at frame 1.000000".
        _arnold(t, mem, f"[mtoa.session]     Initializing at frame {log.frame}.000000"),
        # ADSK: "| [mtoa] Exporting Arnold options 'defaultArnoldRenderOptions'".
        _arnold(t, mem, "[mtoa] Exporting Arnold options 'defaultArnoldRenderOptions'"),
        # Autodesk/arnold-usd issue #1875: "| starting 32 bucket workers of size 64x64 ...".
        _arnold(t, mem, "starting 16 bucket workers of size 64x64 ..."),
    ]


def _arnold_end(log: FrameLog) -> list[str]:
    t, mem = log.elapsed(100), log.memory(100)
    minutes, rest = divmod(log.seconds, 60.0)
    # arnold-usd #1875: "| render done in 0:00.006", then
    # "| [driver_exr] writing file `C:/Users/blairs/untitled....0049.exr'".
    lines = [_arnold(t, mem, f"render done in {int(minutes)}:{rest:06.3f}")]
    for path in log.outputs:
        lines.append(_arnold(t, mem, f"[driver_{_arnold_driver(path)}] writing file `{path}'"))
    return lines


def _redshift_start(log: FrameLog) -> list[str]:
    width, height = log.resolution
    return [
        # DL MayaBatch.py handler "Rendering frame \d+ \((\d+)/(\d+)\)"; LB prints
        # "Rendering frame {frame}..." between "=====" rules.
        "=" * 97,
        f"Rendering frame {log.frame} (1/1)...",
        "=" * 97,
        "License acquired",  # LB
        "Preparing ray tracing hierarchy for meshes",  # LB
        # LB: "Rendering blocks... (resolution: 1280x720, block size: 128, unified ...)".
        f"Rendering blocks... (resolution: {width}x{height}, block size: {_REDSHIFT_BLOCK},"
        " unified minmax: [4,16])",
    ]


def _redshift_end(log: FrameLog) -> list[str]:
    gpus = "1 GPU(s) used" if log.gpu else "0 GPU(s) used"
    lines = [
        f"    Time to render {log.blocks} blocks: {log.seconds:.1f}s",  # LB
        f"Rendering time: {log.seconds:.1f}s ({gpus})",  # LB
    ]
    lines += [f"Saving: {path}" for path in log.outputs]  # LB, CGRU redshift.py re_image
    # CGRU redshift.py counts frames with ".*Frame.*done.*"; wording modelled on it.
    lines.append(f"Frame done - total time for frame {log.frame}: {log.seconds + 0.5:.2f}s")
    return lines


def _vray_start(log: FrameLog) -> list[str]:
    return [
        f"V-Ray: Updating frame at time {log.frame}",  # DL: "V-Ray: Updating frame at time (\d+)"
        "V-Ray: Building light cache...",  # DL: "V-Ray: Building light cache*"
        "V-Ray: Rendering image...",  # DL: "V-Ray: Rendering image*"
    ]


def _vray_end(log: FrameLog) -> list[str]:
    t = log.elapsed(100)
    # A V-Ray for Maya log quoted in a public pipeline guide:
    # '[2021/Jul/8|06:41:39] [2117 MB] Successfully written image file "/Volumes/.../blue_fur.exr"'.
    lines = [f'{_vray_stamp(t)} Successfully written image file "{path}"' for path in log.outputs]
    lines.append(f"V-Ray: Total frame time {log.seconds:.1f} s")  # DL: "V-Ray: Total frame time"
    return lines


def _maya_start(log: FrameLog) -> list[str]:
    # Maya Software batch output quoted in a public Ubuntu forum thread ("Maya 7 on Ubuntu"):
    # "Starting Rendering /home/.../untitled.iff." / "Constructing shading groups." /
    # "Rendering current frame."; DL handles "Constructing shading groups|Rendering current frame".
    lines = [f"Starting Rendering {log.outputs[0]}."] if log.outputs else []
    if log.renderer != "mayaHardware2":
        lines.append("Constructing shading groups.")
    lines.append("Rendering current frame.")
    return lines


def _maya_end(log: FrameLog) -> list[str]:
    # Same forum log: "Time For Frame Render (hh:mm:ss): 00:00:00" and
    # "Finished Rendering /home/jason/maya/projects/default/images/tmp/untitled.iff.".
    lines = [f"Time For Frame Render (hh:mm:ss): {_hms(log.seconds)}"]
    lines += [f"Finished Rendering {path}." for path in log.outputs]
    return lines


_START = {
    LogFormat.ARNOLD: _arnold_start,
    LogFormat.REDSHIFT: _redshift_start,
    LogFormat.VRAY: _vray_start,
    LogFormat.MAYA_RENDER: _maya_start,
}
_END = {
    LogFormat.ARNOLD: _arnold_end,
    LogFormat.REDSHIFT: _redshift_end,
    LogFormat.VRAY: _vray_end,
    LogFormat.MAYA_RENDER: _maya_end,
}


def startup_lines(renderer: str, maya_version: str, gpus: list[str]) -> list[str]:
    """What the renderer prints while mayapy loads it (all INFO to the parser).

    Args:
        renderer: A supported renderer's name (Maya's own renderers print nothing).
        maya_version: e.g. ``"2024"``.
        gpus: Names of the GPUs the process can see, in CUDA order.
    """
    if renderer == "arnold":
        # ADSK: "| log started ...", "| Arnold 4.2.7.4 windows ...", "| host application: MtoA
        # 1.2.3.1 ... Maya 2016", "| running on PC, pid=12188", "|  1 x Intel(R) Xeon(R) ...".
        lines = [
            _arnold(0, 833, "log started Mon Jan  1 00:00:00 2024"),
            _arnold(0, 833, _ARNOLD_VERSION),
            _arnold(0, 833, f"host application: MtoA 5.4.0 Maya {maya_version}"),
            _arnold(0, 833, "running on render-node, pid=4242"),
            _arnold(0, 833, _ARNOLD_CPU),
        ]
        lines += [
            _arnold(
                0, 833, f" GPU {i}: {name} @ 1650MHz (compute 8.6) with 20470MB (19886MB available)"
            )
            for i, name in enumerate(gpus)
        ]
        return lines
    if renderer == "redshift":
        # LB: the redshiftCmdLine 3.0.39 start-up block.
        lines = [
            "Redshift Initialized",
            "    Version: 3.5.19, Sep 12 2023",
            "    Linux Platform",
            "    Release Build",
            f"Loading Redshift for Maya {maya_version}",
        ]
        if not gpus:
            return [*lines, "No GPUs were selected in the command line, using all devices"]
        ordinals = " ".join(str(i) for i in range(len(gpus)))
        lines += [
            "Creating CUDA contexts",
            "    CUDA init ok",
            f"    Ordinals: {{ {ordinals} }}",
            "Initializing GPUComputing module (CUDA). Active device 0",
        ]
        lines += [f"    Device {i + 1}/{len(gpus)} : {name} " for i, name in enumerate(gpus)]
        return [*lines, "Loading Redshift procedural extensions...", "PostFX initialized"]
    if renderer == "vray":
        # OpenPype PR #5420 (a V-Ray Standalone 6 log): "[2023/Aug/10|17:33:55] [15 MB] V-Ray
        # Standalone, version 6 ..." and "Copyright (C) 2000-2023 Chaos Software EOOD...".
        return [
            f"{_vray_stamp(0)} V-Ray 6 for Maya {maya_version}, version 6.20.01 for x64",
            f"{_vray_stamp(0)} Copyright (C) 2000-2023 Chaos Software EOOD. All rights reserved.",
        ]
    return []


def fatal_line(kind: str, subject: str | None = None) -> list[str]:
    """The line(s) printed when a fault of ``kind`` stops a render; the parser sees FATAL.

    Args:
        kind: One of :data:`FATAL_KINDS`.
        subject: The renderer (``licence``, ``cuda``, ``aborted``, ``out_of_vram``; None or
            ``"maya"`` means Maya itself), the plug-in name (``missing_plugin``, default
            ``mtoa``) or the device id (``invalid_device``, default ``3``).

    Raises:
        ValueError: for an unknown ``kind``, listing the known ones.
    """
    key = "licence" if kind == "license" else kind
    who = subject or "maya"
    if key == "licence":
        if who == "arnold":
            # deadline-cloud-for-maya PR #214 (a customer's log).
            return [
                _arnold(
                    2095,
                    5452,
                    " aborting render because this is a batch render and"
                    " abort_on_license_fail option is enabled",
                    "ERROR",
                )
            ]
        if who == "redshift":
            # CGRU redshift.py example output:
            # "Error: [Redshift] License error: (RLM) All licenses in use (-22) //".
            return ["Error: [Redshift] License error: (RLM) All licenses in use (-22) //"]
        if who == "vray":
            # deadline-cloud-for-3ds-max issue #238 and deadline-cloud-for-maya adaptor.py.
            return [f"{_vray_stamp(3)} error: Could not obtain a license (-88)"]
        # DL MayaBatch.py handler "Maya: License was not obtained".
        return ["Maya: License was not obtained"]
    if key == "cuda":
        if who == "arnold":
            return [
                _arnold(
                    12,
                    2100,
                    " [gpu] an error happened during rendering. OptiX error is:"
                    " Unknown error (Details: Encountered a CUDA error: returned (700):"
                    " Illegal address)",
                    "ERROR",
                )
            ]
        if who == "vray":
            return ["V-Ray error: CUDA error 700: an illegal memory access was encountered"]
        # DL MayaBatch.py handler ".*CUDA_ERROR_UNKNOWN.*" ("CUDA errors piped as stdout").
        if who == "redshift":
            return ["[Redshift] CUDA error: CUDA_ERROR_UNKNOWN (999) in cuCtxSynchronize"]
        return ["Error: CUDA_ERROR_UNKNOWN: unknown error"]
    if key == "missing_plugin":
        name = subject or "mtoa"
        # DL MayaBatch.py: 'Plug-in, "mtoa", was not found on MAYA_PLUG_IN_PATH'.
        return [f'Error: line 1: Plug-in, "{name}", was not found on MAYA_PLUG_IN_PATH.']
    if key == "invalid_device":
        device = subject or "3"
        # DL MayaBatch.py: 'redshiftSelectCudaDevices\.mel line \d+: Invalid device id: (\d+)$'.
        return [
            "Warning: file: /usr/redshift/redshift4maya/common/scripts/"
            f"redshiftSelectCudaDevices.mel line 25: Invalid device id: {device}"
        ]
    if key == "no_renderable_camera":
        # DL MayaBatch.py fatal_strict_errors: "This scene does not have any renderable cameras".
        return ["Error: This scene does not have any renderable cameras."]
    if key == "aborted":
        if who == "arnold":
            return [_arnold(3, 1300, "[mtoa] Failed batch render")]  # DL MayaBatch.py
        if who == "redshift":
            return ["Frame rendering aborted."]  # DL MayaBatch.py / CGRU maya.py
        if who == "vray":
            return ["V-Ray error: Rendering aborted"]
        # DL MayaBatch.py fatal_strict_errors.
        return ["Error: An exception has occurred, rendering aborted."]
    if key == "out_of_vram":
        # deadline-cloud-samples containers/maya/maya-aswf-ci-base/README.md (Redshift).
        return [
            "There's less than 128MB of free VRAM once fixed data (photon map, irradiance point"
            " cloud, irradiance cache) are considered. Aborting the render"
        ]
    raise ValueError(f"unknown fault kind {kind!r}; use one of: {', '.join(FATAL_KINDS)}")


def error_line(renderer: str | None = None) -> list[str]:
    """A real non-fatal error line: the render goes on after it (the parser sees ERROR)."""
    if renderer == "arnold":
        # Autodesk/arnold-usd issue #1875.
        return [
            _arnold(
                2,
                288,
                " [texturesys] /materials/image1: ImageInput::create() called with no filename",
                "ERROR",
            )
        ]
    # deadline-cloud-for-maya PR #214: 'Error: Cannot find procedure "xgmPreview".' printed
    # on STDERR of a render that then continued.
    return ['Error: Cannot find procedure "xgmPreview".']
