"""Render the README's screenshots from the real window (real engine and models, the sample photo).

Usage (Xvfb gives the real xcb platform; offscreen works too):
  xvfb-run -a -s "-screen 0 1400x900x24" python scripts/ui_screenshots.py [--out docs/screenshots]
Writes welcome.jpg (started without a file), masked-fill.jpg (a scratch masked, "Applies to: mask"),
compare.jpg (after the fill: mask cleared, before/after divider dragged in the view, zoomed in) and
train.jpg (Tools ▸ Train Generator…) and dark.jpg (View ▸ Theme ▸ Dark); JPEG keeps them small.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


JPEG_QUALITY = 88


def save(widget, path: Path) -> None:
    widget.grab().save(str(path), "JPG", JPEG_QUALITY)


def settle(app, seconds: float = 0.3) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def scratched_sample(folder: str) -> Path:
    """The sample photo with a visible white scratch drawn across it (what a user would want removed)."""
    import cv2
    import numpy as np

    from llmvis_studio.files import load_image, save_image
    from llmvis_studio.paths import sample_image

    image, metadata = load_image(sample_image())
    image = np.ascontiguousarray(image)
    cv2.polylines(
        image,
        [np.array([(80, 120), (200, 150), (330, 135), (450, 180)], np.int32)],
        False,
        (245, 245, 240),
        3,
        cv2.LINE_AA,
    )
    path = Path(folder) / "scratched.png"
    save_image(path, image, metadata)
    return path


def scratch_mask(shape):
    import cv2
    import numpy as np

    mask = np.zeros(shape, np.uint8)
    cv2.polylines(mask, [np.array([(80, 120), (200, 150), (330, 135), (450, 180)], np.int32)], False, 255, 9)
    return mask


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
        save(window, out / "welcome.jpg")

        window.open_path(scratched_sample(scratch))
        panel = window.prompt_panel
        panel.op_combo.setCurrentIndex(panel.op_combo.findData("inpaint"))
        panel.prompt_edit.setPlainText("remove the scratch")
        window.document.mask[:] = scratch_mask(window.document.mask.shape)
        window.doc.maskChanged.emit(Bounds.of_array(window.document.mask))
        settle(app)
        save(window, out / "masked-fill.jpg")

        window.run_chosen_op()
        deadline = time.monotonic() + 120
        while window.jobs.busy and time.monotonic() < deadline:
            settle(app, 0.05)
        window.canvas.set_zoom(2.0)
        window.canvas.centerOn(200, 150)
        viewport = window.canvas.viewport()
        window.split_slider.setValue(50)
        settle(app)
        middle = viewport.height() // 2
        QTest.mousePress(viewport, Qt.LeftButton, Qt.NoModifier, QPoint(viewport.width() // 2, middle))
        QTest.mouseMove(viewport, QPoint(viewport.width() * 2 // 5, middle))
        QTest.mouseRelease(viewport, Qt.LeftButton, Qt.NoModifier, QPoint(viewport.width() * 2 // 5, middle))
        settle(app)
        save(window, out / "compare.jpg")

        if window.trainer is None:
            from llmvis_studio.__main__ import dialog_trainer

            window.trainer = dialog_trainer()
            window.train_action.setEnabled(window.trainer is not None)
        dialog = window.on_train_generator()
        if dialog is not None:
            settle(app)
            save(dialog, out / "train.jpg")
            dialog.close()
        dark = next(a for a in window.appearance.theme_group.actions() if a.data() == "dark")
        dark.trigger()  # View ▸ Theme ▸ Dark (only this run's temporary settings remember it)
        window.split_slider.setValue(0)
        window.canvas.fit()
        settle(app)
        save(window, out / "dark.jpg")
    finally:
        window.doc.mark_saved()
        window.close()
        client.shutdown()
    print("\n".join(str(p) for p in sorted(out.glob("*.jpg"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
