"""The dashboard's "Send to farm" dialog: export, Deadline 10 and Deadline Cloud through the
CLI's own path (:mod:`lrc_toolbox.farm.submit`), with the CLI's checks and messages; the
simulator's scene; the work in a worker thread (pytest-qt, offscreen)."""

from __future__ import annotations

import dataclasses
import enum
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("Qt")

from Qt import QtCore, QtGui, QtWidgets
from sim_helpers import SHOT
from test_farm_deadline10 import calls, farm_cli, posix_only, stand_in
from test_farm_deadline_cloud import FARM, JOB_ID, QUEUE, offline  # noqa: F401 (a fixture)

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.records.farm import ExportFormat, FarmResult, FarmTarget
from lrc_toolbox.records.models import RenderConfig
from lrc_toolbox.ui.dialogs.farm_dialog import FarmDialog, FieldSpec, OptionsForm

pytestmark = pytest.mark.qt
SEND_MS = 30_000


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        simulate_gpus=2,
        temp_root=str(tmp_path / "tmp"),
        job_store_path=str(tmp_path / "jobs.sqlite"),
        min_free_disk_mb=0,
        warn_free_disk_mb=0,
    )


@pytest.fixture(autouse=True)
def no_deadline_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private, empty ``deadline config`` (never the user's)."""
    path = tmp_path / "deadline" / "config"
    monkeypatch.setenv("DEADLINE_CONFIG_FILE_PATH", str(path))
    return path


def batch(tmp_path: Path, **changes: Any) -> RenderConfig:
    values: dict[str, Any] = {
        "scene": str(SHOT),
        "frames": "1-4",
        "output_dir": str(tmp_path / "images"),
    }
    values.update(changes)
    return RenderConfig(**values)


def make_dialog(qtbot: Any, config: RenderConfig, settings: Settings) -> FarmDialog:
    dialog = FarmDialog(config, settings, simulate=True)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def send(qtbot: Any, dialog: FarmDialog) -> FarmResult:
    with qtbot.waitSignal(dialog.sent, timeout=SEND_MS) as blocker:
        assert dialog.send()
    result = blocker.args[0]
    assert isinstance(result, FarmResult)
    return result


def send_fails(qtbot: Any, dialog: FarmDialog) -> str:
    with qtbot.waitSignal(dialog.send_failed, timeout=SEND_MS) as blocker:
        assert dialog.send()
    return str(blocker.args[0])


def as_cli(message: str) -> str:
    """The dialog's message as the CLI prints it after ``error:`` (lower-case start)."""
    return message[:1].lower() + message[1:]


def export_to(dialog: FarmDialog, folder: Path, export_format: ExportFormat) -> None:
    dialog.set_target(FarmTarget.EXPORT)
    dialog.set_export_format(export_format)
    dialog.folder_edit.setText(str(folder))


# --------------------------------------------------------------------------- export


def test_export_only_writes_the_bundle_and_shows_its_folder(
    qtbot: Any, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    export_to(dialog, tmp_path / "bundle", ExportFormat.OPENJD)
    assert dialog.send_button.isEnabled(), dialog.reason_label.text()
    result = send(qtbot, dialog)
    assert {"template.yaml", "parameter_values.yaml", "asset_references.yaml"} <= {
        Path(f).name for f in result.files
    }
    assert result.folder == str((tmp_path / "bundle").resolve())
    assert result.folder in dialog.message_area.text()
    assert dialog.open_folder_button.isVisible()
    opened: list[str] = []
    monkeypatch.setattr(
        QtGui.QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True
    )
    qtbot.mouseClick(dialog.open_folder_button, QtCore.Qt.MouseButton.LeftButton)
    assert opened == [result.folder]


def test_while_it_works_the_button_is_off_and_says_what_happens(
    qtbot: Any, tmp_path: Path, settings: Settings
) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    export_to(dialog, tmp_path / "bundle", ExportFormat.OPENJD)
    with qtbot.waitSignal(dialog.sent, timeout=SEND_MS):
        assert dialog.send()
        # the result arrives through the event loop: until then the dialog is busy
        assert dialog.busy and not dialog.send_button.isEnabled()
        assert dialog.reason_label.text() == "Reading the scene and writing the files…"
        assert not dialog.send()  # no second send meanwhile
    assert not dialog.busy and dialog.send_button.isEnabled()


def test_deadline10_export_writes_job_and_plugin_files(
    qtbot: Any, tmp_path: Path, settings: Settings
) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path, layers=["BG"]), settings)
    export_to(dialog, tmp_path / "dl", ExportFormat.DEADLINE10)
    assert dialog.deadline10_form.isVisible() and not dialog.openjd_form.isVisible()
    dialog.deadline10_form.set_field("pool", "gpu")
    dialog.deadline10_form.set_field("priority", 70)
    result = send(qtbot, dialog)
    assert [Path(f).name for f in result.files] == [
        "shot010_lighting_BG.job",
        "shot010_lighting_BG.plugin",
    ]
    job = Path(result.files[0]).read_text(encoding="utf-8")
    assert "Pool=gpu\n" in job and "Priority=70\n" in job and "Frames=1-4\n" in job
    assert "Plugin=MayaBatch\n" in job


def test_the_export_matches_the_cli_export(qtbot: Any, tmp_path: Path, settings: Settings) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path, layers=["BG"]), settings)
    dialog.deadline10_form.set_field("batch_name", "shot010")
    export_to(dialog, tmp_path / "ui", ExportFormat.DEADLINE10)
    result = send(qtbot, dialog)
    code, _, err = farm_cli(
        [
            *("export", "--deadline10", str(tmp_path / "cli"), "--scene", str(SHOT)),
            *("--layers", "BG", "--frames", "1-4", "--output", str(tmp_path / "images")),
            *("--batch-name", "shot010", "--simulate"),
        ]
    )
    assert code == 0, err
    for written in result.files:
        cli_file = tmp_path / "cli" / Path(written).name
        assert Path(written).read_text(encoding="utf-8") == cli_file.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- bad input


def test_no_export_folder_disables_export_and_says_so(
    qtbot: Any, tmp_path: Path, settings: Settings
) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    export_to(dialog, Path(""), ExportFormat.OPENJD)
    dialog.folder_edit.setText("")
    assert not dialog.send_button.isEnabled()
    assert dialog.reason_label.text() == "Choose the folder to write the farm files to"
    assert not dialog.send()


def test_a_bad_frame_list_says_what_the_cli_says(
    qtbot: Any, tmp_path: Path, settings: Settings
) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path, frames="1-x"), settings)
    export_to(dialog, tmp_path / "bundle", ExportFormat.OPENJD)
    reason = dialog.reason_label.text()
    assert not dialog.send_button.isEnabled()
    job = tmp_path / "job.json"
    job.write_text(f'{{"scene": {str(SHOT)!r}, "frames": "1-x"}}'.replace("'", '"'), "utf-8")
    code, _, err = farm_cli(["export", "--openjd", str(tmp_path / "b"), "--config", str(job)])
    assert code == 2
    assert reason.startswith("Frames: ")
    assert as_cli(reason) in err


def test_a_missing_scene_says_what_the_cli_says(
    qtbot: Any, tmp_path: Path, settings: Settings
) -> None:
    missing = tmp_path / "gone.ma"
    dialog = make_dialog(qtbot, batch(tmp_path, scene=str(missing)), settings)
    export_to(dialog, tmp_path / "bundle", ExportFormat.OPENJD)
    message = send_fails(qtbot, dialog)
    code, _, err = farm_cli(
        [
            *("export", "--openjd", str(tmp_path / "b"), "--scene", str(missing)),
            *("--frames", "1-4", "--output", str(tmp_path / "images"), "--simulate"),
        ]
    )
    assert code == 2
    assert f"error: {as_cli(message)}\n" in err
    assert dialog.message_area.text() == message and dialog.message_area.level() == "error"
    assert not (tmp_path / "bundle").exists()
    assert dialog.send_button.isEnabled()  # fix the scene in the dashboard and try again


def test_a_bad_option_says_what_is_wrong(qtbot: Any, tmp_path: Path, settings: Settings) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    export_to(dialog, tmp_path / "bundle", ExportFormat.OPENJD)
    dialog.openjd_form.set_field("mayapy", " ")
    assert not dialog.send_button.isEnabled()
    assert dialog.reason_label.text() == "The farm's mayapy command is empty"


def test_it_runs_modally_only_through_the_test_helper(
    qtbot: Any, tmp_path: Path, settings: Settings
) -> None:
    dialog = FarmDialog(batch(tmp_path), settings, simulate=True)
    qtbot.addWidget(dialog)
    assert not dialog.isModal()
    QtCore.QTimer.singleShot(0, dialog.reject)  # Esc / Close
    assert dialog.exec_blocking() == int(QtWidgets.QDialog.DialogCode.Rejected)


def test_enter_in_a_field_does_not_send(qtbot: Any, tmp_path: Path, settings: Settings) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    export_to(dialog, tmp_path / "bundle", ExportFormat.OPENJD)
    dialog.folder_edit.setFocus()
    qtbot.keyClick(dialog.folder_edit, QtCore.Qt.Key.Key_Return)
    assert not dialog.busy
    assert not (tmp_path / "bundle").exists()
    assert dialog.isVisible()


# --------------------------------------------------------------------------- Deadline Cloud


def test_deadline_cloud_without_ids_says_what_to_set(
    qtbot: Any, tmp_path: Path, settings: Settings
) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    qtbot.waitUntil(lambda: dialog.defaults_read, timeout=10_000)
    dialog.set_target(FarmTarget.DEADLINE_CLOUD)
    assert dialog.farm_id_edit.text() == "" and dialog.queue_id_edit.text() == ""
    assert not dialog.send_button.isEnabled()
    reason = dialog.reason_label.text()
    assert "farm id" in reason and "queue id" in reason
    assert "deadline config set defaults.farm_id" in reason


def test_deadline_cloud_ids_come_from_deadline_config(
    qtbot: Any, tmp_path: Path, settings: Settings, no_deadline_config: Path
) -> None:
    pytest.importorskip("deadline.client.config")
    from deadline.client.config import config_file

    config_file.set_setting("defaults.farm_id", FARM)  # as 'deadline config set' does
    config_file.set_setting("defaults.queue_id", QUEUE)
    text_before = no_deadline_config.read_text(encoding="utf-8")
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    qtbot.waitUntil(lambda: dialog.defaults_read, timeout=10_000)
    assert dialog.farm_id_edit.text() == FARM
    assert dialog.queue_id_edit.text() == QUEUE
    assert no_deadline_config.read_text(encoding="utf-8") == text_before  # only read


def test_deadline_cloud_without_the_client_says_how_to_install_it(
    qtbot: Any, tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [n for n in sys.modules if n == "deadline" or n.startswith("deadline.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "deadline", None)  # "import deadline" now fails
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    dialog.set_target(FarmTarget.DEADLINE_CLOUD)
    dialog.farm_id_edit.setText(FARM)
    dialog.queue_id_edit.setText(QUEUE)
    assert not dialog.send_button.isEnabled()
    assert "pip install deadline==0.60.10" in dialog.reason_label.text()


def test_deadline_cloud_submission_shows_the_job_id(
    qtbot: Any,
    tmp_path: Path,
    settings: Settings,
    offline: Any,  # noqa: F811
) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    dialog.set_target(FarmTarget.DEADLINE_CLOUD)
    dialog.farm_id_edit.setText(FARM)
    dialog.queue_id_edit.setText(QUEUE)
    dialog.openjd_form.set_field("priority", 40)
    result = send(qtbot, dialog)
    assert result.job_ids == [JOB_ID]
    assert JOB_ID in dialog.message_area.text()
    (create,) = offline.named("CreateJob")
    assert create["farmId"] == FARM and create["queueId"] == QUEUE
    assert create["priority"] == 40
    assert not dialog.open_folder_button.isVisible()  # the bundle was temporary


# --------------------------------------------------------------------------- Deadline 10


@posix_only
def test_deadline10_submission_shows_the_job_ids(
    qtbot: Any, tmp_path: Path, settings: Settings
) -> None:
    tool = stand_in(tmp_path / "bin")
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    dialog.set_target(FarmTarget.DEADLINE10)
    dialog.deadlinecommand_edit.setText(str(tool))
    result = send(qtbot, dialog)
    assert result.layers == ["BG", "CHAR"] and result.job_ids == ["job0001", "job0002"]
    assert "layer BG: job job0001" in dialog.message_area.text()
    assert len(calls(tool)) == 2


def test_deadline10_without_deadlinecommand_says_where_it_looked(
    qtbot: Any, tmp_path: Path, settings: Settings
) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    dialog.set_target(FarmTarget.DEADLINE10)
    dialog.deadlinecommand_edit.setText(str(tmp_path / "missing" / "deadlinecommand"))
    message = send_fails(qtbot, dialog)
    assert "does not exist" in message


# --------------------------------------------------------------------------- the form


class Status(str, enum.Enum):
    ACTIVE = "Active"
    SUSPENDED = "Suspended"


@dataclasses.dataclass
class NewOptions:
    """An options record as a back end might grow it."""

    conda_packages: str | None = None
    machine_limit: int = 0
    task_timeout: int | None = None
    limit_groups: list[str] = dataclasses.field(default_factory=list)
    strict: bool = False
    hours: float | None = None
    initial_status: Status = Status.ACTIVE
    mapping: dict[str, str] = dataclasses.field(default_factory=dict)  # not shown


def test_a_field_added_to_an_options_record_appears_in_the_form(qtbot: Any) -> None:
    form = OptionsForm(NewOptions(), specs={"machine_limit": FieldSpec("Machines", "", 0, 50)})
    qtbot.addWidget(form)
    assert form.field_names() == [
        "conda_packages",
        "machine_limit",
        "task_timeout",
        "limit_groups",
        "strict",
        "hours",
        "initial_status",
    ]
    assert form.value() == NewOptions()  # untouched: the record's defaults
    form.set_field("conda_packages", "maya=2025.* maya-mtoa")
    form.set_field("machine_limit", 4)
    form.set_field("task_timeout", 600)
    form.set_field("limit_groups", ["arnold", "nuke"])
    form.set_field("strict", True)
    form.set_field("hours", 1.5)
    form.set_field("initial_status", Status.SUSPENDED)
    assert form.value() == NewOptions(
        "maya=2025.* maya-mtoa", 4, 600, ["arnold", "nuke"], True, 1.5, Status.SUSPENDED
    )


# --------------------------------------------------------------------------- the dashboard


@pytest.fixture
def dashboard(qtbot: Any, tmp_path: Path, settings: Settings) -> Iterator[Any]:
    from lrc_toolbox.core.batch_render_api import BatchRenderAPI
    from lrc_toolbox.ui.dialogs.batch_render_dialog import BatchRenderDialog

    api = BatchRenderAPI(settings, simulate=True)
    window = BatchRenderDialog(api)
    window.config_widget.set_output_dir(str(tmp_path / "images"))
    with qtbot.waitSignal(window.config_widget.scene_loaded, timeout=10_000):
        window.set_scene(str(SHOT))
    window.show()
    yield window
    window.shutdown()
    window.deleteLater()
    api.shutdown()


def test_the_dashboard_button_opens_the_dialog_with_its_setup(qtbot: Any, dashboard: Any) -> None:
    dashboard.config_widget.set_frames("5-9")
    qtbot.mouseClick(dashboard.farm_button, QtCore.Qt.MouseButton.LeftButton)
    dialog = dashboard.farm_dialog
    assert isinstance(dialog, FarmDialog) and dialog.isVisible()
    assert not dialog.isModal()
    assert dialog.config() == dashboard.config_widget.config()
    assert dialog.config().frames == "5-9"
    dashboard.config_widget.set_frames("1-3")
    assert dashboard.open_farm_dialog() is dialog  # one dialog, the new setup
    assert dialog.config().frames == "1-3"


def test_the_dialog_fits_a_small_screen(qtbot: Any, tmp_path: Path, settings: Settings) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    for target in FarmTarget:
        dialog.set_target(target)
        hint = dialog.minimumSizeHint()
        assert hint.width() <= 640 and hint.height() <= 480, (target, hint)


def test_alt_shortcuts_are_unique_among_visible_buttons(
    qtbot: Any, tmp_path: Path, settings: Settings
) -> None:
    dialog = make_dialog(qtbot, batch(tmp_path), settings)
    for target in FarmTarget:
        dialog.set_target(target)
        keys = [
            b.text().split("&", 1)[1][0].lower()
            for b in dialog.findChildren(QtWidgets.QAbstractButton)
            if b.isVisibleTo(dialog) and "&" in b.text()
        ]
        assert len(keys) == len(set(keys)), (target, keys)
        assert "s" in keys or "x" in keys


def test_the_farm_button_leaves_the_reason_its_room_when_docked(qtbot: Any, dashboard: Any) -> None:
    dashboard.resize(1400, 900)
    qtbot.waitUntil(lambda: not dashboard.narrow)
    assert dashboard._bar.isAncestorOf(dashboard.farm_button)
    dashboard.resize(640, 480)
    qtbot.waitUntil(lambda: dashboard.narrow)
    assert dashboard._tabs.cornerWidget() is dashboard.farm_button
    assert dashboard.farm_button.isVisible()
    assert not dashboard._bar.isAncestorOf(dashboard.farm_button)
    dashboard.resize(1400, 900)
    qtbot.waitUntil(lambda: not dashboard.narrow)
    assert dashboard._bar.isAncestorOf(dashboard.farm_button)
    assert dashboard.farm_button.isVisible()
