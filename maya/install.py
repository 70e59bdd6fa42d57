"""Drag-and-drop installer: drop this file into a Maya viewport (Maya 2024 or later).

It writes ``<MAYA_APP_DIR>/modules/lrc_toolbox.mod`` pointing at THIS checkout (absolute
paths), then installs psutil, nvidia-ml-py and Qt.py for THIS Maya's mayapy into
``maya/site-packages-<version>`` next to the module, which the module file puts on
PYTHONPATH. Restart Maya afterwards (the menu and shelf are set up right away too).

Nothing here raises into the artist's face: every failure becomes a message saying what
failed and what to do. Without psutil / nvidia-ml-py the tool still works, with less
system information (no live GPU load, CPU figures from the standard library).

Sources: a dropped .py runs ``onMayaDroppedPythonFile(*args)`` (Maya 2017 Update 3 and
later; e.g. masqu3rad3/trigger ``dragAndDropMe.py``); ``cmds.internalVar(userAppDir=True)``
is the user's Maya folder whose ``modules/`` Maya scans (Autodesk "Installing the module",
"File path variables"); module files: Autodesk "Maya module paths, folders and versions"
and "Sample module file" (``+ MAYAVERSION:2024 name version path``, ``VAR+:=relative``).
``mayapy -m pip install --target DIR`` installs a package for that Maya's Python only.

The functions up to :func:`install` are plain Python (tested without Maya).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

MODULE_NAME = "lrc_toolbox"
MODULE_FILE = f"{MODULE_NAME}.mod"
#: Maya versions the tool supports; the module file has one section per version.
SUPPORTED_MAYA_VERSIONS = ("2024", "2025", "2026", "2027")
#: what the tool needs that Maya does not ship (pyproject.toml ``dependencies``)
PACKAGES = ("psutil>=5.9", "nvidia-ml-py>=12.535", "Qt.py>=1.4")
PIP_TIMEOUT_SECONDS = 900

MAYA_DIR = Path(__file__).resolve().parent
REPO_ROOT = MAYA_DIR.parent

_OFFLINE_SIGNS = (
    "Could not find a version that satisfies",
    "No matching distribution found",
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "getaddrinfo failed",
    "Network is unreachable",
    "Max retries exceeded",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "ProxyError",
    "SSLError",
)
_WITHOUT_THEM = (
    "Qt.py is required: the dashboard and the render engine import Qt through it (if pip "
    "cannot reach the internet, copy the single file Qt.py from a machine that has it into "
    "the module's site-packages folder). psutil and nvidia-ml-py are optional: LRC Toolbox "
    "still works without them, with less system information (no live GPU load or memory, "
    "basic CPU figures)."
)


# ---------------------------------------------------------------------- plain functions


def module_version() -> str:
    """The package version, read from ``lrc_toolbox/__init__.py`` (nothing imported)."""
    text = (REPO_ROOT / "lrc_toolbox" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.MULTILINE)
    return match.group(1) if match else "1.0"


def site_packages_name(maya_version: str) -> str:
    """The folder (next to the module file's module path) for one Maya's packages."""
    return f"site-packages-{maya_version}"


def module_file_text(
    module_path: str,
    versions: Sequence[str] = SUPPORTED_MAYA_VERSIONS,
    version: str | None = None,
) -> str:
    """The text of ``lrc_toolbox.mod``.

    Args:
        module_path: the module's folder (this ``maya/`` folder): ``.`` for the copy that
            lives in the repository (relative to the .mod file, for ``MAYA_MODULE_PATH``),
            or an absolute path for the copy the installer writes.
        versions: one section per Maya version: Python packages are built per Python
            version (2024: 3.10, 2025/2026: 3.11), so each Maya gets its own folder.
        version: the module version (default: the package version).

    The module folder's ``scripts/`` (``userSetup.py``) and ``icons/`` are added by Maya
    itself; ``PYTHONPATH+:=..`` adds the repository root so that ``import lrc_toolbox``
    works, and ``PYTHONPATH+:=site-packages-<ver>`` adds what :func:`pip_command` installed.
    """
    version = version or module_version()
    path = module_path.replace("\\", "/")
    sections = []
    for maya in versions:
        sections.append(
            f"+ MAYAVERSION:{maya} {MODULE_NAME} {version} {path}\n"
            "PYTHONPATH+:=..\n"
            f"PYTHONPATH+:={site_packages_name(maya)}\n"
        )
    return "\n".join(sections)


def pip_command(mayapy: str, target: str | os.PathLike[str]) -> list[str]:
    """Install :data:`PACKAGES` for one Maya's Python into ``target`` (re-runs upgrade)."""
    return [
        str(mayapy),
        "-m",
        "pip",
        "install",
        "--upgrade",
        "--disable-pip-version-check",
        "--no-input",
        "--target",
        str(target),
        *PACKAGES,
    ]


def mayapy_for(
    maya_location: str | None,
    executable: str,
    platform: str = sys.platform,
    exists: Callable[[str], bool] = os.path.isfile,
) -> str | None:
    """The mayapy of the running Maya: ``$MAYA_LOCATION/bin``, else next to Maya itself.

    Inside Maya ``sys.executable`` is Maya (``maya.exe`` / ``maya.bin`` /
    ``Maya.app/Contents/MacOS/Maya``), and mayapy sits in its ``bin`` folder
    (MAYA_REFERENCE §8). A mayapy of another Maya version must not be used: the packages
    are built for one Python version.
    """
    name = "mayapy.exe" if platform.startswith("win") else "mayapy"
    candidates = []
    if maya_location:
        candidates.append(os.path.join(maya_location, "bin", name))
    folder = os.path.dirname(executable)
    candidates.append(os.path.join(folder, name))
    if platform == "darwin":  # .../Maya.app/Contents/MacOS/Maya -> .../Contents/bin/mayapy
        candidates.append(os.path.join(os.path.dirname(folder), "bin", name))
    for candidate in candidates:
        if exists(candidate):
            return candidate
    return None


def maya_major_version(about_version: str) -> str:
    """``"2024"`` from what ``cmds.about(version=True)`` says (``"2024"``, ``"2025.1"``)."""
    match = re.match(r"\s*(\d{4})", str(about_version))
    return match.group(1) if match else str(about_version).strip()


def describe_pip_failure(returncode: int, output: str, target: str) -> str:
    """What went wrong with pip, and what to do, in words for an artist."""
    last = [line.strip() for line in output.splitlines() if line.strip()][-3:]
    detail = " / ".join(last) or f"exit code {returncode}"
    if "No module named pip" in output:
        return (
            "Maya's Python has no pip, so psutil, nvidia-ml-py and Qt.py were not installed. "
            "To fix: run  mayapy -m ensurepip --upgrade  (mayapy is in Maya's bin folder), "
            f"then drop install.py into Maya again. {_WITHOUT_THEM}"
        )
    if any(sign in output for sign in _OFFLINE_SIGNS):
        return (
            "psutil, nvidia-ml-py and Qt.py could not be downloaded: this computer looks "
            f"offline or a proxy blocks pip ({detail}). To fix: connect to the internet (or "
            "set the HTTPS_PROXY variable) and drop install.py into Maya again, or install "
            f'them by hand:  mayapy -m pip install --target "{target}" '
            f"{' '.join(PACKAGES)}. {_WITHOUT_THEM}"
        )
    if "Permission denied" in output or "Access is denied" in output:
        return (
            f"pip could not write to {target} (permission denied). To fix: make that "
            f"folder writable for you, then drop install.py into Maya again. {_WITHOUT_THEM}"
        )
    return (
        f"pip could not install psutil, nvidia-ml-py and Qt.py ({detail}). To fix: run "
        f'  mayapy -m pip install --target "{target}" {" ".join(PACKAGES)}  and read '
        f"its message. {_WITHOUT_THEM}"
    )


class InstallReport:
    """What :func:`install` did; ``ok`` is False only when the module file failed.

    A plain class, not a dataclass: Maya may run a dropped file without registering it in
    ``sys.modules``, which dataclasses need.
    """

    def __init__(self) -> None:
        self.module_file: Path | None = None
        self.packages_installed = False
        self.messages: list[str] = []
        self.problems: list[str] = []

    @property
    def ok(self) -> bool:
        return self.module_file is not None

    def text(self) -> str:
        return "\n\n".join([*self.messages, *self.problems])


def write_module_file(user_app_dir: str | os.PathLike[str], text: str) -> tuple[Path, str]:
    """Write ``<user_app_dir>/modules/lrc_toolbox.mod`` atomically.

    Returns the path and what it replaced (``""`` when there was nothing there).
    """
    folder = Path(user_app_dir) / "modules"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / MODULE_FILE
    try:
        previous = target.read_text(encoding="utf-8")
    except OSError:
        previous = ""
    partial = target.with_name(target.name + ".tmp")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, target)
    return target, previous


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    options: dict[str, Any] = {}
    if sys.platform.startswith("win"):  # no console window flashing up over Maya
        options["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0x08000000)
    return subprocess.run(  # noqa: S603 - an argument list, never a shell
        command,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=PIP_TIMEOUT_SECONDS,
        check=False,
        **options,
    )


def install(
    user_app_dir: str | os.PathLike[str],
    maya_version: str,
    mayapy: str | None,
    *,
    run: Callable[[list[str]], Any] = _run,
    maya_dir: Path = MAYA_DIR,
) -> InstallReport:
    """Write the module file, then install the packages for this Maya. Never raises."""
    report = InstallReport()
    versions = list(SUPPORTED_MAYA_VERSIONS)
    if maya_version not in versions:
        versions.append(maya_version)
    try:
        path, previous = write_module_file(
            user_app_dir, module_file_text(maya_dir.as_posix(), versions)
        )
    except OSError as exc:
        report.problems.append(
            f"Could not write the module file into {Path(user_app_dir) / 'modules'}: {exc}. "
            "To fix: make that folder writable, or copy maya/lrc_toolbox.mod there by hand "
            "and replace its '.' by the full path of this maya folder."
        )
        return report
    report.module_file = path
    replaced = ""
    if previous and maya_dir.as_posix() not in previous:
        replaced = " It replaces a module file that pointed at another copy of LRC Toolbox."
    report.messages.append(f"Module file written: {path}.{replaced}")

    target = maya_dir / site_packages_name(maya_version)
    if mayapy is None:
        report.problems.append(
            "mayapy (Maya's Python) was not found next to this Maya, so psutil, nvidia-ml-py "
            f"and Qt.py were not installed. To fix: run  <Maya>/bin/mayapy -m pip install "
            f'--target "{target}" {" ".join(PACKAGES)}. {_WITHOUT_THEM}'
        )
        return report
    command = pip_command(mayapy, target)
    try:
        result = run(command)
    except FileNotFoundError:
        report.problems.append(
            f"mayapy could not be started ({mayapy}). To fix: check Maya's installation, "
            f"then drop install.py into Maya again. {_WITHOUT_THEM}"
        )
        return report
    except subprocess.TimeoutExpired:
        report.problems.append(
            f"pip did not finish within {PIP_TIMEOUT_SECONDS // 60} minutes (a slow or "
            f"blocked network?). To fix: drop install.py into Maya again later. {_WITHOUT_THEM}"
        )
        return report
    except OSError as exc:
        report.problems.append(f"mayapy could not be started ({exc}). {_WITHOUT_THEM}")
        return report
    output = f"{getattr(result, 'stdout', '') or ''}\n{getattr(result, 'stderr', '') or ''}"
    if result.returncode != 0:
        report.problems.append(describe_pip_failure(result.returncode, output, str(target)))
        return report
    report.packages_installed = True
    report.messages.append(f"psutil, nvidia-ml-py and Qt.py installed for Maya {maya_version}.")
    return report


# ---------------------------------------------------------------------- inside Maya


def _activate_now(maya_dir: Path, maya_version: str) -> str:
    """Make the tool usable in this session too (the module loads at the next start)."""
    for folder in (REPO_ROOT, maya_dir / site_packages_name(maya_version)):
        if folder.is_dir() and str(folder) not in sys.path:
            sys.path.insert(0, str(folder))
    try:
        from lrc_toolbox.maya_host import startup

        startup.startup()
    except Exception as exc:
        return f"The menu will appear after a restart ({exc.__class__.__name__}: {exc})."
    return "The LRC Toolbox menu and shelf button are ready now."


def onMayaDroppedPythonFile(*args: Any) -> None:
    """Maya calls this when the file is dropped into a viewport."""
    try:
        from maya import cmds
    except Exception:
        print("LRC Toolbox install.py: drop this file into a Maya viewport to install.")
        return
    title = "LRC Toolbox installer"
    try:
        user_app_dir = str(cmds.internalVar(userAppDir=True))
        version = maya_major_version(str(cmds.about(version=True)))
        print(f"// {title}: installing for Maya {version} (pip may take a minute)...")
        mayapy = mayapy_for(os.environ.get("MAYA_LOCATION"), sys.executable)
        report = install(user_app_dir, version, mayapy)
        if report.ok:
            report.messages.append(_activate_now(MAYA_DIR, version))
            report.messages.append("Restart Maya to load the module in every new session.")
        text = report.text()
    except Exception as exc:  # never a traceback in the artist's face
        text = (
            f"The installation stopped: {exc.__class__.__name__}: {exc}. To install by hand, "
            "copy maya/lrc_toolbox.mod into your Maya modules folder (see maya/README.md)."
        )
    for paragraph in text.split("\n\n"):
        print(f"// {title}: {paragraph}")
    try:
        cmds.confirmDialog(title=title, message=text, button=["OK"])
    except Exception:
        pass
