"""Scratches and dust: find them with the detector, show the mask for review, fill on the next Run.

"remove the scratches" with no mask used to stop at "Paint a mask first" although a detector is
installed, and Mask ▸ Remove Scratches filled an auto-mask nobody could check. Here a defect prompt
with no mask runs the detector at the Mask panel's Sensitivity; its mask lands in the mask layer (one
undo step, editable), the panel says so, and the user's next Run fills exactly what is masked.
"""

from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QObject, Slot

from .editor import Editor, submit_op

DEFECT_WORDS = ("scratch", "dust", "damage", "crack", "speck", "spot", "hair", "tear", "crease", "blemish")


class DefectReview(QObject):
    def __init__(self, window: Editor, parent: Optional[QObject] = None) -> None:
        super().__init__(parent)
        self.window = window
        window.jobs.maskDetected.connect(self.on_mask_detected)
        window.tools_panel.findScratches.connect(self.find)

    def has_detector(self) -> bool:
        return bool(self.window.catalog.for_task("detect-scratches"))

    def wants_defects_found(self, op: Optional[str] = None) -> bool:
        """An inpaint (`op`, else the op chosen in the list) of scratches, dust or damage with nothing masked:
        find them first."""
        panel, text = self.window.prompt_panel, self.window.prompt_panel.prompt_text().lower()
        return (
            (op or panel.op) == "inpaint"
            and not self.window.document.mask.any()
            and any(word in text for word in DEFECT_WORDS)
            and self.has_detector()
        )

    def find_for_review(self) -> Optional[int]:
        job = self.find()
        if job is not None:
            self.window.prompt_panel.show_understood("Looking for scratches and dust first…")
        return job

    @Slot()
    def find(self) -> Optional[int]:
        return self.run_job("detect-scratches")

    def run_job(self, op: str) -> Optional[int]:
        """ "detect-scratches" fills the mask layer (one undo step, editable afterwards); "restore" detects and
        fills the defects in the image. Both run on the worker like any other job."""
        window = self.window
        if not self.has_detector():
            window.show_status("No scratch detector is installed (models/scratch-detector.onnx).")
            return None
        params = {"sensitivity": window.tools_panel.detection_sensitivity()} if op == "detect-scratches" else {}
        return submit_op(window, op, params)

    @Slot(int)
    def on_mask_detected(self, pixels: int) -> None:
        """The detector's mask is on screen for review; nothing is filled until the user runs the fill."""
        panel = self.window.prompt_panel
        if pixels:
            panel.show_understood(
                f"Found {pixels:,} px of scratches and dust: they are in the mask now. Check it (paint or erase, or "
                "change Sensitivity in the Mask panel and Find again), then press Run to fill them."
            )
            self.window.tools_panel.choose_tool("brush")
        else:
            panel.show_understood(
                "No scratches or dust found at this sensitivity. Raise Sensitivity and Find "
                "again, or paint a mask over them."
            )
