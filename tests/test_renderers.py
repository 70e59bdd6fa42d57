"""The supported renderers are declared once (``lrc_toolbox.records.renderers``).

Every place that needs one thing per renderer (the worker's handlers, the log parser's
pattern tables, the simulator's log lines and plug-ins, the dashboard's renderer override)
must cover exactly these renderers; the consistency tests below fail when one is missed.
"""

from __future__ import annotations

import ast
import dataclasses
import sys
from pathlib import Path

import pytest

from lrc_toolbox.records import renderers as records_renderers
from lrc_toolbox.records.renderers import (
    RENDERER_NAMES,
    RENDERERS,
    Device,
    LogFormat,
    UnknownRendererError,
    find_renderer,
    renderer_info,
)
from lrc_toolbox.sim import renderer_logs, runtime
from lrc_toolbox.utils import log_parser
from lrc_toolbox.worker.renderers import HANDLERS, UnsupportedRendererError, handler_for

# --------------------------------------------------------------------------- the records


def test_names_are_mayas_current_renderer_values_in_a_stable_order() -> None:
    assert RENDERER_NAMES == ("arnold", "redshift", "vray", "mayaSoftware", "mayaHardware2")
    assert tuple(RENDERERS) == RENDERER_NAMES


def test_each_record_is_filed_under_its_own_name() -> None:
    assert all(info.name == name for name, info in RENDERERS.items())


def test_lookup_returns_the_renderers_facts() -> None:
    info = renderer_info("redshift")
    assert (info.label, info.plugin, info.render_flag, info.log_format) == (
        "Redshift",
        "redshift4maya",
        "redshift",
        LogFormat.REDSHIFT,
    )


def test_plugins_are_the_ones_maya_loads_and_none_for_mayas_own_renderers() -> None:
    plugins = {name: info.plugin for name, info in RENDERERS.items()}
    assert plugins == {
        "arnold": "mtoa",
        "redshift": "redshift4maya",
        "vray": "vrayformaya",
        "mayaSoftware": None,
        "mayaHardware2": None,
    }


def test_render_flags_are_the_render_command_line_names() -> None:
    # MAYA_REFERENCE §4: Render -r sw, hw2, arnold, redshift, vray.
    flags = [info.render_flag for info in RENDERERS.values()]
    assert flags == ["arnold", "redshift", "vray", "sw", "hw2"]


def test_mayas_own_renderers_share_one_log_format() -> None:
    formats = {name: info.log_format for name, info in RENDERERS.items()}
    assert formats["mayaSoftware"] is formats["mayaHardware2"] is LogFormat.MAYA_RENDER


def test_lookup_is_exact_about_the_name_maya_stores() -> None:
    with pytest.raises(UnknownRendererError):
        renderer_info("Arnold")


def test_unknown_renderer_is_a_value_error_naming_it_and_every_supported_one() -> None:
    with pytest.raises(ValueError) as caught:
        renderer_info("mentalRay")
    assert isinstance(caught.value, UnknownRendererError)
    message = str(caught.value)
    assert "'mentalRay'" in message
    assert "supported: arnold, redshift, vray, mayaSoftware, mayaHardware2" in message


def test_a_record_cannot_be_changed() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        renderer_info("arnold").plugin = "other"  # type: ignore[misc]


def test_the_table_of_renderers_cannot_be_changed() -> None:
    with pytest.raises(TypeError):
        RENDERERS["renderman"] = renderer_info("arnold")  # type: ignore[index]


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("mayaSoftware", "mayaSoftware"),
        (" V-RAY ", "vray"),
        ("Maya Hardware 2.0", "mayaHardware2"),
        ("sw", "mayaSoftware"),
        ("hw2", "mayaHardware2"),
        ("mtoa", "arnold"),
        ("Redshift4Maya", "redshift"),
    ],
)
def test_find_renderer_accepts_name_label_flag_or_plugin_in_any_case(
    spelling: str, name: str
) -> None:
    info = find_renderer(spelling)
    assert info is not None and info.name == name


@pytest.mark.parametrize("spelling", [None, "", "  ", "renderman", "file"])
def test_find_renderer_answers_none_for_what_it_does_not_know(spelling: str | None) -> None:
    assert find_renderer(spelling) is None


# --------------------------------------------------------------------------- devices


def test_maya_software_renders_on_the_cpu_only() -> None:
    assert renderer_info("mayaSoftware").devices == (Device.CPU,)


def test_hardware_2_renders_on_a_gpu_that_cuda_visible_devices_does_not_choose() -> None:
    info = renderer_info("mayaHardware2")
    assert info.devices == (Device.GPU,)
    assert not info.cuda_pinned


@pytest.mark.parametrize("name", ["arnold", "redshift", "vray"])
def test_cuda_renderers_render_on_gpu_or_cpu_and_are_pinned(name: str) -> None:
    info = renderer_info(name)
    assert info.renders_on(Device.GPU) and info.renders_on(Device.CPU)
    assert info.cuda_pinned


def test_renders_on_accepts_the_workers_device_strings() -> None:
    assert renderer_info("mayaSoftware").renders_on("cpu")
    assert not renderer_info("mayaSoftware").renders_on("gpu")


# --------------------------------------------------------------------------- consistency


def test_every_supported_renderer_has_a_worker_handler_and_vice_versa() -> None:
    assert set(HANDLERS) == set(RENDERER_NAMES)


@pytest.mark.parametrize("name", RENDERER_NAMES)
def test_each_handler_takes_its_name_and_plugin_from_the_records(name: str) -> None:
    handler = handler_for(name)
    assert handler.name == name
    assert handler.plugin == renderer_info(name).plugin


def test_handler_for_an_unknown_renderer_lists_the_supported_ones_and_the_fix() -> None:
    with pytest.raises(UnsupportedRendererError) as caught:
        handler_for("mentalRay")
    message = str(caught.value)
    assert message.startswith(str(caught.value.__cause__))
    assert ", ".join(RENDERER_NAMES) in message
    assert "pass --renderer to override it" in message


def test_every_supported_renderer_has_a_log_parser_table_and_nothing_else_does() -> None:
    assert set(log_parser.PATTERNS) == {*RENDERER_NAMES, log_parser.GENERIC}
    assert log_parser.GENERIC not in RENDERER_NAMES


@pytest.mark.parametrize("name", RENDERER_NAMES)
def test_each_log_parser_table_labels_its_matches_with_the_renderers_name(name: str) -> None:
    assert {p.renderer for p in log_parser.PATTERNS[name]} == {name}


def test_every_log_format_has_a_parser_table_and_simulated_lines() -> None:
    assert set(log_parser._TABLES) == set(LogFormat)
    assert set(renderer_logs._START) == set(renderer_logs._END) == set(LogFormat)


@pytest.mark.parametrize("name", RENDERER_NAMES)
def test_the_log_parser_understands_every_spelling_of_a_renderer(name: str) -> None:
    info = renderer_info(name)
    spellings = {info.name, info.label, info.render_flag, info.plugin} - {None}
    assert {log_parser.normalize_renderer(s) for s in spellings} == {name}


def test_the_simulator_can_load_every_renderers_plugin() -> None:
    plugins = {info.plugin for info in RENDERERS.values() if info.plugin}
    assert plugins <= set(runtime.KNOWN_PLUGINS)


def test_the_renderer_override_offers_every_supported_renderer_by_label() -> None:
    pytest.importorskip("Qt")
    from lrc_toolbox.config.batch_render_defaults import Settings
    from lrc_toolbox.ui.widgets.render_config_widget import RenderConfigWidget

    widget = RenderConfigWidget(Settings())
    try:
        combo = widget.renderer_combo
        offered = [(combo.itemText(i), combo.itemData(i)) for i in range(1, combo.count())]
    finally:
        widget.deleteLater()
    assert offered == [(info.label, name) for name, info in RENDERERS.items()]


def test_the_records_module_imports_only_the_standard_library() -> None:
    # lrc_toolbox.records is the ground floor: the worker inside mayapy imports it too.
    tree = ast.parse(Path(records_renderers.__file__).read_text(encoding="utf-8"))
    imported = {
        name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for name in (
            [alias.name for alias in node.names]
            if isinstance(node, ast.Import)
            else [node.module or ""]
        )
    }
    assert imported <= set(sys.stdlib_module_names) | {"__future__"}
