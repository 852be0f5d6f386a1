"""Colourize a black-and-white photo, automatically or guided by sparse colour hints.

The model sees only luminance (a toned or sepia print is neutralised: its tint is dropped with the rest of the
chroma) at a small working size and predicts chroma; the chroma is upsampled and recombined with the ORIGINAL
full-resolution luminance (core/lab.py keeps luminance exactly, also for 16-bit scans), so the scan's detail and
tones never change. Hints: an RGBA layer of the image's size; where alpha > 0 its colour is a wish for that place.
The net was trained to spread hints; what it leaves unmet at the hint pixels is spread further by an edge-aware
(lightness-similar, distance-weighted) average, so a hint always pulls its neighbourhood toward the asked colour.
How much of the net's own colour is trusted comes from the model's calibration table (colour_calibration.py); the
net's output is cached (PredictionCache), so a strength change costs only the full-size recombination.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Optional

import cv2
import numpy as np

from ...catalog import ModelSpec
from ...core import lab
from ...core.errors import InputError
from ...core.requests import EditRequest
from ..session import short_provider
from .base import OpContext, OpOutput, ProgressLike
from .colour_calibration import ChromaCalibration
from .params import ColourizeRequestParams

STRIDE = 16
AB_SCALE = 110.0
WORK_SIDE = 192  # long side the model runs at (its training scale)
SHADOW_FADE = (10.0, 20.0)  # L* range over which colour fades in (see shadow_weight)
GUARD_LIGHTNESS = 35.0  # L* below which OpenCV's 8-bit L is checked (see keep_opencv_lightness)
# hint spread: picked on the held-out training-source photos (colourize_tune.HELD_OUT), 10 and 50 simulated hints
SPREAD_SIGMA_PX = 0.15  # hint reach: Gaussian σ as a share of the working long side
SPREAD_SIGMA_L = 10.0  # hint reach across lightness (L* units): stops at edges between light and dark
SPREAD_FLOOR = 0.03  # weight of "no correction" far from every hint
MAX_SPREAD_POINTS = 600  # hint pixels used for the residual spread (a long stroke is subsampled)


@dataclass(frozen=True)
class ColourizeParams:
    strength: float = 1.0  # 0 = grey, 1 = the predicted colours
    hints: Optional[np.ndarray] = None  # H×W×4 uint8/uint16 RGBA, colour where alpha > 0
    work_side: int = WORK_SIDE
    gain: float = 1.0  # the model's chroma gain (manifest `chroma_gain`, chosen on held-out photos)
    calibration: Optional[ChromaCalibration] = None  # manifest `chroma_calibration`; replaces `gain` when present
    vivid: bool = False  # automatic colours from the most colourful table instead of the default

    @classmethod
    def from_mapping(
        cls,
        params: Mapping[str, Any],
        shape: tuple[int, int],
        gain: float = 1.0,
        calibration: Optional[ChromaCalibration] = None,
    ) -> ColourizeParams:
        given = ColourizeRequestParams.parse(params, "colourize")
        strength = given.strength
        if not 0.0 <= strength <= 1.0:
            raise InputError(f"Strength must be between 0 and 1, not {strength:g}.")
        hints = given.hints
        if hints is not None:
            hints = np.asarray(hints)
            if hints.ndim != 3 or hints.shape[2] != 4 or hints.dtype not in (np.uint8, np.uint16):
                raise InputError(f"Colour hints must be an 8- or 16-bit RGBA image, got shape {hints.shape}.")
            if hints.shape[:2] != shape:
                raise InputError(
                    f"The hint image is {hints.shape[1]}×{hints.shape[0]} but the photo is "
                    f"{shape[1]}×{shape[0]}; they must be the same size."
                )
        work_side = WORK_SIDE if given.work_side is None else given.work_side
        if work_side < STRIDE:
            raise InputError(f"work_side must be at least {STRIDE}.")
        return cls(strength, hints, work_side, gain, calibration, given.vivid)


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    params = ColourizeParams.from_mapping(
        request.params,
        request.image.shape[:2],
        gain=spec.settings.chroma_gain,
        calibration=ChromaCalibration.from_json(spec.extra.get("chroma_calibration")),
    )
    model = context.open_model(spec, request.device)
    infer = PREDICTIONS.memoised(f"{spec.id}:{spec.sha256}", model.run)
    image = colourize(request.image, infer, params, progress)
    progress.set(1.0)
    return OpOutput(image=image, provider=short_provider(model.provider))


def colourize(
    image: np.ndarray,
    infer: Callable[[np.ndarray], np.ndarray],
    params: ColourizeParams,
    progress: Optional[ProgressLike] = None,
) -> np.ndarray:
    """H×W×3|4 uint8/uint16 → same shape and dtype, colourized; luminance kept exactly (alpha kept)."""
    h, w = image.shape[:2]
    y = lab.luminance(image[..., :3])  # full-size luminance: the invariant
    work_hw = _working_shape(h, w, params.work_side)
    lightness = lab.lightness(cv2.resize(y, work_hw[::-1], interpolation=cv2.INTER_AREA))
    hint_ab, hint_mask = hints_at_working_size(params.hints, work_hw)
    if progress is not None:
        progress.set(0.2, "predicting colours")
        progress.check()
    ab = predicted_chroma(infer, lightness, hint_ab, hint_mask, params)
    if hint_mask.any():
        ab = ab + spread_residual(lightness, hint_ab - ab, hint_mask)
    ab *= params.strength
    if progress is not None:
        progress.set(0.5, "recombining with the original luminance")
        progress.check()
    ratio = cv2.resize(lab.chroma_ratio(lightness, ab), (w, h), interpolation=cv2.INTER_LINEAR)
    top = 65535 if image.dtype == np.uint16 else 255
    out = lab.compose(y, ratio, top, shadow_weight(y))
    if image.dtype == np.uint8:
        keep_opencv_lightness(out, image[..., :3], y)
    if image.shape[2] == 4:
        out = np.concatenate([out, image[..., 3:]], axis=2)
    return out


class PredictionCache:
    """The last few net outputs, keyed by model and exact input planes.

    Why: moving the strength slider re-runs the job; the net's input (working-size L* + hints) is then unchanged, so
    its chroma is taken from here and only the cheap recombination runs again. New hints change the input: a miss.
    """

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.hits = 0
        self._items: OrderedDict[tuple[str, bytes], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def memoised(self, model_key: str, infer: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
        def cached(planes: np.ndarray) -> np.ndarray:
            key = (model_key, hashlib.blake2b(planes.tobytes() + str(planes.shape).encode(), digest_size=16).digest())
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    self.hits += 1
                    return self._items[key]
            out = infer(planes)
            with self._lock:
                self._items[key] = out
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return out

        return cached


PREDICTIONS = PredictionCache()


def predicted_chroma(
    infer: Callable[[np.ndarray], np.ndarray],
    lightness: np.ndarray,
    hint_ab: np.ndarray,
    hint_mask: np.ndarray,
    params: ColourizeParams,
) -> np.ndarray:
    """The net's ab with the model's trust applied (the calibration table, else the single gain).

    Automatic colours: the table's `automatic` multiple of the least-squares (PSNR-best) gains, chosen by
    cross-validation on the TUNE photos to reach 0.55 of the originals' colourfulness with the most PSNR left over the
    grey input (training/colourize_select.py); `vivid` uses the stored table (at least as colourful).
    With hints the user is steering and the unhinted parts should stay the safest guess, so the least-squares gains
    are used: tried on the TUNE photos (first release), amplifying the hinted answer by the colourful table, or adding
    the hint-induced change to the calibrated automatic answer, each lost 1–2 dB at 10 hints.
    """
    ab = predict(infer, lightness, hint_ab, hint_mask)
    if params.calibration is None:
        return ab * np.float32(params.gain)
    hinted = bool(hint_mask.any())
    return params.calibration.apply(lightness, ab, vivid=params.vivid and not hinted, hinted=hinted)


def _working_shape(h: int, w: int, side: int) -> tuple[int, int]:
    scale = min(1.0, side / max(h, w))
    return max(1, round(h * scale)), max(1, round(w * scale))


def hints_at_working_size(hints: Optional[np.ndarray], work_hw: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(ab H×W×2, mask H×W bool) at working size: each hinted working pixel gets the alpha-weighted mean ab of the
    full-size hint pixels that fall into it (a 3×3 dot on a 12 MP photo becomes one working pixel)."""
    hh, ww = work_hw
    ab = np.zeros((hh, ww, 2), np.float32)
    mask = np.zeros((hh, ww), bool)
    if hints is None:
        return ab, mask
    alpha = hints[..., 3]
    ys, xs = np.nonzero(alpha)
    if ys.size == 0:
        return ab, mask
    colours = lab.rgb_to_lab(hints[ys, xs, :3][None])[0, :, 1:]
    weight = alpha[ys, xs].astype(np.float64)
    cell = (ys * hh // hints.shape[0]) * ww + xs * ww // hints.shape[1]
    total = np.bincount(cell, weight, hh * ww)
    for c in range(2):
        ab[..., c] = (np.bincount(cell, weight * colours[:, c], hh * ww) / np.maximum(total, 1e-12)).reshape(hh, ww)
    mask = (total > 0).reshape(hh, ww)
    return ab, mask


def predict(
    infer: Callable[[np.ndarray], np.ndarray], lightness: np.ndarray, hint_ab: np.ndarray, hint_mask: np.ndarray
) -> np.ndarray:
    """The model's ab (Lab units, float32) at working size; input padded to the stride by reflection."""
    h, w = lightness.shape
    planes = np.concatenate(
        [lightness[..., None] / 100.0, hint_ab / AB_SCALE * hint_mask[..., None], hint_mask[..., None]], axis=2
    ).astype(np.float32)
    pad_h, pad_w = -h % STRIDE, -w % STRIDE
    widths = ((0, pad_h), (0, pad_w), (0, 0))
    if min(h, w) > max(pad_h, pad_w):
        planes = np.pad(planes, widths, mode="reflect")
    else:
        planes = np.pad(planes, widths, mode="edge")
    out = infer(np.ascontiguousarray(planes.transpose(2, 0, 1)[None]))
    return (out[0, :, :h, :w].transpose(1, 2, 0) * AB_SCALE).astype(np.float32)


def spread_residual(lightness: np.ndarray, residual: np.ndarray, hint_mask: np.ndarray) -> np.ndarray:
    """Edge-aware spread of the hint residual: for every pixel, a weighted mean of the residuals at the hint pixels,
    weights falling with distance and with lightness difference; far from all hints the correction fades to zero."""
    h, w = lightness.shape
    ys, xs = np.nonzero(hint_mask)
    if ys.size > MAX_SPREAD_POINTS:  # even subsample: a long stroke carries the same information
        keep = np.linspace(0, ys.size - 1, MAX_SPREAD_POINTS).astype(int)
        ys, xs = ys[keep], xs[keep]
    sigma = SPREAD_SIGMA_PX * max(h, w)
    gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
    d2 = (gy.reshape(-1, 1) - ys.astype(np.float32)) ** 2
    d2 += (gx.reshape(-1, 1) - xs.astype(np.float32)) ** 2
    d2 *= np.float32(1 / (2 * sigma**2))
    d2 += (lightness.reshape(-1, 1) - lightness[ys, xs]) ** 2 * np.float32(1 / (2 * SPREAD_SIGMA_L**2))
    weight = np.exp(-d2)
    values = residual[ys, xs]  # K×2
    corrected = (weight @ values) / (weight.sum(axis=1, keepdims=True) + SPREAD_FLOOR)
    return corrected.reshape(h, w, 2).astype(np.float32)


def keep_opencv_lightness(out: np.ndarray, image: np.ndarray, y: np.ndarray) -> None:
    """Where OpenCV's 8-bit Lab would see L change by more than 1 level, make the pixel grey (in place).

    Why: luminance is kept exactly, but OpenCV's 8-bit RGB→Lab is off by up to ±1.3 levels in the shadows (measured
    against the exact formulas on random colours: ±1.2 below L* 20, ±0.95 at 20–30, under ±0.8 above), so two colours
    of one exact L* can read 2 levels apart there. Only pixels below GUARD_LIGHTNESS are checked (cheap on 12 MP);
    a handful of them lose their (barely visible) colour.
    """
    flat_out, flat_in = out.reshape(-1, 3), image.reshape(-1, 3)
    dark = np.flatnonzero(y.reshape(-1) < np.float32(lab.luminance_from_lightness(GUARD_LIGHTNESS)))
    if dark.size == 0:
        return
    before = _opencv_lightness(flat_in, dark, grey=_is_grey(image))
    after = _opencv_lightness(flat_out, dark, grey=False)
    moved = dark[np.abs(after - before) > 1]
    if moved.size:
        grey = lab.compose(y.reshape(-1)[moved][None], np.ones((1, moved.size, 3), np.float32), 255)[0]
        flat_out[moved] = grey  # the pixel's own luminance, no colour (a sepia tint is not put back)


def _opencv_lightness(flat_rgb: np.ndarray, index: np.ndarray, grey: bool) -> np.ndarray:
    """OpenCV's 8-bit L of the listed pixels; for a grey image from a 256-entry table (one pass less)."""
    if grey:
        ramp = np.repeat(np.arange(256, dtype=np.uint8)[:, None, None], 3, axis=2)
        table = cv2.cvtColor(ramp, cv2.COLOR_RGB2LAB)[:, 0, 0].astype(np.int16)
        return table[flat_rgb[index, 0]]
    return cv2.cvtColor(np.ascontiguousarray(flat_rgb[index])[:, None], cv2.COLOR_RGB2LAB)[:, 0, 0].astype(np.int16)


def _is_grey(rgb: np.ndarray) -> bool:
    return bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]))


def shadow_weight(y: np.ndarray) -> np.ndarray:
    """Per full-size pixel, how much colour it keeps: 0 below L* SHADOW_FADE[0], 1 above SHADOW_FADE[1].

    Why at full size: an upsampled colour edge can put a bright neighbour's colour onto a near-black pixel. Colour
    there is invisible, and 8-bit Lab converters (OpenCV's) are least accurate there, so luminance checks stay tight.
    """
    low, high = (float(lab.luminance_from_lightness(v)) for v in SHADOW_FADE)
    weight = y - np.float32(low)
    weight *= np.float32(1.0 / (high - low))
    return np.clip(weight, 0.0, 1.0, out=weight)
