"""Scratch / dust / print-damage detection: a segmentation network marks defects; the result is a white-on-black mask.

The op's EditResult.image carries the mask as an H×W×3 uint8 image (255 = defect; all three channels equal), so
it travels through the same worker and CLI paths as other results; the editor puts it into the mask layer
(one undo step) instead of the image.

Parameters: `sensitivity` (0..1, default 0.5; higher marks more) or the older `threshold` (0..1, on the model's
output). A calibrated detector (manifest `"calibrated": true`) outputs a probability whose best-F1 threshold is 0.5
on held-out prints, so threshold = 1 − sensitivity and 0.5 is the sensible default. For an uncalibrated model
sensitivity 0.5 means the manifest's threshold, and other values move it on the logit scale. A calibrated detector's
mask is core.mask.damage_mask of the probability (specks dropped; on an evidently damaged print, cracks followed along
their faint stretches); an uncalibrated one's is the plain threshold. On an evidently damaged print a calibrated
detector's map also holds the wide damage its coarse pass finds on the picture shrunk 4× (core.mask.with_wide_damage:
torn borders, large emulsion-loss patches), so the slider, Auto-mask damage and restore all see it.
params["output"] = "score" returns, instead of the mask, a uint8 score map (all three channels equal) where a pixel
is marked at sensitivity s exactly when score > 255·(1 − s): an editor caches it and moves a sensitivity slider live
without rerunning the net (ui/damage_dialog.py).
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ...catalog import ModelSpec
from ...core.errors import InputError
from ...core.mask import WIDE_SCALE, damage_mask, network_growth, with_wide_damage
from ...core.pixels import max_value
from ...core.requests import EditRequest
from ..session import LoadedModel, short_provider
from ..tiling import run_tiled, tile_for_budget
from .base import OpContext, OpOutput, ProgressLike
from .params import DetectionParams, DetectScratchesParams, request_params

DEFAULT_THRESHOLD = 0.5
DEFAULT_SENSITIVITY = 0.5
RIDGE_KERNEL = 21  # px: cracks, scratches, specks and small patches are narrower than this
RIDGE_CONTRAST = 10 / 255  # ... and stand out from their surroundings by at least this much
LUMA = np.array([0.299, 0.587, 0.114], np.float32)
LOGIT_SPAN = 4.0  # uncalibrated models: sensitivity 0..1 moves the threshold ±4 logits around the manifest's


def _unit(key: str, value: float | None) -> float | None:
    """A given sensitivity or threshold, checked to lie in 0..1 (the params parser made it a float)."""
    if value is not None and not 0.0 <= value <= 1.0:
        raise InputError(f"The detection {key} must be between 0 and 1, not {value}.")
    return value


def _manifest_threshold(spec: ModelSpec) -> float:
    """The model's threshold kept off 0 and 1 (it is used on the logit scale)."""
    threshold = DEFAULT_THRESHOLD if spec.settings.threshold is None else spec.settings.threshold
    return min(max(threshold, 1e-6), 1 - 1e-6)


def threshold_for_sensitivity(sensitivity: float, spec: ModelSpec) -> float:
    """Map sensitivity (0 = mark nothing doubtful, 1 = mark everything doubtful) to a threshold on the output."""
    s = min(max(sensitivity, 0.01), 0.99)
    if spec.settings.calibrated:
        return 1.0 - s
    base = _manifest_threshold(spec)
    z = math.log(base / (1 - base)) - (s - 0.5) * 2 * LOGIT_SPAN
    return 1.0 / (1.0 + math.exp(-z))


def threshold_of(request: EditRequest, spec: ModelSpec) -> float:
    """The threshold on the model's output for a detect-scratches or restore request."""
    params = request_params(request, DetectionParams)
    sensitivity = _unit("sensitivity", params.sensitivity)
    if sensitivity is not None:
        return threshold_for_sensitivity(sensitivity, spec)
    threshold = _unit("threshold", params.threshold)
    if threshold is not None:
        if not 0.0 < threshold < 1.0:
            raise InputError(f"The detection threshold must be between 0 and 1, not {threshold}.")
        return threshold
    if spec.settings.calibrated:
        return threshold_for_sensitivity(DEFAULT_SENSITIVITY, spec)
    return DEFAULT_THRESHOLD if spec.settings.threshold is None else spec.settings.threshold


def check_image(image: np.ndarray) -> None:
    if image is None or image.ndim != 3 or image.shape[0] == 0 or image.shape[1] == 0:
        shape = "none" if image is None else "×".join(str(n) for n in image.shape[:2])
        raise InputError(f"The image is empty ({shape} pixels); there is nothing to check for damage.")


def luma_of(image: np.ndarray) -> np.ndarray:
    """H×W float32 luminance 0..1 of an integer RGB(A) image, without a float copy of all three channels."""
    top = max_value(image.dtype)
    luma = image[..., 0].astype(np.float32) * np.float32(LUMA[0] / top)
    for c in (1, 2):
        luma += image[..., c].astype(np.float32) * np.float32(LUMA[c] / top)
    return luma


def ridge_gate(image: np.ndarray) -> np.ndarray:
    """Where damage can be: within 2 px of a light or dark structure narrower than RIDGE_KERNEL (white / black
    top-hat of the luminance above RIDGE_CONTRAST). A step edge, a smooth gradient or a flat page has no top-hat
    response, so the net's false marks along object outlines and on blank paper are dropped."""
    luma = luma_of(image)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (RIDGE_KERNEL, RIDGE_KERNEL))
    light = luma - cv2.morphologyEx(luma, cv2.MORPH_OPEN, kernel)
    dark = cv2.morphologyEx(luma, cv2.MORPH_CLOSE, kernel) - luma
    gate = (np.maximum(light, dark) > RIDGE_CONTRAST).astype(np.uint8)
    return cv2.dilate(gate, np.ones((5, 5), np.uint8)) > 0


def _integer_tile_runner(model: LoadedModel, top: float):
    """The tiler's function for an integer image: each tile becomes float 0..1 on its own (a 12-MP scan never
    exists as a 144 MB float copy), the net's one-channel output comes back H×W×1."""

    def infer(patch: np.ndarray) -> np.ndarray:
        tensor = np.ascontiguousarray(patch[..., :3].transpose(2, 0, 1)[None], dtype=np.float32)
        tensor /= np.float32(top)
        return model.run(tensor)[0].transpose(1, 2, 0)

    return infer


def probabilities(context: OpContext, image: np.ndarray, spec: ModelSpec, device: str, tile, progress) -> tuple:
    """Per-pixel defect probability (H×W float32) and the provider that ran.

    The session keeps a memory arena while the tiles run (they are all about one size; without it half the CPU
    time went to page faults on fresh activation memory) and hands it back at the end (a run on a few pixels)."""
    check_image(image)
    model = context.open_model(spec, device, arena=True)
    if tile is None:
        tile = tile_for_budget(context.memory_budget, spec.memory_bytes_per_input_pixel, spec.stride)

    def detector_map(picture: np.ndarray, tile_progress) -> np.ndarray:
        out = run_tiled(
            picture,
            _integer_tile_runner(model, max_value(picture.dtype)),
            scale=1,
            tile=tile if spec.tile_supported else 0,
            overlap=spec.tile_min_overlap,
            stride=spec.stride,
            progress=tile_progress,
            channels=1,
        )
        return out[..., 0]

    try:
        prob = detector_map(image, progress)
        if spec.settings.calibrated:  # the print-damage detector: keep only marks on thin light/dark structures ...
            prob[~ridge_gate(image)] = 0.0
            # decided at the default threshold, not the request's: the map is cached for the sensitivity slider
            growth = network_growth(prob > DEFAULT_THRESHOLD)
            if growth > 0.0:  # ... and on an evidently damaged print, also the wide damage (core.mask.WIDE_SCALE)
                prob = with_wide_damage(prob, detector_map(shrunk_for_wide_damage(image), None), growth)
    finally:
        side = max(8, spec.stride)
        model.run(np.zeros((1, 3, side, side), np.float32), release_arena=True)
    return prob, short_provider(model.provider)


def shrunk_for_wide_damage(image: np.ndarray) -> np.ndarray:
    """The picture WIDE_SCALE× smaller (area average; at least 8 px a side) for the detector's coarse pass."""
    h, w = image.shape[:2]
    size = (max(8, round(w / WIDE_SCALE)), max(8, round(h / WIDE_SCALE)))
    return cv2.resize(np.ascontiguousarray(image[..., :3]), size, interpolation=cv2.INTER_AREA)


def mask_from_probability(prob: np.ndarray, threshold: float) -> np.ndarray:
    """uint8 H×W mask 0/255 from a (cached) probability map: cheap enough for a live slider."""
    return (prob > threshold).astype(np.uint8) * np.uint8(255)  # no int64 copy of a 12-MP map


def detect_with_probability(
    context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike
) -> tuple[np.ndarray, np.ndarray, float, str]:
    """(uint8 mask, probability map, threshold used, provider)."""
    threshold = threshold_of(request, spec)  # a bad parameter fails before the network runs
    prob, provider = probabilities(context, request.image, spec, request.device, request.tile, progress.span(0.0, 0.95))
    if spec.settings.calibrated:  # specks dropped; on a damaged print the faint stretches of its cracks join
        mask = damage_mask(prob, threshold)
    else:
        mask = mask_from_probability(prob, threshold)
    return mask, prob, threshold, provider


def detect(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> tuple:
    """(uint8 H×W mask 0/255, provider)."""
    mask, _, _, provider = detect_with_probability(context, request, spec, progress)
    return mask, provider


def score_map(prob: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """uint8 map: marked at sensitivity s ⇔ score > 255·(1 − s) (the inverse of threshold_for_sensitivity)."""
    if spec.settings.calibrated:
        score = prob
    else:
        base = _manifest_threshold(spec)
        p = np.clip(prob, 1e-7, 1 - 1e-7)
        z = np.log(p / (1 - p)) - math.log(base / (1 - base))
        score = 0.5 + z / (2 * LOGIT_SPAN)
    return np.clip(np.round(score * 255), 0, 255).astype(np.uint8)


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    if request_params(request, DetectScratchesParams).output == "score":
        prob, provider = probabilities(
            context, request.image, spec, request.device, request.tile, progress.span(0.0, 0.95)
        )
        progress.set(1.0)
        return OpOutput(
            image=np.repeat(score_map(prob, spec)[..., None], 3, axis=2),
            provider=provider,
            notes=("Damage scores for the sensitivity slider.",),
        )
    mask, provider = detect(context, request, spec, progress)
    marked = int(np.count_nonzero(mask))
    progress.set(1.0)
    note = (
        f"Marked {marked} pixels ({100.0 * marked / mask.size:.2f} %) as damage (cracks, scratches, dust)."
        if marked
        else "No damage found (no cracks, scratches or dust)."
    )
    return OpOutput(image=np.repeat(mask[..., None], 3, axis=2), provider=provider, notes=(note,))
