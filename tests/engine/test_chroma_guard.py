"""The learned fill's chroma guard: toned content keeps its tone, colour content keeps the surroundings' palette."""

from __future__ import annotations

import cv2
import numpy as np

from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine.ops import chroma_guard
from tests.engine.test_inpaint_learned import engine, models  # noqa: F401  (module fixtures: a tiny untrained net)


def textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Lightness texture 0.2..0.9 (float H×W)."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), 3)
    base = (base - base.min()) / (base.max() - base.min())
    return 0.2 + 0.7 * base


def sepia(y: np.ndarray) -> np.ndarray:
    return np.clip(np.stack([y**0.9, y * 0.86, y**1.15 * 0.66], axis=-1), 0, 1).astype(np.float32)


def stroke(h: int, w: int, width: int = 11) -> np.ndarray:
    m = np.zeros((h, w), np.uint8)
    cv2.line(m, (8, h // 3), (w - 9, 2 * h // 3), 255, width)
    return m > 0


def ab(rgb: np.ndarray) -> np.ndarray:
    return chroma_guard.to_lab(rgb)[..., 1:]


def test_toned_content_keeps_its_tone_and_lightness():
    y = textured(80, 100)
    image = sepia(y)
    hole = stroke(80, 100)
    blotchy = image.copy()
    blotchy[hole] = np.clip(blotchy[hole] * np.array([0.6, 0.9, 1.4], np.float32), 0, 1)  # a blue cast
    out = chroma_guard.guard(blotchy, image, image, hole)
    coef, _ = chroma_guard.tone_fit(chroma_guard.to_lab(image[~hole]))
    lab = chroma_guard.to_lab(out[hole])
    tone = np.stack([np.ones(len(lab)), lab[:, 0]], axis=1) @ coef
    before = np.linalg.norm(ab(blotchy[hole]) - tone, axis=1)
    after = np.linalg.norm(lab[:, 1:] - tone, axis=1)
    assert before.mean() > 8 and after.max() < 1.5 and after.mean() < 0.5  # local rings: a line per cell
    assert np.abs(lab[:, 0] - chroma_guard.to_lab(blotchy[hole])[:, 0]).max() < 1.0  # lightness kept
    assert np.array_equal(out[~hole], blotchy[~hole])


def test_colour_blotches_are_pulled_into_the_surroundings_palette():
    h, w = 90, 120
    y = textured(h, w, seed=1)
    image = np.stack([y, 0.15 * y, 0.12 * y], axis=-1)  # a red barn door
    image[:, 80:] = np.stack([y[:, 80:]] * 3, axis=-1) * np.float32(0.95) + 0.05  # and a white wall beside it
    hole = stroke(h, w, 13)
    fill = image.copy()  # the classical fill stands in for the reference
    blotchy = image.copy()
    blotchy[hole] = (0.2, 0.3, 0.9)  # blue
    blotchy[hole & (np.arange(w)[None] < 40)] = (1.0, 0.6, 0.1)  # orange
    out = chroma_guard.guard(blotchy, fill, image, hole)
    palette = ab(image[~hole]).reshape(-1, 2)[::7]

    def farthest(x: np.ndarray) -> float:
        d = np.sqrt(((ab(x[hole])[:, None, :] - palette[None]) ** 2).sum(axis=2)).min(axis=1)
        return float(d.max())

    assert farthest(blotchy) > 40
    assert farthest(out) < chroma_guard.RADIUS + chroma_guard.BIN
    assert np.array_equal(out[~hole], blotchy[~hole])


def test_a_fill_within_the_palette_is_left_alone():
    image = np.stack([textured(60, 60, 2), textured(60, 60, 3), textured(60, 60, 4)], axis=-1)
    hole = stroke(60, 60, 7)
    out = chroma_guard.guard(image, image, image, hole)  # the truth itself: its colours are (nearly) all nearby
    moved = np.linalg.norm(ab(out[hole]) - ab(image[hole]), axis=1)
    assert np.mean(moved < 0.05) > 0.5 and moved.max() < 2.0  # ΔE below 2: not visible


def test_engine_keeps_sepia_tone_and_grey_with_an_untrained_net(engine):  # noqa: F811
    y = textured(72, 96, seed=5)
    mask = stroke(72, 96, 9).astype(np.uint8) * 255
    toned = np.rint(sepia(y) * 255).astype(np.uint8)
    grey = np.rint(np.repeat(y[..., None], 3, axis=2) * 255).astype(np.uint8)
    for image, guard_needed in ((toned, True), (grey, False)):  # the engine itself keeps a grey photo grey
        off = engine.run(EditRequest.build("inpaint", image, mask, params={"chroma_guard": False})).image
        on = engine.run(EditRequest.build("inpaint", image, mask)).image
        assert np.array_equal(on[mask == 0], image[mask == 0])
        known = chroma_guard.to_lab(image[mask == 0].astype(np.float32) / 255)
        coef, _ = chroma_guard.tone_fit(known)

        def off_tone(x: np.ndarray, coef: np.ndarray = coef) -> float:
            lab = chroma_guard.to_lab(x[mask > 0].astype(np.float32) / 255)
            tone = np.stack([np.ones(len(lab)), lab[:, 0]], axis=1) @ coef
            return float(np.linalg.norm(lab[:, 1:] - tone, axis=1).mean())

        assert off_tone(on) < 1.5
        if guard_needed:
            assert off_tone(off) > 2 * off_tone(on)
    assert (on[..., 0] == on[..., 1]).all() and (on[..., 1] == on[..., 2]).all()  # grey stays grey
