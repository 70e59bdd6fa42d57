"""Maya start-up: the "LRC Toolbox" menu, the shelf button and the quit handler.

:func:`startup` is what ``maya/scripts/userSetup.py`` runs (deferred until Maya's UI
exists, via ``maya.utils.executeDeferred``). It does nothing in batch mode
(``cmds.about(batch=True)``: mayapy, ``maya -batch``, the render workers), nor in a
process that is a render worker (``LRC_WORKER_ID`` is set), and it can run again without
duplicating anything: the menu is rebuilt, the shelf button is updated in place, and the
quit handler is registered once.

On quit (``scriptJob -event quitApplication``) with the render service (``render_service``,
the default), the batch already renders beside Maya, so nothing has to move: Maya asks
whether to keep rendering (the default, also for Enter and Esc; in batch mode, the
``keep_rendering_on_quit`` preference, which keeps by default) and says where to see the
batch later (the Batch Render Manager of the next Maya, or ``lrc-batch-render status
--follow <batch>``); stopping stops it through the service and leaves it resumable.

Without the service (``render_service`` false) the workers are children of Maya: a running
batch is either stopped (the default: the batch stays resumable from the dashboard or
``lrc-batch-render resume``) or, when ``keep_rendering_on_quit`` is true, handed to a
headless manager (``mayapy -m lrc_toolbox.maya_host.startup resume <batch>``, see
:func:`resume_main`) that renders the rest in the background; the dashboard shows it again
next time from the job store.

Sources: menu parented to ``MayaWindow`` with ``tearOff`` and deferred from userSetup
(MAYA_REFERENCE §7); the shelf container is the MEL global ``$gShelfTopLevel`` and
buttons are found by label (mmSolver ``mmSolver/ui/shelfutils.py``,
robertjoosten/maya-module-manager ``install.py``); ``scriptJob(event=["quitApplication",
fn])`` as in studio userSetup scripts; ``maya.utils.executeDeferred`` does not run in batch
mode at all (pymel ``mayautils.executeDeferred`` docs), so the batch check comes first.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lrc_toolbox import __version__
from lrc_toolbox.records.batch import batch_log_dir

__all__ = [
    "KEEP_RENDERING_ENV",
    "KEEP_RENDERING_KEY",
    "MENU_LABEL",
    "MENU_NAME",
    "QUIT_KEEP",
    "QUIT_STOP",
    "SHELF_ANNOTATION",
    "SHELF_COMMAND",
    "SHELF_LABEL",
    "SHELF_NAME",
    "ask_keep_rendering",
    "handoff_command",
    "install_menu",
    "install_shelf_button",
    "keep_rendering_on_quit",
    "on_maya_quit",
    "register_quit_handler",
    "should_skip",
    "startup",
]

MENU_NAME = "lrcToolboxMenu"
MENU_LABEL = "LRC Toolbox"
SHELF_NAME = "LRC"
SHELF_LABEL = "LRC Batch Render"
SHELF_ANNOTATION = "LRC Toolbox: Batch Render Manager (render layers x frames on every GPU)"
SHELF_COMMAND = "import lrc_toolbox; lrc_toolbox.show_batch_render()"
SHELF_ICON = "pythonFamily.png"  # one of Maya's own icons, always on XBMLANGPATH
#: preference (``batch_render.json`` key) and variable that keep a batch running on quit
KEEP_RENDERING_KEY = "keep_rendering_on_quit"
KEEP_RENDERING_ENV = "LRC_KEEP_RENDERING_ON_QUIT"
WORKER_ENV = "LRC_WORKER_ID"
#: the quit question's buttons (:func:`ask_keep_rendering`)
QUIT_KEEP = "Keep rendering"
QUIT_STOP = "Stop the batch"
#: the repository root: what must be on PYTHONPATH for ``import lrc_toolbox``
PACKAGE_ROOT = Path(__file__).resolve().parents[2]

_quit_job: int | None = None


def _cmds() -> Any:
    import maya.cmds as cmds

    return cmds


def _say(text: str) -> None:
    """One line in the Script Editor (and the terminal), in Maya's own style."""
    print(f"// LRC Toolbox: {text}")


# ---------------------------------------------------------------------- when to run


def should_skip(cmds: Any, env: Mapping[str, str] | None = None) -> str | None:
    """Why start-up must not build any UI here (None: go ahead)."""
    env = os.environ if env is None else env
    if env.get(WORKER_ENV):
        return f"render worker process ({WORKER_ENV}={env[WORKER_ENV]})"
    if cmds.about(batch=True):
        return "Maya runs in batch mode"
    return None


# ---------------------------------------------------------------------- menu


def _show_dashboard(*_args: Any) -> None:
    import lrc_toolbox

    lrc_toolbox.show_batch_render()


def _show_about(*_args: Any) -> None:
    _cmds().confirmDialog(
        title="About LRC Toolbox",
        message=(
            f"LRC Toolbox {__version__}\n\nBatch Render Manager: renders render layers x "
            "frames in parallel, one background mayapy worker per free GPU.\n\n"
            f"Installed from: {PACKAGE_ROOT}"
        ),
        button=["OK"],
    )


def install_menu(cmds: Any = None) -> str:
    """Build the "LRC Toolbox" menu in Maya's main menu bar (rebuilt if it exists)."""
    cmds = cmds or _cmds()
    if cmds.menu(MENU_NAME, exists=True):
        cmds.deleteUI(MENU_NAME, menu=True)
    menu = cmds.menu(MENU_NAME, label=MENU_LABEL, parent="MayaWindow", tearOff=True)
    cmds.menuItem(
        label="Batch Render Manager",
        annotation="Render layers x frames in parallel on this workstation's GPUs",
        command=_show_dashboard,
        parent=menu,
    )
    cmds.menuItem(divider=True, parent=menu)
    cmds.menuItem(label="About", command=_show_about, parent=menu)
    return str(menu)


# ---------------------------------------------------------------------- shelf


def install_shelf_button(cmds: Any = None, mel: Any = None) -> str | None:
    """Add the Batch Render button to the "LRC" shelf, or update it where it already is.

    Maya saves shelves in the user's prefs on quit, so the button usually exists at the
    next start-up: it is found by label or annotation and updated, never duplicated.
    Returns the button, or None when Maya has no shelf (UI hidden or not built).
    """
    if cmds is None or mel is None:
        import maya.cmds as maya_cmds
        import maya.mel as maya_mel

        cmds, mel = cmds or maya_cmds, mel or maya_mel
    top = str(mel.eval("$lrcShelfTopLevel = $gShelfTopLevel") or "")
    if not top or not cmds.shelfTabLayout(top, exists=True):
        _say("no shelf bar in this Maya session; the shelf button was not added")
        return None
    if not cmds.shelfLayout(SHELF_NAME, exists=True):
        cmds.shelfLayout(SHELF_NAME, parent=top)
    shelf = str(cmds.shelfLayout(SHELF_NAME, query=True, fullPathName=True))
    ours = []
    for child in cmds.shelfLayout(SHELF_NAME, query=True, childArray=True) or []:
        button = f"{shelf}|{child}"
        try:
            label = cmds.shelfButton(button, query=True, label=True)
            annotation = cmds.shelfButton(button, query=True, annotation=True)
        except RuntimeError:
            continue  # a separator or another kind of control
        if label == SHELF_LABEL or annotation == SHELF_ANNOTATION:
            ours.append(button)
    settings = {
        "label": SHELF_LABEL,
        "annotation": SHELF_ANNOTATION,
        "image1": SHELF_ICON,
        "imageOverlayLabel": "LRC",
        "command": SHELF_COMMAND,
        "sourceType": "python",
    }
    if ours:
        for extra in ours[1:]:
            cmds.deleteUI(extra)
        cmds.shelfButton(ours[0], edit=True, **settings)
        return ours[0]
    return str(cmds.shelfButton(parent=shelf, style="iconOnly", **settings))


# ---------------------------------------------------------------------- quit


def keep_rendering_on_quit(
    settings: Any = None,
    env: Mapping[str, str] | None = None,
    prefs_file: Path | None = None,
    *,
    service: bool | None = None,
) -> bool:
    """The artist's choice for a running batch when Maya quits without asking (batch mode),
    or the old hand-off's (no render service).

    ``Settings.keep_rendering_on_quit`` when it is set (true or false). Unset (None, the
    default), it is the ``keep_rendering_on_quit`` key of ``batch_render.json``, overridden
    by ``LRC_KEEP_RENDERING_ON_QUIT`` (1/0, true/false, yes/no, on/off); with neither, keep
    when the batch renders in the render service (``service``, default: the settings'
    ``render_service``), else stop.
    """
    value = getattr(settings, KEEP_RENDERING_KEY, None)
    if isinstance(value, bool):
        return value
    if service is None:
        service = bool(getattr(settings, "render_service", False))
    env = os.environ if env is None else env
    keep = service
    if prefs_file is None:
        from lrc_toolbox.config.batch_render_defaults import PREFS_FILE_NAME, prefs_dir

        prefs_file = prefs_dir(env) / PREFS_FILE_NAME
    try:
        data = json.loads(prefs_file.read_text(encoding="utf-8"))
        if isinstance(data, dict) and isinstance(data.get(KEEP_RENDERING_KEY), bool):
            keep = data[KEEP_RENDERING_KEY]
    except (OSError, ValueError):
        pass
    text = env.get(KEEP_RENDERING_ENV, "").strip().lower()
    if text in {"1", "true", "yes", "on"}:
        keep = True
    elif text in {"0", "false", "no", "off"}:
        keep = False
    return keep


def ask_keep_rendering(batch_id: str, cmds: Any = None) -> bool | None:
    """Ask the artist, in Maya, whether the batch keeps rendering after Maya quits.

    A ``confirmDialog``: "Keep rendering" is the default button, and Enter, Esc and
    closing the dialog all keep it (a quit never throws renders away by accident).
    Returns None when Maya cannot ask (batch mode, no UI): the preference decides.
    """
    cmds = cmds or _cmds()
    try:
        if cmds.about(batch=True):
            return None
        answer = cmds.confirmDialog(
            title="LRC Batch Render",
            message=(
                f"Batch {batch_id} is still rendering in the render service.\n\n"
                "Keep rendering: it goes on after Maya has closed. Open the Batch Render "
                "Manager again (in the next Maya) to see it, or run\n"
                f"    lrc-batch-render status --follow {batch_id}\n\n"
                "Stop the batch: the frames rendering now are lost; resume renders the rest "
                "later."
            ),
            button=[QUIT_KEEP, QUIT_STOP],
            defaultButton=QUIT_KEEP,
            cancelButton=QUIT_KEEP,
            dismissString=QUIT_KEEP,
            icon="question",
        )
    except Exception:  # no UI to ask with (or it is already torn down)
        return None
    return str(answer) != QUIT_STOP


def handoff_command(mayapy: str, batch_id: str) -> list[str]:
    """The headless manager that finishes ``batch_id`` after Maya has quit (see
    :func:`resume_main`)."""
    return [mayapy, "-m", "lrc_toolbox.maya_host.startup", "resume", batch_id]


def resume_main(argv: list[str] | None = None) -> int:
    """``mayapy -m lrc_toolbox.maya_host.startup resume BATCH [--simulate]``.

    ``lrc-batch-render resume`` with the session's API class, so that a batch started from
    the live session keeps the artist's scene name and project (read from the export's
    ``origin.json``) after Maya has gone. Output as the CLI's ``--quiet``.
    """
    import argparse

    from lrc_toolbox.cli.run_batch import run_batch
    from lrc_toolbox.config.batch_render_defaults import load_settings
    from lrc_toolbox.core.batch_render_api import BatchError
    from lrc_toolbox.maya_host.scene import LiveSessionBatchAPI

    parser = argparse.ArgumentParser(prog="mayapy -m lrc_toolbox.maya_host.startup")
    commands = parser.add_subparsers(dest="command", required=True)
    resume = commands.add_parser("resume", help="finish a batch started in Maya")
    resume.add_argument("batch_id")
    resume.add_argument("--simulate", action="store_true", help="simulated mayapy workers")
    args = parser.parse_args(argv)
    loaded = load_settings()
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    api = LiveSessionBatchAPI(loaded.settings, simulate=args.simulate)
    try:
        return run_batch(
            api, [lambda: api.resume(args.batch_id)], out=sys.stdout, err=sys.stderr, quiet=True
        )
    except BatchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        api.shutdown()


def _hand_off(api: Any, batch_id: str) -> int:
    """Start the headless manager, detached from Maya; returns its pid."""
    if getattr(api, "simulate", False):  # the simulator (tests, demos): plain Python
        command = [*handoff_command(sys.executable, batch_id), "--simulate"]
    else:
        from lrc_toolbox.utils.render_subprocess import find_mayapy

        mayapy = find_mayapy(api.settings.mayapy, running_executable=sys.executable)
        command = handoff_command(mayapy, batch_id)
    from lrc_toolbox.service.client import detached_environment, popen_detached

    log_dir = batch_log_dir(api.temp.root, batch_id)
    log_dir.mkdir(parents=True, exist_ok=True)
    process = popen_detached(
        command, env=detached_environment(api.settings), log=log_dir / "handoff.log"
    )
    return process.pid


def on_maya_quit(
    api: Any = None,
    *,
    keep: bool | None = None,
    hand_off: Callable[[Any, str], int] | None = None,
    ask: Callable[[str], bool | None] | None = None,
) -> str:
    """Maya is quitting: keep the session's batch rendering, or stop it.

    With the render service (a service-backed API) the batch already renders beside Maya:
    ``keep`` (None: ask the artist with ``ask``, default :func:`ask_keep_rendering`, and
    where Maya cannot ask, the preference) detaches, else the batch is stopped through the
    service (resumable). Without it, the workers are Maya's children: they are stopped, and
    with ``keep`` the batch is handed to a headless manager (``hand_off``).

    Returns what was done (also printed), for the log and the tests.
    """
    if api is None:
        from lrc_toolbox.maya_host import ui

        api = ui.current_api()
    if api is None:
        return "nothing to do"
    if _in_service(api):
        return _quit_with_service(api, keep, ask or ask_keep_rendering)
    if not api.is_running:
        api.shutdown()  # tidies temp files, keeps what a resumable batch needs
        return "no batch running"
    batch_id = str(api.batch_id)
    if keep is None:
        keep = keep_rendering_on_quit(getattr(api, "settings", None), service=False)
    api.shutdown()  # the workers are children of Maya: they go now either way
    if not keep:
        done = (
            f"stopped batch {batch_id}; resume it from the Batch Render Manager or with "
            f"'lrc-batch-render resume {batch_id}'"
        )
        _say(done)
        return done
    try:
        pid = (hand_off or _hand_off)(api, batch_id)
    except Exception as exc:
        done = (
            f"could not keep batch {batch_id} rendering after Maya ({exc}); it is stopped "
            f"and can be resumed with 'lrc-batch-render resume {batch_id}'"
        )
        _say(done)
        return done
    done = f"batch {batch_id} goes on rendering in the background (manager pid {pid})"
    _say(done)
    return done


def _in_service(api: Any) -> bool:
    """Whether ``api``'s batches render in the render service (not in this Maya)."""
    from lrc_toolbox.core.service_api import ServiceBatchAPI

    return isinstance(api, ServiceBatchAPI)


def _quit_with_service(api: Any, keep: bool | None, ask: Callable[[str], bool | None]) -> str:
    """Maya quits while its batches render in the service: nothing to hand off."""
    if not api.is_running:
        api.shutdown()  # detach; a batch waiting in the service's queue still runs
        return "no batch running"
    batch_id = str(api.batch_id)
    if keep is None:
        keep = ask(batch_id)
    if keep is None:  # Maya cannot ask (batch mode): the preference, keep by default
        keep = keep_rendering_on_quit(getattr(api, "settings", None), service=True)
    if keep:
        pid = getattr(api, "service_pid", None)
        api.shutdown()  # only detaches: the service goes on rendering
        where = f" (pid {pid})" if pid else ""
        done = (
            f"batch {batch_id} goes on rendering in the render service{where}; open the "
            f"Batch Render Manager again to see it, or run "
            f"'lrc-batch-render status --follow {batch_id}'"
        )
        _say(done)
        return done
    try:
        stopped = api.stop_batch(batch_id)
    except Exception as exc:
        stopped = False
        _say(f"could not stop batch {batch_id}: {exc}")
    finally:
        api.shutdown()
    if not stopped:
        done = (
            f"batch {batch_id} could not be stopped and may still be rendering in the render "
            f"service; see it with 'lrc-batch-render status --follow {batch_id}'"
        )
    else:
        done = (
            f"stopped batch {batch_id}; resume it from the Batch Render Manager or with "
            f"'lrc-batch-render resume {batch_id}'"
        )
    _say(done)
    return done


def register_quit_handler(cmds: Any = None) -> int:
    """Run :func:`on_maya_quit` when Maya quits; registered once per session."""
    global _quit_job
    cmds = cmds or _cmds()
    if _quit_job is not None and cmds.scriptJob(exists=_quit_job):
        return _quit_job
    _quit_job = int(cmds.scriptJob(event=["quitApplication", _on_quit_event], protected=True))
    return _quit_job


def _on_quit_event() -> None:
    try:
        on_maya_quit()
    except Exception as exc:  # Maya is closing: say it, never block the quit
        _say(f"could not stop the render workers cleanly: {exc}")


# ---------------------------------------------------------------------- all of it


def startup(cmds: Any = None, mel: Any = None, env: Mapping[str, str] | None = None) -> bool:
    """Menu, shelf button and quit handler; False (and nothing built) in batch/worker."""
    cmds = cmds or _cmds()
    reason = should_skip(cmds, env)
    if reason:
        return False
    steps: list[tuple[str, Callable[[], Any]]] = [
        ("menu", lambda: install_menu(cmds)),
        ("shelf button", lambda: install_shelf_button(cmds, mel)),
        ("quit handler", lambda: register_quit_handler(cmds)),
    ]
    for name, step in steps:
        try:
            step()
        except Exception as exc:  # one broken piece must not take the others down
            _say(f"the {name} could not be set up: {exc}")
    return True


if __name__ == "__main__":
    sys.exit(resume_main())
