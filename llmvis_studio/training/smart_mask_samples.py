"""Test photos with known answers for the smart masks (training photos only, never the benchmark sets).

Subjects: a single-subject BSDS500 training photo (an eagle on a plain sky) whose reference mask is built by
a method independent of U²-Net (a smooth sky colour model; looked at), and the same subject composited at
larger sizes onto strongly blurred Kodak photos, where the reference is exactly the compositing mask.
(GrabCut references were tried for other subjects and rejected: worse than the network on sight.)
Text: captions and date stamps rendered onto Wikimedia training photos;
the reference is the text layer's own coverage, and the clean photo is kept for the hole PSNR.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from llmvis_studio.core.metrics import hole_psnr

PHOTOS = Path(os.environ.get("LLMVIS_TRAINING_PHOTOS", "/work/shared/training/photos"))


@dataclass(frozen=True)
class SubjectSample:
    name: str
    image: np.ndarray  # H×W×3 uint8 RGB
    reference: np.ndarray  # H×W bool


@dataclass(frozen=True)
class TextSample:
    name: str
    image: np.ndarray  # H×W×3 uint8 RGB with text
    clean: np.ndarray  # the same photo without text
    coverage: np.ndarray  # H×W float32 0..1: how much of each pixel is text


def available() -> bool:
    return (PHOTOS / "bsds500" / "train-135069.jpg").is_file() and (PHOTOS / "wikimedia" / "001.png").is_file()


def _read(path: Path) -> np.ndarray:
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    return np.ascontiguousarray(image[..., ::-1])


def sky_reference(image: np.ndarray, tolerance: float = 30.0) -> np.ndarray:
    """Subject = pixels far from a quadratic colour field fitted (robustly) to the sky."""
    height, width = image.shape[:2]
    yy, xx = np.mgrid[:height, :width].astype(np.float32)
    x, y = (xx / width).ravel(), (yy / height).ravel()
    design = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1)
    colours = image.reshape(-1, 3).astype(np.float32)
    keep = np.ones(len(colours), bool)
    for _ in range(4):
        coef, *_ = np.linalg.lstsq(design[keep], colours[keep], rcond=None)
        distance = np.linalg.norm(colours - design @ coef, axis=1)
        keep = distance < 12.0
    mask = (distance.reshape(height, width) > tolerance).astype(np.uint8)
    return _drop_specks(mask, 50)


def _drop_specks(mask: np.ndarray, min_area: int) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    keep = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= min_area]
    return np.isin(labels, keep)


def composite(
    subject: SubjectSample, background: np.ndarray, scale: float, at: tuple[float, float], name: str
) -> SubjectSample:
    """The subject (its reference as a 1-px soft alpha) pasted, scaled, onto a blurred background."""
    image = cv2.resize(subject.image, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    alpha = cv2.resize(subject.reference.astype(np.float32), None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR)
    height, width = background.shape[:2]
    canvas = cv2.GaussianBlur(background, (0, 0), 40).astype(np.float32)  # no rival subject left in it
    top = int(at[1] * (height - image.shape[0]))
    left = int(at[0] * (width - image.shape[1]))
    region = (slice(top, top + image.shape[0]), slice(left, left + image.shape[1]))
    canvas[region] = canvas[region] * (1 - alpha[..., None]) + image * alpha[..., None]
    reference = np.zeros((height, width), bool)
    reference[region] = alpha >= 0.5
    return SubjectSample(name, np.clip(np.rint(canvas), 0, 255).astype(np.uint8), reference)


def subject_samples() -> list[SubjectSample]:
    """The eagle on a plain sky, and the same eagle pasted larger onto two strongly blurred photos (a studio
    backdrop or portrait-mode look), one of them mirrored. BSDS frames carry a dark 1–2 px border: cropped."""
    eagle_image = np.ascontiguousarray(_read(PHOTOS / "bsds500" / "train-135069.jpg")[4:-4, 4:-4])
    eagle = SubjectSample("eagle-sky", eagle_image, sky_reference(eagle_image))
    mirrored = SubjectSample(
        "eagle-mirrored", np.ascontiguousarray(eagle.image[:, ::-1]), np.ascontiguousarray(eagle.reference[:, ::-1])
    )
    backdrops = [
        cv2.resize(_read(PHOTOS / "kodak24" / name), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        for name in ("kodim14.png", "kodim23.png")
    ]  # 1536×1024
    return [
        eagle,
        composite(eagle, backdrops[0], 2.5, (0.5, 0.4), "eagle-on-blur"),
        composite(mirrored, backdrops[1], 1.8, (0.2, 0.8), "eagle-mirrored-on-blur"),
    ]


# ---------------------------------------------------------------- text


def _pil_text(shape: tuple[int, int], text: str, at: tuple[int, int], size: int) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    layer = Image.new("L", (shape[1], shape[0]), 0)
    ImageDraw.Draw(layer).text(at, text, font=ImageFont.load_default(size=size), fill=255)
    return np.asarray(layer, dtype=np.float32) / 255.0


def _cv_text(
    shape: tuple[int, int],
    text: str,
    at: tuple[int, int],
    scale: float,
    thickness: int,
    font: int = cv2.FONT_HERSHEY_SIMPLEX,
) -> np.ndarray:
    layer = np.zeros(shape, np.uint8)
    cv2.putText(layer, text, at, font, scale, 255, thickness, cv2.LINE_AA)
    return layer.astype(np.float32) / 255.0


def render_text(clean: np.ndarray, layers: list[tuple[np.ndarray, tuple[int, int, int]]], name: str) -> TextSample:
    out = clean.astype(np.float32)
    coverage = np.zeros(clean.shape[:2], np.float32)
    for alpha, colour in layers:
        out = out * (1 - alpha[..., None]) + np.asarray(colour, np.float32) * alpha[..., None]
        coverage = np.maximum(coverage, alpha)
    return TextSample(name, np.clip(np.rint(out), 0, 255).astype(np.uint8), clean, coverage)


def text_samples(scale: Optional[float] = None) -> list[TextSample]:
    """A caption + an orange date stamp, a white date stamp with a dark caption, a yellow watermark line."""
    wiki = PHOTOS / "wikimedia"
    samples = []
    tiger = _read(wiki / "001.png")
    h, w = tiger.shape[:2]
    samples.append(
        render_text(
            tiger,
            [
                (_pil_text((h, w), "Summer holiday at the lake, 1998", (40, h - 90), 34), (255, 255, 255)),
                (_cv_text((h, w), "'98 7 14", (w - 260, h - 40), 1.3, 3), (255, 140, 30)),
            ],
            "caption+datestamp",
        )
    )
    city = _read(wiki / "020.png")
    h, w = city.shape[:2]
    samples.append(
        render_text(
            city,
            [
                (
                    _cv_text((h, w), "2004.08.21 15:42", (w - 420, h - 36), 1.2, 2, cv2.FONT_HERSHEY_DUPLEX),
                    (250, 250, 235),
                ),
                (_pil_text((h, w), "Grandma's house", (30, 30), 44), (20, 20, 30)),
            ],
            "datestamp+dark-caption",
        )
    )
    third = _read(wiki / "013.png")
    h, w = third.shape[:2]
    samples.append(
        render_text(
            third, [(_pil_text((h, w), "(c) Family archive", (w // 2 - 180, h // 2), 40), (255, 230, 60))], "watermark"
        )
    )
    return samples


# ---------------------------------------------------------------- measurements (engine, CPU)


def iou(mask: np.ndarray, reference: np.ndarray) -> float:
    union = np.logical_or(mask, reference).sum()
    return float(np.logical_and(mask, reference).sum() / union) if union else 1.0


def text_scores(mask: np.ndarray, coverage: np.ndarray, tolerance: int = 1) -> dict[str, float]:
    """Recall of the text pixels (coverage ≥ 0.5) within `tolerance` px of the mask; marked area / text area."""
    text = coverage >= 0.5
    near = cv2.dilate(mask.astype(np.uint8), np.ones((2 * tolerance + 1,) * 2, np.uint8)) > 0
    recall = float(np.logical_and(text, near).sum() / max(1, text.sum()))
    return {"recall": recall, "area_ratio": float(mask.sum() / max(1, text.sum()))}


def true_text_hole(sample: TextSample) -> np.ndarray:
    """Every pixel the text touched, plus one: where a fill is judged."""
    return cv2.dilate((sample.coverage > 0).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0


def measure_subject(models: Optional[Path] = None) -> dict:
    from llmvis_studio.catalog import load_catalog
    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.engine import Engine

    engine = Engine(load_catalog(models) if models else None, threads=2)
    scores = {}
    for sample in subject_samples():
        result = engine.run(EditRequest("select-subject", sample.image, device="cpu"))
        scores[sample.name] = round(iou(result.image[..., 0] >= 128, sample.reference), 4)
    return {
        "subject_iou": scores,
        "subject_iou_min": min(scores.values()),
        "subject_reference": "BSDS500 train-135069 eagle (sky model) + composites on blurred kodim14/23",
    }


def measure_text(models: Optional[Path] = None) -> dict:
    from llmvis_studio.catalog import load_catalog
    from llmvis_studio.core.requests import EditRequest
    from llmvis_studio.engine import Engine

    engine = Engine(load_catalog(models) if models else None, threads=2)
    recall, ratio = {}, {}
    psnr: dict[str, dict[str, float]] = {"ours": {}, "ns_same": {}, "ns_exact": {}}
    for sample in text_samples():
        mask = engine.run(EditRequest("detect-text", sample.image, device="cpu")).image[..., 0]
        scores = text_scores(mask > 0, sample.coverage)
        recall[sample.name], ratio[sample.name] = round(scores["recall"], 4), round(scores["area_ratio"], 3)
        hole = true_text_hole(sample)
        fills = {
            "ours": (mask, None),
            "ns_same": (mask, "opencv-ns"),
            "ns_exact": (np.where(hole, 255, 0).astype(np.uint8), "opencv-ns"),
        }
        for key, (fill_mask, model) in fills.items():
            filled = engine.run(EditRequest("inpaint", sample.image, mask=fill_mask, model_id=model)).image
            psnr[key][sample.name] = round(float(hole_psnr(filled, sample.clean, hole)), 2)
    return {
        "text_recall_1px": recall,
        "text_area_ratio": ratio,
        "text_hole_psnr_default_inpaint": psnr["ours"],
        "text_hole_psnr_ns_same_mask": psnr["ns_same"],
        "text_hole_psnr_ns_exact_text_mask": psnr["ns_exact"],
        "text_reference": "captions/date stamps rendered on Wikimedia training photos 001, 020, 013",
    }
