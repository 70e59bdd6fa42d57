"""Frame thumbnails: header sizes, decoding off the GUI thread with a cache, the preview
panel's caption and actions, and choosing a frame on the strip by mouse and keyboard."""

from __future__ import annotations

import stat
import sys
import threading
from pathlib import Path

import pytest

pytest.importorskip("Qt")

from hypothesis import given, settings
from hypothesis import strategies as st
from Qt import QtCore, QtGui, QtWidgets

from lrc_toolbox.config.batch_render_defaults import Settings
from lrc_toolbox.records.models import ValidationError
from lrc_toolbox.sim.images import write_image
from lrc_toolbox.ui.dialogs.render_progress_widget import FrameStrip
from lrc_toolbox.ui.widgets.frame_preview import FramePreview
from lrc_toolbox.ui.widgets.thumbnails import (
    Thumbnail,
    ThumbnailLoader,
    decode_thumbnail,
    describe_bytes,
)
from lrc_toolbox.utils.image_check import image_header, image_header_size

pytestmark = pytest.mark.qt


def _qt_image(path: Path, width: int, height: int) -> Path:
    image = QtGui.QImage(width, height, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor("#3070a0"))
    assert image.save(str(path)), f"Qt could not write {path.suffix}"
    return path


# ------------------------------------------------------------------ header sizes


@pytest.mark.parametrize("ext", ["png", "exr", "tif", "tga", "iff"])
def test_header_size_of_each_simulator_format(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"beauty.0001.{ext}"
    write_image(path, 37, 21, 1)
    assert image_header_size(path) == (37, 21)


@pytest.mark.parametrize("ext", ["jpg", "tif", "png"])
def test_header_size_of_qt_written_files(tmp_path: Path, ext: str) -> None:
    path = _qt_image(tmp_path / f"frame.{ext}", 33, 17)
    assert image_header_size(path) == (33, 17)


def test_header_names_the_format(tmp_path: Path) -> None:
    path = tmp_path / "beauty.0001.exr"
    write_image(path, 8, 4, 1)
    header = image_header(path)
    assert header is not None and (header.format, header.label) == ("exr", "OpenEXR")


def test_header_size_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert image_header_size(tmp_path / "nothing.png") is None


@settings(max_examples=150, deadline=None)
@given(
    data=st.binary(max_size=600),
    prefix=st.sampled_from(
        [
            b"",
            b"\x76\x2f\x31\x01\x02\0\0\0",
            b"\x89PNG\r\n\x1a\n",
            b"\xff\xd8",
            b"II*\0",
            b"MM\0*",
            b"II+\0",
            b"FOR4\0\0\0\x20CIMG",
            b"FOR8",
        ]
    ),
    ext=st.sampled_from(["png", "exr", "tga", "iff", "tif", "jpg", "bin"]),
)
def test_header_reader_never_raises_on_random_bytes(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, prefix: bytes, ext: str
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / f"random.{ext}"
    path.write_bytes(prefix + data)
    size = image_header_size(path)
    assert size is None or (size[0] >= 1 and size[1] >= 1)


# ------------------------------------------------------------------ decoding


def test_png_decodes_to_a_thumbnail_inside_the_box(tmp_path: Path) -> None:
    path = _qt_image(tmp_path / "big.png", 1024, 512)
    thumbnail = decode_thumbnail(str(path), QtCore.QSize(128, 128))
    assert thumbnail.image is not None
    assert (thumbnail.image.width(), thumbnail.image.height()) == (128, 64)
    assert (thumbnail.width, thumbnail.height) == (1024, 512)


@pytest.mark.parametrize("ext", ["png", "tif", "tga"])
def test_simulator_frames_decode_with_their_resolution(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"beauty.0002.{ext}"
    write_image(path, 300, 100, 2)
    thumbnail = decode_thumbnail(str(path), QtCore.QSize(150, 150))
    assert thumbnail.image is not None and thumbnail.reason is None
    assert (thumbnail.image.width(), thumbnail.image.height(), thumbnail.width) == (150, 50, 300)


def test_top_down_tga_thumbnail_is_upright(tmp_path: Path) -> None:
    write_image(tmp_path / "f.png", 40, 20, 5)
    write_image(tmp_path / "f.tga", 40, 20, 5)  # top-down, no TGA 2.0 footer
    png = decode_thumbnail(str(tmp_path / "f.png")).image
    tga = decode_thumbnail(str(tmp_path / "f.tga")).image
    assert png is not None and tga is not None
    corners = [(0, 0), (39, 0), (0, 19), (39, 19)]
    assert [tga.pixelColor(x, y).rgb() for x, y in corners] == [
        png.pixelColor(x, y).rgb() for x, y in corners
    ]


def test_exr_without_openimageio_is_a_placeholder_with_its_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "OpenImageIO", None)  # import fails: not installed
    path = tmp_path / "beauty.0003.exr"
    write_image(path, 40, 30, 3)
    thumbnail = decode_thumbnail(str(path))
    assert thumbnail.image is None
    assert thumbnail.describe() == f"OpenEXR · 40\u00d730 · {describe_bytes(path.stat().st_size)}"
    assert thumbnail.reason is not None and "OpenImageIO" in thumbnail.reason


def test_missing_file_is_a_placeholder_saying_so(tmp_path: Path) -> None:
    thumbnail = decode_thumbnail(str(tmp_path / "gone.png"))
    assert thumbnail.image is None and thumbnail.reason is not None
    assert thumbnail.reason.startswith("missing")


def test_unreadable_image_is_a_placeholder_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "broken.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    thumbnail = decode_thumbnail(str(path))
    assert thumbnail.image is None
    assert thumbnail.reason is not None and "could not read" in thumbnail.reason


def test_decode_runs_off_the_gui_thread(qtbot: object, tmp_path: Path) -> None:
    path = _qt_image(tmp_path / "f.png", 64, 32)
    threads: list[int] = []

    def decoder(name: str, box: QtCore.QSize) -> Thumbnail:
        threads.append(threading.get_ident())
        return decode_thumbnail(name, box)

    loader = ThumbnailLoader(decoder=decoder)
    with qtbot.waitSignal(loader.ready, timeout=5000) as blocker:  # type: ignore[attr-defined]
        loader.request(str(path))
    assert isinstance(blocker.args[0], Thumbnail) and blocker.args[0].image is not None
    assert threads and threads[0] != threading.get_ident()


def test_cache_hit_does_not_decode_again(qtbot: object, tmp_path: Path) -> None:
    path = _qt_image(tmp_path / "f.png", 64, 32)
    calls: list[str] = []

    def decoder(name: str, box: QtCore.QSize) -> Thumbnail:
        calls.append(name)
        return decode_thumbnail(name, box)

    loader = ThumbnailLoader(decoder=decoder)
    for _ in range(2):
        with qtbot.waitSignal(loader.ready, timeout=5000):  # type: ignore[attr-defined]
            loader.request(str(path))
    assert calls == [str(path)]


def test_one_pending_decode_per_path(qtbot: object, tmp_path: Path) -> None:
    path = _qt_image(tmp_path / "f.png", 64, 32)
    gate = threading.Event()
    calls: list[str] = []

    def decoder(name: str, box: QtCore.QSize) -> Thumbnail:
        calls.append(name)
        gate.wait(5)
        return decode_thumbnail(name, box)

    loader = ThumbnailLoader(decoder=decoder)
    for _ in range(3):
        loader.request(str(path))
    assert loader.is_pending(str(path))
    gate.set()
    qtbot.waitUntil(lambda: not loader.is_pending(str(path)), timeout=5000)  # type: ignore[attr-defined]
    loader.wait()
    assert calls == [str(path)]  # the repeat found the cache


# ------------------------------------------------------------------ the preview panel


class _Opened:
    def __init__(self) -> None:
        self.urls: list[QtCore.QUrl] = []

    def __call__(self, url: QtCore.QUrl) -> bool:
        self.urls.append(url)
        return True


def _preview(qtbot: object, **kwargs: object) -> tuple[FramePreview, _Opened]:
    opened = _Opened()
    preview = FramePreview(opener=opened, **kwargs)  # type: ignore[arg-type]
    qtbot.addWidget(preview)  # type: ignore[attr-defined]
    preview.resize(220, 240)
    return preview, opened


def test_caption_names_layer_frame_format_resolution_and_size(
    qtbot: object, tmp_path: Path
) -> None:
    path = tmp_path / "BG" / "shot.0012.png"
    write_image(path, 48, 27, 12)
    preview, _ = _preview(qtbot)
    with qtbot.waitSignal(preview.loader.ready, timeout=5000):  # type: ignore[attr-defined]
        preview.frame_done("BG", 12, [str(path)])
    size = describe_bytes(path.stat().st_size)
    assert preview.caption_text() == f"BG · frame 12 · PNG · 48\u00d727 · {size}"
    assert preview.image_label.pixmap() is not None


def _finished(tmp_path: Path, layer: str, frame: int, ext: str = "png") -> str:
    path = tmp_path / layer / f"shot.{frame:04d}.{ext}"
    write_image(path, 16, 9, frame)
    return str(path)


def test_preview_follows_the_latest_frame_of_the_layer(qtbot: object, tmp_path: Path) -> None:
    preview, _ = _preview(qtbot)
    for frame in (1, 2, 3):
        preview.frame_done("BG", frame, [_finished(tmp_path, "BG", frame)])
    preview.frame_done("FX", 7, [_finished(tmp_path, "FX", 7)])  # another layer: not shown
    assert preview.shown_frame() == ("BG", 3)


def test_chosen_frame_stays_while_frames_finish(qtbot: object, tmp_path: Path) -> None:
    preview, _ = _preview(qtbot)
    for frame in (1, 2):
        preview.frame_done("BG", frame, [_finished(tmp_path, "BG", frame)])
    preview.show_frame("BG", 1)
    preview.frame_done("BG", 3, [_finished(tmp_path, "BG", 3)])
    assert preview.shown_frame() == ("BG", 1)


def test_hovered_cell_shows_until_the_mouse_leaves(qtbot: object, tmp_path: Path) -> None:
    preview, _ = _preview(qtbot)
    for frame in (1, 2):
        preview.frame_done("BG", frame, [_finished(tmp_path, "BG", frame)])
    preview.hover_frame("BG", 1)
    assert preview.shown_frame() == ("BG", 1)
    preview.hover_frame("", -1)
    preview.frame_done("BG", 3, [_finished(tmp_path, "BG", 3)])
    assert preview.shown_frame() == ("BG", 3)  # following the latest again


def test_exr_frame_without_a_decoder_shows_a_placeholder_with_its_header(
    qtbot: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "OpenImageIO", None)
    path = _finished(tmp_path, "BG", 4, "exr")
    preview, _ = _preview(qtbot)
    with qtbot.waitSignal(preview.loader.ready, timeout=5000):  # type: ignore[attr-defined]
        preview.frame_done("BG", 4, [path])
    assert preview.caption_text().startswith("BG · frame 4 · OpenEXR · 16\u00d79 · ")
    assert "OpenImageIO" in preview.image_label.text()


def test_missing_frame_file_shows_a_placeholder_saying_so(qtbot: object, tmp_path: Path) -> None:
    preview, _ = _preview(qtbot)
    with qtbot.waitSignal(preview.loader.ready, timeout=5000):  # type: ignore[attr-defined]
        preview.frame_done("BG", 5, [str(tmp_path / "shot.0005.png")])
    assert preview.image_label.text() == "Frame file missing:\nshot.0005.png"


def test_cell_menu_offers_open_folder_and_copy(qtbot: object, tmp_path: Path) -> None:
    preview, _ = _preview(qtbot)
    preview.frame_done("BG", 1, [_finished(tmp_path, "BG", 1)])
    menu = preview.menu_for("BG", 1)
    actions = [(a.text(), a.isEnabled()) for a in menu.actions()]
    assert actions == [("Open frame", True), ("Open output folder", True), ("Copy path", True)]


def test_selected_frame_not_rendered_yet_says_so(qtbot: object) -> None:
    preview, _ = _preview(qtbot)
    preview.show_frame("BG", 3)
    assert preview.caption_text() == "BG · frame 3 · not rendered yet"
    assert not preview.open_button.isEnabled()


def test_open_frame_without_a_viewer_uses_the_system_opener(qtbot: object, tmp_path: Path) -> None:
    path = tmp_path / "f.0001.png"
    write_image(path, 4, 4, 1)
    preview, opened = _preview(qtbot)
    preview.frame_done("BG", 1, [str(path)])
    assert preview.open_frame()
    assert [u.toLocalFile() for u in opened.urls] == [str(path)]


def _fake_viewer(folder: Path) -> Path:
    """An executable that writes its arguments beside itself, as a studio viewer stands in."""
    script = folder / "fake-viewer"
    record = folder / "viewer-args.txt"
    script.write_text(
        f"#!{sys.executable}\nimport sys\n"
        f"open({str(record)!r}, 'w').write('\\n'.join(sys.argv[1:]))\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


@pytest.mark.skipif(sys.platform == "win32", reason="the fake viewer is a #! script")
def test_open_frame_uses_the_configured_viewer(qtbot: object, tmp_path: Path) -> None:
    path = tmp_path / "f.0001.png"
    write_image(path, 4, 4, 1)
    viewer = _fake_viewer(tmp_path)
    preview, opened = _preview(qtbot, image_viewer=f"{viewer} --fit")
    preview.frame_done("BG", 1, [str(path)])
    assert preview.open_frame()
    record = tmp_path / "viewer-args.txt"
    qtbot.waitUntil(record.exists, timeout=10000)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: record.read_text() != "", timeout=10000)  # type: ignore[attr-defined]
    assert record.read_text().splitlines() == ["--fit", str(path)]
    assert opened.urls == []


def test_viewer_that_fails_to_start_says_so_and_falls_back(qtbot: object, tmp_path: Path) -> None:
    path = tmp_path / "f.0001.png"
    write_image(path, 4, 4, 1)
    preview, opened = _preview(qtbot, image_viewer=str(tmp_path / "no-such-viewer"))
    preview.frame_done("BG", 1, [str(path)])
    messages: list[tuple[str, str]] = []
    preview.message.connect(lambda text, level: messages.append((text, level)))
    assert preview.open_frame()
    assert len(messages) == 1 and messages[0][1] == "error"
    assert "image_viewer" in messages[0][0]
    assert [u.toLocalFile() for u in opened.urls] == [str(path)]


def test_open_output_folder_opens_the_folder_url(qtbot: object, tmp_path: Path) -> None:
    preview, opened = _preview(qtbot)
    preview.set_output_dir(tmp_path)
    assert preview.open_output_folder()
    assert opened.urls == [QtCore.QUrl.fromLocalFile(str(tmp_path))]


def test_copy_path_puts_the_path_on_the_clipboard(qtbot: object, tmp_path: Path) -> None:
    path = tmp_path / "f.0001.png"
    write_image(path, 4, 4, 1)
    preview, _ = _preview(qtbot)
    preview.frame_done("BG", 1, [str(path)])
    assert preview.copy_path()
    clipboard = QtWidgets.QApplication.clipboard()
    assert clipboard is not None and clipboard.text() == str(path)


def test_image_viewer_setting_with_unbalanced_quotes_is_refused() -> None:
    with pytest.raises(ValidationError, match="image_viewer"):
        Settings(image_viewer='"/opt/rv/bin/rv').validate()


# ------------------------------------------------------------------ the frame strip


def _strip(qtbot: object) -> FrameStrip:
    strip = FrameStrip()
    qtbot.addWidget(strip)  # type: ignore[attr-defined]
    strip.set_layers([("BG", [1, 2, 3, 4]), ("FX", [10, 20])])
    strip.resize(400, strip.sizeHint().height())
    strip.show()
    return strip


def _centre(strip: FrameStrip, layer: str, frame: int) -> QtCore.QPoint:
    return strip.cell_rect(layer, frame).center().toPoint()


def test_strip_click_selects_the_cell(qtbot: object) -> None:
    strip = _strip(qtbot)
    left = QtCore.Qt.MouseButton.LeftButton
    with qtbot.waitSignal(strip.frame_selected) as blocker:  # type: ignore[attr-defined]
        qtbot.mouseClick(strip, left, pos=_centre(strip, "BG", 3))  # type: ignore[attr-defined]
    assert blocker.args == ["BG", 3]
    assert strip.selected_frame() == ("BG", 3)


def test_strip_double_click_activates_the_cell(qtbot: object) -> None:
    strip = _strip(qtbot)
    left = QtCore.Qt.MouseButton.LeftButton
    with qtbot.waitSignal(strip.frame_activated) as blocker:  # type: ignore[attr-defined]
        qtbot.mouseDClick(strip, left, pos=_centre(strip, "FX", 20))  # type: ignore[attr-defined]
    assert blocker.args == ["FX", 20]


def test_strip_arrow_keys_move_the_selection(qtbot: object) -> None:
    strip = _strip(qtbot)
    strip.select_frame("BG", 2)
    keys = QtCore.Qt.Key
    qtbot.keyClick(strip, keys.Key_Right)  # type: ignore[attr-defined]
    assert strip.selected_frame() == ("BG", 3)
    qtbot.keyClick(strip, keys.Key_Down)  # type: ignore[attr-defined]
    assert strip.selected_frame() == ("FX", 20)  # same position, clamped to the row
    qtbot.keyClick(strip, keys.Key_Left)  # type: ignore[attr-defined]
    assert strip.selected_frame() == ("FX", 10)


def test_strip_enter_activates_the_selected_cell(qtbot: object) -> None:
    strip = _strip(qtbot)
    strip.select_frame("FX", 10)
    with qtbot.waitSignal(strip.frame_activated) as blocker:  # type: ignore[attr-defined]
        qtbot.keyClick(strip, QtCore.Qt.Key.Key_Return)  # type: ignore[attr-defined]
    assert blocker.args == ["FX", 10]


def test_strip_context_menu_request_names_the_cell(qtbot: object) -> None:
    strip = _strip(qtbot)
    point = _centre(strip, "BG", 4)
    event = QtGui.QContextMenuEvent(
        QtGui.QContextMenuEvent.Reason.Mouse, point, strip.mapToGlobal(point)
    )
    with qtbot.waitSignal(strip.frame_menu_requested) as blocker:  # type: ignore[attr-defined]
        QtWidgets.QApplication.sendEvent(strip, event)
    assert blocker.args[:2] == ["BG", 4]


def test_strip_hover_names_the_cell_under_the_mouse(qtbot: object) -> None:
    strip = _strip(qtbot)
    point = _centre(strip, "FX", 10)
    move = QtGui.QMouseEvent(
        QtCore.QEvent.Type.MouseMove,
        QtCore.QPointF(point),
        QtCore.QPointF(strip.mapToGlobal(point)),
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.MouseButton.NoButton,
        QtCore.Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(strip.frame_hovered) as blocker:  # type: ignore[attr-defined]
        QtWidgets.QApplication.sendEvent(strip, move)
    assert blocker.args == ["FX", 10]


def test_strip_draws_a_ring_around_the_selected_cell(qtbot: object) -> None:
    strip = _strip(qtbot)
    strip.select_frame("BG", 2)
    image = strip.grab().toImage()
    rect = strip.cell_rect("BG", 2)
    highlight = strip.palette().color(QtGui.QPalette.ColorRole.Highlight)
    edge = QtCore.QPoint(int(rect.left()) - 1, int(rect.center().y()))  # the ring's left side
    assert image.pixelColor(edge) == highlight


def test_double_click_on_a_cell_opens_its_frame(qtbot: object, tmp_path: Path) -> None:
    strip = _strip(qtbot)
    preview, opened = _preview(qtbot)
    preview.connect_strip(strip)
    path = _finished(tmp_path, "BG", 2)
    preview.on_frame_finished("gpu0", "BG", 2, [path])
    left = QtCore.Qt.MouseButton.LeftButton
    qtbot.mouseDClick(strip, left, pos=_centre(strip, "BG", 2))  # type: ignore[attr-defined]
    assert [u.toLocalFile() for u in opened.urls] == [path]


def test_strip_is_reachable_by_keyboard() -> None:
    assert FrameStrip().focusPolicy() == QtCore.Qt.FocusPolicy.StrongFocus
