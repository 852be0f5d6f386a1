"""Print-damage detection and restore with the shipped detector (models/damage-detector.onnx): sensitivity,
mask sizing, tone-keeping fill, clean photos left alone, and bad input through the CLI (never a traceback)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from llmvis_studio.catalog import ModelSpec
from llmvis_studio.core.errors import InputError
from llmvis_studio.core.mask import NETWORK_DENSITY, WIDE_CONFIDENT, damage_mask, drop_specks, with_wide_damage
from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine import Engine
from llmvis_studio.engine.ops import detect_scratches, restore
from llmvis_studio.files import load_image, save_image
from llmvis_studio.training import print_damage
from tests.engine.test_cli import cli
from tests.helpers import fake_spec

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
MODELS = ROOT / "models"
DETECTOR = "damage-detector"


def spec(**extra) -> ModelSpec:
    return fake_spec("d", "detect-scratches", extra=extra)


@pytest.fixture(scope="module")
def engine():
    return Engine(threads=2)


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    img, _ = load_image(ROOT / "resources" / "sample.png")
    return np.ascontiguousarray(img[128:384, 128:384, :3])


def sepia(img: np.ndarray) -> np.ndarray:
    grey = img.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32) / 255
    tone = np.array([0.12, 0.07, 0.03], np.float32) + grey[..., None] * np.array([0.86, 0.83, 0.75], np.float32)
    return np.round(tone * 255).astype(np.uint8)


def cracked(img: np.ndarray, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Light crack network drawn into a uint8 image: (damaged uint8, reference mask)."""
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    alpha = np.zeros((h, w), np.float32)
    while (alpha > 0.35).mean() < 0.03:  # the generator may crack only part of the crop: add networks
        skeleton = (print_damage.voronoi_cracks(rng, h, w) > 0.3).astype(np.float32)
        alpha = np.maximum(alpha, print_damage.widen(rng, skeleton, 1.5, 3.0))
    paper = np.array([0.93, 0.9, 0.82], np.float32)
    out = img.astype(np.float32) / 255 * (1 - alpha[..., None]) + paper * alpha[..., None]
    return np.round(out * 255).astype(np.uint8), (alpha > 0.35).astype(np.uint8) * 255


# ---------------------------------------------------------------------------------------------------------------
# pure functions


def test_sensitivity_is_one_minus_threshold_on_a_calibrated_model_and_monotonic_otherwise():
    assert detect_scratches.threshold_for_sensitivity(0.5, spec(calibrated=True)) == pytest.approx(0.5)
    assert detect_scratches.threshold_for_sensitivity(0.8, spec(calibrated=True)) == pytest.approx(0.2)
    old = spec(threshold=0.999)
    ts = [detect_scratches.threshold_for_sensitivity(s, old) for s in (0.1, 0.5, 0.9)]
    assert ts[1] == pytest.approx(0.999) and ts[0] > ts[1] > ts[2]


def test_bad_sensitivity_and_empty_image_are_input_errors(engine):
    with pytest.raises(InputError, match="sensitivity"):
        engine.run(EditRequest.build("detect-scratches", np.zeros((8, 8, 3), np.uint8), params={"sensitivity": 2}))
    with pytest.raises(InputError, match="empty"):
        engine.run(EditRequest.build("detect-scratches", np.zeros((0, 0, 3), np.uint8)))


def test_mask_grows_only_into_likely_damage():
    prob = np.zeros((20, 20), np.float32)
    prob[10, 2:18] = 0.9
    prob[9, 2:18] = 0.3  # soft edge: above half the threshold
    prob[8, 2:18] = 0.1  # background
    mask = detect_scratches.mask_from_probability(prob, 0.5)
    grown = restore.size_to_damage(mask, prob, 0.5, grow=0)
    assert grown[9, 5] and grown[10, 5] and not grown[8, 5]


def test_specks_below_the_minimum_size_are_dropped_and_real_marks_kept():
    mask = np.zeros((40, 40), np.uint8)
    mask[5, 5] = mask[5, 6] = 255  # a 2-px speck of grain: dropped
    mask[20, 3:30] = 255  # a 27-px scratch: kept
    mask[30:33, 30:33] = 255  # a 9-px dust speck: kept
    out = drop_specks(mask)
    assert out[5, 5] == 0 and out[20, 3:30].all() and out[30:33, 30:33].all()
    assert np.count_nonzero(out) == 27 + 9
    assert not drop_specks(np.zeros((3, 3), np.uint8)).any()


def test_fill_keeps_a_sepia_print_in_its_tone_and_copies_the_outside(sample):
    print_ = sepia(sample)
    hole = np.zeros(print_.shape[:2], np.uint8)
    cv2.line(hole, (10, 20), (240, 200), 255, 5)
    garish = print_.copy()
    garish[hole > 0] = (40, 90, 250)  # a fill that paints blue
    out = restore.keep_tone(print_, garish, hole)
    assert np.array_equal(out[hole == 0], print_[hole == 0])
    ycc = lambda a: cv2.cvtColor(a, cv2.COLOR_RGB2YCrCb).astype(np.float32)  # noqa: E731
    chroma_error = np.abs(ycc(out)[hole > 0][:, 1:] - ycc(print_)[hole > 0][:, 1:]).max()
    assert chroma_error <= 4  # the sepia toning of the neighbours, not blue


def test_fill_on_a_grey_image_stays_exactly_grey(sample):
    grey = np.repeat(sample[..., :1], 3, axis=2)
    hole = np.zeros(grey.shape[:2], np.uint8)
    hole[100:110, :] = 255
    coloured = grey.copy()
    coloured[hole > 0] = (200, 30, 30)
    out = restore.keep_tone(grey, coloured, hole)
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])


def crack_map(side: int = 100) -> np.ndarray:
    """A probability map with one crack: a confident stretch, a faint stretch touching it, and a faint line apart."""
    prob = np.zeros((side, side), np.float32)
    prob[50, 10:40] = 0.9  # confident
    prob[50, 40:80] = 0.2  # the same crack, faint: joins it on a damaged print
    prob[70, 10:80] = 0.2  # faint and on its own (a grass stem, a mortar line): never joins
    return prob


def with_confident_share(prob: np.ndarray, share: float) -> np.ndarray:
    """The map with extra confident marks in its top rows, so that `share` of the picture is confidently marked."""
    out = prob.copy()
    rows = int(round(share * out.size / out.shape[1])) - int(np.count_nonzero(out > 0.5) > 0)
    out[: max(rows, 0), :] = 0.95
    return out


def test_a_crack_joins_its_faint_stretches_only_on_an_evidently_damaged_print():
    sparse = crack_map()  # 30 confident pixels of 10 000: a clean-looking photo keeps the plain threshold
    mask = damage_mask(sparse, 0.5)
    assert mask[50, 10:40].all() and not mask[50, 40:80].any() and not mask[70].any()
    dense = with_confident_share(crack_map(), NETWORK_DENSITY[1] + 0.01)  # a damaged print: full growth
    mask = damage_mask(dense, 0.5)
    assert mask[50, 10:80].all()  # the faint stretch of the crack joins
    assert not mask[70].any()  # the faint line that touches nothing confident does not
    assert not mask[48:53, 80:].any()  # nor the background past the crack's end


def test_growth_ramps_with_the_share_of_confident_marks():
    prob = crack_map()
    prob[50, 40:80] = 0.3  # the faint stretch at 0.6 × the threshold
    start, full = NETWORK_DENSITY
    joined = [bool(damage_mask(with_confident_share(prob, s), 0.5)[50, 60]) for s in (start / 2, start + 0.002, full)]
    assert joined == [False, False, True]  # barely past the start: the low threshold is still close to 0.5


def test_damage_mask_drops_specks_and_handles_an_empty_map():
    prob = with_confident_share(crack_map(), NETWORK_DENSITY[1])
    prob[90, 90] = 0.9  # one confident pixel: grain
    assert not damage_mask(prob, 0.5)[90, 90]
    assert not damage_mask(np.zeros((4, 4), np.float32), 0.5).any()
    assert not damage_mask(np.zeros((0, 0), np.float32), 0.5).any()


def coarse_map() -> np.ndarray:
    """A 50×50 coarse detector map: a wide confident region, a thin confident line, a wide doubtful region."""
    coarse = np.zeros((50, 50), np.float32)
    coarse[10:40, 30:45] = 0.9  # 15 coarse px = 60 px of the picture: a torn border
    coarse[5, :] = 0.95  # one coarse px wide: a crack, which the fine pass marks
    coarse[44:49, 0:20] = WIDE_CONFIDENT - 0.05  # wide but not confident enough
    return coarse


def test_wide_damage_joins_wide_confident_coarse_regions_only():
    merged = with_wide_damage(np.zeros((200, 200), np.float32), coarse_map(), 1.0)
    assert (merged[52:148, 128:172] > 0.5).all()  # the region's inside, upscaled 4× (the opening rounds corners)
    assert not merged[..., :110].any() and not merged[18:26].any()  # the thin line is not wide damage
    assert not merged[176:, :80].any()  # below WIDE_CONFIDENT


def test_wide_damage_leaves_a_clean_photo_alone_and_follows_the_growth():
    fine = np.random.default_rng(0).random((200, 200)).astype(np.float32) * 0.4
    assert np.array_equal(with_wide_damage(fine.copy(), coarse_map(), 0.0), fine)
    half = with_wide_damage(fine.copy(), coarse_map(), 0.5)  # a lightly damaged print: coarse marks count half
    assert np.allclose(half[100, 150], 0.45, atol=1e-5) and np.array_equal(half[:, :100], fine[:, :100])


# ---------------------------------------------------------------------------------------------------------------
# the shipped detector


def detect(engine, img: np.ndarray) -> np.ndarray:
    req = EditRequest.build("detect-scratches", img, model_id=DETECTOR, params={"sensitivity": 0.5})
    return engine.run(req).image[..., 0] > 0


def near_recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float((cv2.dilate(found.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)[truth > 0].mean())


def test_shipped_detector_finds_most_of_a_light_crack_network_over_dark_print_areas(engine, sample):
    damaged, truth = cracked(sepia(sample))  # the centre crop: cracks mostly over the dark suit and helmet
    found = detect(engine, damaged)
    assert near_recall(found, truth) >= 0.5
    assert found.sum() <= 2.5 * (truth > 0).sum()
    assert (detect(engine, sepia(sample)) > 0).mean() <= 0.02  # the same print undamaged: few marks


def clean_sample_marked(engine) -> float:
    """The larger marked fraction of the bundled photo and of its sepia print (both undamaged)."""
    img, _ = load_image(ROOT / "resources" / "sample.png")
    return max(
        float(detect(engine, np.ascontiguousarray(clean)).mean()) for clean in (img[..., :3], sepia(img[..., :3]))
    )


def test_clean_photos_stay_nearly_unmarked(engine):
    assert clean_sample_marked(engine) <= 0.01


@pytest.mark.xfail(
    strict=True,
    reason="issue 12 bar not met on the bundled sample by detector v2: 0.59 % marked (flyaway hairs against the "
    "backdrop read as hairs on the print, and the image's top rows); 0.27 % on average over the held-out photos",
)
def test_issue_bar_clean_photos_stay_under_half_a_percent(engine):
    assert clean_sample_marked(engine) <= 0.005


def test_issue_bar_cracks_on_light_areas(engine):
    # detector v2 alone found 58 % here; joining the cracks' faint stretches (core.mask.damage_mask) 62 %
    img, _ = load_image(ROOT / "resources" / "sample.png")
    damaged, truth = cracked(np.ascontiguousarray(img[:256, 256:, :3]), seed=7)  # bright sky behind the rocket
    assert near_recall(detect(engine, damaged), truth) >= 0.6


def torn_print(seed: int = 11, flat: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The bundled photo as a cracked sepia print whose right border is torn off 64-80 px deep, showing the paper
    base with a ragged edge: (clean print, damaged, torn-away region). The paper is mottled as the synthesiser
    draws it (print_damage._light_colour), or, with `flat`, one colour with scanner grain."""
    img, _ = load_image(ROOT / "resources" / "sample.png")
    print_ = sepia(np.ascontiguousarray(img[..., :3]))
    damaged, _ = cracked(print_, seed=seed)
    h, w = damaged.shape[:2]
    rng = np.random.default_rng(seed)
    edge = w - 72 + np.cumsum(rng.normal(0, 1.5, h)).clip(-8, 8).astype(int)  # ragged tear line
    torn = np.arange(w)[None, :] >= edge[:, None]
    base = np.array([0.91, 0.88, 0.8], np.float32)
    paper = np.broadcast_to(base, (h, w, 3)) if flat else print_damage._light_colour(rng, base, h, w)
    paper = np.clip(paper * 255 + rng.normal(0, 4, (h, w, 1)), 0, 255)
    damaged[torn] = paper[torn].astype(np.uint8)
    return print_, damaged, torn


def torn_inside(torn: np.ndarray) -> np.ndarray:
    return cv2.erode(torn.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0


def test_the_coarse_pass_marks_inside_a_torn_border_that_the_full_size_pass_sees_only_the_edge_of(engine, monkeypatch):
    _, damaged, torn = torn_print()
    with_coarse = detect(engine, damaged)[torn_inside(torn)].mean()
    monkeypatch.setattr(detect_scratches, "network_growth", lambda marks: 0.0)  # the full-size pass alone
    full_size_only = detect(engine, damaged)[torn_inside(torn)].mean()
    assert with_coarse >= full_size_only + 0.25  # measured 0.52 against 0.19 (the held-out prints: 0.92 / 0.88 recall)


@pytest.mark.xfail(
    strict=True,
    reason="issue 12: the coarse pass marks half of torn-off paper that is mottled as the synthesiser draws it and "
    "little of a flat paper base (29 % of this strip's inside): the detector never learned wide blank regions",
)
def test_a_torn_border_of_flat_paper_is_marked_inside(engine):
    _, damaged, torn = torn_print(flat=True)
    assert detect(engine, damaged)[torn_inside(torn)].mean() >= 0.8


def test_restore_removes_cracks_in_tone_and_says_when_it_found_nothing(engine, sample):
    print_ = sepia(sample)
    damaged, truth = cracked(print_, seed=5)
    out = engine.run(EditRequest.build("restore", damaged, model_id=DETECTOR)).image
    hole = truth > 0
    before = np.abs(damaged.astype(np.float32) - print_)[hole].mean()
    after = np.abs(out.astype(np.float32) - print_)[hole].mean()
    assert after <= 0.4 * before
    ycc = cv2.cvtColor(out, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    ref = cv2.cvtColor(print_, cv2.COLOR_RGB2YCrCb).astype(np.float32)
    assert np.abs(ycc[hole][:, 1:] - ref[hole][:, 1:]).mean() <= 3
    white = np.full((120, 90, 3), 255, np.uint8)
    res = engine.run(EditRequest.build("restore", white, model_id=DETECTOR))
    assert np.array_equal(res.image, white) and any("No damage found" in n for n in res.notes)


# ---------------------------------------------------------------------------------------------------------------
# bad input through the CLI: a clear message or a correct result, never a traceback


def test_cli_empty_file_one_pixel_white_page_and_16_bit_grey_scan(tmp_path, sample):
    (tmp_path / "empty.png").write_bytes(b"")
    proc = cli("restore", tmp_path / "empty.png", tmp_path / "o.png", models=MODELS)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "empty.png" in proc.stderr
    assert not (tmp_path / "o.png").exists()

    save_image(tmp_path / "one.png", np.full((1, 1, 3), 128, np.uint8))
    proc = cli("detect-scratches", tmp_path / "one.png", tmp_path / "one_mask.png", models=MODELS)
    assert proc.returncode == 0, proc.stderr
    assert load_image(tmp_path / "one_mask.png")[0].shape[:2] == (1, 1)

    save_image(tmp_path / "white.png", np.full((300, 200, 3), 255, np.uint8))
    proc = cli("restore", tmp_path / "white.png", tmp_path / "white_out.png", "--sensitivity", "0.5", models=MODELS)
    assert proc.returncode == 0 and "No damage found" in proc.stderr, proc.stderr

    damaged, _ = cracked(np.repeat(sepia(sample)[..., :1], 3, axis=2))
    grey16 = damaged[..., :1].astype(np.uint16) * 257
    cv2.imwrite(str(tmp_path / "scan16.png"), grey16[..., 0])
    proc = cli("restore", tmp_path / "scan16.png", tmp_path / "scan16_out.png", models=MODELS)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    out = cv2.imread(str(tmp_path / "scan16_out.png"), cv2.IMREAD_UNCHANGED)
    assert out.dtype == np.uint16 and out.ndim == 2 and not np.array_equal(out, grey16[..., 0])

    proc = cli("detect-scratches", tmp_path / "white.png", tmp_path / "m.png", "--sensitivity", "1.5", models=MODELS)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr and "sensitivity" in proc.stderr


def test_restore_names_each_device_once():
    assert restore.devices("CPU", "CPU (OpenCV)") == "CPU"
    assert restore.devices("CUDA", "CPU (OpenCV)") == "CUDA+CPU"
    assert restore.devices("CPU", "CUDA") == "CPU+CUDA"
