"""Theme (follow the system, light or dark) and the mask overlay colour, both user settings, and
the View menu entries that choose them.

Dark uses the Fusion style with a dark palette, which looks the same on every platform; "system"
follows Qt's colour-scheme hint and changes with it.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, QSettings, Qt, Slot
from PySide6.QtGui import QAction, QActionGroup, QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QMenu

THEME_KEY = "appearance/theme"
THEMES = {"system": "Follow the System", "light": "Light", "dark": "Dark"}
OVERLAY_KEY = "mask/overlayColour"
STYLE_KEY = "mask/overlayStyle"
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
    for role, colour in (
        (QPalette.Window, window),
        (QPalette.WindowText, text),
        (QPalette.Base, base),
        (QPalette.AlternateBase, window),
        (QPalette.ToolTipBase, window),
        (QPalette.ToolTipText, text),
        (QPalette.Text, text),
        (QPalette.Button, window),
        (QPalette.ButtonText, text),
        (QPalette.BrightText, QColor(255, 80, 80)),
        (QPalette.Highlight, QColor(64, 128, 220)),
        (QPalette.HighlightedText, QColor(255, 255, 255)),
        (QPalette.Link, QColor(110, 170, 255)),
        (QPalette.PlaceholderText, QColor(140, 140, 140)),
    ):
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


def choice_group(menu: QMenu, choices: dict[str, str], current: str) -> QActionGroup:
    """Checkable, mutually exclusive entries; each action's data is its key."""
    group = QActionGroup(menu)
    for key, label in choices.items():
        action = menu.addAction(label)
        action.setCheckable(True)
        action.setChecked(key == current)
        action.setData(key)
        group.addAction(action)
    return group


class AppearanceMenus(QObject):
    """View ▸ Mask Colour and View ▸ Theme; applies the saved theme at start and follows the system."""

    def __init__(
        self, settings: QSettings, canvas, overlay_menu: QMenu, theme_menu: QMenu, parent: Optional[QObject] = None
    ) -> None:
        from .canvas.images import OVERLAY_COLOURS
        from .canvas.outline import STYLES

        super().__init__(parent)
        self.settings = settings
        self.canvas = canvas
        chosen = overlay_choice(settings)
        canvas.set_overlay_choice(chosen)
        colours = {
            OVERLAY_AUTO: "Automatic (stands out from the picture)",
            **{name: name.capitalize() for name in OVERLAY_COLOURS},
        }
        self.overlay_group = choice_group(overlay_menu, colours, chosen)
        self.overlay_group.triggered.connect(self.on_overlay_chosen)
        overlay_menu.addSeparator()
        style = str(settings.value(STYLE_KEY, "fill"))
        self.style_group = choice_group(overlay_menu, STYLES, style if style in STYLES else "fill")
        self.style_group.triggered.connect(self.on_style_chosen)
        if style in STYLES and style != "fill":
            canvas.set_mask_style(style)
        self.theme_group = choice_group(theme_menu, THEMES, theme_choice(settings))
        self.theme_group.triggered.connect(self.on_theme_chosen)
        if wants_dark(theme_choice(settings)):
            apply_theme(theme_choice(settings))
        QGuiApplication.styleHints().colorSchemeChanged.connect(self.on_system_scheme_changed)

    @Slot(QAction)
    def on_overlay_chosen(self, action: QAction) -> None:
        self.settings.setValue(OVERLAY_KEY, action.data())
        self.canvas.set_overlay_choice(action.data())

    @Slot(QAction)
    def on_style_chosen(self, action: QAction) -> None:
        self.settings.setValue(STYLE_KEY, action.data())
        self.canvas.set_mask_style(action.data())

    @Slot(QAction)
    def on_theme_chosen(self, action: QAction) -> None:
        self.settings.setValue(THEME_KEY, action.data())
        apply_theme(action.data())

    @Slot()
    def on_system_scheme_changed(self) -> None:
        """The system switched light/dark: follow it unless the user chose a theme."""
        if theme_choice(self.settings) == "system":
            apply_theme("system")
