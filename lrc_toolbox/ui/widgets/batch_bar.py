"""The batch's overall bar: frames done, frames failed and frames left, drawn apart.

A failed frame is not progress: a batch whose licence failed on every worker must not read
"8 / 8 frames (100 %)". The bar keeps :class:`QtWidgets.QProgressBar`'s interface (value =
frames done or skipped, maximum = frames of the whole batch, ``text()``), and paints
itself: the done part solid, the failed part hatched in red right after it, the rest
empty; the text sits over both in a colour readable on each.
"""

from __future__ import annotations

from Qt import QtCore, QtGui, QtWidgets

__all__ = ["BatchProgressBar", "bar_text"]

#: fills: dark enough for white text (at least 4.5:1), told apart by the hatching too
DONE_FILL = "#3b7230"
FAILED_FILL = "#a3352f"


def bar_text(done: int, failed: int, total: int) -> str:
    """``"15 / 48 done · 2 failed · 31 left (31 %)"``."""
    left = max(0, total - done - failed)
    percent = 100.0 * done / total if total else 0.0
    parts = [f"{done:,} / {total:,} done"]
    if failed:
        parts.append(f"{failed:,} failed")
    if left and (failed or done):
        parts.append(f"{left:,} left")
    return " · ".join(parts) + f" ({percent:.0f} %)"


class BatchProgressBar(QtWidgets.QProgressBar):
    """Done, failed and remaining frames of a batch in one bar."""

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self._failed = 0
        self.setTextVisible(True)
        self.setMinimumHeight(self.fontMetrics().height() + 6)

    def set_counts(self, done: int, failed: int, total: int) -> None:
        """Show ``done`` (rendered or skipped) and ``failed`` frames of ``total``."""
        total = max(0, total)
        self.setRange(0, max(1, total))
        self.setValue(min(done, max(1, total)))
        self._failed = max(0, min(failed, max(0, total - done)))
        self.setFormat(bar_text(done, self._failed, total))
        self.update()

    def failed(self) -> int:
        return self._failed

    def paintEvent(self, _event: QtGui.QPaintEvent) -> None:
        painter = QtGui.QPainter(self)
        try:
            palette = self.palette()
            outer = QtCore.QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5)
            painter.setPen(palette.color(QtGui.QPalette.ColorRole.Mid))
            painter.setBrush(palette.color(QtGui.QPalette.ColorRole.Base))
            painter.drawRoundedRect(outer, 2, 2)
            inner = QtCore.QRectF(self.rect()).adjusted(1, 1, -1, -1)
            span = max(1, self.maximum() - self.minimum())
            done_width = inner.width() * (self.value() - self.minimum()) / span
            failed_width = inner.width() * self._failed / span
            done_rect = QtCore.QRectF(inner.left(), inner.top(), done_width, inner.height())
            failed_rect = QtCore.QRectF(
                done_rect.right(), inner.top(), failed_width, inner.height()
            )
            painter.fillRect(done_rect, QtGui.QColor(DONE_FILL))
            painter.fillRect(failed_rect, QtGui.QColor(FAILED_FILL))
            painter.fillRect(
                failed_rect,
                QtGui.QBrush(QtGui.QColor("#5c1a17"), QtCore.Qt.BrushStyle.BDiagPattern),
            )
            if not self.isTextVisible():
                return
            text = self.text()
            align = int(QtCore.Qt.AlignmentFlag.AlignCenter)
            filled = QtCore.QRectF(
                inner.left(), inner.top(), done_width + failed_width, inner.height()
            )
            # white over the fills, the palette's text colour over the empty part
            painter.save()
            painter.setClipRect(filled)
            painter.setPen(QtGui.QColor("#ffffff"))
            painter.drawText(inner, align, text)
            painter.restore()
            painter.save()
            painter.setClipRect(
                QtCore.QRectF(
                    filled.right(), inner.top(), inner.right() - filled.right(), inner.height()
                )
            )
            painter.setPen(palette.color(QtGui.QPalette.ColorRole.Text))
            painter.drawText(inner, align, text)
            painter.restore()
        finally:
            painter.end()
