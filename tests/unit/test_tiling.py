import numpy as np
import pytest

from llmvis_studio.core.errors import Cancelled, OutOfMemory
from llmvis_studio.core.geometry import Extent
from llmvis_studio.core.progress import Progress
from llmvis_studio.engine.tiling import TiledRun, plan_tiles, run_tiled, tile_for_budget


def blur_and_double(patch: np.ndarray) -> np.ndarray:
    """A stand-in network: 5×5 box blur (2-pixel margin), then nearest ×2."""
    padded = np.pad(patch, ((2, 2), (2, 2), (0, 0)), mode="reflect")
    out = np.zeros_like(patch)
    for dy in range(5):
        for dx in range(5):
            out += padded[dy : dy + patch.shape[0], dx : dx + patch.shape[1]]
    out /= 25.0
    return out.repeat(2, axis=0).repeat(2, axis=1)


@pytest.fixture
def image():
    return np.random.default_rng(0).random((70, 93, 3)).astype(np.float32)


def test_plan_cores_partition_the_image():
    extent = Extent(93, 70)
    tiles = plan_tiles(extent, tile=40, overlap=6)
    covered = np.zeros((70, 93), np.int32)
    for t in tiles:
        covered[t.core.slices] += 1
        assert t.context.width <= 40 and t.context.height <= 40
    assert (covered == 1).all()
    assert len(tiles) > 4


def test_tiled_equals_untiled_when_overlap_covers_the_margin(image):
    whole = run_tiled(image, blur_and_double, scale=2, tile=0)
    tiled = run_tiled(image, blur_and_double, scale=2, tile=32, overlap=8)
    assert tiled.shape == (140, 186, 3)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_too_small_overlap_shows_seams(image):
    """The equality above is not an accident: without context the result differs."""
    whole = run_tiled(image, blur_and_double, scale=2, tile=0)
    tiled = run_tiled(image, blur_and_double, scale=2, tile=24, overlap=0)
    assert np.abs(tiled - whole).max() > 1e-2


def test_out_of_memory_splits_tiles_and_still_matches(image):
    failed, succeeded = [], []

    def picky(patch):
        if max(patch.shape[:2]) > 30:
            failed.append(patch.shape[:2])
            raise OutOfMemory("too big")
        succeeded.append(patch.shape[:2])
        return blur_and_double(patch)

    run = TiledRun(image, picky, scale=2, tile=0, overlap=8)
    out = run.run()
    assert run.splits == len(failed) >= 1
    assert len(failed) < 4  # the halved limit is kept: later tiles are split before trying
    assert succeeded and all(max(shape) <= 30 for shape in succeeded)
    np.testing.assert_allclose(out, run_tiled(image, blur_and_double, scale=2, tile=0), atol=1e-5)


def test_out_of_memory_at_the_smallest_tile_is_reported(image):
    def never(patch):
        raise OutOfMemory("no memory at all")

    with pytest.raises(OutOfMemory, match="smallest tile"):
        run_tiled(image, never, scale=2, tile=40, overlap=4)


def test_cancel_between_tiles_stops_inference(image):
    seen = []
    token = Progress()

    def counting(patch):
        seen.append(1)
        if len(seen) == 2:
            token.cancel()
        return blur_and_double(patch)

    with pytest.raises(Cancelled):
        run_tiled(image, counting, scale=2, tile=24, overlap=4, progress=token)
    assert len(seen) == 2


def test_stride_padding_is_cropped_away(image):
    def needs_multiple_of_8(patch):
        assert patch.shape[0] % 8 == 0 and patch.shape[1] % 8 == 0
        return blur_and_double(patch)

    out = run_tiled(image, needs_multiple_of_8, scale=2, tile=40, overlap=8, stride=8)
    assert out.shape == (140, 186, 3)


def test_tile_for_budget_grows_with_memory():
    small = tile_for_budget(64 << 20, 4096, stride=8)
    large = tile_for_budget(1 << 30, 4096, stride=8)
    assert small % 8 == 0 and large % 8 == 0 and large > small >= 64
