"""What the window shows before any picture is open: open, drop, recent files or the sample.

Started without a file the editor used to show a blank white canvas with the brush armed and
no hint what to do; this page takes the canvas's place until a document is opened.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Optional

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

MAX_LISTED = 8


class WelcomePage(QWidget):
    openRequested = Signal()
    sampleRequested = Signal()
    recentChosen = Signal(str)

    def __init__(self, parent: Optional[QWidget] = None) -> None:
        super().__init__(parent)
        self.setObjectName("welcomePage")
        title = QLabel("<h2>Open a photo to start</h2>")
        hint = QLabel("Drop an image or an .llmvis project anywhere in this window, or:")
        self.open_button = QPushButton("Open…")
        self.sample_button = QPushButton("Try the sample photo")
        self.recent_title = QLabel("Recent files")
        self.recent_list = QListWidget()
        self.recent_list.setMinimumWidth(320)
        column = QVBoxLayout(self)
        column.addStretch(1)
        for widget in (title, hint, self.open_button, self.sample_button, self.recent_title, self.recent_list):
            column.addWidget(widget, 0, Qt.AlignHCenter)
        column.addStretch(2)
        self.open_button.clicked.connect(self.openRequested)
        self.sample_button.clicked.connect(self.sampleRequested)
        self.recent_list.itemClicked.connect(self.on_recent_activated)

    def set_sample_available(self, available: bool) -> None:
        self.sample_button.setVisible(available)

    def set_recent(self, paths: Iterable[str]) -> None:
        self.recent_list.clear()
        for path in list(paths)[:MAX_LISTED]:
            item = QListWidgetItem(Path(path).name)
            item.setData(Qt.UserRole, path)
            item.setToolTip(path)
            self.recent_list.addItem(item)
        shown = self.recent_list.count() > 0
        row = self.recent_list.sizeHintForRow(0) if shown else 0
        self.recent_list.setFixedHeight(row * self.recent_list.count() + 2 * self.recent_list.frameWidth() + 4)
        self.recent_title.setVisible(shown)
        self.recent_list.setVisible(shown)

    @Slot(QListWidgetItem)
    def on_recent_activated(self, item: QListWidgetItem) -> None:
        self.recentChosen.emit(item.data(Qt.UserRole))
