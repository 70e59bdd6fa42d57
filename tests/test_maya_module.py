"""The Maya module in ``maya/``: the module file, ``userSetup.py`` and the drag-and-drop
installer, against per-test stand-in ``maya`` modules (real Maya is not installed)."""

from __future__ import annotations

import importlib.util
import re
import runpy
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import lrc_toolbox

REPO = Path(__file__).resolve().parents[1]
MAYA_DIR = REPO / "maya"
USER_SETUP = MAYA_DIR / "scripts" / "userSetup.py"


def load_installer() -> types.ModuleType:
    """``maya/install.py`` as Maya runs a dropped file: by path, not as a package."""
    spec = importlib.util.spec_from_file_location("lrc_maya_install", MAYA_DIR / "install.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


installer = load_installer()


# ====================================================================== the module file


def test_the_repository_module_file_is_what_the_installer_would_write() -> None:
    """Regenerate with: python -c "import runpy; print(runpy.run_path('maya/install.py')
    ['module_file_text']('.'), end='')" > maya/lrc_toolbox.mod"""
    assert (MAYA_DIR / "lrc_toolbox.mod").read_text(encoding="utf-8") == (
        installer.module_file_text(".")
    )


def test_each_supported_maya_gets_a_section_with_the_package_on_pythonpath() -> None:
    text = (MAYA_DIR / "lrc_toolbox.mod").read_text(encoding="utf-8")
    headers = re.findall(r"^\+ MAYAVERSION:(\d{4}) lrc_toolbox (\S+) \.$", text, re.MULTILINE)
    assert [v for v, _ in headers] == ["2024", "2025", "2026", "2027"]
    assert {version for _, version in headers} == {lrc_toolbox.__version__}
    for section in text.split("\n\n"):
        lines = section.strip().splitlines()
        maya = lines[0].split()[1].split(":")[1]
        assert lines[1:] == ["PYTHONPATH+:=..", f"PYTHONPATH+:=site-packages-{maya}"]


def test_the_module_paths_lead_to_the_package_and_the_user_setup() -> None:
    module_root = MAYA_DIR / "."  # '+ ... .' is relative to the .mod file
    assert (module_root / ".." / "lrc_toolbox" / "__init__.py").resolve().is_file()
    assert (module_root / "scripts" / "userSetup.py").is_file()  # Maya adds scripts/


def test_the_installed_module_file_uses_absolute_paths() -> None:
    text = installer.module_file_text("C:\\Users\\Ann Lee\\lrc\\maya", ["2025"], "0.1.0")
    assert text == (
        "+ MAYAVERSION:2025 lrc_toolbox 0.1.0 C:/Users/Ann Lee/lrc/maya\n"
        "PYTHONPATH+:=..\n"
        "PYTHONPATH+:=site-packages-2025\n"
    )


# ====================================================================== userSetup.py


def fake_maya(monkeypatch: pytest.MonkeyPatch, *, batch: bool) -> types.SimpleNamespace:
    record = types.SimpleNamespace(deferred=[], batch_queries=0)
    cmds = types.ModuleType("maya.cmds")

    def about(**kwargs: Any) -> bool:
        assert kwargs == {"batch": True}
        record.batch_queries += 1
        return batch

    cmds.about = about  # type: ignore[attr-defined]
    utils = types.ModuleType("maya.utils")
    utils.executeDeferred = record.deferred.append  # type: ignore[attr-defined]
    maya = types.ModuleType("maya")
    maya.cmds, maya.utils = cmds, utils  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "maya", maya)
    monkeypatch.setitem(sys.modules, "maya.cmds", cmds)
    monkeypatch.setitem(sys.modules, "maya.utils", utils)
    return record


def fake_startup(monkeypatch: pytest.MonkeyPatch, action: Any) -> list[str]:
    calls: list[str] = []
    module = types.ModuleType("lrc_toolbox.maya_host.startup")

    def startup() -> bool:
        calls.append("startup")
        return bool(action())

    module.startup = startup  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lrc_toolbox.maya_host.startup", module)
    import lrc_toolbox.maya_host as host

    monkeypatch.setattr(host, "startup", module, raising=False)
    return calls


def run_user_setup() -> dict[str, Any]:
    return runpy.run_path(str(USER_SETUP), run_name="__main__")


def test_user_setup_defers_the_startup_in_interactive_maya(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    maya = fake_maya(monkeypatch, batch=False)
    calls = fake_startup(monkeypatch, lambda: True)
    run_user_setup()
    assert calls == [] and len(maya.deferred) == 1  # nothing before Maya's UI exists
    maya.deferred[0]()
    assert calls == ["startup"]


def test_user_setup_does_nothing_in_batch_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    maya = fake_maya(monkeypatch, batch=True)
    run_user_setup()
    assert maya.deferred == [] and maya.batch_queries == 1


def test_user_setup_does_nothing_in_a_render_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    maya = fake_maya(monkeypatch, batch=False)
    monkeypatch.setenv("LRC_WORKER_ID", "gpu1")
    run_user_setup()
    assert maya.deferred == [] and maya.batch_queries == 0


def test_user_setup_never_raises_when_the_startup_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    maya = fake_maya(monkeypatch, batch=False)

    def explode() -> bool:
        raise ImportError("No module named 'Qt'")

    fake_startup(monkeypatch, explode)
    run_user_setup()
    maya.deferred[0]()  # Maya runs it later: it must not raise either
    out = capsys.readouterr().out
    assert out.count("Warning: LRC Toolbox") == 1
    assert "ImportError: No module named 'Qt'" in out and "Maya works as usual" in out


def test_user_setup_never_raises_when_maya_itself_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_maya(monkeypatch, batch=False)

    def broken(**_kwargs: Any) -> bool:
        raise RuntimeError("about: internal error")

    sys.modules["maya.cmds"].about = broken  # type: ignore[attr-defined]
    run_user_setup()
    assert "RuntimeError: about: internal error" in capsys.readouterr().out


def test_user_setup_outside_maya_is_silent() -> None:
    result = subprocess.run(
        [sys.executable, "-I", str(USER_SETUP)], capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_user_setup_keeps_its_names_out_of_the_artists_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_maya(monkeypatch, batch=True)
    names = {n for n in run_user_setup() if not n.startswith("__")}
    assert names <= {"annotations", "os"} | {n for n in names if n.startswith("_lrc")}


# ====================================================================== the installer


def test_pip_installs_the_three_packages_into_the_target_for_that_maya() -> None:
    target = "/repo/maya/site-packages-2024"
    assert installer.pip_command("/usr/autodesk/maya2024/bin/mayapy", target) == [
        "/usr/autodesk/maya2024/bin/mayapy",
        "-m",
        "pip",
        "install",
        "--upgrade",
        "--disable-pip-version-check",
        "--no-input",
        "--target",
        target,
        "psutil>=5.9",
        "nvidia-ml-py>=12.535",
        "Qt.py>=1.4",
    ]


def test_the_packages_match_the_project_dependencies() -> None:
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    block = text.split("dependencies = [", 1)[1].split("]", 1)[0]
    wanted = re.findall(r'"([^"]+)"', block)
    assert sorted(installer.PACKAGES) == sorted(wanted)


@pytest.mark.parametrize(
    ("location", "executable", "platform", "expected"),
    [
        ("/usr/autodesk/maya2024", "/usr/autodesk/maya2024/bin/maya.bin", "linux",
         "/usr/autodesk/maya2024/bin/mayapy"),
        (None, "C:/Program Files/Autodesk/Maya2025/bin/maya.exe", "win32",
         "C:/Program Files/Autodesk/Maya2025/bin/mayapy.exe"),
        (None, "/Applications/Autodesk/maya2025/Maya.app/Contents/MacOS/Maya", "darwin",
         "/Applications/Autodesk/maya2025/Maya.app/Contents/bin/mayapy"),
    ],
)  # fmt: skip
def test_the_mayapy_of_the_running_maya_is_found(
    location: str | None, executable: str, platform: str, expected: str
) -> None:
    found = installer.mayapy_for(
        location, executable, platform, exists=lambda p: p.replace("\\", "/") == expected
    )
    assert found is not None and found.replace("\\", "/") == expected


def test_no_mayapy_is_none_not_another_mayas() -> None:
    assert installer.mayapy_for(None, "/opt/maya/bin/maya", "linux", exists=lambda p: False) is None


def test_maya_s_version_string_gives_the_major_version() -> None:
    assert installer.maya_major_version("2025.1") == "2025"
    assert installer.maya_major_version("2024") == "2024"


OFFLINE_OUTPUT = (
    "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) "
    "after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection."
    "HTTPSConnection object>: Failed to establish a new connection: [Errno -3] Temporary "
    "failure in name resolution')': /simple/psutil/\n"
    "ERROR: Could not find a version that satisfies the requirement psutil>=5.9 (from "
    "versions: none)\nERROR: No matching distribution found for psutil>=5.9\n"
)


def test_offline_pip_says_what_failed_and_what_to_do() -> None:
    message = installer.describe_pip_failure(1, OFFLINE_OUTPUT, "/repo/maya/site-packages-2024")
    assert "looks offline" in message
    assert "No matching distribution found for psutil" in message
    assert 'mayapy -m pip install --target "/repo/maya/site-packages-2024"' in message
    assert "still works without them" in message


def test_missing_pip_says_how_to_get_it() -> None:
    message = installer.describe_pip_failure(
        1, "/usr/autodesk/maya2024/bin/mayapy: No module named pip\n", "/t"
    )
    assert "mayapy -m ensurepip" in message and "still works without them" in message


def test_install_writes_the_module_file_and_runs_pip(tmp_path: Path) -> None:
    commands: list[list[str]] = []

    def run(command: list[str]) -> Any:
        commands.append(command)
        return types.SimpleNamespace(returncode=0, stdout="Successfully installed", stderr="")

    checkout = tmp_path / "checkout" / "maya"
    report = installer.install(
        tmp_path / "prefs", "2024", "/maya/bin/mayapy", run=run, maya_dir=checkout
    )
    assert report.ok and report.packages_installed and report.problems == []
    module_file = tmp_path / "prefs" / "modules" / "lrc_toolbox.mod"
    text = module_file.read_text(encoding="utf-8")
    assert f"+ MAYAVERSION:2024 lrc_toolbox {lrc_toolbox.__version__} {checkout.as_posix()}" in (
        text
    )
    assert commands == [installer.pip_command("/maya/bin/mayapy", checkout / "site-packages-2024")]


def test_an_offline_install_still_writes_the_module_file(tmp_path: Path) -> None:
    report = installer.install(
        tmp_path,
        "2025",
        "/maya/bin/mayapy",
        run=lambda _c: types.SimpleNamespace(returncode=1, stdout="", stderr=OFFLINE_OUTPUT),
        maya_dir=tmp_path / "checkout",
    )
    assert report.ok and not report.packages_installed
    assert "looks offline" in report.text()


def test_a_mayapy_that_cannot_start_is_explained(tmp_path: Path) -> None:
    def missing(_command: list[str]) -> Any:
        raise FileNotFoundError("mayapy")

    report = installer.install(tmp_path, "2024", "/gone/mayapy", run=missing, maya_dir=tmp_path)
    assert report.ok and "mayapy could not be started (/gone/mayapy)" in report.text()


def test_a_maya_newer_than_the_list_gets_its_own_section(tmp_path: Path) -> None:
    installer.install(tmp_path, "2028", None, maya_dir=tmp_path / "m")
    text = (tmp_path / "modules" / "lrc_toolbox.mod").read_text(encoding="utf-8")
    assert "+ MAYAVERSION:2028 " in text and "PYTHONPATH+:=site-packages-2028" in text


def test_replacing_another_checkout_s_module_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "modules").mkdir()
    (tmp_path / "modules" / "lrc_toolbox.mod").write_text("+ lrc_toolbox 0.0.1 /old\n", "utf-8")
    report = installer.install(tmp_path, "2024", None, maya_dir=tmp_path / "new")
    assert "replaces a module file that pointed at another copy" in report.text()


def test_dropping_the_file_into_maya_installs_into_the_user_maya_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dialogs: list[dict[str, Any]] = []
    cmds = types.ModuleType("maya.cmds")
    cmds.internalVar = lambda **k: f"{tmp_path.as_posix()}/" if k == {"userAppDir": True} else ""  # type: ignore[attr-defined]
    cmds.about = lambda **k: "2024" if k == {"version": True} else False  # type: ignore[attr-defined]
    cmds.confirmDialog = lambda **k: dialogs.append(k) or "OK"  # type: ignore[attr-defined]
    maya = types.ModuleType("maya")
    maya.cmds = cmds  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "maya", maya)
    monkeypatch.setitem(sys.modules, "maya.cmds", cmds)
    monkeypatch.setenv("MAYA_LOCATION", str(tmp_path / "no-maya-here"))
    dropped = load_installer()
    monkeypatch.setattr(dropped, "_activate_now", lambda _d, _v: "Menu ready.")
    dropped.onMayaDroppedPythonFile()
    module_file = tmp_path / "modules" / "lrc_toolbox.mod"
    assert MAYA_DIR.as_posix() in module_file.read_text(encoding="utf-8")
    (dialog,) = dialogs
    assert "Module file written" in dialog["message"]
    assert "mayapy (Maya's Python) was not found" in dialog["message"]
    assert "Restart Maya" in dialog["message"]
    assert "Traceback" not in capsys.readouterr().out


def test_dropping_never_shows_a_traceback_even_when_maya_fails(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dialogs: list[dict[str, Any]] = []
    cmds = types.ModuleType("maya.cmds")

    def broken(**_k: Any) -> str:
        raise RuntimeError("internalVar: no user folder")

    cmds.internalVar = broken  # type: ignore[attr-defined]
    cmds.confirmDialog = lambda **k: dialogs.append(k) or "OK"  # type: ignore[attr-defined]
    maya = types.ModuleType("maya")
    maya.cmds = cmds  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "maya", maya)
    monkeypatch.setitem(sys.modules, "maya.cmds", cmds)
    load_installer().onMayaDroppedPythonFile("some", "maya", "args")
    assert (
        "installation stopped: RuntimeError: internalVar: no user folder" in (dialogs[0]["message"])
    )
    assert "Traceback" not in capsys.readouterr().out
