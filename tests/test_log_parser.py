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
    # MREF §6 / AUSD: kick's abort.
    (
        "00:00:02   279MB WARNING | [kick] render aborted due to earlier errors",
        K.FATAL,
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
    # DL-MB / DL-MC: handler r"\[mtoa\] Failed batch render" -> FailRender.
    ("// Error: [mtoa] Failed batch render. //", K.FATAL, None, None, None, "arnold"),
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
    # DL-MB: "V-Ray error: .*" -> FailRender (our decision too, see the module docstring).
    ("V-Ray error: Error loading geometry from proxy file", K.FATAL, None, None, None, "vray"),
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
    (
        '// Error: line 1: Plug-in, "mtoa", was not found on MAYA_PLUG_IN_PATH. //',
        K.FATAL,
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
    if kind in (K.FATAL, K.ERROR, K.WARNING):
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


def test_vray_error_is_fatal_like_deadline_decides() -> None:
    # DL-MB: self.AddStdoutHandlerCallback("V-Ray error: .*") -> HandleFatalError.
    assert LogParser().parse_line("V-Ray error: Cannot create output file").is_fatal


def test_arnold_cpu_fallback_is_a_warning_with_the_message_as_reason() -> None:
    parsed = LogParser("arnold").parse_line(
        "00:00:01   200MB WARNING |  [gpu] no compatible device found, falling back to CPU"
    )
    assert parsed.kind is K.WARNING
    assert parsed.reason == "[gpu] no compatible device found, falling back to CPU"


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
