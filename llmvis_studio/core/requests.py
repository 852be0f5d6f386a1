"""Frozen job requests and results: everything a job needs, nothing global.

A request is built on the UI thread (or by the CLI) from copies of the document's arrays, so
later edits cannot change a job in flight and the worker never touches UI state.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Optional

import numpy as np

from .errors import InputError
from .geometry import Bounds

OPS = (
    "upscale",
    "inpaint",
    "restore",
    "denoise",
    "stylize",
    "generate",
    "detect-scratches",
    "select-subject",
    "remove-background",
    "detect-text",
    "colourize",
)
DEVICES = ("auto", "cpu", "cuda")


def frozen_copy(array: np.ndarray) -> np.ndarray:
    copy = np.array(array, copy=True)
    copy.setflags(write=False)
    return copy


@dataclass(frozen=True)
class EditRequest:
    op: str
    image: np.ndarray  # H×W×C, uint8 or uint16, RGB(A)
    mask: Optional[np.ndarray] = None  # H×W uint8, 255 = edit here
    model_id: Optional[str] = None  # None: the catalog's default for the op
    params: Mapping[str, Any] = field(default_factory=dict)
    prompt: str = ""
    device: str = "auto"
    tile: Optional[int] = None  # None: from the memory budget; 0: no tiling
    sample_from: Optional[np.ndarray] = None  # H×W uint8, > 0 = remove-object may copy texture from here

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise InputError(f"Unknown operation '{self.op}'. Known: {', '.join(OPS)}.")
        if self.device not in DEVICES:
            raise InputError(f"Unknown device '{self.device}'. Use auto, cpu or cuda.")
        check_image_array(self.image)
        if self.mask is not None:
            check_mask_matches(self.mask, self.image)
        if self.sample_from is not None:
            check_mask_matches(self.sample_from, self.image, "sample-from area")
        if self.tile is not None and self.tile < 0:
            raise InputError("Tile size must be 0 (no tiling) or a positive number of pixels.")
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @classmethod
    def build(cls, op: str, image: np.ndarray, mask: Optional[np.ndarray] = None, **kwargs: Any) -> EditRequest:
        """Make a request from copies, so the caller may keep editing its own arrays."""
        if kwargs.get("sample_from") is not None:
            kwargs["sample_from"] = frozen_copy(kwargs["sample_from"])
        return cls(op, frozen_copy(image), None if mask is None else frozen_copy(mask), **kwargs)


@dataclass(frozen=True)
class EditResult:
    op: str
    image: np.ndarray  # the whole new image, same dtype and channels as the request's
    model_id: str
    provider: str  # the execution provider that actually ran, e.g. "CPUExecutionProvider"
    seconds: float
    changed: Optional[Bounds] = None  # None: the whole image (or its size) changed
    notes: tuple[str, ...] = ()


def check_image_array(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.ndim != 3 or image.shape[2] not in (3, 4):
        shape = getattr(image, "shape", None)
        raise InputError(f"Expected an H×W×3 or H×W×4 image, got shape {shape}.")
    if image.dtype not in (np.uint8, np.uint16):
        raise InputError(f"Expected an 8- or 16-bit image, got {image.dtype}.")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise InputError("The image is empty.")


def check_mask_matches(mask: np.ndarray, image: np.ndarray, what: str = "mask") -> None:
    if mask.ndim != 2 or mask.shape != image.shape[:2]:
        raise InputError(
            f"The {what} is {mask.shape[1] if mask.ndim > 1 else '?'}×{mask.shape[0]} but the image is "
            f"{image.shape[1]}×{image.shape[0]}; they must be the same size."
        )


@dataclass(frozen=True)
class PromptRouting:
    """What a typed prompt asks for, as the prompt router understood it (plain types only, so the UI
    never needs the engine's own Routing). `ask`: too unsure to run; show `alternatives` instead."""

    prompt: str
    op: str  # an edit op, or "none" when the text is not an edit this app can do
    confidence: float
    alternatives: tuple[tuple[str, float], ...] = ()  # the top ops with their scores, best first
    style: Optional[str] = None  # stylize: a preset name
    content: Optional[str] = None  # generate: what to put in the mask
    params: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"scale": 4} for "upscale ×4"
    ask: bool = False
    then: Optional[str] = None  # the op to run next on the result: "remove the caption" → detect-text, then inpaint

    def __post_init__(self) -> None:
        object.__setattr__(self, "alternatives", tuple((str(op), float(score)) for op, score in self.alternatives))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))


GENERATE_VARIATIONS = 4  # samples per fill job (generate op); the editor's spin box and the CLI's --variation pick one


def generate_params(seed: int, variation: int = 0, content: str = "") -> dict[str, Any]:
    """The generate op's params as the editor sends them: `variation` counts from 0; `content` is what the prompt
    router found in the typed prompt ("fill this with clouds" → "clouds"), empty to use the prompt itself."""
    params: dict[str, Any] = {"seed": int(seed), "variations": GENERATE_VARIATIONS, "variation": int(variation)}
    if content:
        params["prompt"] = content
    return params
