"""Generators trained here (GAN / VAE decoder): noise + text conditioning → images, and the editor's fill.

A `generate` model takes `z` (N×z_dim, standard normal) and `c` (N×c_dim, a text embedding) and returns
N×3×S×S RGB in 0..1. Its manifest entry carries `classes` (name, embedding, image count), `image_size`,
`z_dim` and `embedder` (see engine/conditioning.py).

The editor's op fills the masked region: one of `variations` samples (seeded) is resized to the mask's
bounding box and its ring (at most 2× enlarged, then mirror-tiled) and fitted to the photo as the
resolution-free texture generator's fill is (texture_fill.fill_box: Lab statistics towards the ring, an offset
field that meets the photo at the edge, an inward blend), so every pixel outside the mask stays bit-identical.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import cv2
import numpy as np

from ...catalog import Catalog, ModelSpec
from ...core.errors import InputError, ModelError
from ...core.geometry import Bounds, nonzero_bounds
from ...core.requests import EditRequest
from ..conditioning import Conditioning, class_table, conditioning_for_prompt
from ..session import LoadedModel, short_provider, translate_ort_error
from . import texture_fill
from .base import OpContext, OpOutput, ProgressLike
from .params import GenerateParams, request_params

MAX_SAMPLES = 64
MAX_VARIATIONS = 16
MAX_STRETCH = 2.0  # beyond this the sample is mirror-tiled rather than stretched


@dataclass(frozen=True)
class GeneratorInfo:
    names: tuple[str, ...]
    vectors: np.ndarray  # K×c_dim class embeddings (what the generator was trained on)
    size: int
    z_dim: int
    embedder: dict
    truncation: float = 1.0  # z is scaled by this (BigGAN's truncation trick): < 1 trades variety for fidelity

    @classmethod
    def of(cls, spec: ModelSpec) -> GeneratorInfo:
        extra = spec.extra
        try:
            names, vectors = class_table(extra)
            size, z_dim = int(extra["image_size"]), int(extra["z_dim"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(
                f"Model '{spec.id}' is not a generator this version can use (its manifest lacks "
                "classes, image_size or z_dim).",
                detail=repr(exc),
            ) from exc
        if not names or vectors.ndim != 2:
            raise ModelError(f"Model '{spec.id}' lists no classes.")
        truncation = spec.settings.truncation
        if not 0.0 < truncation <= 1.0:
            raise ModelError(f"Model '{spec.id}' has truncation {truncation}; it must be in (0, 1].")
        return cls(names, vectors, size, z_dim, dict(extra.get("embedder", {"kind": "hashed-bow"})), truncation)


def class_conditions(
    info: GeneratorInfo, prompt: str, count: int, rng: np.random.Generator, catalog: Optional[Catalog]
) -> tuple[np.ndarray, Optional[Conditioning], list[int]]:
    """N×c_dim conditioning: the prompt's mix for every sample, or (no prompt) a random class each."""
    mix = conditioning_for_prompt(prompt, info.names, info.vectors, info.embedder, catalog)
    if mix is not None:
        return np.repeat(mix.vector[None], count, axis=0), mix, []
    picks = [int(i) for i in rng.integers(0, len(info.names), size=count)]
    return info.vectors[picks], None, picks


def run_generator(model: LoadedModel, spec: ModelSpec, z: np.ndarray, c: np.ndarray) -> np.ndarray:
    """N×S×S×3 float32 in 0..1."""
    names = [t.name for t in spec.inputs] or ["z", "c"]
    if len(names) != 2:
        raise ModelError(f"Model '{spec.id}' should take two inputs (z, c), its manifest lists {names}.")
    try:
        out = model.session.run([model.output_name], {names[0]: z.astype(np.float32), names[1]: c.astype(np.float32)})
    except Exception as exc:
        raise translate_ort_error(exc) from exc
    images = np.asarray(out[0], np.float32)
    if images.ndim != 4 or images.shape[1] != 3:
        raise ModelError(f"Model '{spec.id}' returned shape {images.shape}, not N×3×H×W.")
    return np.clip(images.transpose(0, 2, 3, 1), 0.0, 1.0)


def sample(
    context: OpContext, spec: ModelSpec, prompt: str, count: int, seed: int = 0, device: str = "auto"
) -> tuple[np.ndarray, str, str]:
    """(N×S×S×3 float images, a one-line description of the conditioning, provider)."""
    if not 1 <= count <= MAX_SAMPLES:
        raise InputError(f"Ask for 1 to {MAX_SAMPLES} images, not {count}.")
    if texture_fill.is_texture_model(spec):  # one adapter per model family
        return texture_fill.sample(context, spec, prompt, count, seed, device)
    info = GeneratorInfo.of(spec)
    rng = np.random.default_rng(seed)
    z = (rng.standard_normal((count, info.z_dim)) * info.truncation).astype(np.float32)
    c, mix, picks = class_conditions(info, prompt, count, rng, context.catalog)
    model = context.open_model(spec, device)
    images = run_generator(model, spec, z, c)
    if mix is not None:
        described = f"{mix.describe(info.names)} (matched by {mix.matched_by})"
    else:
        described = "random classes: " + ", ".join(info.names[i] for i in picks)
    return images, described, short_provider(model.provider)


# ---------------------------------------------------------------- the editor's fill


def cover(sample: np.ndarray, height: int, width: int, max_stretch: float = MAX_STRETCH) -> np.ndarray:
    """The sample resized to height×width; past `max_stretch`× it is enlarged only that much and mirror-tiled
    (a 32 px texture stretched 6× is a blur; mirrored copies keep its grain)."""
    size = sample.shape[0]
    if max(height, width) <= size * max_stretch:
        grow = cv2.INTER_CUBIC if height > size or width > size else cv2.INTER_AREA
        return np.clip(cv2.resize(sample, (width, height), interpolation=grow), 0.0, 1.0)
    tile_size = int(round(size * max_stretch))
    tile = np.clip(cv2.resize(sample, (tile_size, tile_size), interpolation=cv2.INTER_CUBIC), 0.0, 1.0)
    padded = np.pad(tile, ((0, max(0, height - tile_size)), (0, max(0, width - tile_size)), (0, 0)), mode="symmetric")
    return padded[:height, :width]


def fill_region(image: np.ndarray, mask: np.ndarray, sample_rgb: np.ndarray, bounds: Bounds) -> np.ndarray:
    """Blend a float RGB sample into `image` inside `mask` (bounding box `bounds`); the rest is untouched.
    The sample covers the mask's box plus its ring (resized, mirror-tiled past 2×) and is fitted to the photo
    exactly as the texture generator's fill is (texture_fill.fill_box: Lab statistics towards the ring, an offset
    field that meets the photo at the edge, detail faded in from the edge, an inward blend), so a VAE or GAN of
    the Train dialog fits the picture the same way."""
    return texture_fill.fill_box(image, mask, bounds, lambda height, width: cover(sample_rgb, height, width))


def run(context: OpContext, request: EditRequest, spec: ModelSpec, progress: ProgressLike) -> OpOutput:
    if texture_fill.is_texture_model(spec):  # resolution-free generators paint the mask at full size
        return texture_fill.run(context, request, spec, progress)
    bounds = None if request.mask is None else nonzero_bounds(request.mask)
    if request.mask is None or bounds is None:
        raise InputError("Paint a mask first: generate fills the masked area with new content.")
    params = request_params(request, GenerateParams)
    variations = params.variations
    if not 1 <= variations <= MAX_VARIATIONS:
        raise InputError(f"Variations must be 1 to {MAX_VARIATIONS}, not {variations}.")
    variation = params.variation % variations
    seed = params.seed
    progress.set(0.1, "Generating")
    prompt = params.prompt or request.prompt  # the router's content ("fill this with clouds" → "clouds")
    samples, described, provider = sample(context, spec, prompt, variations, seed, request.device)
    progress.set(0.7, "Blending")
    result = fill_region(request.image, request.mask, samples[variation], bounds)
    progress.set(1.0)
    note = f"Variation {variation + 1} of {variations} (seed {seed}); {described}."
    return OpOutput(image=result, provider=provider, changed=bounds, notes=(note,))


def sample_to_uint8(images: np.ndarray) -> list[np.ndarray]:
    return [np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8) for img in images]
