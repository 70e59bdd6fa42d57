"""Tests for the renderer log parser.

The parser is how the manager sees progress, outputs and fatal errors of workers it cannot
otherwise inspect, and it will be judged against logs written by real renderers. So every
table row below is a real log line (or a real line with only its numbers or path changed),
with its public source in a comment. Short names for sources:

* DL-MB / DL-MC: Thinkbox Deadline 10 ``plugins/MayaBatch/MayaBatch.py`` /
  ``plugins/MayaCmd/MayaCmd.py`` in ``applemin/Deadline_Development`` (stdout handlers).
* DCM: ``aws-deadline/deadline-cloud-for-maya`` ``.../MayaAdaptor/adaptor.py`` and PRs.
* CGRU: ``CGRU/cgru`` ``afanasy/python/parsers/*.py`` (sample lines in comments).
* LB: ``pedohorse/lifeblood`` ``tests/nodes/data/mock_redshift/redshiftCmdLine``, a
  captured ``redshiftCmdLine`` 3.0.39 log replayed by a mock.
* AUSD: ``Autodesk/arnold-usd`` issue #1875 (a kick log pasted by Autodesk support).
* ADSK: Autodesk/Solid Angle "How to Read a Render Log" (Arnold user guide).
* MREF: ``/work/shared/MAYA_REFERENCE.md`` section 6 (team-collected real samples).
* DCM291: ``aws-deadline/deadline-cloud-for-maya`` issue #291, a customer's Redshift job
  log: ``redshift4maya.mll`` failing to load, then an unrelated missing ``maxwell``.
* MTOA-CMD: MtoA ``plugins/mtoa/commands/ArnoldRenderCmd.cpp`` (public copies in the
  history of ``sebastienblor/arnold-usd``): ``arnoldRender -batch`` prints ``[mtoa] Failed
  batch render`` with ``MGlobal::displayError`` when ``DoBatchRender()`` fails for the
  frame, and returns a failure for that call only.
* DCS: ``aws-deadline/deadline-cloud-samples`` ``containers/maya/maya-aswf-ci-base/README.md``
  (Troubleshooting: Arnold licence messages, tested on a real fleet).
* GLTF: ``iimachines/Maya2glTF`` issue #138 and ``asaf-b/mnsAnnotate`` issue #1 (Windows
  ``Unable to dynamically load`` with the OS reason on the next line).
* DRP: ``aronamao/Discord-Rich-Presence-For-Maya`` issue #10 (Linux, Maya 2024: the OS
  reason on the next line after ``// ``, with the file name in front).
* ISSUE11: this project's issue 11, which quotes real Maya logs written elsewhere (the
  Hardware 2.0 ``Rendering frame 1029 : <path>`` line).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lrc_toolbox.records.renderers import RENDERER_NAMES
from lrc_toolbox.utils import log_parser
from lrc_toolbox.utils.log_parser import (
    PATTERNS,
    LineKind,
    LogParser,
    ParsedLine,
    normalize_renderer,
    parse_lines,
    renderers_of_line,
)

K = LineKind
LOGS = Path(__file__).parent / "data" / "logs"

# One row: (line, kind, percent, frame, path, renderer that matched).
Row = tuple[str, LineKind, "float | None", "int | None", "str | None", "str | None"]

# --------------------------------------------------------------------------- Arnold

ARNOLD_LINES: list[Row] = [
    # MREF §6 (progress with elapsed-time and memory columns).
    (
        "00:00:15   325MB         |    20% done - 115 rays/pixel",
        K.PROGRESS,
        20.0,
        None,
        None,
        "arnold",
    ),
    # CGRU arnold.py comment: "|     0% done - 37 rays/pixel" (no columns).
    ("|     0% done - 37 rays/pixel", K.PROGRESS, 0.0, None, None, "arnold"),
    # CGRU arnold.py comment: "12:34:56      32MB   |   45% done - 23 rays/pixel".
    ("12:34:56      32MB   |   45% done - 23 rays/pixel", K.PROGRESS, 45.0, None, None, "arnold"),
    # Deadline prefixes every line: "2023-02-03 09:11:58:  0: STDOUT: " (OpenPype PR #4416).
    (
        "2023-02-03 09:11:58:  0: STDOUT: 00:00:21  1730MB         |   100% done - 9 rays/pixel",
        K.PROGRESS,
        100.0,
        None,
        None,
        "arnold",
    ),
    # MREF §6 / AUSD: "        | render done in 0:00.006".
    ("        | render done in 0:00.006", K.FRAME_DONE, None, None, None, "arnold"),
    # AUSD: kick's closing "        | render done".
    ("        | render done", K.FRAME_DONE, None, None, None, "arnold"),
    # AUSD: "| [driver_exr] writing file `C:/Users/blairs/untitled...0049.exr'".
    (
        "        | [driver_exr] writing file"
        " `C:/Users/blairs/untitled.arnold_rendersettings1.0049.exr'",
        K.OUTPUT,
        None,
        None,
        "C:/Users/blairs/untitled.arnold_rendersettings1.0049.exr",
        "arnold",
    ),
    # ADSK: "| [mtoa.session]     Initializing at frame 1.000000".
    (
        "00:00:00   773MB         | [mtoa.session]     Initializing at frame 1.000000",
        K.FRAME_STARTED,
        None,
        1,
        None,
        "arnold",
    ),
    # AUSD: "00:00:02   267MB         | starting 32 bucket workers of size 64x64 ...".
    (
        "00:00:02   267MB         | starting 32 bucket workers of size 64x64 ...",
        K.FRAME_STARTED,
        None,
        None,
        None,
        "arnold",
    ),
    # MREF §6 GPU device line.
    (
        "00:00:00   100MB         |  GPU 0: Quadro RTX 6000 @ 1770MHz (compute 7.5) with 24575MB"
        " (21138MB available)",
        K.INFO,
        None,
        None,
        None,
        "arnold",
    ),
    # AUSD: a non-fatal texture error; the render goes on (and writes its file).
    (
        "00:00:02   288MB ERROR   |  [texturesys] /materials/arnold_utility/image1:"
        " ImageInput::create() called with no filename",
        K.ERROR,
        None,
        None,
        None,
        "arnold",
    ),
    # ADSK Initialization section: a WARNING-column line ("RLM server is not running ...").
    (
        "00:00:00   773MB WARNING | [rlm] error initializing license system: connection refused",
        K.WARNING,
        None,
        None,
        None,
        "arnold",
    ),
    # MREF §6 / AUSD: kick's abort. Arnold's abort-on-error ("Rendering will abort as soon
    # as an error is detected", Arnold user guide, Error Settings) stops *this* render on
    # an earlier error in its data: the frame failed, the worker did not.
    (
        "00:00:02   279MB WARNING | [kick] render aborted due to earlier errors",
        K.FRAME_FAILED,
        None,
        None,
        None,
        "arnold",
    ),
    # AUSD: "WARNING |  render terminating early:  received abort signal".
    (
        "WARNING |  render terminating early:  received abort signal",
        K.FATAL,
        None,
        None,
        None,
        "arnold",
    ),
    # DL-MB / DL-MC: handler r"\[mtoa\] Failed batch render" -> FailRender (the task, not
    # the worker); MTOA-CMD: printed when arnoldRender -batch fails for one frame.
    ("// Error: [mtoa] Failed batch render. //", K.FRAME_FAILED, None, None, None, "arnold"),
    # DCM PR #214 (a customer's log).
    (
        "00:34:55  5452MB ERROR   |  aborting render because this is a batch render and"
        " abort_on_license_fail option is enabled",
        K.FATAL,
        None,
        None,
        None,
        "arnold",
    ),
    # DCM adaptor.py (older Arnold wording it matched).
    (
        "00:00:01   800MB ERROR   |  aborting render because the abort_on_license_fail option"
        " was enabled",
        K.FATAL,
        None,
        None,
        None,
        "arnold",
    ),
    # aws-deadline/deadline-cloud-samples containers/maya/maya-aswf-ci-base README
    # (Troubleshooting: Arnold licence messages).
    (
        "00:00:01   812MB ERROR   |  [clm.v1] error loading a library (4)",
        K.FATAL,
        None,
        None,
        None,
        "arnold",
    ),
    (
        "00:00:01   812MB WARNING |  rendering with watermarks because of failed authorization",
        K.FATAL,
        None,
        None,
        None,
        "arnold",
    ),
    (
        "00:00:01   812MB ERROR   |  [clm.v1] generic license checkout error",
        K.FATAL,
        None,
        None,
        None,
        "arnold",
    ),
    # Same README: "could not initialize license" (column prefix added).
    (
        "00:00:01   812MB WARNING |  could not initialize license",
        K.FATAL,
        None,
        None,
        None,
        "arnold",
    ),
    # Arnold GPU failure and device fallback: wording reconstructed from Arnold's docs
    # ("Render Device Fallback ... switch to rendering with CPU when encountering an
    # error"); no verbatim public sample was found.
    (
        "00:00:12  2100MB ERROR   |  [gpu] an error happened during rendering. OptiX error is:"
        " Unknown error",
        K.FATAL,
        None,
        None,
        None,
        "arnold",
    ),
    (
        "00:00:01   900MB WARNING |  [gpu] device initialization failed, falling back to CPU",
        K.WARNING,
        None,
        None,
        None,
        "arnold",
    ),
]


@pytest.mark.parametrize(("line", "kind", "percent", "frame", "path", "renderer"), ARNOLD_LINES)
def test_arnold_lines(
    line: str,
    kind: LineKind,
    percent: float | None,
    frame: int | None,
    path: str | None,
    renderer: str | None,
) -> None:
    _check(LogParser("arnold"), line, kind, percent, frame, path, renderer)


# --------------------------------------------------------------------------- Redshift

REDSHIFT_LINES: list[Row] = [
    # MREF §6 / CGRU redshift.py: "INFO : [Redshift] Block 32/48 (7,4) rendered by GPU 0 in 2ms".
    (
        "INFO : [Redshift] Block 32/48 (7,4) rendered by GPU 0 in 2ms",
        K.PROGRESS,
        100.0 * 32 / 48,
        None,
        None,
        "redshift",
    ),
    # CGRU redshift.py: "       [Redshift] Block 126/135 (14,0) rendered by GPU 1 in 12ms".
    (
        "       [Redshift] Block 126/135 (14,0) rendered by GPU 1 in 12ms",
        K.PROGRESS,
        100.0 * 126 / 135,
        None,
        None,
        "redshift",
    ),
    # LB: "    Block {i}/{blocks} (x,y) rendered by GPU 0 in {n}ms", starting at 0.
    ("    Block 0/60 (3,1) rendered by GPU 0 in 12ms", K.PROGRESS, 0.0, None, None, "redshift"),
    # LB: "Rendering time: {time:.1f}s (1 GPU(s) used)" (the pixels are all done).
    ("Rendering time: 3.1s (1 GPU(s) used)", K.PROGRESS, 100.0, None, None, "redshift"),
    # DL-MB handler "Rendering frame \d+ \((\d+)/(\d+)\)".
    ("Rendering frame 1001 (3/10)...", K.FRAME_STARTED, None, 1001, None, "redshift"),
    # LB: "Rendering frame {frame}..." (redshiftCmdLine).
    ("Rendering frame 1234...", K.FRAME_STARTED, None, 1234, None, "redshift"),
    # CGRU redshift.py re_frame_skip ".*Skipping frame.*" (Skip Existing Frames).
    ("Skipping frame 1002 (4/10)...", K.FRAME_DONE, None, 1002, None, "redshift"),
    # CGRU redshift.py re_frame_done ".*Frame.*done.*".
    (
        "Frame done - total time for frame 1001: 3.52s",
        K.FRAME_DONE,
        None,
        1001,
        None,
        "redshift",
    ),
    # LB: "Saving: {out_beauty}" and AOVs with spaces and non-ASCII characters.
    ("Saving: /tmp/test/out.1234.exr", K.OUTPUT, None, None, "/tmp/test/out.1234.exr", "redshift"),
    (
        "Saving: /tmp/fofo/with юникод щит/file.aov.1234.exr",
        K.OUTPUT,
        None,
        None,
        "/tmp/fofo/with юникод щит/file.aov.1234.exr",
        "redshift",
    ),
    # MREF §6 / CGRU redshift.py: Maya wraps Redshift's licence failure in "Error: ... //".
    (
        "Error: [Redshift] License error: (RLM) All licenses in use (-22) //",
        K.FATAL,
        None,
        None,
        None,
        "redshift",
    ),
    # CGRU redshift.py (older): "// Error:  [Redshift] License error: ... //".
    (
        "// Error:  [Redshift] License error: (RLM) All licenses in use (-22) //",
        K.FATAL,
        None,
        None,
        None,
        "redshift",
    ),
    # DCM PR #480: "[Redshift] Maxon licensing error: ..." before Redshift cancels.
    (
        "[Redshift] Maxon licensing error: License not activated",
        K.FATAL,
        None,
        None,
        None,
        "redshift",
    ),
    # aws-deadline/deadline-cloud-for-cinema-4d tests: "Redshift Error: Maxon licensing error: ...".
    (
        "Redshift Error: Maxon licensing error: User not logged in (7)",
        K.FATAL,
        None,
        None,
        None,
        "redshift",
    ),
    # DL-MB HandleRedshiftGPUAffinityError: r"redshiftSelectCudaDevices\.mel line \d+:
    # Invalid device id: (\d+)$" -> Redshift would use all GPUs, so it is fatal.
    (
        "Warning: file: C:/ProgramData/Redshift/Plugins/Maya/Common/scripts/"
        "redshiftSelectCudaDevices.mel line 25: Invalid device id: 3",
        K.FATAL,
        None,
        None,
        None,
        "redshift",
    ),
    # DL-MB / DL-MC Redshift fatal handlers.
    ("Frame rendering aborted.", K.FATAL, None, None, None, "redshift"),
    ("Rendering was internally aborted", K.FATAL, None, None, None, "redshift"),
    ('// Error: Cannot find procedure "rsPreference". //', K.FATAL, None, None, None, "redshift"),
    # CGRU redshift.py str_error: "No devices found. Aborting rendering.".
    ("[Redshift]No devices found. Aborting rendering.", K.FATAL, None, None, None, "redshift"),
    # LB: everyday lines that must stay INFO.
    ("License acquired", K.INFO, None, None, None, None),
    ("    CUDA init ok", K.INFO, None, None, None, None),
    ("    Time to render 60 blocks: 2.9s", K.INFO, None, None, None, None),
    (
        "Rendering blocks... (resolution: 1280x720, block size: 128, unified minmax: [4,16])",
        K.INFO,
        None,
        None,
        None,
        None,
    ),
]


@pytest.mark.parametrize(("line", "kind", "percent", "frame", "path", "renderer"), REDSHIFT_LINES)
def test_redshift_lines(
    line: str,
    kind: LineKind,
    percent: float | None,
    frame: int | None,
    path: str | None,
    renderer: str | None,
) -> None:
    _check(LogParser("redshift"), line, kind, percent, frame, path, renderer)


# --------------------------------------------------------------------------- V-Ray

VRAY_LINES: list[Row] = [
    # DL-MB handlers "V-Ray: +([0-9]+)%" and "V-Ray: +([0-9]+) %".
    ("V-Ray:  45%", K.PROGRESS, 45.0, None, None, "vray"),
    ("V-Ray: 7 %", K.PROGRESS, 7.0, None, None, "vray"),
    # DL-MB handler "([0-9]+) % completed".
    ("V-Ray:  62 % completed", K.PROGRESS, 62.0, None, None, "vray"),
    # CGRU vray.py re_percent "Rendering image...:([ ]{,})([0-9]{1,2}.*)(%[ ]{,}).*".
    (
        "Rendering image...:  75.00% [ 0h  0m  2.1s] [ 0h  0m  0.7s est]",
        K.PROGRESS,
        75.0,
        None,
        None,
        "vray",
    ),
    ("V-Ray: Progress: 12 %", K.PROGRESS, 12.0, None, None, "vray"),
    # DL-MB handlers "V-Ray: Rendering image*", "V-Ray: Updating frame at time ([0-9]+)".
    ("V-Ray: Rendering image...", K.FRAME_STARTED, None, None, None, "vray"),
    ("V-Ray: Updating frame at time 12", K.FRAME_STARTED, None, 12, None, "vray"),
    # CGRU vray.py re_frame "SCEN.*(progr: begin scene preprocessing for frame )([0-9]+)".
    (
        "[2023/Aug/10|17:33:56] [20 MB] SCEN progr: begin scene preprocessing for frame 7",
        K.FRAME_STARTED,
        None,
        7,
        None,
        "vray",
    ),
    # DL-MB handlers "V-Ray: Total frame time" and "V-Ray: Render complete"; the latter
    # was also logged by deadline-cloud-samples' container README test renders.
    ("V-Ray: Total frame time 3.2 s", K.FRAME_DONE, None, None, None, "vray"),
    ("V-Ray: Render complete", K.FRAME_DONE, None, None, None, "vray"),
    # A V-Ray for Maya log quoted in a public pipeline guide (Kartaverse docs).
    (
        '[2021/Jul/8|06:41:39] [2117 MB] Successfully written image file "/Volumes/Projects/'
        'Yeti_Vray_Project/images/tmp/blue_fur.exr"',
        K.OUTPUT,
        None,
        None,
        "/Volumes/Projects/Yeti_Vray_Project/images/tmp/blue_fur.exr",
        "vray",
    ),
    # DL-MB: "V-Ray error: .*" -> FailRender, which fails the task, not the worker: a proxy
    # that does not load fails this frame (see the module docstring).
    (
        "V-Ray error: Error loading geometry from proxy file",
        K.FRAME_FAILED,
        None,
        None,
        None,
        "vray",
    ),
    # DCM adaptor.py _vray_license_error "error: Could not obtain a license".
    ("error: Could not obtain a license", K.FATAL, None, None, None, "vray"),
    # aws-deadline/deadline-cloud-for-3ds-max issue #238 (V-Ray 7, no Chaos login).
    (
        "ERR: [03840] [04108] [V-Ray] Could not obtain a license (-88): -88: <Cloud-Licensing>"
        " Chaos Unified Login is not running",
        K.FATAL,
        None,
        None,
        None,
        "vray",
    ),
    # DL-MB: ".*V-Ray warning.* The file path for .* cannot be created.*" -> FailRender.
    (
        'V-Ray warning: The file path for "Z:/out/img.exr" cannot be created',
        K.FATAL,
        None,
        None,
        None,
        "vray",
    ),
    # DL-MB fatal_strict_errors "Could not read V-Ray environment variable".
    ("Could not read V-Ray environment variable", K.FATAL, None, None, None, "vray"),
    # A vrscene log filter ("ram-error": /^Memory allocation failure;/).
    (
        "Memory allocation failure; try reducing the dynamic memory limit",
        K.FATAL,
        None,
        None,
        None,
        "vray",
    ),
    ("V-Ray warning: Texture file not found", K.WARNING, None, None, None, "vray"),
    # OpenPype PR #5420 (V-Ray Standalone 6 log).
    (
        "[2023/Aug/10|17:33:55] [15 MB] warning: The parameter 'interactive' has been removed"
        " and so it has been ignored!",
        K.WARNING,
        None,
        None,
        None,
        "maya",
    ),
    ("V-Ray: Building light cache...", K.INFO, None, None, None, None),
]


@pytest.mark.parametrize(("line", "kind", "percent", "frame", "path", "renderer"), VRAY_LINES)
def test_vray_lines(
    line: str,
    kind: LineKind,
    percent: float | None,
    frame: int | None,
    path: str | None,
    renderer: str | None,
) -> None:
    _check(LogParser("vray"), line, kind, percent, frame, path, renderer)


# --------------------------------------------------------------------------- Maya Software

MAYA_SOFTWARE_LINES: list[Row] = [
    # Maya Software batch log in a public Ubuntu-forums thread ("Maya 7 on Ubuntu", 2006),
    # found with find_string "Finished Rendering /": note the trailing "." after the path.
    (
        "Finished Rendering /home/jason/maya/projects/default/images/tmp/untitled.iff.",
        K.FRAME_DONE,
        None,
        None,
        "/home/jason/maya/projects/default/images/tmp/untitled.iff",
        "mayaSoftware",
    ),
    (
        "Starting Rendering /home/jason/maya/projects/default/images/tmp/untitled.iff.",
        K.FRAME_STARTED,
        None,
        None,
        "/home/jason/maya/projects/default/images/tmp/untitled.iff",
        "mayaSoftware",
    ),
    ("Rendering current frame.", K.FRAME_STARTED, None, None, None, "mayaSoftware"),
    ("Constructing shading groups.", K.INFO, None, None, None, None),
    ("Time For Frame Render (hh:mm:ss): 00:00:00", K.INFO, None, None, None, None),
    # A Maya 2012 Script Editor log (public gist, found with find_string).
    (
        "// Result: Percentage of rendering done: 5 (/Users/mclavan/Documents/Projects/HUD/"
        "HUD_Shot/images/hud_shot.001.tga) //",
        K.PROGRESS,
        5.0,
        None,
        None,
        "mayaSoftware",
    ),
    # DL-MB handler "\[PROGRESS\] Percentage of rendering done: (.*)".
    ("[PROGRESS] Percentage of rendering done: 85", K.PROGRESS, 85.0, None, None, "mayaSoftware"),
    # GPUOpen RadeonProRenderMayaPlugin FireRenderCmd: "// Percentage of rendering done: N
    # (frame F, layer L //" -- Maya's own wording reused by a plug-in renderer.
    (
        "// Percentage of rendering done: 40 (frame 3, layer masterLayer //",
        K.PROGRESS,
        40.0,
        None,
        None,
        "mayaSoftware",
    ),
    # DCM maya_client: "MayaClient: Finished Rendering Frame [0-9]+".
    ("MayaClient: Finished Rendering Frame 12", K.FRAME_DONE, None, 12, None, "mayaSoftware"),
    # ISSUE11: Maya's batch frame line (Hardware 2.0; Maya Software prints it too), path
    # anonymised. Redshift prints "Rendering frame 1029 (1/10)", without the colon.
    (
        "Rendering frame 1029 : D:/proj/images/sh010/beauty/sh010_beauty.1029.png",
        K.FRAME_STARTED,
        None,
        1029,
        "D:/proj/images/sh010/beauty/sh010_beauty.1029.png",
        "mayaSoftware",
    ),
]


@pytest.mark.parametrize(
    ("line", "kind", "percent", "frame", "path", "renderer"), MAYA_SOFTWARE_LINES
)
def test_maya_software_lines(
    line: str,
    kind: LineKind,
    percent: float | None,
    frame: int | None,
    path: str | None,
    renderer: str | None,
) -> None:
    _check(LogParser("mayaSoftware"), line, kind, percent, frame, path, renderer)


# --------------------------------------------------------------------------- generic Maya

GENERIC_LINES: list[Row] = [
    # DL-MB / DL-MC licence handlers.
    (
        'FLEXlm error: -15,10. System Error: 10061 "WinSock: Connection refused"',
        K.FATAL,
        None,
        None,
        None,
        "maya",
    ),
    ("Maya: License was not obtained", K.FATAL, None, None, None, "maya"),
    # DCM adaptor.py _maya_license_error.
    (
        "RuntimeError: Error encountered when initializing Maya - Please check for sufficient"
        " disk space and necessary write permissions of MAYA_APP_DIR.",
        K.FATAL,
        None,
        None,
        None,
        "maya",
    ),
    # DL-MB r'Plug-in, \"mtoa\", was not found on MAYA_PLUG_IN_PATH' (as Maya prints it).
    # With no renderer known it cannot be fatal: an ERROR that says why (rule tests below).
    (
        '// Error: line 1: Plug-in, "mtoa", was not found on MAYA_PLUG_IN_PATH. //',
        K.ERROR,
        None,
        None,
        None,
        "maya",
    ),
    # DCM291 (Windows, Maya 2025, the adaptor's "STDERR: " label kept).
    (
        "STDERR: Error: line 1: Unable to dynamically load :"
        " C:/ProgramData/Redshift/Plugins/Maya/2025/nt-x86-64/redshift4maya.mll",
        K.ERROR,
        None,
        None,
        None,
        "maya",
    ),
    # DL-MB fatal_strict_errors.
    (
        "Warning: This scene does not have any renderable cameras.",
        K.FATAL,
        None,
        None,
        None,
        "maya",
    ),
    ("Error: An exception has occurred, rendering aborted.", K.FATAL, None, None, None, "maya"),
    # DL-MB HandleErrorMessage: "Cannot load scene" is always fatal.
    ("Error: Cannot load scene /proj/scenes/shot.ma", K.FATAL, None, None, None, "maya"),
    # DL-MC handler "Usage: Render .*" (a wrong command line).
    ("Usage: Render [options] filename", K.FATAL, None, None, None, "maya"),
    # A Redshift log checker in a public repo: "No renderable cameras found.".
    ("No renderable cameras found.", K.FATAL, None, None, None, "maya"),
    # DL-MB "CUDA errors piped as stdout" handlers.
    ("CUDA_ERROR_UNKNOWN", K.FATAL, None, None, None, None),
    ("Failed to init the CUDA driver API", K.FATAL, None, None, None, None),
    (
        "The system does not support the required CUDA compute capabilities.",
        K.FATAL,
        None,
        None,
        None,
        None,
    ),
    # CGRU redshift.py str_error "Error an illegal memory access was encountered".
    ("Error an illegal memory access was encountered", K.FATAL, None, None, None, None),
    # deadline-cloud-samples maya-aswf-ci-base README (Redshift on a small worker).
    (
        "There's less than 128MB of free VRAM once fixed data (photon map, irradiance point"
        " cloud, irradiance cache) are considered. Aborting the render",
        K.FATAL,
        None,
        None,
        None,
        None,
    ),
    # DCM PR #214: printed on STDERR of a render that went on -> ERROR, not fatal.
    ('Error: Cannot find procedure "xgmPreview".', K.ERROR, None, None, None, "maya"),
    # MMmaomao/mmmaomao.github.com issue #196 (batch render of a scene with arnold).
    (
        r"Error: line 1: UnicodeDecodeError: file C:\Python270\lib\ntpath.py line 108: ascii",
        K.ERROR,
        None,
        None,
        None,
        "maya",
    ),
    (
        "RuntimeError: No object matches name: defaultRenderGlobals.foo",
        K.ERROR,
        None,
        None,
        None,
        "maya",
    ),
    # MoonShineVFX/reveries-config PR #118: "ERROR: ATOMS LICENSE: Unable to find a valid ...".
    ("ERROR: ATOMS LICENSE: Unable to find a valid license", K.ERROR, None, None, None, "maya"),
    # DL-MB: Yeti ".*ERROR pgLicenseCheck.*" goes to the error handler, not FailRender.
    ("ERROR pgLicenseCheck: license not found", K.ERROR, None, None, None, "maya"),
    # A public Maya 7 Script Editor paste (Ubuntu forums thread).
    (
        "// Warning: Unable to get OpenGL visual with a depth buffer, trying without //",
        K.WARNING,
        None,
        None,
        None,
        "maya",
    ),
    # MMmaomao issue #196: "Result: <scene path>" is the opened scene, not an image.
    (
        "Result: E:/test_files/2014_ball_arnold.ma",
        K.INFO,
        None,
        None,
        None,
        None,
    ),
    (
        "// Result: C:/proj/images/beauty/shot.0012.exr //",
        K.OUTPUT,
        None,
        None,
        "C:/proj/images/beauty/shot.0012.exr",
        "maya",
    ),
    # OpenCue issue #1310 (mayabatch start-up on Windows).
    ("Initialized VP2.0 renderer {", K.INFO, None, None, None, None),
    ("  GPU Memory Limit : 20470 MB.", K.INFO, None, None, None, None),
    ("", K.INFO, None, None, None, None),
]


@pytest.mark.parametrize(("line", "kind", "percent", "frame", "path", "renderer"), GENERIC_LINES)
def test_generic_maya_lines(
    line: str,
    kind: LineKind,
    percent: float | None,
    frame: int | None,
    path: str | None,
    renderer: str | None,
) -> None:
    _check(LogParser(), line, kind, percent, frame, path, renderer)


def _check(
    parser: LogParser,
    line: str,
    kind: LineKind,
    percent: float | None,
    frame: int | None,
    path: str | None,
    renderer: str | None,
) -> None:
    parsed = parser.parse_line(line)
    assert parsed.kind is kind, parsed
    if percent is None:
        assert parsed.percent is None
    else:
        assert parsed.percent == pytest.approx(percent)
    assert parsed.frame == frame
    assert parsed.path == path
    assert parsed.renderer == renderer
    assert parsed.text == line
    if kind in (K.FATAL, K.FRAME_FAILED, K.ERROR, K.WARNING):
        assert parsed.reason
        assert not parsed.reason.endswith("//")
    else:
        assert parsed.reason is None


ALL_ROWS = ARNOLD_LINES + REDSHIFT_LINES + VRAY_LINES + MAYA_SOFTWARE_LINES + GENERIC_LINES


def _table_of(parsed: ParsedLine) -> str:
    """Which PATTERNS table the matching entry came from."""
    owner = parsed.renderer
    if owner in PATTERNS and any(p.name == parsed.pattern for p in PATTERNS[owner]):
        return owner
    return "maya"  # Maya's own lines and the renderer-neutral GPU entries


def test_every_pattern_in_the_table_is_exercised_by_a_real_sample() -> None:
    hit: set[tuple[str, str]] = set()
    for renderer in (*RENDERER_NAMES, None):
        parser = LogParser(renderer)
        for row in ALL_ROWS:
            parsed = parser.parse_line(row[0])
            if parsed.pattern is not None:
                hit.add((_table_of(parsed), parsed.pattern))
    expected = {(table, p.name) for table, patterns in PATTERNS.items() for p in patterns}
    assert not expected - hit, f"patterns without a sample: {sorted(expected - hit)}"


def test_pattern_table_is_well_formed() -> None:
    assert set(PATTERNS) == {*RENDERER_NAMES, "maya"}
    for table, patterns in PATTERNS.items():
        names = [p.name for p in patterns]
        assert len(names) == len(set(names)), table
        for pattern in patterns:
            assert pattern.hints and all(h == h.lower() and h for h in pattern.hints)
            assert pattern.renderer in (table, None)


def test_fatal_patterns_are_tried_before_any_other() -> None:
    for renderer in (*RENDERER_NAMES, None):
        kinds = [p.kind for p in LogParser(renderer).patterns]
        first_non_fatal = next(i for i, k in enumerate(kinds) if k is not K.FATAL)
        assert all(k is not K.FATAL for k in kinds[first_non_fatal:])


def test_frame_failed_patterns_come_right_after_the_fatal_ones() -> None:
    for renderer in (*RENDERER_NAMES, None):
        kinds = [p.kind for p in LogParser(renderer).patterns]
        rest = [k for k in kinds if k is not K.FATAL]
        first_other = next(i for i, k in enumerate(rest) if k is not K.FRAME_FAILED)
        assert rest[:first_other] and all(k is not K.FRAME_FAILED for k in rest[first_other:])


# --------------------------------------------------------------------------- tricky cases


def test_maya_error_lines_are_errors_not_fatal() -> None:
    # MREF §3: a render can finish after "Error:" lines (DCM PR #214 shows one).
    parsed = LogParser("arnold").parse_line(
        '// Error: line 1: Cannot find procedure "xgmPreview". //'
    )
    assert parsed.kind is K.ERROR
    assert parsed.reason == 'line 1: Cannot find procedure "xgmPreview".'


def test_fatal_meaning_wins_over_the_error_or_warning_prefix() -> None:
    parser = LogParser("redshift")
    licence = parser.parse_line(
        "Error: [Redshift] License error: (RLM) All licenses in use (-22) //"
    )
    assert licence.kind is K.FATAL
    assert licence.reason == "License error: (RLM) All licenses in use (-22)"
    device = parser.parse_line(
        "// Warning: file: C:/x/redshiftSelectCudaDevices.mel line 25: Invalid device id: 3 //"
    )
    assert device.kind is K.FATAL
    assert device.reason == "Invalid device id: 3"


def test_a_number_in_an_image_path_is_not_a_frame() -> None:
    parsed = LogParser("mayaSoftware").parse_line("Finished Rendering /proj/images/Shot1.2.iff.")
    assert parsed.kind is K.FRAME_DONE
    assert parsed.frame is None
    assert parsed.path == "/proj/images/Shot1.2.iff"
    saving = LogParser("redshift").parse_line("Saving: /proj/images/Shot1.2.0012.exr")
    assert (saving.kind, saving.frame) == (K.OUTPUT, None)


def test_arnold_time_and_memory_columns_are_not_a_frame_or_percent() -> None:
    parsed = LogParser("arnold").parse_line(
        "00:00:15   325MB         |    20% done - 115 rays/pixel"
    )
    assert (parsed.percent, parsed.frame) == (20.0, None)


def test_fractional_arnold_export_time_is_not_taken_as_a_frame() -> None:
    parsed = LogParser("arnold").parse_line("| [mtoa.session]     Initializing at frame 1.500000")
    assert parsed.frame is None


def test_progress_restarts_for_each_layer_and_is_not_clamped() -> None:
    lines = [
        "|    50% done - 10 rays/pixel",
        "|   100% done - 10 rays/pixel",
        "|     0% done - 10 rays/pixel",  # next layer / frame
        "|    30% done - 10 rays/pixel",
    ]
    assert [p.percent for p in parse_lines(lines, "arnold")] == [50.0, 100.0, 0.0, 30.0]


def test_windows_crcrlf_line_endings_are_not_part_of_the_text() -> None:
    parsed = LogParser("redshift").parse_line("Saving: C:/out/beauty.0001.exr\r\r\n")
    assert parsed.text == "Saving: C:/out/beauty.0001.exr"
    assert parsed.path == "C:/out/beauty.0001.exr"


def test_every_renderers_fatal_patterns_apply_whatever_renderer_is_selected() -> None:
    # MREF §3: a loaded Arnold plug-in prints Arnold lines while another renderer renders.
    line = (
        "00:00:01   800MB ERROR   |  aborting render because the abort_on_license_fail option"
        " was enabled"
    )
    for renderer in ("redshift", "vray", "mayaSoftware", None):
        parsed = LogParser(renderer).parse_line(line)
        assert (parsed.kind, parsed.renderer) == (K.FATAL, "arnold")


def test_another_renderers_progress_still_parses_and_says_whose_it_is() -> None:
    parsed = LogParser("redshift").parse_line("|    20% done - 115 rays/pixel")
    assert (parsed.kind, parsed.percent, parsed.renderer) == (K.PROGRESS, 20.0, "arnold")


def test_selected_renderer_labels_a_format_it_shares() -> None:
    line = "Finished Rendering /proj/images/hw.0003.png."
    assert LogParser("mayaHardware2").parse_line(line).renderer == "mayaHardware2"
    assert LogParser("hw2").parse_line(line).renderer == "mayaHardware2"
    assert LogParser().parse_line(line).renderer == "mayaSoftware"


def test_gpu_errors_are_labelled_with_the_renderer_being_run() -> None:
    assert LogParser("redshift").parse_line("CUDA_ERROR_UNKNOWN").renderer == "redshift"
    assert LogParser().parse_line("CUDA_ERROR_UNKNOWN").renderer is None


def test_renderer_names_are_normalised_and_unknown_ones_are_tolerated() -> None:
    assert normalize_renderer("sw") == "mayaSoftware"
    assert normalize_renderer("V-Ray") == "vray"
    assert normalize_renderer("mtoa") == "arnold"
    assert normalize_renderer("renderman") is None
    assert LogParser("renderman").renderer is None
    assert LogParser("renderman").parse_line("|  10% done").percent == 10.0


def test_vray_error_fails_the_frame_not_the_worker() -> None:
    # DL-MB: self.AddStdoutHandlerCallback("V-Ray error: .*") -> HandleFatalError, whose
    # FailRender fails the task (Deadline requeues it), not the worker.
    parsed = LogParser("vray").parse_line("V-Ray error: Error loading geometry from proxy file")
    assert parsed.fails_frame and not parsed.is_fatal


def test_arnold_cpu_fallback_is_a_warning_with_the_message_as_reason() -> None:
    parsed = LogParser("arnold").parse_line(
        "00:00:01   200MB WARNING |  [gpu] no compatible device found, falling back to CPU"
    )
    assert parsed.kind is K.WARNING
    assert parsed.reason == "[gpu] no compatible device found, falling back to CPU"


# --------------------------------------------------------------------------- issue 11: plug-ins

# DCM291 (Maya 2025 on Windows) and DL-MB's handler: how Maya reports a missing plug-in.
MISSING = 'Error: line 1: Plug-in, "{}", was not found on MAYA_PLUG_IN_PATH.'
# DCM291: Redshift's own plug-in failing to load; the OS reason follows on the next line.
RS_LOAD = (
    "STDERR: Error: line 1: Unable to dynamically load :"
    " C:/ProgramData/Redshift/Plugins/Maya/2025/nt-x86-64/redshift4maya.mll"
)
RS_MLL = "C:/ProgramData/Redshift/Plugins/Maya/2025/nt-x86-64/redshift4maya.mll"


def test_the_renderers_own_missing_plugin_is_fatal_in_mayas_words() -> None:
    parsed = LogParser("arnold").parse_line(MISSING.format("mtoa"))
    assert (parsed.kind, parsed.plugin) == (K.FATAL, "mtoa")
    assert parsed.reason == 'Plug-in, "mtoa", was not found on MAYA_PLUG_IN_PATH'


@pytest.mark.parametrize("renderer", ["mayaHardware2", "mayaSoftware"])
@pytest.mark.parametrize("plugin", ["mtoa", "redshift4maya", "vrayformaya", "maxwell"])
def test_mayas_own_renderers_need_no_plugin_so_a_missing_one_is_a_warning(
    renderer: str, plugin: str
) -> None:
    # ISSUE11: a real Hardware 2.0 log with five such lines rendered its frames.
    parsed = LogParser(renderer).parse_line(MISSING.format(plugin))
    assert parsed.kind is K.WARNING
    assert parsed.reason == (
        f'Plug-in, "{plugin}", was not found on MAYA_PLUG_IN_PATH'
        " (Maya's own renderers need no plug-in)"
    )


def test_another_renderers_missing_plugin_is_a_warning_naming_it() -> None:
    # DCM291: a Redshift job printed a missing "maxwell" after its own plug-in failed.
    parsed = LogParser("redshift").parse_line("STDERR: " + MISSING.format("maxwell"))
    assert (parsed.kind, parsed.plugin) == (K.WARNING, "maxwell")
    assert parsed.reason == (
        'Plug-in, "maxwell", was not found on MAYA_PLUG_IN_PATH (Redshift does not need it)'
    )


def test_missing_plugin_with_no_renderer_known_is_an_error_that_says_why() -> None:
    parsed = LogParser().parse_line(MISSING.format("mtoa"))
    assert parsed.kind is K.ERROR
    assert parsed.reason == (
        'Plug-in, "mtoa", was not found on MAYA_PLUG_IN_PATH (the renderer is not known:'
        " fatal only if the render needs this plug-in, as a render with Arnold does)"
    )


def test_a_plugin_named_with_its_file_extension_is_the_same_plugin() -> None:
    # Constructed: loadPlugin "mtoa.mll" makes Maya name the file, not the plug-in.
    parsed = LogParser("arnold").parse_line(MISSING.format("mtoa.mll"))
    assert (parsed.kind, parsed.plugin) == (K.FATAL, "mtoa")


@pytest.mark.parametrize(
    ("line", "renderer", "plugin", "path"),
    [
        # DCM291: Windows, Maya 2025, Redshift 2025 (the adaptor's "STDERR: " label kept).
        (RS_LOAD, "redshift", "redshift4maya", RS_MLL),
        # DCM291: the same failure as Python's exception, after "# ".
        (
            f"STDERR: # RuntimeError: Unable to dynamically load : {RS_MLL}",
            "redshift",
            "redshift4maya",
            RS_MLL,
        ),
        # GLTF (pluginWin.mel, line 316 in Maya 2022+) with Redshift's 2024 plug-in path.
        (
            "// Error: file: C:/Program Files/Autodesk/Maya2024/scripts/others/pluginWin.mel"
            " line 316: Unable to dynamically load :"
            " C:/ProgramData/Redshift/Plugins/Maya/2024/nt-x86-64/redshift4maya.mll",
            "redshift",
            "redshift4maya",
            "C:/ProgramData/Redshift/Plugins/Maya/2024/nt-x86-64/redshift4maya.mll",
        ),
        # DRP (Linux, Maya 2024) with MtoA's Linux plug-in in its place.
        (
            "// Error: file: /usr/autodesk/maya2024/scripts/others/pluginWin.mel line 934:"
            " Unable to dynamically load : /usr/autodesk/arnold/maya2024/plug-ins/mtoa.so",
            "arnold",
            "mtoa",
            "/usr/autodesk/arnold/maya2024/plug-ins/mtoa.so",
        ),
        # macOS: MtoA's folder as DCM PR #299 shows it; Maya's plug-ins end ".bundle".
        (
            "// Error: line 1: Unable to dynamically load :"
            " /Applications/Autodesk/Arnold/mtoa/2024/plug-ins/mtoa.bundle",
            "arnold",
            "mtoa",
            "/Applications/Autodesk/Arnold/mtoa/2024/plug-ins/mtoa.bundle",
        ),
        # GLTF shape with V-Ray's plug-in (installed under Maya's "vray" folder).
        (
            "// Error: line 1: Unable to dynamically load :"
            " C:/Program Files/Autodesk/Maya2024/vray/plug-ins/vrayformaya.mll",
            "vray",
            "vrayformaya",
            "C:/Program Files/Autodesk/Maya2024/vray/plug-ins/vrayformaya.mll",
        ),
    ],
)
def test_the_renderers_own_plugin_failing_to_load_is_fatal_naming_it(
    line: str, renderer: str, plugin: str, path: str
) -> None:
    parsed = LogParser(renderer).parse_line(line)
    assert (parsed.kind, parsed.plugin, parsed.continues) == (K.FATAL, plugin, False)
    label = {"redshift": "Redshift", "arnold": "Arnold", "vray": "V-Ray"}[renderer]
    assert parsed.reason == f"{label}'s plug-in {plugin} could not be loaded from {path}"


def test_the_os_reason_on_the_next_line_completes_the_fatal_message() -> None:
    # DCM291 (GLTF prints the same reason without "# ").
    head, reason = parse_lines(
        [RS_LOAD, "STDERR: # The specified module could not be found."], "redshift"
    )
    assert (head.continues, reason.continues, reason.kind) == (False, True, K.FATAL)
    assert reason.reason == (
        f"Redshift's plug-in redshift4maya could not be loaded from {RS_MLL}:"
        " The specified module could not be found"
    )
    assert reason.text == "STDERR: # The specified module could not be found."


def test_the_linux_os_reason_is_kept_without_the_repeated_file_name() -> None:
    # DRP: "// <file>: invalid ELF header" on the line after the failed load.
    so = "/usr/autodesk/arnold/maya2024/plug-ins/mtoa.so"
    lines = [
        "// Error: file: /usr/autodesk/maya2024/scripts/others/pluginWin.mel line 934:"
        f" Unable to dynamically load : {so}",
        f"// {so}: invalid ELF header",
    ]
    reason = parse_lines(lines, "arnold")[1]
    assert reason.continues
    assert (
        reason.reason == f"Arnold's plug-in mtoa could not be loaded from {so}: invalid ELF header"
    )


def test_blank_and_bare_hash_lines_do_not_end_the_wait_for_the_os_reason() -> None:
    lines = [
        RS_LOAD + "\r\r\n",
        "STDERR: #\r\r\n",
        "\r\r\n",
        "The specified module could not be found.",
    ]
    parsed = parse_lines(lines, "redshift")
    assert [p.continues for p in parsed] == [False, False, False, True]


def test_a_new_maya_message_is_not_taken_for_the_os_reason() -> None:
    # DCM291: the missing "maxwell" two lines after; here directly after the failed load.
    parsed = parse_lines([RS_LOAD, "STDERR: " + MISSING.format("maxwell")], "redshift")
    assert (parsed[1].kind, parsed[1].continues) == (K.WARNING, False)


def test_an_unrelated_plugin_failing_to_load_is_a_warning() -> None:
    # GLTF: an exporter plug-in that fails to load does not stop a Redshift render.
    line = (
        "// Error: line 1: Unable to dynamically load :"
        " C:/Users/artist/Documents/maya/2020/plug-ins/maya2glTF.mll"
    )
    parsed = LogParser("redshift").parse_line(line)
    assert (parsed.kind, parsed.plugin) == (K.WARNING, "maya2glTF")
    assert (parsed.reason or "").endswith("(Redshift does not need it)")


def test_redshift_log_where_its_plugin_fails_and_an_unrelated_one_is_missing() -> None:
    # DCM291 as the adaptor logged it: the failed load is the fatal line, not "maxwell".
    lines = _parse_file("redshift_plugin_load_failed.log", "redshift")
    heads = [p for p in _of(lines, K.FATAL) if not p.continues]
    assert [lines.index(p) + 1 for p in heads] == [2, 9]  # the MEL error and Python's
    assert {p.plugin for p in heads} == {"redshift4maya"}
    (maxwell,) = _of(lines, K.WARNING)
    assert maxwell.plugin == "maxwell"


def test_hardware2_log_with_missing_plugins_and_a_usersetup_traceback_has_no_fatal_line() -> None:
    # ISSUE11: five missing plug-ins and a userSetup traceback (FreeformTools issue #110's
    # shape); the frames rendered. Start-up lines from OpenCue issue #1310; CRCRLF endings.
    lines = _parse_file("hardware2_missing_plugins.log", "mayaHardware2")
    assert not _of(lines, K.FATAL)
    assert [p.plugin for p in _of(lines, K.WARNING)] == [
        "mtoa",
        "redshift4maya",
        "vrayformaya",
        "pgYetiMaya",
        "maxwell",
    ]
    assert [p.frame for p in _of(lines, K.FRAME_STARTED)] == [1029, 1030, 1031]
    assert {p.renderer for p in _of(lines, K.FRAME_STARTED)} == {"mayaHardware2"}


# --------------------------------------------------------------------------- issue 11: licence


@pytest.mark.parametrize("renderer", [*RENDERER_NAMES, None])
def test_arnold_watermark_is_fatal_and_says_the_frames_cannot_be_delivered(
    renderer: str | None,
) -> None:
    # DCS: "rendering with watermarks because of failed authorization" (column prefix added).
    parsed = LogParser(renderer).parse_line(
        "00:00:01   812MB WARNING |  rendering with watermarks because of failed authorization"
    )
    assert (parsed.kind, parsed.renderer) == (K.FATAL, "arnold")
    assert parsed.reason == (
        "Arnold is rendering with a watermark (no licence): the frames can't be delivered;"
        " check the licence server (ADSKFLEX_LICENSE_FILE) and that skip_license_check is off"
        " (rendering with watermarks because of failed authorization)"
    )


# --------------------------------------------------------------------------- issue 11: frames

HW2_FRAME = "Rendering frame 1029 : D:/proj/images/sh010/beauty/sh010_beauty.1029.png"  # ISSUE11


def test_mayas_rendering_frame_line_belongs_to_hardware2_when_that_renders() -> None:
    parsed = LogParser("mayaHardware2").parse_line(HW2_FRAME)
    assert (parsed.kind, parsed.renderer, parsed.pattern) == (
        K.FRAME_STARTED,
        "mayaHardware2",
        "frame_started_number",
    )
    assert (parsed.frame, parsed.path) == (
        1029,
        "D:/proj/images/sh010/beauty/sh010_beauty.1029.png",
    )


@pytest.mark.parametrize("renderer", [*RENDERER_NAMES, None])
def test_mayas_rendering_frame_line_is_never_taken_by_redshifts_pattern(
    renderer: str | None,
) -> None:
    parsed = LogParser(renderer).parse_line(HW2_FRAME)
    assert parsed.renderer in ("mayaSoftware", "mayaHardware2")
    assert parsed.frame == 1029


def test_redshifts_rendering_frame_line_stays_redshifts_under_hardware2() -> None:
    # DL-MB handler "Rendering frame \d+ \((\d+)/(\d+)\)".
    parsed = LogParser("mayaHardware2").parse_line("Rendering frame 1029 (1/10)...")
    assert (parsed.kind, parsed.renderer, parsed.frame) == (K.FRAME_STARTED, "redshift", 1029)


# --------------------------------------------------------------------------- issue 11: frame failed


def test_mtoa_failed_batch_render_fails_the_frame_and_not_the_worker() -> None:
    # DL-MB / MTOA-CMD: Maya batch prints MGlobal::displayError as "Error: ...".
    parsed = LogParser("arnold").parse_line("Error: [mtoa] Failed batch render.")
    assert parsed.kind is K.FRAME_FAILED
    assert parsed.fails_frame and not parsed.is_fatal
    assert parsed.reason == "[mtoa] Failed batch render."


def test_a_licence_abort_before_failed_batch_render_is_still_fatal() -> None:
    # DCM PR #214: the licence abort; MTOA-CMD: arnoldRender then reports the failed frame.
    lines = [
        "00:34:55  5452MB ERROR   |  aborting render because this is a batch render and"
        " abort_on_license_fail option is enabled",
        "// Error: [mtoa] Failed batch render. //",
    ]
    assert [p.kind for p in parse_lines(lines, "arnold")] == [K.FATAL, K.FRAME_FAILED]


def test_arnold_render_terminating_early_still_stops_the_worker() -> None:
    # AUSD: "received abort signal" is the process being stopped, not the frame's data.
    parsed = LogParser("arnold").parse_line(
        "WARNING |  render terminating early:  received abort signal"
    )
    assert (parsed.kind, parsed.pattern) == (K.FATAL, "render_terminated")


def test_a_cuda_error_printed_as_a_vray_error_is_still_fatal() -> None:
    # lrc_toolbox/sim/renderer_logs.py's V-Ray CUDA fault line: FATAL meanings go first.
    parsed = LogParser("vray").parse_line(
        "V-Ray error: CUDA error 700: an illegal memory access was encountered"
    )
    assert (parsed.kind, parsed.pattern) == (K.FATAL, "cuda_error")


def test_arnold_log_where_one_frame_fails_and_the_next_renders() -> None:
    # Assembled from ADSK (Initializing at frame), AUSD (texture error, writing file),
    # MREF §6 (render aborted) and DL-MB / MTOA-CMD (Failed batch render).
    lines = _parse_file("arnold_failed_frame.log", "arnold")
    assert not _of(lines, K.FATAL)
    assert [lines.index(p) + 1 for p in _of(lines, K.FRAME_FAILED)] == [9, 10]
    assert [p.frame for p in _of(lines, K.FRAME_STARTED) if p.frame] == [1, 2, 3]
    assert len(_of(lines, K.OUTPUT)) == 2


# --------------------------------------------------------------------------- renderer hints


def test_frame_lines_name_the_renderers_that_print_them() -> None:
    parser = LogParser()
    assert renderers_of_line(parser.parse_line("|    20% done - 115 rays/pixel")) == ("arnold",)
    assert renderers_of_line(parser.parse_line(HW2_FRAME)) == ("mayaSoftware", "mayaHardware2")


def test_warnings_of_a_loaded_but_unused_plugin_name_no_renderer() -> None:
    # DCM PR #299: MtoA's start-up warning in a Maya Software job.
    line = (
        "00:00:00   453MB WARNING |  unable to load dynamic library: dlopen(/Applications/"
        "Autodesk/Arnold/mtoa/2024/procedurals/xgen_procedural.dylib, 0x0005)"
    )
    assert renderers_of_line(LogParser().parse_line(line)) == ()
    assert renderers_of_line(LogParser().parse_line(MISSING.format("mtoa"))) == ()


# --------------------------------------------------------------------------- line endings


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r\r\n", "\r", ""])
def test_parse_line_drops_any_trailing_line_ending(ending: str) -> None:
    # MREF §3: logs written on Windows end lines with "\r\r\n" or a mix.
    parsed = LogParser("arnold").parse_line("|    20% done - 115 rays/pixel" + ending)
    assert (parsed.text, parsed.percent) == ("|    20% done - 115 rays/pixel", 20.0)


def test_the_simulators_garbage_fault_parses_as_information() -> None:
    # lrc_toolbox/sim/runtime.py "garbage" fault writes exactly these bytes; the manager
    # decodes with errors="replace" and splits at "\n".
    garbage = b"\xff\xfe\x00garbage\x1b[2K\r\n@lrc {not json\n\x00\x01\x02\n"
    lines = garbage.decode("utf-8", errors="replace").split("\n")[:-1]
    parsed = parse_lines(lines, "arnold")
    assert [p.kind for p in parsed] == [K.INFO, K.INFO, K.INFO]
    assert parsed[1].text == "@lrc {not json"


# --------------------------------------------------------------------------- properties

_FRAGMENTS = [
    "Error: ",
    "Warning: ",
    "ERROR   | ",
    "% done",
    " 45",
    "Block 3/48 (1,2) rendered by GPU 0",
    "Saving: /a b/c.exr",
    "Rendering frame 12",
    "V-Ray: ",
    "% completed",
    "License error",
    "CUDA_ERROR_X",
    "Finished Rendering /x/Shot1.2.iff.",
    "Result: /i/a.png",
    "render done",
    "\r",
    "\n",
    "\r\r\n",
    "юникод",
    "//",
    "|",
]
_log_text = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=8)), max_size=30).map(
    "".join
)


@given(_log_text | st.text())
@settings(max_examples=400)
def test_parse_line_never_raises_and_the_prefilter_never_changes_the_answer(text: str) -> None:
    for renderer in ("arnold", "redshift", None):
        parser = LogParser(renderer)
        fast = parser.parse_line(text)
        assert fast == parser._classify(text.rstrip("\r\n"), prefilter=False)
        assert isinstance(fast.kind, LineKind)


@given(st.sampled_from([row[0] for row in ALL_ROWS]), st.sampled_from([*RENDERER_NAMES, None]))
def test_prefilter_passes_every_real_sample(line: str, renderer: str | None) -> None:
    parser = LogParser(renderer)
    assert parser.parse_line(line) == parser._classify(line, prefilter=False)


# --------------------------------------------------------------------------- whole logs


def _parse_file(name: str, renderer: str) -> list[ParsedLine]:
    """The file's lines, split at LF; parse_line drops what is left of CRLF/CRCRLF endings."""
    text = (LOGS / name).read_bytes().decode("utf-8")
    return parse_lines(text.split("\n")[:-1], renderer)


def _of(lines: list[ParsedLine], kind: LineKind) -> list[ParsedLine]:
    return [p for p in lines if p.kind is kind]


def test_arnold_gpu_frame_log() -> None:
    # Assembled from MREF §6, ADSK, AUSD, OpenPype PR #4416 and deadline-cloud-samples PR
    # #121 lines (times and memory adjusted to run forward).
    lines = _parse_file("arnold_gpu_frame.log", "arnold")
    assert [p.percent for p in _of(lines, K.PROGRESS)] == [0, 5, 20, 45, 70, 95, 100]
    assert [p.frame for p in _of(lines, K.FRAME_STARTED)] == [1, None]
    assert len(_of(lines, K.FRAME_DONE)) == 1
    assert [p.path for p in _of(lines, K.OUTPUT)] == [
        "C:/Users/blairs/untitled.arnold_rendersettings1.0049.exr"
    ]
    assert len(_of(lines, K.ERROR)) == 1  # the texture error does not stop the frame
    assert not _of(lines, K.FATAL)


def test_redshift_frame_log() -> None:
    # Assembled from LB (redshiftCmdLine 3.0.39), CGRU and DL-MB lines.
    lines = _parse_file("redshift_frame.log", "redshift")
    progress = [round(p.percent or 0, 2) for p in _of(lines, K.PROGRESS)]
    assert progress == [0.0, 25.0, 50.0, 100.0, 100.0]
    assert [p.frame for p in _of(lines, K.FRAME_STARTED)] == [1001]
    assert [p.frame for p in _of(lines, K.FRAME_DONE)] == [1001, 1002]
    assert [p.path for p in _of(lines, K.OUTPUT)] == [
        "/tmp/test/out.1001.exr",
        "/tmp/fofo/with spaces/file.aov.1001.exr",
        "/tmp/fofo/with юникод щит/file.aov.1001.exr",
    ]
    assert not _of(lines, K.FATAL) and not _of(lines, K.ERROR)


def test_vray_frame_log() -> None:
    # Assembled from OpenPype PR #5420, DL-MB, CGRU and the Kartaverse guide's lines.
    lines = _parse_file("vray_frame.log", "vray")
    assert [p.percent for p in _of(lines, K.PROGRESS)] == [10, 40, 75, 100]
    assert [p.frame for p in _of(lines, K.FRAME_STARTED)] == [12, None]
    assert [p.path for p in _of(lines, K.OUTPUT)] == [
        "/Volumes/Projects/Yeti_Vray_Project/images/tmp/blue_fur.0012.exr"
    ]
    assert len(_of(lines, K.FRAME_DONE)) == 2  # "Total frame time" and "Render complete"
    assert not _of(lines, K.FATAL)


def test_maya_software_log() -> None:
    # The Ubuntu-forums Maya Software log, image renamed Shot1.2.iff (the MREF §3 trap),
    # with Maya 2012-style "Percentage of rendering done" lines.
    lines = _parse_file("maya_software.log", "mayaSoftware")
    assert [p.percent for p in _of(lines, K.PROGRESS)] == [0, 5, 10, 100]
    done = _of(lines, K.FRAME_DONE)
    assert [(p.path, p.frame) for p in done] == [
        ("/home/jason/maya/projects/default/images/tmp/Shot1.2.iff", None)
    ]
    assert not _of(lines, K.FATAL)


def test_redshift_licence_error_log_with_crcrlf_endings() -> None:
    # Assembled from OpenCue issue #1310 (mayabatch start-up), DCM PR #214, buildcat's
    # redshiftCmdLine banner (printed with "\r\r\n"), CGRU and DL-MB lines.
    lines = _parse_file("redshift_license_error.log", "redshift")
    assert all("\r" not in p.text and "\n" not in p.text for p in lines)
    assert len(lines) == 14
    kinds = [p.kind for p in lines]
    assert kinds.index(K.ERROR) < kinds.index(K.FATAL)  # the earlier Error: is not fatal
    first_fatal = _of(lines, K.FATAL)[0]
    assert first_fatal.reason == "License error: (RLM) All licenses in use (-22)"
    assert first_fatal.renderer == "redshift"
    assert _of(lines, K.FRAME_STARTED)[0].frame == 1


def test_parsing_is_fast_for_ordinary_output() -> None:
    lines = (LOGS / "redshift_frame.log").read_text(encoding="utf-8").splitlines() * 500
    parser = LogParser("redshift")
    start = time.perf_counter()
    for line in lines:
        parser.parse_line(line)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"{len(lines)} lines took {elapsed:.2f}s"


def test_module_exports() -> None:
    assert set(log_parser.__all__) >= {"LineKind", "ParsedLine", "LogParser", "PATTERNS", "Pattern"}


@pytest.mark.parametrize(
    "line",
    ["licen\u017fe error: x", "\u212aick render aborted", "CUDA_ERROR_\u0130", "Error:\u00a0x"],
)
def test_unicode_case_folding_never_makes_the_prefilter_disagree(line: str) -> None:
    parser = LogParser()
    assert parser.parse_line(line) == parser._classify(line, prefilter=False)
