"""Large-scale structure for texture fills: the coarse luminance bands painted at coarser scales.

The generator learned from 64 px crops, so its paint is stationary beyond a few structure cells. Measured with
band_ratios (a band's energy relative to the finest band's) on a 512 px paint of each class against the class's
training photos, its σ 24-48 px band was 3-20× weaker in amplitude than the photos' (energy ratio clouds 0.010
vs 2.36, sand 0.004 vs 0.041, grass 0.0001 vs 0.013). A cloud fill was a uniform mottle, a sea or a beach had
no swell or dunes. With the octaves the paint's ratios land near the photos' (clouds 0.50 / 1.17 / 2.35 vs
0.41 / 0.86 / 2.36; sky and sunset sky stay short at σ 24-48, where the gain reaches GAIN_RANGE's top).

So band k (k = 1..OCTAVES) of the paint's luminance is replaced by the fine band of a paint at 1/2^k of the
size (new noise), upsampled: the generator's own shapes, 2^k times larger. Each band is scaled so its energy,
relative to the paint's finest band, is the class's real ratio (`ratios`, measured on its training images at
export time and stored in the manifest as `octave_ratios`). A class whose photos have little coarse structure
(gravel, bark, stone wall) gets little; clouds and sand get much. Only luminance changes: the coarse bands
added in RGB put blue and yellow blotches into storm clouds. Manifests without ratios paint at one scale.

Bands are computed at their own scale (area-downsampled by 2^k, then a difference of Gaussians σ 3..6 px), so a
1 MP fill costs a few small blurs, and the data side measures real photos with the same function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Optional

import cv2
import numpy as np

from ...core.pixels import LUMA

OCTAVES = 3  # bands replaced: σ 6-12, 12-24, 24-48 px (coarser is the ring's offset field's job)
SIGMA = 6.0  # px, the finest band's upper σ at full size (3/8 of the generator's 16 px structure cell)
MIN_SIDE = 32  # px a band's image needs at its own scale to be measured or painted
GAIN_RANGE = (0.25, 6.0)  # a layer is never scaled further than this from the generator's own amplitude
ROUNDS = 3  # of fitting the gains (fitted_gains)

Paint = Callable[[int, int, int], np.ndarray]  # (height, width, seed) → float RGB 0..1


def luminance(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb, np.float32) @ LUMA.astype(np.float32)


def band(luma: np.ndarray, k: int) -> Optional[np.ndarray]:
    """Band k of a luminance image at its own scale (1/2^k of the size): everything finer than σ SIGMA for
    k = 0, one octave (σ SIGMA/2..SIGMA at that scale) above; None when too small to hold it."""
    if k == 0:
        return None if min(luma.shape) < MIN_SIDE else luma - cv2.GaussianBlur(luma, (0, 0), SIGMA)
    size = (round(luma.shape[1] / 2**k), round(luma.shape[0] / 2**k))
    if min(size) < MIN_SIDE:
        return None
    return octave(cv2.resize(luma, size, interpolation=cv2.INTER_AREA))


def octave(small: np.ndarray) -> np.ndarray:
    """The σ SIGMA/2..SIGMA octave of an image at its own scale."""
    return cv2.GaussianBlur(small, (0, 0), SIGMA / 2) - cv2.GaussianBlur(small, (0, 0), SIGMA)


def energy(values: np.ndarray) -> float:
    return float(np.mean(values * values))


def band_ratios(images: Sequence[np.ndarray]) -> list[Optional[float]]:
    """Per band k = 1..OCTAVES: mean band-k energy / mean band-0 energy over the images (float RGB 0..1) big
    enough to hold band k; None where none is. The class's `octave_ratios`."""
    ratios: list[Optional[float]] = []
    lumas = [luminance(im) for im in images]
    for k in range(1, OCTAVES + 1):
        pairs = [(band(y, 0), band(y, k)) for y in lumas]
        found = [(energy(b0), energy(bk)) for b0, bk in pairs if b0 is not None and bk is not None]
        fine = sum(e0 for e0, _ in found)
        ratios.append(round(sum(ek for _, ek in found) / fine, 5) if found and fine > 0 else None)
    return ratios


def upsampled(values: np.ndarray, height: int, width: int) -> np.ndarray:
    return cv2.resize(values, (width, height), interpolation=cv2.INTER_LINEAR)


def paint_with_octaves(
    paint: Paint, height: int, width: int, seed: int, ratios: Sequence[Optional[float]]
) -> np.ndarray:
    """paint(height, width, seed) with its coarse luminance bands replaced as the module doc says; bands the
    box is too small for, or the class has no ratio for, stay the paint's own."""
    base = paint(height, width, seed)
    base_luma = luminance(base)
    fine = band(base_luma, 0)
    if fine is None:
        return base
    targets, layers = {}, {}
    kept = base_luma.copy()
    for k, ratio in enumerate(ratios[:OCTAVES], start=1):
        own = band(base_luma, k)
        if ratio is None or own is None:
            continue
        s = 2**k
        small = luminance(paint(-(-height // s), -(-width // s), seed + 7919 * k))
        targets[k] = ratio * energy(fine)
        layers[k] = upsampled(octave(small), height, width)
        kept -= upsampled(own, height, width)
    if not layers:
        return base
    gains = fitted_gains(kept, layers, targets)
    luma = kept + sum(gains[k] * layers[k] for k in layers)
    return np.clip(base + (luma - base_luma)[..., None], 0.0, 1.0)


def fitted_gains(kept: np.ndarray, layers: dict[int, np.ndarray], targets: dict[int, float]) -> dict[int, float]:
    """Gains for the coarse layers so that each band k of kept + Σ gain·layer, measured as the class's photos
    were (band()), has its target energy. A layer also shows in its neighbours' bands, so a few rounds of
    rescaling each gain by the square root of target / measured; within GAIN_RANGE of the layer's own size."""
    gains = {k: 1.0 for k in layers}
    for _ in range(ROUNDS):
        luma = kept + sum(gains[k] * layers[k] for k in layers)
        for k in layers:
            measured = band(luma, k)
            got = energy(measured) if measured is not None else 0.0
            gains[k] = float(np.clip(gains[k] * np.sqrt(targets[k] / max(got, 1e-12)), *GAIN_RANGE))
    return gains
