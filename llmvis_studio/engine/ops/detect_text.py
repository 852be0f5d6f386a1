"""Find text (captions, date stamps, watermarks): the PP-OCRv4 detector, then a glyph-tight mask.

1. The detector (DB, Differentiable Binarization) sees the photo with its long side at `working_size`
   (sides rounded to 32, prepared as rapidocr does: (x/255 − 0.5)/0.5) and returns a probability map of
   shrunk text-line kernels.
2. DB post-processing as in PaddleOCR/rapidocr: threshold the map (0.3), 2×2 dilation, keep components whose
   mean probability reaches `box_threshold` (0.5), and grow each one's minimum-area rectangle by
   area × 1.6 / perimeter ("unclip"), which gives the text line's box at full resolution.
3. Inside each box, the glyphs are the pixels whose colour is far from every background colour seen in a
   ring around the box (k-means on the ring, Otsu on the distance); they are grown by `grow` px to take the
   anti-aliased edge. A box whose "glyphs" fill most of it is marked whole.
The result is an H×W×3 uint8 mask image (255 = text), like detect-scratches.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Optional

import cv2
import numpy as np

from ...catalog import ModelSpec
from ...core.errors import InputError
from ...core.pixels import max_value
from ...core.requests import EditRequest
from ..session import short_provider
from .base import OpContext, OpOutput, ProgressLike
from .params import DetectTextParams, request_params

WORKING_SIZE = 1280  # 960 lost small or low-contrast captions on 1–2 MP photos; 1600 costs 1.5× more
UPSCALE_TO = 960  # a smaller photo is enlarged to this long side, not further (as rapidocr enlarges to 736)
THRESHOLD = 0.3
BOX_THRESHOLD = 0.5
UNCLIP_RATIO = 1.6
GROW = 2  # px around the glyphs: the anti-aliased edge and a halo for the fill
MIN_CONTRAST = 0.08  # glyph-to-background colour distance (0..1 RGB) below which a pixel is background
WHOLE_BOX_SHARE = 0.8  # glyphs covering more of a box than this: the split failed, mark the box
MAX_LINES = 1000  # as PaddleOCR's max_candidates: a textured photo cannot make the loop run away
KMEANS_SAMPLES = 20_000  # colours are estimated from at most this many pixels

Infer = Callable[[np.ndarray], np.ndarray]


def working_shape(height: int, width: int, working_size: int) -> tuple[int, int]:
    """(width, height) for the detector: long side near working_size (small photos only up to UPSCALE_TO),
    both multiples of 32."""
    scale = min(working_size, max(UPSCALE_TO, height, width)) / max(height, width)
    return max(32, int(round(width * scale / 32)) * 32), max(32, int(round(height * scale / 32)) * 32)


def probability_map(
    infer: Infer, rgb8: np.ndarray, working_size: int = WORKING_SIZE, size: Optional[tuple[int, int]] = None
) -> np.ndarray:
    """The detector's text probability at `size` (width, height; default from working_size)."""
    height, width = rgb8.shape[:2]
    size = size or working_shape(height, width, working_size)
    shrink = size[0] * size[1] < 0.5 * width * height
    small = cv2.resize(rgb8, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    tensor = (small.astype(np.float32) / 255.0 - 0.5) / 0.5
    out = infer(np.ascontiguousarray(tensor.transpose(2, 0, 1)[None]))
    return np.asarray(out, dtype=np.float32).reshape(size[1], size[0])


def text_boxes(
    prob: np.ndarray, full_shape: tuple[int, int], threshold: float = THRESHOLD, box_threshold: float = BOX_THRESHOLD
) -> list[np.ndarray]:
    """DB post-processing: 4×2 float32 corner arrays of the text-line boxes, in full-resolution pixels."""
    bitmap = cv2.dilate((prob > threshold).astype(np.uint8), np.ones((2, 2), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(bitmap)
    sx, sy = full_shape[1] / prob.shape[1], full_shape[0] / prob.shape[0]
    boxes = []
    for index in range(1, min(count, MAX_LINES + 1)):
        x, y, w, h, area = stats[index]
        if min(w, h) < 2:
            continue
        component = labels[y : y + h, x : x + w] == index
        if float(prob[y : y + h, x : x + w][component].mean()) < box_threshold:
            continue
        points = (np.argwhere(component)[:, ::-1] + (x, y)).astype(np.float32)
        (cx, cy), (rw, rh), angle = cv2.minAreaRect(points)
        rw, rh = rw + 1, rh + 1  # pixel extents, not centre-to-centre
        distance = rw * rh * UNCLIP_RATIO / (2 * (rw + rh))
        corners = cv2.boxPoints(((cx + 0.5, cy + 0.5), (rw + 2 * distance, rh + 2 * distance), angle))
        boxes.append((corners * (sx, sy)).astype(np.float32))
    return boxes


def _background_colours(ring: np.ndarray) -> np.ndarray:
    """Up to 4 colour centres of the ring, leaving out rare ones (stray glyph pixels)."""
    samples = ring.reshape(-1, 3).astype(np.float32)[:: max(1, len(ring) // KMEANS_SAMPLES)]
    if len(samples) < 8:
        return samples.mean(axis=0, keepdims=True) if len(samples) else np.zeros((1, 3), np.float32)
    k = 4
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1e-3)
    cv2.setRNGSeed(0)
    # (OpenCV's stubs do not allow bestLabels=None, which the C++ API documents)
    _, labels, centres = cv2.kmeans(samples, k, None, criteria, 2, cv2.KMEANS_PP_CENTERS)  # type: ignore[call-overload]
    share = np.bincount(labels.ravel(), minlength=k) / len(samples)
    return centres[share >= 0.05]


def _otsu(values: np.ndarray) -> float:
    scaled = np.clip(values * 255.0, 0, 255).astype(np.uint8).reshape(-1, 1)
    threshold, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return float(threshold) / 255.0


def _distances(pixels: np.ndarray, centres: np.ndarray) -> np.ndarray:
    return np.min(
        np.linalg.norm(pixels[..., None, :] - centres.reshape((1,) * (pixels.ndim - 1) + centres.shape), axis=-1),
        axis=-1,
    )


def _text_colours(pixels: np.ndarray) -> np.ndarray:
    """One text colour (the median), or two when the letters carry an outline or a shadow of another colour."""
    pixels = pixels[:: max(1, len(pixels) // KMEANS_SAMPLES)]
    single = np.median(pixels, axis=0, keepdims=True)
    if len(pixels) < 40:
        return single
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1e-3)
    cv2.setRNGSeed(0)
    _, labels, centres = cv2.kmeans(
        pixels.astype(np.float32),
        2,
        None,
        criteria,
        2,  # type: ignore[call-overload]
        cv2.KMEANS_PP_CENTERS,
    )
    share = np.bincount(labels.ravel(), minlength=2) / len(pixels)
    apart = np.linalg.norm(centres[0] - centres[1]) > 0.3
    return centres if apart and share.min() >= 0.15 else single


def _glyph_pixels(crop: np.ndarray, inside: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Glyphs share one colour (or two: fill and outline): take it from the pixels least like the background
    (Otsu on the distance), then keep every pixel nearer a text colour than any background colour; half-covered
    edge pixels go to the text."""
    to_background = _distances(crop, background)
    values = to_background[inside]
    if not values.size:
        return np.zeros(inside.shape, np.uint8)
    surest = inside & (to_background > max(MIN_CONTRAST, _otsu(values)))
    if not surest.any():
        return np.zeros(inside.shape, np.uint8)
    to_text = _distances(crop, _text_colours(crop[surest]))
    return (inside & (to_text < 1.2 * to_background) & (to_background > 0.5 * MIN_CONTRAST)).astype(np.uint8)


def glyphs_in_box(image: np.ndarray, corners: np.ndarray, mask: np.ndarray, grow: int) -> None:
    """Mark the glyph pixels of one box (corners in full-res pixels) into `mask` (uint8, in place). Only the
    box's crop is converted to float (a float copy of a whole 12 MP photo would cost 150 MB)."""
    height, width = mask.shape
    short = max(2.0, float(min(np.linalg.norm(corners[0] - corners[1]), np.linalg.norm(corners[1] - corners[2]))))
    ring_width = int(max(3, round(short * 0.3)))
    pad = ring_width + grow + 2
    x0, y0 = np.floor(corners.min(axis=0)).astype(int) - pad
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int) + pad
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    crop = image[y0:y1, x0:x1, :3].astype(np.float32) / max_value(image.dtype)
    inside = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(corners - (x0, y0)).astype(np.int32)], 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring_width + 1,) * 2)
    ring = (cv2.dilate(inside, kernel) > 0) & (inside == 0)
    background = _background_colours(crop[ring] if ring.any() else crop[inside > 0])
    glyphs = _glyph_pixels(crop, inside > 0, background)
    if glyphs.sum() > WHOLE_BOX_SHARE * max(1, inside.sum()):
        glyphs = inside
    if grow > 0:
        glyphs = cv2.dilate(glyphs, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1,) * 2))
    np.maximum(mask[y0:y1, x0:x1], glyphs * np.uint8(255), out=mask[y0:y1, x0:x1])


def text_mask(
    infer: Infer,
    image: np.ndarray,
    progress: ProgressLike,
    working_size: int = WORKING_SIZE,
    threshold: float = THRESHOLD,
    box_threshold: float = BOX_THRESHOLD,
    grow: int = GROW,
) -> tuple:
    """(uint8 H×W mask 0/255, number of text lines found)."""
    rgb8 = image[..., :3] if image.dtype == np.uint8 else (image[..., :3] >> 8).astype(np.uint8)
    progress.set(0.05, "Finding text")
    prob = probability_map(infer, np.ascontiguousarray(rgb8), working_size)
    progress.check()
    boxes = text_boxes(prob, rgb8.shape[:2], threshold, box_threshold)
    progress.set(0.7, "Outlining the letters")
    mask = np.zeros(rgb8.shape[:2], np.uint8)
    for corners in boxes:
        glyphs_in_box(image, corners, mask, grow)
    return mask, len(boxes)


def _params(request: EditRequest, spec: ModelSpec) -> dict:
    """text_mask's keyword arguments: the request's params, else the model's manifest values, else the defaults."""
    given = request_params(request, DetectTextParams)

    def pick(value: Optional[float], from_model: Optional[float], default: float) -> float:
        return value if value is not None else default if from_model is None else from_model

    model = spec.settings
    params = {
        "working_size": int(pick(given.working_size, model.working_size, WORKING_SIZE)),
        "threshold": pick(given.threshold, model.threshold, THRESHOLD),
        "box_threshold": pick(given.box_threshold, model.box_threshold, BOX_THRESHOLD),
        "grow": GROW if given.grow is None else given.grow,
    }
    if not 0.0 < params["threshold"] < 1.0 or not 0.0 < params["box_threshold"] < 1.0:
        raise InputError("Text detection thresholds must be between 0 and 1.")
    if not 64 <= params["working_size"] <= 4096:
        raise InputError(f"The working size must be 64..4096 pixels, not {params['working_size']}.")
    if not 0 <= params["grow"] <= 50:
        raise InputError(f"Grow must be 0..50 pixels, not {params['grow']}.")
    return params


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    params = _params(request, spec)
    model = context.open_model(spec, request.device)
    mask, lines = text_mask(model.run, request.image, progress, **params)
    progress.set(1.0)
    marked = int(np.count_nonzero(mask))
    note = (
        f"Found {lines} line{'s' if lines != 1 else ''} of text; marked {100.0 * marked / mask.size:.2f} % "
        "of the image."
        if marked
        else "No text found."
    )
    return OpOutput(image=cv2.merge([mask, mask, mask]), provider=short_provider(model.provider), notes=(note,))
