"""Each op's parameters as a frozen, typed dataclass, and the one parser that checks a request's params against it.

A request carries its params as a plain mapping (the CLI, the editor, batch files and project files all write
dicts); `parse_params(op, mapping)` turns it into the op's dataclass, converting numbers and refusing names the op
does not know, so a misspelt key is an error with the allowed names instead of a silently ignored setting.
`None` in a field means "the model's own default" (its manifest entry) or "not given".

The table is one screen on purpose: what every op accepts can be read here without opening its module.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, TypeVar

import numpy as np

from ...core.errors import ParamError
from ...core.requests import EditRequest
from ...core.typed_fields import build, field_names

P = TypeVar("P", bound="OpParams")


@dataclass(frozen=True)
class OpParams:
    """Base of every op's params: `parse` builds one from a request's mapping."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return field_names(cls)

    @classmethod
    def parse(cls: type[P], values: Mapping[str, Any], op: str = "") -> P:
        allowed = field_names(cls)
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            what = f"'{op}'" if op else "this operation"
            known = ", ".join(allowed) if allowed else "none"
            raise ParamError(
                f"Unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                f"for {what}. Allowed: {known}."
            )
        return build(cls, values, ParamError, "Parameter ")


# ------------------------------------------------------------------------------------------------ the ops' params
@dataclass(frozen=True)
class NoParams(OpParams):
    """denoise and remove-background take no parameters."""


@dataclass(frozen=True)
class UpscaleParams(OpParams):
    scale: Optional[int] = None  # 2, 3, 4 or 8; None: the model's own scale


@dataclass(frozen=True)
class InpaintParams(OpParams):
    method: Optional[str] = None  # auto, learned, patch, telea, ns (see Engine.inpaint_model); None: auto
    margin: Optional[int] = None  # learned fill: context px around each region; None: the model's working_margin
    color_match: bool = True  # learned fill: pull a drifted fill back to its surroundings' colour
    ensemble: Optional[int] = None  # learned fill: flips/rotations averaged; None: the model's ensemble
    classical_within_px: Optional[float] = None  # learned fill: classical fill this close to the edge
    feather: float = 0.0  # learned fill: px over which the fill fades in inside the mask's edge
    chroma_guard: bool = (
        True  # learned fill: keep its colours within what the hole's surroundings show (chroma_guard.py)
    )
    radius: Optional[int] = None  # classical fill: OpenCV's radius; None: inpaint_classical.RADIUS


@dataclass(frozen=True)
class GenerateParams(OpParams):
    seed: int = 0
    variations: int = 4  # samples drawn per job
    variation: int = 0  # which of them fills the mask (counts from 0)
    prompt: Optional[str] = None  # the content the router found ("fill this with clouds" → "clouds")


@dataclass(frozen=True)
class StylizeParams(OpParams):
    style: Any = None  # a preset name, an image path, an image array or a raw style vector
    strength: float = 1.0  # 0..1
    detail: Optional[float] = None  # 0..2; None: the model's detail
    working_size: Optional[float] = None  # px; None: the model's working_size (the one-piece tone pass)
    detail_size: Optional[float] = None  # px; long side of the tiled stroke pass; None: stylize.DEFAULT_DETAIL_SIZE
    feather: Optional[float] = None  # px; None: from the image size
    colours: Optional[str] = (
        None  # "style" (the painting's colours) or "keep" (the photo's colours and light); None: the preset's
    )


@dataclass(frozen=True)
class MaskParams(OpParams):
    """Ops whose result is a mask; `combine` is read by the editor, not the op: how the found mask meets the
    painted one (replace, add, subtract, intersect)."""

    combine: str = "replace"


@dataclass(frozen=True)
class DetectionParams(OpParams):
    sensitivity: Optional[float] = None  # 0..1, higher marks more (preferred)
    threshold: Optional[float] = None  # 0..1 on the model's output (older); None: from sensitivity or the manifest


@dataclass(frozen=True)
class DetectScratchesParams(DetectionParams, MaskParams):
    output: str = "mask"  # "score": a uint8 score map for the sensitivity slider instead of the mask


@dataclass(frozen=True)
class RestoreParams(DetectionParams):
    grow: int = 1  # px added around the damage
    fill: str = "auto"  # auto, learned, classical
    inpaint_model: Optional[str] = None  # a catalog id; None: the default inpainting model


@dataclass(frozen=True)
class DetectTextParams(MaskParams):
    working_size: Optional[int] = None  # 64..4096 px; None: the model's working_size
    threshold: Optional[float] = None  # per-pixel text probability; None: the model's threshold
    box_threshold: Optional[float] = None  # mean probability of a kept box; None: the model's box_threshold
    grow: Optional[int] = None  # 0..50 px around the glyphs; None: detect_text.GROW


@dataclass(frozen=True)
class ColourizeRequestParams(OpParams):
    strength: float = 1.0  # 0 = grey, 1 = the predicted colours
    hints: Optional[np.ndarray] = None  # H×W×4 uint8/uint16 RGBA, colour where alpha > 0
    work_side: Optional[int] = None  # long side the model runs at; None: colourize.WORK_SIDE
    vivid: bool = False  # automatic colours from the most colourful calibration table (less PSNR than the default)


PARAMS: Mapping[str, type[OpParams]] = types.MappingProxyType(
    {
        "upscale": UpscaleParams,
        "inpaint": InpaintParams,
        "restore": RestoreParams,
        "denoise": NoParams,
        "stylize": StylizeParams,
        "generate": GenerateParams,
        "detect-scratches": DetectScratchesParams,
        "select-subject": MaskParams,
        "remove-background": NoParams,
        "detect-text": DetectTextParams,
        "colourize": ColourizeRequestParams,
    }
)


def parse_params(op: str, values: Mapping[str, Any]) -> OpParams:
    """The op's typed params; ParamError (a ValueError) naming the allowed parameters for an unknown one."""
    if op not in PARAMS:
        raise ParamError(f"Unknown operation '{op}'. Known: {', '.join(PARAMS)}.")
    return PARAMS[op].parse(values, op)


def request_params(request: EditRequest, kind: type[P]) -> P:
    """The request's params as `kind` (an op shared by two request types checks the common base, e.g. detection
    inside restore takes DetectionParams of a detect-scratches or a restore request)."""
    params = parse_params(request.op, request.params)
    if not isinstance(params, kind):
        raise TypeError(f"'{request.op}' takes {type(params).__name__}, not {kind.__name__}")
    return params
