"""Theme (follow the system, light or dark) and the mask overlay colour, both user settings.

Dark uses the Fusion style with a dark palette, which looks the same on every platform; "system"
follows Qt's colour-scheme hint and changes with it.
"""
from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEME_KEY = "appearance/theme"
THEMES = {"system": "Follow the System", "light": "Light", "dark": "Dark"}
OVERLAY_KEY = "mask/overlayColour"
OVERLAY_AUTO = "auto"


def theme_choice(settings: QSettings) -> str:
    value = str(settings.value(THEME_KEY, "system"))
    return value if value in THEMES else "system"


def overlay_choice(settings: QSettings) -> str:
    from .canvas.images import OVERLAY_COLOURS

    value = str(settings.value(OVERLAY_KEY, OVERLAY_AUTO))
    return value if value == OVERLAY_AUTO or value in OVERLAY_COLOURS else OVERLAY_AUTO


def system_is_dark() -> bool:
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


def wants_dark(choice: str) -> bool:
    return choice == "dark" or (choice == "system" and system_is_dark())


def dark_palette() -> QPalette:
    palette = QPalette()
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(230, 230, 230)
    for role, colour in ((QPalette.Window, window), (QPalette.WindowText, text), (QPalette.Base, base),
                         (QPalette.AlternateBase, window), (QPalette.ToolTipBase, window),
                         (QPalette.ToolTipText, text), (QPalette.Text, text), (QPalette.Button, window),
                         (QPalette.ButtonText, text), (QPalette.BrightText, QColor(255, 80, 80)),
                         (QPalette.Highlight, QColor(64, 128, 220)), (QPalette.HighlightedText, QColor(255, 255, 255)),
                         (QPalette.Link, QColor(110, 170, 255)), (QPalette.PlaceholderText, QColor(140, 140, 140))):
        palette.setColor(role, colour)
    for role in (QPalette.Text, QPalette.ButtonText, QPalette.WindowText):
        palette.setColor(QPalette.Disabled, role, QColor(120, 120, 120))
    return palette


def apply_theme(choice: str) -> bool:
    """Apply the theme to the whole application; True when it is now dark."""
    app = QApplication.instance()
    if app is None:
        return False
    dark = wants_dark(choice)
    if dark:
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    else:
        app.setPalette(app.style().standardPalette())
    return dark
