"""Render the README's screenshots from the real window (real engine and models, the sample photo).

Usage (Xvfb gives the real xcb platform; offscreen works too):
  xvfb-run -a -s "-screen 0 1400x900x24" python scripts/ui_screenshots.py [--out docs/screenshots]
Writes welcome.png (started without a file), masked-fill.png (a scratch masked, "Applies to: mask"),
compare.png (after the fill: mask cleared, before/after divider dragged in the view, zoomed in) and
train.png (Tools ▸ Train Generator…).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="llmvis-shots-")
    os.environ.setdefault("LLMVIS_SETTINGS", os.path.join(scratch, "settings.ini"))  # no real user's settings
    os.environ.setdefault("LLMVIS_DATA_DIR", os.path.join(scratch, "data"))
    sys.path.insert(0, str(ROOT))

    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from llmvis_studio.__main__ import engine_factory, gui_thread_count
    from llmvis_studio.catalog import load_catalog
    from llmvis_studio.core.geometry import Bounds
    from llmvis_studio.paths import sample_image
    from llmvis_studio.ui.main_window import MainWindow
    from llmvis_studio.worker import EngineClient

    app = QApplication([])
    client = EngineClient(engine_factory(gui_thread_count()))
    window = MainWindow(client, load_catalog())
    try:
        window.resize(1280, 800)
        window.recent.add(sample_image())
        window.show()
        settle(app)
        window.grab().save(str(out / "welcome.png"))

        window.open_path(sample_image())
        panel = window.prompt_panel
        panel.op_combo.setCurrentIndex(panel.op_combo.findData("inpaint"))
        panel.prompt_edit.setPlainText("remove the scratch")
        bounds = Bounds(300, 60, 120, 6)  # a thin horizontal band across the picture
        window.document.mask[bounds.slices] = 255
        window.model.maskChanged.emit(bounds)
        settle(app)
        window.grab().save(str(out / "masked-fill.png"))

        window.run_chosen_op()
        deadline = time.monotonic() + 120
        while window.jobs.busy and time.monotonic() < deadline:
            settle(app, 0.05)
        window.canvas.set_zoom(2.0)
        window.canvas.centerOn(360, 63)
        viewport = window.canvas.viewport()
        window.split_slider.setValue(50)
        settle(app)
        middle = viewport.height() // 2
        QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, QPoint(viewport.width() // 2, middle))
        QTest.mouseMove(viewport, QPoint(viewport.width() * 2 // 5, middle))
        QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, QPoint(viewport.width() * 2 // 5, middle))
        settle(app)
        window.grab().save(str(out / "compare.png"))

        if window.trainer is None:
            from llmvis_studio.__main__ import dialog_trainer

            window.trainer = dialog_trainer()
            window.train_action.setEnabled(window.trainer is not None)
        dialog = window.on_train_generator()
        if dialog is not None:
            settle(app)
            dialog.grab().save(str(out / "train.png"))
            dialog.close()
    finally:
        window.model.mark_saved()
        window.close()
        client.shutdown()
    print("\n".join(str(p) for p in sorted(out.glob("*.png"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
