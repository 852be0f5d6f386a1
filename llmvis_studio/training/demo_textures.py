"""The shipped demo generator `demo-textures-gan`: texture classes cut by hand from offline bundled photos.

    python -m llmvis_studio.training.demo_textures --steps 3600 --width 48 --threads 2 --ms-weight 0.1   # make models-demo-gan

1. Cut the hand-chosen regions below into 40×40 patches (stride 6–10 px, after the listed rescale) into
   runs/demo-textures/data/<class>/*.png. The sources ship inside pip packages (no downloads): scikit-image
   (`skimage.data`), scikit-learn (`load_sample_images`). Benchmark images are never used.
2. Train the conditional GAN (32×32, width 48, batch 32) on them: runs/demo-textures/run.
3. Copy the ONNX to models/demo-textures-gan.onnx, upsert its manifest entry, write models/cards/demo-textures-gan.md
   with the measured quality statistics and a sample grid.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

MODEL_ID = "demo-textures-gan"
PATCH = 40

# class → [(source, (x0, y0, x1, y1) in the source's own pixels, rescale before cutting, stride)]
REGIONS: dict[str, list[tuple[str, tuple[int, int, int, int], float, int]]] = {
    "hazy sky": [("sklearn/china.jpg", (360, 0, 640, 120), 1.0, 8)],
    "night sky": [("skimage/rocket", (215, 0, 435, 115), 1.0, 8)],
    "foliage": [("sklearn/china.jpg", (380, 315, 640, 427), 1.0, 8)],
    "lake water": [("sklearn/china.jpg", (350, 242, 540, 296), 1.0, 6)],
    "cat fur": [("skimage/chelsea", (140, 0, 300, 75), 1.0, 6), ("skimage/chelsea", (20, 170, 200, 290), 1.0, 8)],
    "grass": [("skimage/grass", (0, 0, 512, 512), 0.5, 10)],
    "gravel": [("skimage/gravel", (0, 0, 512, 512), 0.5, 10)],
    "brick wall": [("skimage/brick", (0, 0, 512, 512), 0.3, 6)],
}
SOURCES = {
    "sklearn/china.jpg": (
        "scikit-learn sample image china.jpg (Summer Palace, Beijing), photo by danielbuechele on Flickr",
        "CC-BY-2.0",
    ),
    "skimage/rocket": ("scikit-image data.rocket() (DSCOVR launch, SpaceX)", "public domain (released by SpaceX)"),
    "skimage/chelsea": ("scikit-image data.chelsea() (the cat Chelsea), photo by Stefan van der Walt", "CC0"),
    "skimage/grass": ("scikit-image data.grass() (greyscale)", "CC0"),
    "skimage/gravel": ("scikit-image data.gravel() (greyscale; CC0Textures Gravel04)", "CC0"),
    "skimage/brick": ("scikit-image data.brick() (greyscale; CC0Textures Bricks25)", "CC0"),
}
LICENCE = "CC-BY-2.0 (derived from china.jpg by danielbuechele; the other sources are CC0 / public domain)"


def load_source(name: str) -> np.ndarray:
    kind, item = name.split("/", 1)
    if kind == "skimage":
        import skimage.data

        arr = np.asarray(getattr(skimage.data, item)())
    else:
        from sklearn.datasets import load_sample_images

        bunch = load_sample_images()
        arr = next(img for path, img in zip(bunch.filenames, bunch.images) if Path(path).name == item)
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=2)
    return np.ascontiguousarray(arr[..., :3]).astype(np.uint8)


def build_dataset(folder: Path) -> dict:
    """Write the patches; returns per-class counts and the sources' sha256 (of their decoded pixels)."""
    if folder.exists():
        shutil.rmtree(folder)
    counts, hashes = {}, {}
    cache: dict[str, np.ndarray] = {}
    for name, regions in REGIONS.items():
        out = folder / name
        out.mkdir(parents=True)
        count = 0
        for source, (x0, y0, x1, y1), scale, stride in regions:
            if source not in cache:
                cache[source] = load_source(source)
                hashes[source] = hashlib.sha256(cache[source].tobytes()).hexdigest()
            region = Image.fromarray(cache[source][y0:y1, x0:x1])
            if scale != 1.0:
                region = region.resize(
                    (round(region.width * scale), round(region.height * scale)), Image.Resampling.LANCZOS
                )
            arr = np.asarray(region)
            for y in range(0, arr.shape[0] - PATCH + 1, stride):
                for x in range(0, arr.shape[1] - PATCH + 1, stride):
                    Image.fromarray(arr[y : y + PATCH, x : x + PATCH]).save(out / f"{count:05d}.png")
                    count += 1
        counts[name] = count
    return {"counts": counts, "source_sha256": hashes}


CARD_TEMPLATE = Path(__file__).parent / "card_templates" / f"{MODEL_ID}.md"


class _Measured(dict):
    """Measured values as the card reads them: one that was not measured prints None."""

    def __missing__(self, key: str) -> None:
        return None


def _region_rows(dataset: dict) -> str:
    """The card's data table: each class's regions (source pixels, rescale) and its patch count."""
    return "\n".join(
        f"| {name} | "
        + "; ".join(
            f"{src} x {x0}–{x1}, y {y0}–{y1}" + (f", rescaled ×{s}" if s != 1 else "")
            for src, (x0, y0, x1, y1), s, _ in regions
        )
        + f" | {dataset['counts'][name]} |"
        for name, regions in REGIONS.items()
    )


def _source_lines(dataset: dict) -> str:
    return "\n".join(
        f"- `{k}`: {v[0]} — {v[1]}; pixels sha256 `{dataset['source_sha256'].get(k, '?')[:16]}…`"
        for k, v in SOURCES.items()
    )


def write_card(path: Path, entry: dict, dataset: dict, run_config: dict, grid_name: str, longer: dict) -> None:
    """card_templates/demo-textures-gan.md filled in (the prose lives in the template, the numbers here)."""
    m = entry["metrics"]
    values = {
        "model_id": MODEL_ID,
        "class_count": len(REGIONS),
        "patch": PATCH,
        "licence": LICENCE,
        "grid_name": grid_name,
        "rows": _region_rows(dataset),
        "sources": _source_lines(dataset),
        "mbstd": " with a minibatch-std channel" if run_config.get("mbstd") else "",
        "ms": f", mode-seeking term ×{run_config['ms_weight']}" if run_config.get("ms_weight") else "",
        "reproduce": entry["reproduce"],
        "width": run_config["width"],
        "batch": run_config["batch"],
        "threads": run_config["threads"],
        "steps": m["steps"],
        "train_minutes": m["train_minutes"],
        "embedder_kind": entry["embedder"]["kind"],
        "c_dim": entry["c_dim"],
        "z_dim": entry["z_dim"],
        "parameters": entry["parameters"],
        "onnx_vs_torch_max_abs": m["onnx_vs_torch_max_abs"],
        "measured_on": m["measured_on"],
        "m": _Measured(m),
        "longer": _Measured(longer),
        "raw": _Measured(longer.get("untruncated", {})),
        "real": _Measured(longer.get("real_crops", {})),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(CARD_TEMPLATE.read_text(encoding="utf-8").format(**values), encoding="utf-8")


# z scale when sampling: 0.6 brings class match from 0.58 to 0.63 (real crops: 0.68) while the within-class variety
# stays that of real crops (class diversity ratio 1.0); measured on the training crops, not on benchmark images
TRUNCATION = 0.6


def real_crop_ceiling(data, quality_stats) -> dict:
    """The same statistics for 512 fresh real crops instead of samples: what a perfect generator would score.
    Similar classes (grass / gravel, hazy sky / lake water) keep even real crops' class match well below 1."""
    import numpy as np

    reference, ref_labels = data.batch(np.random.default_rng(1234), 512)  # the crops measure_quality compares to
    real, labels = data.batch(np.random.default_rng(99), 512)
    as_images = lambda a: (a.transpose(0, 2, 3, 1) + 1.0) / 2.0  # noqa: E731
    return quality_stats(as_images(real), as_images(reference), sample_labels=labels, reference_labels=ref_labels)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m llmvis_studio.training.demo_textures")
    p.add_argument("--work", default="runs/demo-textures")
    p.add_argument("--models", default="models")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--width", type=int, default=48)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--ms-weight", dest="ms_weight", type=float, default=0.25, help="mode-seeking term weight")
    p.add_argument(
        "--mbstd",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="minibatch-std channel in the discriminator",
    )
    p.add_argument("--resume", action="store_true")
    p.add_argument("--export-only", action="store_true", help="skip training: export the existing run")
    return p


def prepare_dataset(args: argparse.Namespace, data_dir: Path, run_dir: Path, dataset_json: Path) -> dict:
    """A fresh run cuts the patches again and clears the old run; resume and export-only reuse them."""
    if not args.export_only and not args.resume:
        dataset = build_dataset(data_dir)
        dataset_json.parent.mkdir(parents=True, exist_ok=True)
        dataset_json.write_text(json.dumps(dataset, indent=2))
        if run_dir.exists():
            shutil.rmtree(run_dir)
    dataset = json.loads(dataset_json.read_text())
    print("patches per class:", dataset["counts"], flush=True)
    return dataset


def longer_check(run_dir: Path, data_dir: Path) -> tuple[dict, dict]:
    """The run's checkpoint state and the longer quality check: 512 samples against 512 training crops."""
    from llmvis_studio.training.gen_train import (
        Generator,
        ImageFolder,
        load_checkpoint,
        measure_quality,
        quality_stats,
        standing_stats,
    )

    state = load_checkpoint(run_dir / "checkpoint.pt")
    generator = Generator(**state["generator_config"])
    generator.load_state_dict(state["generator_ema"])
    vectors = state["class_vectors"].float()
    sampler = standing_stats(generator, vectors)
    longer = measure_quality(sampler, vectors, ImageFolder(data_dir, 32), count=512, truncation=TRUNCATION)
    longer.update({"samples": 512, "crops": 512, "truncation": TRUNCATION})
    longer["untruncated"] = measure_quality(sampler, vectors, ImageFolder(data_dir, 32), count=512)
    longer["real_crops"] = real_crop_ceiling(ImageFolder(data_dir, 32), quality_stats)
    return state, longer


def shipped_entry(entry: dict, onnx_target: Path, reproduce: str, longer: dict) -> dict:
    """The run's model.json completed into the manifest entry that ships."""
    from llmvis_studio.training.manifest_tools import sha256_of

    entry.update(
        {
            "id": MODEL_ID,
            "name": "Demo textures (GAN 32 px: sky, foliage, water, fur, grass, gravel, brick)",
            "file": onnx_target.name,
            "sha256": sha256_of(onnx_target),
            "default": False,
            "licence": LICENCE,  # texture-gan is the default generator
            "truncation": TRUNCATION,
            "source": "trained here (llmvis_studio.training.demo_textures; photos from scikit-image and scikit-learn, "
            f"see models/cards/{MODEL_ID}.md)",
            "reproduce": reproduce,
            "training_data": {**entry["training_data"], "root": "runs/demo-textures/data (built by the script)"},
        }
    )
    entry["metrics"]["longer_check_512"] = {k: v for k, v in longer.items()}
    return entry


def main(argv: list[str] | None = None) -> int:
    import torch

    from llmvis_studio.training.gen_train import GenConfig, export_run, run_training
    from llmvis_studio.training.manifest_tools import upsert_entry

    args = parser().parse_args(argv)
    work, models = Path(args.work), Path(args.models)
    data_dir, run_dir = work / "data", work / "run"
    dataset = prepare_dataset(args, data_dir, run_dir, work / "dataset.json")
    reproduce = "make models-demo-gan"
    cfg = GenConfig(
        kind="gan",
        data=str(data_dir),
        out=str(run_dir),
        size=32,
        steps=args.steps,
        batch=args.batch,
        width=args.width,
        threads=args.threads,
        device="cpu",
        resume=args.resume,
        model_id=MODEL_ID,
        ms_weight=args.ms_weight,
        mbstd=args.mbstd,
        register=False,
        export=False,
        command=reproduce,
        extra={"licence": LICENCE, "source": "trained here (llmvis_studio.training.demo_textures)"},
    )
    if not args.export_only:
        from llmvis_studio.training.gen_train import ProgressPrinter

        run_training(cfg, report=ProgressPrinter("demo gan"))
    torch.set_num_threads(args.threads)
    result = export_run(run_dir, register=False)
    entry = json.loads((run_dir / "model.json").read_text())
    state, longer = longer_check(run_dir, data_dir)
    onnx_target = models / f"{MODEL_ID}.onnx"
    shutil.copyfile(result["onnx"], onnx_target)
    grid_name = f"{MODEL_ID}-samples.png"
    last_grid = sorted((run_dir / "samples").glob("step_*.png"))[-1]
    (models / "cards").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(last_grid, models / "cards" / grid_name)
    entry = shipped_entry(entry, onnx_target, reproduce, longer)
    upsert_entry(models / "manifest.json", entry)
    write_card(models / "cards" / f"{MODEL_ID}.md", entry, dataset, state["config"], grid_name, longer)
    print(
        json.dumps(
            {"onnx": str(onnx_target), "bytes": onnx_target.stat().st_size, "metrics": entry["metrics"]}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
