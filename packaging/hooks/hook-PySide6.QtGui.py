"""Replaces PyInstaller's PySide6.QtGui hook: the same collection, minus plugins the editor never loads.

Filtering here, before PyInstaller's binary dependency analysis, also keeps out what those
plugins link (the gtk3 platform theme alone drags in GTK, Pango, Cairo and ATK; eglfs and
wayland bring their own Qt libraries). Kept: the xcb, offscreen and minimal platforms (plus
windows/cocoa on those systems), image formats, xcb GL integration, input methods (compose,
ibus) and the xdg-desktop-portal theme (DBus only: native file dialogs under Flatpak/Wayland).
Wayland sessions run the xcb plugin through XWayland.
"""

import re
from pathlib import PurePath

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

KEEP = {
    "platforms": re.compile(r"^(lib)?q(xcb|offscreen|minimal|windows|cocoa)\b"),
    "platforms/darwin": None,
    "imageformats": re.compile(r"^(lib)?q(?!svg|pdf)"),  # qsvg/qpdf need QtSvg/QtPdf, left out
    "xcbglintegrations": None,
    "platforminputcontexts": re.compile(r"^(lib)?(compose|ibus)"),  # not the QML virtual keyboard
    "platformthemes": re.compile(r"^(lib)?qxdgdesktopportal"),  # not gtk3
}


def _keep(src: str, dest: str) -> bool:
    parts = PurePath(dest).parts
    if "plugins" not in parts:
        return True
    folder = "/".join(parts[parts.index("plugins") + 1 :])
    if folder not in KEEP:
        return False
    pattern = KEEP[folder]
    return pattern is None or bool(pattern.match(PurePath(src).name))


hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [(src, dest) for src, dest in binaries if _keep(src, dest)]
