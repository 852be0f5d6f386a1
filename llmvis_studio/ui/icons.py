"""Small tool icons drawn with QPainter (no image files to ship or theme): brush, eraser,
rectangle, lasso. Drawn in the palette's text colour so they suit the light and dark themes."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap

ICON_PX = 32


def _canvas(colour: QColor) -> tuple[QPixmap, QPainter]:
    pixmap = QPixmap(ICON_PX, ICON_PX)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(QPen(colour, 2.5, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin))
    return pixmap, painter


def _brush(painter: QPainter, colour: QColor) -> None:
    painter.setBrush(colour)
    painter.drawEllipse(QPointF(12, 20), 7, 7)
    painter.drawLine(QPointF(17, 15), QPointF(27, 5))


def _eraser(painter: QPainter, colour: QColor) -> None:
    painter.setBrush(Qt.NoBrush)
    painter.drawEllipse(QPointF(12, 20), 7, 7)
    painter.drawLine(QPointF(7, 25), QPointF(17, 15))
    painter.drawLine(QPointF(17, 15), QPointF(27, 5))


def _rectangle(painter: QPainter, colour: QColor) -> None:
    pen = painter.pen()
    pen.setStyle(Qt.DashLine)
    painter.setPen(pen)
    painter.drawRect(QRectF(5, 8, 22, 16))


def _lasso(painter: QPainter, colour: QColor) -> None:
    path = QPainterPath(QPointF(8, 22))
    path.cubicTo(QPointF(0, 10), QPointF(14, 2), QPointF(24, 7))
    path.cubicTo(QPointF(32, 12), QPointF(22, 24), QPointF(12, 22))
    path.lineTo(QPointF(10, 29))
    painter.drawPath(path)


DRAWERS = {"brush": _brush, "eraser": _eraser, "rectangle": _rectangle, "lasso": _lasso}


def tool_icon(name: str, colour: QColor) -> QIcon:
    pixmap, painter = _canvas(colour)
    try:
        DRAWERS[name](painter, colour)
    finally:
        painter.end()
    return QIcon(pixmap)
