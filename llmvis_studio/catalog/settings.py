"""A model's own settings from its manifest entry, typed: what the ops read besides the tensors.

The manifest keeps these as free-form keys next to the required ones (`extra`); `ModelSettings.of` converts the ones
the ops know, so a mistyped value in a manifest is refused when the catalog loads, naming the model and the key.
`None` means "the op's own default". Structured side data (style presets, generator classes) stays in `extra`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional

from ..core.errors import ModelError
from ..core.typed_fields import build


@dataclass(frozen=True)
class ModelSettings:
    threshold: Optional[float] = None  # detectors: the output threshold (best F1 on held-out data)
    calibrated: bool = False  # the scratch detector's output is a calibrated probability (see detect_scratches)
    box_threshold: Optional[float] = None  # text detector: mean probability a kept box needs
    working_size: Optional[float] = None  # stylize / text detector: long side (px) the model runs at
    input_size: Optional[int] = None  # the model takes one fixed input size (e.g. 320 for U²-Net-p)
    working_margin: Optional[int] = None  # learned inpainting: context px around each region
    ensemble: Optional[int] = None  # learned inpainting: flips/rotations averaged
    classical_within_px: Optional[float] = None  # learned inpainting: the classical fill this close to the edge
    classical_fill: str = "opencv-ns"  # learned inpainting: the classical fill it corrects
    chroma_gain: float = 1.0  # colourizer: chroma scale chosen on held-out photos
    detail: Optional[float] = None  # stylize: how much fine luminance detail comes back
    style_predictor: Optional[str] = None  # stylize: the model id that turns a style image into a vector
    truncation: float = 1.0  # generators: latent truncation
    # a quantised model run on its reference path (no graph fusion: fp32 convolutions between the quantise nodes), so
    # every CPU kind gives the same numbers up to fp32 rounding; for the style predictor (its vectors mix with presets)
    exact_int8: bool = False

    @classmethod
    def of(cls, extra: Mapping[str, Any], model_id: str = "") -> ModelSettings:
        return build(cls, extra, ModelError, f"Model '{model_id}': manifest key ")
