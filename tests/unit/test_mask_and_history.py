import numpy as np

from llmvis_studio.core.document import Document
from llmvis_studio.core.geometry import Bounds
from llmvis_studio.core.history import ReplaceImageAtom, changed_bounds, patch_atom
from llmvis_studio.core.mask import (
    brush_stamp,
    feathered,
    fill_polygon,
    fill_rectangle,
    grown,
    inverted,
    paint_line,
    shrunk,
)


def test_brush_stamp_hardness_controls_the_edge():
    hard = brush_stamp(8, 1.0)
    soft = brush_stamp(8, 0.2)
    assert hard.max() == 1.0 and soft.max() == 1.0
    assert set(np.unique(hard)) <= {0.0, 1.0}
    assert ((soft > 0) & (soft < 1)).sum() > 50


def test_paint_line_touches_only_near_the_segment():
    mask = np.zeros((100, 100), np.uint8)
    touched = paint_line(mask, (10, 50), (90, 50), radius=5, hardness=1.0)
    assert mask[50, 10:91].min() == 255
    assert mask[:40].max() == 0 and mask[61:].max() == 0
    assert touched.y >= 44 and touched.y2 <= 56 and touched.x <= 5 and touched.x2 >= 95


def test_erase_lowers_the_mask():
    mask = np.full((40, 40), 255, np.uint8)
    paint_line(mask, (20, 20), (20, 20), radius=4, hardness=1.0, erase=True)
    assert mask[20, 20] == 0 and mask[0, 0] == 255


def test_rectangle_polygon_and_invert():
    mask = np.zeros((50, 50), np.uint8)
    assert fill_rectangle(mask, Bounds(40, 40, 30, 30)) == Bounds(40, 40, 10, 10)
    assert mask[45, 45] == 255 and mask[39, 39] == 0
    fill_polygon(mask, [(5, 5), (20, 5), (5, 20)])
    assert mask[8, 8] == 255 and mask[19, 19] == 0
    np.testing.assert_array_equal(inverted(inverted(mask)), mask)


def test_grow_shrink_feather():
    mask = np.zeros((60, 60), np.uint8)
    mask[25:35, 25:35] = 255
    assert (grown(mask, 3) > 0).sum() > (mask > 0).sum()
    assert (shrunk(mask, 3) > 0).sum() < (mask > 0).sum()
    soft = feathered(mask, 4)
    assert ((soft > 0) & (soft < 255)).sum() > 0 and soft[30, 30] > 200


def test_patch_atom_undo_redo_restores_exactly():
    image = np.zeros((30, 40, 3), np.uint8)
    doc = Document(image=image)
    before = doc.mask.copy()
    paint_line(doc.mask, (5, 5), (15, 8), radius=3, hardness=0.5)
    bounds = changed_bounds(before, doc.mask)
    atom = patch_atom("stroke", "mask", bounds, before, doc.mask)
    after = doc.mask.copy()
    assert atom.before.shape == (bounds.height, bounds.width)
    assert atom.nbytes < before.nbytes  # a patch, not the whole mask
    atom.undo(doc)
    np.testing.assert_array_equal(doc.mask, before)
    atom.redo(doc)
    np.testing.assert_array_equal(doc.mask, after)


def test_replace_image_atom_changes_size_both_ways():
    small = np.zeros((10, 10, 3), np.uint8)
    big = np.ones((20, 20, 3), np.uint8)
    doc = Document(image=small.copy())
    atom = ReplaceImageAtom("upscale", small, big, np.zeros((10, 10), np.uint8), np.zeros((20, 20), np.uint8))
    atom.redo(doc)
    assert doc.image.shape == (20, 20, 3) and doc.mask.shape == (20, 20)
    atom.undo(doc)
    np.testing.assert_array_equal(doc.image, small)
