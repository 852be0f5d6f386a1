"""The adapter for resolution-free texture generators (manifest `kind: texture-gan`): sample and fill.

The model takes a noise field z (N×Z×h×w, standard normal) and a conditioning vector c (N×c_dim: the prompt's
softmax mix of the class text embeddings, engine/conditioning.py) and paints N×3×(h·d)×(w·d) RGB in 0..1,
d = `downsample`. There is no fixed output size, so a mask is painted once, at the photo's own resolution:

1. paint the mask's bounding box plus a ring (and a margin the network's edge padding may disturb, cropped off),
   with the coarse light and shade of the class's photos added from paints at coarser scales (texture_octaves),
   and for built materials (brick wall, stone wall, wood planks) their units and joints laid out in the paint's
   own material (texture_layout);
2. colour and light: move the texture's Lab statistics part of the way to the ring of photo pixels around the
   mask (light fully enough to sit in the photo, colour cast partly, so clouds stay clouds), then add a smooth
   offset field (push-pull interpolation of the photo − texture difference on the ring, fading inwards) so the
   local brightness and colour meet the photo's at every point of the edge (a Poisson-like blend in Lab);
3. blend with a weight that ramps up inwards from the mask's edge: every pixel outside the mask stays bit-exact.

Variations are seeds: variation k of a request uses the noise field of seed + k.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from ...catalog import Catalog, ModelSpec
from ...core.errors import InputError, ModelError
from ...core.geometry import Bounds, nonzero_bounds
from ...core.pixels import blend_inside_mask, from_float_rgb, to_float_rgb
from ...core.requests import EditRequest
from ..conditioning import Conditioning, class_table, conditioning_for_prompt, unpack_vector
from ..session import LoadedModel, short_provider, translate_ort_error
from . import texture_layout, texture_looks, texture_octaves
from .base import OpContext, OpOutput, ProgressLike
from .params import GenerateParams, request_params
from .texture_layout import from_lab, to_lab

KIND = "texture-gan"
MAX_SIDE = 8192  # one session run paints the whole box: 8 k × 8 k is ~3 GB of activations at most
MAX_VARIATIONS = 16
GRAIN_DEPTH = 12.0  # px over which the texture's fine detail goes from the ring's to its own
# Detail finer than this (px, Gaussian σ) is what the edge tapers: at σ 2 with a 30 % floor, clouds, grass and brick
# next to a smooth sky or wall still drew a frame (seam 1.5-1.9 × the ring's gradient on kodim03 and wikimedia/021
# of the training pack); σ 8 with no floor keeps every must-show seam there ≤ 1.46 and costs ~2 % of the detail.
TAPER_SIGMA = 8.0
# The least L* contrast gain of the statistics fit (adapt_lab_statistics). Kept at 0.6: floors of 0.8 and 1.0
# changed no pixel of the must-show fills nor of fills on kodim01, kodim03 and wikimedia/021, because a ring
# spans several materials and its L* spread exceeded the texture's there (gain clipped at 1). The detail a fill
# loses (must-show grass: 0.70 of real crops raw, 0.65 after the statistics fit, 0.58 fitted) comes from moving
# L* towards a darker ring (less contrast in RGB) and from the grain taper at the edge (0.63 without it).
L_GAIN_FLOOR = 0.6


def is_texture_model(spec: ModelSpec) -> bool:
    return spec.extra.get("kind") == KIND


@dataclass(frozen=True)
class TextureInfo:
    names: tuple[str, ...]
    vectors: np.ndarray  # K×c_dim
    z_channels: int
    noise_channels: int
    downsample: int
    embedder: dict
    modes: tuple[np.ndarray, ...] = ()  # per class: M×c_dim offsets, one per look it learned (may be empty)
    grains: tuple[Optional[float], ...] = ()  # per class: typical grain of its real crops (None: not recorded)
    colours: tuple[Optional[np.ndarray], ...] = ()  # per class: mean L*a*b* of its real crops (None: not recorded)
    # per class: its photos' coarse band energies relative to the finest (texture_octaves; empty: one scale)
    octaves: tuple[tuple[Optional[float], ...], ...] = ()

    @classmethod
    def of(cls, spec: ModelSpec) -> TextureInfo:
        extra = spec.extra
        try:
            names, vectors = class_table(extra)
            classes = list(extra["classes"])
            z_channels, downsample = int(extra["z_channels"]), int(extra["downsample"])
            noise_channels = int(extra.get("noise_channels", 0))
            modes = tuple(
                np.stack([unpack_vector(m) for m in c["modes"]]).astype(np.float32)
                if c.get("modes")
                else np.zeros((0, vectors.shape[1]), np.float32)
                for c in classes
            )
            grains = tuple(None if c.get("grain") is None else float(c["grain"]) for c in classes)
            colours = tuple(class_colour(c) for c in classes)
            octaves = tuple(octave_ratios(c) for c in classes)
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"Model '{spec.id}' is not a texture generator this version can use (its manifest "
                "lacks classes, z_channels or downsample).",
                detail=repr(exc),
            ) from exc
        if not names or z_channels < 1 or downsample < 1:
            raise ModelError(f"Model '{spec.id}' lists no classes.")
        return cls(
            names,
            vectors,
            z_channels,
            noise_channels,
            downsample,
            dict(extra.get("embedder", {"kind": "hashed-bow"})),
            modes,
            grains,
            colours,
            octaves,
        )

    def condition(
        self, prompt: str, catalog: Optional[Catalog], seed: int, look: Optional[tuple[int, int]] = None
    ) -> tuple[np.ndarray, str, np.ndarray]:
        """(the c vector, the mix in words, the K class weights) for a prompt (a mix of classes) or, with no
        prompt, one class picked by the seed; each class takes one of its learned looks (red or beige bricks,
        white or grey clouds), picked by the seed, or `look` = (class index, look index) for one class (the fill
        picks the look that suits the photo)."""
        rng = np.random.default_rng(seed)
        weights, described = self.mix(prompt, catalog, rng)
        return self.vector(weights, rng, look), described, weights

    def mix(self, prompt: str, catalog: Optional[Catalog], rng: np.random.Generator) -> tuple[np.ndarray, str]:
        """(K class weights, the mix in words): the prompt's softmax mix, or one class picked by the seed."""
        mix: Optional[Conditioning] = conditioning_for_prompt(prompt, self.names, self.vectors, self.embedder, catalog)
        if mix is not None:
            return np.asarray(mix.weights, np.float32), f"{mix.describe(self.names)} (matched by {mix.matched_by})"
        pick = int(rng.integers(0, len(self.names)))
        return np.eye(len(self.names), dtype=np.float32)[pick], f"random class: {self.names[pick]}"

    def vector(
        self, weights: np.ndarray, rng: np.random.Generator, look: Optional[tuple[int, int]] = None
    ) -> np.ndarray:
        """Σ weight × (class embedding + its look's offset); looks drawn from rng unless `look` sets one."""
        looks = [
            m[int(rng.integers(0, len(m)))] if len(m) else np.zeros_like(v) for m, v in zip(self.modes, self.vectors)
        ]
        if look is not None and len(self.modes[look[0]]):
            looks[look[0]] = self.modes[look[0]][look[1] % len(self.modes[look[0]])]
        c = (np.asarray(weights, np.float32)[:, None] * (self.vectors + np.stack(looks))).sum(axis=0)
        return c.astype(np.float32)


def class_colour(entry: dict) -> Optional[np.ndarray]:
    """A class's recorded mean L*a*b* (3 numbers) or None (entries exported before it was measured)."""
    if entry.get("colour") is None:
        return None
    lab = np.asarray(entry["colour"], np.float32)
    if lab.shape != (3,):
        raise ValueError(f"a class colour is 3 numbers (L*, a*, b*), not {entry['colour']!r}")
    return lab


def octave_ratios(entry: dict) -> tuple[Optional[float], ...]:
    """A class entry's `octave_ratios` (texture_octaves.band_ratios): () when not recorded."""
    ratios = entry.get("octave_ratios")
    if ratios is None:
        return ()
    if not isinstance(ratios, list) or any(r is not None and not float(r) >= 0 for r in ratios):
        raise ValueError(f"octave_ratios are numbers ≥ 0 or null, not {ratios!r}")
    return tuple(None if r is None else float(r) for r in ratios)


def paint_class(
    model: LoadedModel, info: TextureInfo, c: np.ndarray, height: int, width: int, seed: int, weights: np.ndarray
) -> np.ndarray:
    """What a fill paints for a prompt's K class `weights`: the material (paint_material) of its main class (the
    largest weight), and for a built material (brick wall, stone wall, wood planks) its units and joints laid out
    in that material, as fully as its share of the mix asks (texture_layout.layout_strength)."""
    painted = paint_material(model, info, c, height, width, seed, int(np.argmax(weights)))
    return texture_layout.laid_out(painted, info.names, weights, seed)


def paint_material(
    model: LoadedModel, info: TextureInfo, c: np.ndarray, height: int, width: int, seed: int, main: int
) -> np.ndarray:
    """`paint`, with the main class's photos' coarse light and shade (texture_octaves) when the manifest records
    them."""
    ratios = info.octaves[main] if main < len(info.octaves) else ()
    if not ratios:
        return paint(model, info, c, height, width, seed)
    return texture_octaves.paint_with_octaves(
        lambda h, w, s: paint(model, info, c, h, w, s), height, width, seed, ratios
    )


def paint(model: LoadedModel, info: TextureInfo, c: np.ndarray, height: int, width: int, seed: int) -> np.ndarray:
    """height×width×3 float32 texture in 0..1 for one conditioning vector, from the noise field of `seed`."""
    if not (1 <= height <= MAX_SIDE and 1 <= width <= MAX_SIDE):
        raise InputError(f"A {width}×{height} area is too large to paint at once (at most {MAX_SIDE} px a side).")
    d = info.downsample
    margin = d  # the network pads by reflection at its edges: paint a border and crop it off
    cells_h, cells_w = -(-(height + 2 * margin) // d), -(-(width + 2 * margin) // d)
    rng = np.random.default_rng(seed)
    feeds = {
        "z": rng.standard_normal((1, info.z_channels, cells_h, cells_w), dtype=np.float32),
        "c": c[None].astype(np.float32),
    }
    if info.noise_channels:  # per-pixel grain maps at the output size
        feeds["noise"] = rng.standard_normal((1, info.noise_channels, cells_h * d, cells_w * d), dtype=np.float32)
    try:
        out = model.session.run([model.output_name], feeds)[0]
    except Exception as exc:
        raise translate_ort_error(exc) from exc
    if out.ndim != 4 or out.shape[1] != 3 or out.shape[2] < height + margin or out.shape[3] < width + margin:
        raise ModelError(f"The texture model returned shape {out.shape} for a {cells_w}×{cells_h} noise field.")
    return np.clip(out[0, :, margin : margin + height, margin : margin + width].transpose(1, 2, 0), 0.0, 1.0)


def sample(
    context: OpContext, spec: ModelSpec, prompt: str, count: int, seed: int = 0, device: str = "auto", size: int = 256
) -> tuple[np.ndarray, str, str]:
    """(N×size×size×3 float textures, the conditioning in words, provider): the `generate` command's samples."""
    info = TextureInfo.of(spec)
    model = context.open_model(spec, device)
    painted, described = [], ""
    for k in range(count):  # each sample its own look and noise
        c, described, weights = info.condition(prompt, context.catalog, seed + k)
        painted.append(paint_class(model, info, c, size, size, seed + k, weights))
    return np.stack(painted), described, short_provider(model.provider)


# ---------------------------------------------------------------- fitting the texture to the photo


def ring_mask(hole: np.ndarray, width: int) -> np.ndarray:
    """The pixels outside the hole within `width` px of it (a distance transform: a dilation with a 65 px disc
    took 0.1 s of a 1 MP fill)."""
    distance = cv2.distanceTransform((~hole).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return (distance <= width) & ~hole


def adapt_lab_statistics(texture_lab: np.ndarray, ring_lab: np.ndarray) -> np.ndarray:
    """Move the texture part of the way to the ring's light and colour cast, keeping the class recognisable:
    clouds next to a dark wall stay clouds, only dimmer. L: half the mean difference and the square root of
    the contrast ratio (within 0.6–1: never more contrast than the class has); a/b: a third of the mean
    difference, their spread kept."""
    if ring_lab.shape[0] < 8:
        return texture_lab
    flat = texture_lab.reshape(-1, 3)
    mean_t, std_t = flat.mean(0), flat.std(0)
    mean_r, std_r = ring_lab.mean(0), ring_lab.std(0)
    gain = np.ones(3, np.float32)
    gain[0] = np.clip(np.sqrt(std_r[0] / max(std_t[0], 1e-3)), L_GAIN_FLOOR, 1.0)
    shift = np.array([0.5, 0.33, 0.33], np.float32) * (mean_r - mean_t)
    return (texture_lab - mean_t) * gain + mean_t + shift


def push_pull(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Fill a sparse H×W×C field (known where weights > 0) smoothly everywhere: average down a pyramid of
    weighted means, then fill each level's gaps from the level below (Gortler et al. 1996)."""
    levels: list[tuple[np.ndarray, np.ndarray]] = [(values * weights[..., None], weights.astype(np.float32))]
    while min(levels[-1][1].shape) > 2:
        v, w = levels[-1]
        size = (max(1, w.shape[1] // 2), max(1, w.shape[0] // 2))
        levels.append(
            (
                cv2.resize(v, size, interpolation=cv2.INTER_AREA).reshape(size[1], size[0], -1),
                cv2.resize(w, size, interpolation=cv2.INTER_AREA),
            )
        )
    v, w = levels[-1]
    estimate = v / np.maximum(w, 1e-8)[..., None]
    for v, w in reversed(levels[:-1]):
        up = cv2.resize(estimate, (w.shape[1], w.shape[0]), interpolation=cv2.INTER_LINEAR).reshape(v.shape)
        alpha = np.clip(w * 4.0, 0.0, 1.0)[..., None]
        estimate = alpha * (v / np.maximum(w, 1e-8)[..., None]) + (1.0 - alpha) * up
    return estimate


def inward_ramp(hole: np.ndarray, radius: float) -> np.ndarray:
    """0..1: 0 outside the mask, rising to 1 at `radius` px inside its edge."""
    distance = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    return np.clip(distance / max(radius, 1.0), 0.0, 1.0)


def fit_to_photo(
    texture: np.ndarray, photo_rgb: np.ndarray, hole: np.ndarray, ring: np.ndarray, depth: float
) -> np.ndarray:
    """The texture (float RGB, the crop's size) fitted to the photo: its statistics adapted to the ring, then an
    offset field that makes the local brightness and colour equal to the photo's along the mask's edge and
    fades out over `depth` px inwards (a Poisson-like blend in Lab that keeps the class's own colour inside)."""
    photo_lab, texture_lab = to_lab(photo_rgb), to_lab(texture)
    texture_lab = adapt_lab_statistics(texture_lab, photo_lab[ring])
    # the difference on the ring, smoothed so single pixels of grain do not print into the fill
    known = ring.astype(np.float32)
    blur = (0, 0), 3.0
    diff = cv2.GaussianBlur((photo_lab - texture_lab) * known[..., None], *blur)
    weight = cv2.GaussianBlur(known, *blur)
    offset = push_pull(diff / np.maximum(weight, 1e-6)[..., None], (weight > 0.05) * known)
    inside = cv2.distanceTransform(hole.astype(np.uint8), cv2.DIST_L2, 3)
    fade = np.exp(-inside / max(depth, 1.0))
    fitted = texture_lab + offset * fade[..., None]
    grain_fade = np.exp(-inside / GRAIN_DEPTH)  # the grain meets the ring's within a few px; the class's inside
    fitted[..., 0] = taper_grain(fitted[..., 0], photo_lab[..., 0], hole, ring, grain_fade)
    return from_lab(fitted)


def gradient_magnitude(luminance: np.ndarray) -> np.ndarray:
    gx = cv2.Sobel(luminance, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(luminance, cv2.CV_32F, 0, 1, ksize=3)
    return np.sqrt(gx * gx + gy * gy)


def taper_grain(
    texture_l: np.ndarray, photo_l: np.ndarray, hole: np.ndarray, ring: np.ndarray, fade: np.ndarray
) -> np.ndarray:
    """Near the edge, scale the texture's detail (finer than TAPER_SIGMA) to the ring's by median gradient;
    deeper inside it keeps its own. A gravel fill next to a smooth wall would otherwise draw a visible frame."""
    if not ring.any() or not hole.any():
        return texture_l
    wanted = float(np.median(gradient_magnitude(photo_l)[ring]))
    have = float(np.median(gradient_magnitude(texture_l)[hole]))
    ratio = float(np.clip(wanted / max(have, 1e-3), 0.0, 1.0))
    local = cv2.GaussianBlur(texture_l, (0, 0), TAPER_SIGMA)
    return local + (texture_l - local) * (ratio + (1.0 - ratio) * (1.0 - fade))


def fill_area(image: np.ndarray, bounds: Bounds) -> tuple[Bounds, int]:
    """(the box painted: the mask's box plus a ring, inside the image; the ring's width in px)."""
    ring_width = int(max(4, min(32, 0.1 * max(bounds.extent.height, bounds.extent.width))))
    return bounds.expanded(ring_width).clipped(Bounds.of_array(image).extent), ring_width


def fill_box(image: np.ndarray, mask: np.ndarray, bounds: Bounds, paint_box) -> np.ndarray:
    """Paint the mask's box (+ ring) with `paint_box(height, width)`, fit it, blend it; outside is untouched."""
    height, width = bounds.extent.height, bounds.extent.width
    crop, ring_width = fill_area(image, bounds)
    image_crop, mask_crop = image[crop.slices], mask[crop.slices]
    hole = mask_crop > 0
    rgb = to_float_rgb(image_crop)
    texture = paint_box(crop.extent.height, crop.extent.width)
    depth = float(np.clip(0.1 * min(height, width), 6.0, 60.0))  # longer fades read as a hazy frame
    fitted = fit_to_photo(texture, rgb, hole, ring_mask(hole, ring_width), depth)
    feather = max(1.0, min(6.0, 0.05 * min(height, width)))
    weight = inward_ramp(hole, feather) * (mask_crop.astype(np.float32) / 255.0)
    weight8 = np.clip(np.rint(weight * 255.0), 0, 255).astype(np.uint8)
    weight8[hole & (weight8 == 0)] = 1  # every masked pixel takes part
    weight8[~hole] = 0
    edited = from_float_rgb(fitted, image_crop)
    result = image.copy()
    result[crop.slices] = blend_inside_mask(image_crop, edited, weight8)
    return result


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    bounds = None if request.mask is None else nonzero_bounds(request.mask)
    if request.mask is None or bounds is None:
        raise InputError("Paint a mask first: generate fills the masked area with new content.")
    params = request_params(request, GenerateParams)  # the same typed parameters as the other generators
    variations = params.variations
    if not 1 <= variations <= MAX_VARIATIONS:
        raise InputError(f"Variations must be 1 to {MAX_VARIATIONS}, not {variations}.")
    variation = params.variation % variations
    seed = params.seed
    prompt = params.prompt or request.prompt  # the router's content ("fill this with clouds" → "clouds")
    info = TextureInfo.of(spec)
    progress.set(0.05, "Generating")
    model = context.open_model(spec, request.device)
    noise_seed = seed * 1000 + variation
    rng = np.random.default_rng(noise_seed)
    weights, described = info.mix(prompt, context.catalog, rng)
    look = fitting_look(model, info, weights, rng, request.image, request.mask, bounds, noise_seed, variation)
    c = info.vector(weights, rng, look)
    progress.check()
    result = fill_box(
        request.image, request.mask, bounds, lambda h, w: paint_class(model, info, c, h, w, noise_seed, weights)
    )
    progress.set(1.0)
    if look is not None:
        described += f"; look {look[1] + 1} of {len(info.modes[look[0]])} of {info.names[look[0]]}"
        described += " (fit to the surroundings: best first, one per variation)"
    note = (
        f"Variation {variation + 1} of {variations} (seed {seed}); {described}; painted at {bounds.extent.width}×"
        f"{bounds.extent.height} px, no tiling."
    )
    return OpOutput(image=result, provider=short_provider(model.provider), changed=bounds, notes=(note,))


def fitting_look(
    model: LoadedModel,
    info: TextureInfo,
    weights: np.ndarray,
    rng: np.random.Generator,
    image: np.ndarray,
    mask: np.ndarray,
    bounds: Bounds,
    seed: int,
    variation: int,
) -> Optional[tuple[int, int]]:
    """(main class, its look for this variation): the prompt's main class's looks ranked by how well a small
    preview's grain suits the class and the ring of photo pixels around the mask and its colour the class's
    (texture_looks.py); None when there is no choice."""
    main = int(np.argmax(weights))
    state = rng.bit_generator.state  # every preview draws the other classes' looks as the fill will

    def paint_look(index: int) -> np.ndarray:
        preview_rng = np.random.default_rng()
        preview_rng.bit_generator.state = state
        c = info.vector(weights, preview_rng, (main, index))
        return paint(model, info, c, texture_looks.PREVIEW, texture_looks.PREVIEW, seed)

    crop, ring_width = fill_area(image, bounds)
    hole = mask[crop.slices] > 0
    order = texture_looks.ranked_looks(
        len(info.modes[main]),
        paint_look,
        to_float_rgb(image[crop.slices]),
        ring_mask(hole, ring_width),
        info.grains[main] if main < len(info.grains) else None,
        info.colours[main] if main < len(info.colours) else None,
    )
    return None if order is None else (main, order[variation % len(order)])
