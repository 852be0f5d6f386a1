"""Layouts for built materials (engine/ops/texture_layout.py): brick courses, stone walls, boards along the grain."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from llmvis_studio.engine import Engine
from llmvis_studio.engine.ops import texture_fill
from llmvis_studio.engine.ops import texture_layout as layout

MODEL = "texture-gan"


def joint_runs(profile: np.ndarray, level: float) -> int:
    """How many separate runs of a 1-D profile lie above `level`."""
    return len(runs(profile > level))


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True in a 1-D boolean array."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def mottled_paint(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A stand-in paint: brick-red and grey blobs with fine grain, as the generator's brick wall looked."""
    rng = np.random.default_rng(seed)
    blobs = cv2.GaussianBlur(rng.standard_normal((height, width)).astype(np.float32), (0, 0), 10) > 0
    red, grey = np.array([0.62, 0.32, 0.24], np.float32), np.array([0.55, 0.56, 0.58], np.float32)
    paint = np.where(blobs[..., None], red, grey) + 0.05 * rng.standard_normal((height, width, 3)).astype(np.float32)
    return np.clip(paint, 0.0, 1.0).astype(np.float32)


def test_bricks_lie_in_courses_of_the_unit_height_with_a_bond():
    built = layout.bricks(400, 600, np.random.default_rng(0), 40.0)
    joint = built.edge < 0
    assert 8 <= joint_runs(joint.mean(axis=1), 0.6) <= 12  # bed joints: ~400/40 of them
    assert 0.1 < joint.mean() < 0.3
    count = len(np.unique(built.unit))
    assert 0.7 < count / (400 * 600 / (40 * 2.7 * 40)) < 1.8  # bricks ~2.7 courses long, cut ones at the edges
    # running bond: within one course the head joints sit between the next course's
    middles = [(start + end) // 2 for start, end in runs(joint.mean(axis=1) < 0.3)][2:4]
    heads = [np.array([(start + end) / 2 for start, end in runs(joint[y])]) for y in middles]
    assert len(heads) == 2 and all(len(h) >= 3 for h in heads)
    offsets = np.abs(heads[0][:, None] - heads[1][None]).min(axis=1)
    assert np.median(offsets) > 0.25 * 2.7 * 40


def test_stones_are_irregular_units_each_ringed_by_mortar():
    built = layout.stones(300, 400, np.random.default_rng(1), 30.0)
    joint = built.edge < 0
    assert 0.15 < joint.mean() < 0.55
    ids, areas = np.unique(built.unit[~joint], return_counts=True)
    areas = areas[areas > 50]
    assert len(areas) >= 20 and areas.std() / areas.mean() > 0.2  # not a regular grid
    pieces, _ = cv2.connectedComponents((~joint).astype(np.uint8), connectivity=4)
    assert pieces - 1 >= 0.8 * len(areas)  # stones stand apart: mortar between them


@pytest.mark.parametrize("vertical", [True, False])
def test_boards_follow_the_paint_grain(vertical):
    rng = np.random.default_rng(2)
    streaks = cv2.GaussianBlur(rng.standard_normal((200, 200)).astype(np.float32), (0, 0), sigmaX=1, sigmaY=15)
    luminance = streaks if vertical else streaks.T
    assert layout.grain_runs_vertically(luminance) is vertical
    built = layout.built("wood planks", 200, 200, rng, 24.0, luminance)
    joint = (built.edge < 0).astype(np.float32)
    across, along = (joint.mean(axis=0), joint.mean(axis=1)) if vertical else (joint.mean(axis=1), joint.mean(axis=0))
    assert joint_runs(across, 0.6) >= 5  # the gaps between boards run the whole length
    assert along.max() < 0.35  # butt joints cut single boards only


def test_a_brick_layout_gives_the_paint_joints_and_keeps_its_grain():
    paint = mottled_paint(320, 320)
    laid = layout.apply_layout(paint, "brick wall", seed=3)
    course = layout.unit_size(320, 320)
    luma = laid @ np.array([0.299, 0.587, 0.114], np.float32)
    before = paint @ np.array([0.299, 0.587, 0.114], np.float32)
    grain = [x - cv2.GaussianBlur(x, (0, 0), 1.5) for x in (before, luma)]
    assert np.corrcoef(grain[0].ravel(), grain[1].ravel())[0, 1] > 0.5
    # where the layout (same seed) puts joints and bricks: the units take the paint's saturated material
    # (brick red), the joints a lighter, greyer mortar; the mottle had no such difference there
    built = layout.built("brick wall", 320, 320, np.random.default_rng([3, 15]), course, before)
    joint, unit = built.edge < -1, built.edge > 2
    lab, lab_before = (cv2.cvtColor(x, cv2.COLOR_RGB2Lab) for x in (laid, paint))
    assert lab[unit][:, 1].mean() > lab[joint][:, 1].mean() + 5
    assert lab[joint][:, 0].mean() > lab[unit][:, 0].mean() + 8
    assert abs(lab_before[joint][:, 0].mean() - lab_before[unit][:, 0].mean()) < 3


def test_layouts_only_for_named_classes_big_enough_boxes_and_at_the_class_share():
    paint = mottled_paint(96, 96)
    assert layout.apply_layout(paint, "clouds", seed=1) is paint
    assert layout.apply_layout(paint[:20, :60], "brick wall", seed=1).shape == (20, 60, 3)
    np.testing.assert_array_equal(layout.apply_layout(paint[:20, :60], "brick wall", seed=1), paint[:20, :60])
    full = layout.apply_layout(paint, "brick wall", seed=1)
    half = layout.apply_layout(paint, "brick wall", seed=1, strength=0.5)
    np.testing.assert_allclose(half, 0.5 * full + 0.5 * paint, atol=1e-6)
    np.testing.assert_array_equal(layout.apply_layout(paint, "brick wall", seed=1), full)  # seeded
    assert not np.allclose(layout.apply_layout(paint, "brick wall", seed=2), full)
    names = ("clouds", "brick wall")
    np.testing.assert_array_equal(layout.laid_out(paint, names, np.array([0.8, 0.2]), seed=1), paint)
    np.testing.assert_allclose(
        layout.laid_out(paint, names, np.array([0.4, 0.6]), seed=1),
        layout.apply_layout(paint, "brick wall", seed=1, strength=0.6),
    )
    np.testing.assert_array_equal(layout.laid_out(paint, names, np.array([0.15, 0.85]), seed=1), full)


def test_large_boxes_are_laid_out_at_half_size_without_changing_the_unit():
    luminance = np.zeros((900, 700), np.float32)
    built = layout.built("brick wall", 900, 700, np.random.default_rng(4), 50.0, luminance)
    assert built.unit.shape == built.edge.shape == (900, 700)
    joint = built.edge < 0
    assert 15 <= joint_runs(joint.mean(axis=1), 0.6) <= 21  # 900 / 50 courses, as at full size
    assert 0.1 < joint.mean() < 0.3


@pytest.fixture(scope="module")
def engine():
    return Engine(threads=1)


def test_the_shipped_generators_brick_wall_shows_its_joints(engine):
    spec = engine.catalog.get(MODEL)
    info = texture_fill.TextureInfo.of(spec)
    model = engine.open_model(spec, "cpu")
    weights = np.eye(len(info.names), dtype=np.float32)[info.names.index("brick wall")]
    built = layout.built(
        "brick wall",
        320,
        320,
        np.random.default_rng([5, 15]),
        layout.unit_size(320, 320),
        np.zeros((320, 320), np.float32),
    )
    joint, unit = built.edge < -1, built.edge > 2  # the layout the paint below was given (same seed)
    for look in range(3):
        c = info.vector(weights, np.random.default_rng(look))
        raw = cv2.cvtColor(texture_fill.paint(model, info, c, 320, 320, 5), cv2.COLOR_RGB2Lab)[..., 0]
        laid = texture_fill.paint_class(model, info, c, 320, 320, 5, weights)
        lightness = cv2.cvtColor(laid, cv2.COLOR_RGB2Lab)[..., 0]
        assert abs(raw[joint].mean() - raw[unit].mean()) < 3  # the generator alone: no mortar where it goes
        assert abs(lightness[joint].mean() - lightness[unit].mean()) > 8  # laid out: the joints show
