"""Arbitrary style transfer (Magenta) at full resolution, inside a feathered mask.

The style is a preset name (its 100-d style vector is stored in the presets file) or the path of
any image (run through the style predictor). The transfer network draws the strokes on the picture
at its own size up to `detail_size` (2048 px long side by default) in feathered tiles, and sets
colours and light from one pass at `working_size` (1024 px), so tiles show no seams; the photo's
finest luminance detail is carried over, weighted by `detail` (style_tiles.py). The output always
has the input's size, with no cap.

With a mask the edit fades in over `feather` pixels on both sides of the mask edge and nothing
changes farther than `feather` pixels outside it (bit-exact). `strength` (0..1) blends with the
original; 0 returns the input unchanged. `colours` = keep transfers the style on luminance only (the photo's
own a/b in Lab, and its coarse light), for styles whose palette would otherwise recolour or wash out the scene;
the default is the preset's own choice (keep for watercolour), style for a style image.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import cv2
import numpy as np

from ...catalog import ModelSpec
from ...core.errors import InputError, ModelError
from ...core.geometry import nonzero_bounds
from ...core.mask import feathered, grown
from ...core.pixels import blend_inside_mask, from_float_rgb, to_float_rgb
from ...core.requests import EditRequest
from ..session import short_provider
from ..side_files import side_file
from .base import OpContext, OpOutput, ProgressLike
from .params import StylizeParams, request_params
from .style_tiles import keep_photo_look, scaled_shape, stylize_detailed

DEFAULT_WORKING_SIZE = 1024
MIN_WORKING_SIZE = 64
DEFAULT_DETAIL = 0.7
STYLE_SIZE = 256
DEFAULT_DETAIL_SIZE = 2048  # long side of the tiled stroke pass (style_tiles.py); the photo's own size below it


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    aliases: tuple[str, ...]
    vector: np.ndarray  # float32 1×1×1×D
    mix: float = 1.0  # share of this vector; the rest is the photo's own style vector
    colours: str = "style"  # the default colours mode for this preset ("keep": the photo's colours and light)
    source: str = ""  # where the style image comes from (procedural, or the artwork and its Commons page)
    licence: str = ""  # the style image's licence (CC0 for procedural ones, public domain for the paintings)


def load_presets(path: Path) -> list[Preset]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        return [
            Preset(
                p["name"],
                p.get("description", ""),
                tuple(p.get("aliases", ())),
                np.asarray(p["vector"], np.float32).reshape(1, 1, 1, -1),
                float(p.get("mix", 1.0)),
                str(p.get("colours", "style")),
                str(p.get("source", "")),
                str(p.get("licence", "")),
            )
            for p in data["presets"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelError(f"The style presets file {Path(path).name} cannot be read.", detail=str(exc)) from exc


def presets_for(spec: ModelSpec) -> list[Preset]:
    return load_presets(side_file(spec, "presets")) if "presets" in spec.extra else []


def find_preset(presets: Sequence[Preset], name: str) -> Optional[Preset]:
    key = " ".join(name.lower().replace("-", " ").replace("_", " ").split())
    for preset in presets:
        if key == preset.name.replace("-", " ") or key in preset.aliases:
            return preset
    return None


def unknown_style(name: str, presets: Sequence[Preset]) -> InputError:
    names = ", ".join(p.name for p in presets) or "none installed"
    return InputError(f"Unknown style '{name}': not a preset and not an image file. Presets: {names}.")


# ---------------------------------------------------------------- style vectors


def style_image_tensor(image: np.ndarray) -> np.ndarray:
    """Any RGB(A) 8/16-bit image → centre square at 256×256, NHWC float32 0..1."""
    rgb = to_float_rgb(image)
    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    square = rgb[top : top + side, left : left + side]
    interpolation = cv2.INTER_AREA if side > STYLE_SIZE else cv2.INTER_CUBIC
    small = cv2.resize(square, (STYLE_SIZE, STYLE_SIZE), interpolation=interpolation)
    return np.ascontiguousarray(np.clip(small, 0, 1)[None], dtype=np.float32)


def style_vector(
    context: OpContext, spec: ModelSpec, style: Any, device: str, content: Optional[np.ndarray] = None
) -> tuple[np.ndarray, str]:
    """(vector, label) for a preset name, an image path, an image array or a raw vector.

    A preset with mix < 1 is interpolated with the content's own style vector (Magenta's style
    interpolation), which keeps hard-edged synthetic styles from drowning the photo.
    """
    if isinstance(style, np.ndarray) and style.ndim == 3:
        return predict_style(context, spec, style, device), "image"
    if isinstance(style, (list, tuple, np.ndarray)):
        vector = np.asarray(style, np.float32).reshape(1, 1, 1, -1)
        return vector, "vector"
    presets = presets_for(spec)
    if style is None and presets:  # no style asked for (self-test, a bare request): the first preset
        return _mixed(context, spec, presets[0], device, content), presets[0].name
    name = str(style or "").strip()
    if not name:
        raise unknown_style(name, presets)
    preset = find_preset(presets, name)
    if preset is not None:
        return _mixed(context, spec, preset, device, content), preset.name
    path = Path(name).expanduser()
    if path.is_file():
        from ...files import load_image

        image, _ = load_image(path)
        return predict_style(context, spec, image, device), path.name
    raise unknown_style(name, presets)


def _mixed(
    context: OpContext, spec: ModelSpec, preset: Preset, device: str, content: Optional[np.ndarray]
) -> np.ndarray:
    if preset.mix >= 1.0 or content is None or not spec.settings.style_predictor:
        return preset.vector
    own = predict_style(context, spec, content, device)
    return (preset.mix * preset.vector + (1.0 - preset.mix) * own).astype(np.float32)


def predict_style(context: OpContext, spec: ModelSpec, image: np.ndarray, device: str) -> np.ndarray:
    predictor_id = spec.settings.style_predictor
    if not predictor_id:
        raise ModelError(f"Model '{spec.id}' names no style predictor, so it can only use presets.")
    predictor = context.open_model(context.catalog.get(str(predictor_id)), device)
    try:
        return predictor.session.run(None, {predictor.input_name: style_image_tensor(image)})[0].astype(np.float32)
    except Exception as exc:
        from ..session import translate_ort_error

        raise translate_ort_error(exc) from exc


# ---------------------------------------------------------------- geometry helpers


def working_shape(height: int, width: int, working_size: int) -> tuple[int, int]:
    return scaled_shape(height, width, working_size)


def feather_weights(mask: np.ndarray, feather: float) -> np.ndarray:
    """uint8 weights: the mask softened over `feather` px, exactly 0 farther than that outside it."""
    if feather <= 0:
        return mask.copy()
    radius = int(np.ceil(feather))
    # sigma = feather / 3, so the Gaussian has faded to < 0.2 % at `feather` px ...
    soft = feathered(mask, 2.0 * feather / 3.0)
    # ... and a hard limit makes "unchanged farther than the feather width" exact.
    reach = grown(np.where(mask > 0, 255, 0).astype(np.uint8), radius)
    soft[reach == 0] = 0
    return soft


# ---------------------------------------------------------------- the op


def _or(value: Optional[float], default: float) -> float:
    return default if value is None else float(value)


def _number(key: str, value: Optional[float], default: float, low: float, high: float) -> float:
    """The given value (the params parser made it a float) or the default, within [low, high]."""
    number = default if value is None else value
    if not low <= number <= high:
        raise InputError(f"{key} must be between {low:g} and {high:g}, not {number:g}.")
    return number


def transfer_runner(model, spec: ModelSpec, vector: np.ndarray, progress: ProgressLike):
    """The style network as a (content, style) → styled function, after checking the vector fits the model."""
    names = [i.name for i in model.session.get_inputs()]
    expected = vector.shape[-1]
    declared = model.session.get_inputs()[1].shape[-1]
    if isinstance(declared, int) and declared != expected:
        raise InputError(f"A style vector of {expected} numbers does not fit '{spec.id}' ({declared} numbers).")

    def transfer_run(content: np.ndarray, style: np.ndarray) -> np.ndarray:
        progress.check()
        try:
            return model.session.run(None, {names[0]: content, names[1]: style})[0]
        except Exception as exc:
            from ..session import translate_ort_error

            raise translate_ort_error(exc) from exc

    return transfer_run


def blend_edit(original: np.ndarray, edited: np.ndarray, weights: Optional[np.ndarray], strength: float) -> np.ndarray:
    """The styled image where the (feathered) mask and the strength say, the original elsewhere."""
    if weights is None and strength >= 1.0:
        return edited
    if weights is None:
        weights = np.full(original.shape[:2], 255, np.uint8)
    if strength < 1.0:
        weights = np.rint(weights.astype(np.float32) * strength).astype(np.uint8)
    return blend_inside_mask(original, edited, weights)


def _sizes(params: StylizeParams, spec: ModelSpec) -> tuple[float, int, int]:
    """(detail, working_size, detail_size) from the request, else the model's settings, else the defaults."""
    detail = _number("detail", params.detail, _or(spec.settings.detail, DEFAULT_DETAIL), 0.0, 2.0)
    default_working = _or(spec.settings.working_size, DEFAULT_WORKING_SIZE)
    working_size = int(_number("working_size", params.working_size, default_working, MIN_WORKING_SIZE, 8192))
    detail_size = int(_number("detail_size", params.detail_size, DEFAULT_DETAIL_SIZE, 0, 8192))
    return detail, working_size, detail_size


def _colours(params: StylizeParams, spec: ModelSpec, label: str) -> str:
    """The asked-for colours mode, else the preset's own default ("style" for style images)."""
    colours = params.colours
    if colours is None:
        preset = find_preset(presets_for(spec), label) if isinstance(params.style, (str, type(None))) else None
        colours = preset.colours if preset is not None else "style"
    if colours not in ("style", "keep"):
        raise InputError(f"colours must be 'style' or 'keep', not {colours!r}.")
    return colours


def _note(label: str, colours: str, shape: tuple[int, int], working_size: int, detail_size: int) -> str:
    stroke = scaled_shape(*shape, max(detail_size, working_size))
    tone = scaled_shape(*shape, working_size)
    text = f"Style: {label}, {'the photo' if colours == 'keep' else 'the style'}'s colours; "
    text += f"strokes at {stroke[1]} × {stroke[0]} px (tiled), tone at {tone[1]} × {tone[0]} px"
    if stroke != shape:
        text += f"; detail carried back to {shape[1]} × {shape[0]}"
    return text + "."


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    params = request_params(request, StylizeParams)
    strength = _number("strength", params.strength, 1.0, 0.0, 1.0)
    detail, working_size, detail_size = _sizes(params, spec)
    height, width = request.image.shape[:2]
    default_feather = max(2.0, round(max(height, width) / 150))
    feather = _number("feather", params.feather, default_feather, 0.0, 1000.0)
    vector, label = style_vector(context, spec, params.style, request.device, request.image)
    colours = _colours(params, spec, label)
    if strength == 0.0:
        return OpOutput(image=request.image.copy(), provider="none", notes=("Strength 0: the image is unchanged.",))

    weights = None
    changed = None
    if request.mask is not None:
        weights = feather_weights(request.mask, feather)
        changed = nonzero_bounds(weights)
        if changed is None:
            raise InputError("The mask is empty: paint where the style should go, or clear the mask.")
    model = context.open_model(spec, request.device)
    transfer_run = transfer_runner(model, spec, vector, progress)
    rgb = to_float_rgb(request.image)
    styled = stylize_detailed(transfer_run, rgb, vector, working_size, detail_size, detail, progress)
    if colours == "keep":
        styled = keep_photo_look(styled, rgb)
    del rgb
    progress.check()
    edited = from_float_rgb(styled, request.image)
    del styled
    image = blend_edit(request.image, edited, weights, strength)
    progress.set(1.0)
    notes = (_note(label, colours, (height, width), working_size, detail_size),)
    return OpOutput(image=image, provider=short_provider(model.provider), changed=changed, notes=notes)
