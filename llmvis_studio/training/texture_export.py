"""What a texture-gan run exports: its manifest entry (task `generate`, kind `texture-gan`) and the install
into a models folder. Split from training/texture_gan.py, which holds the training loop.

    python -m llmvis_studio.training.texture_export --data runs/texture-data --run RUN   # add class grains/colours
    python -m llmvis_studio.training.texture_export --data DATA --manifest models/manifest.json --id texture-gan

Both forms record each class's grain and typical colour (texture_looks) and its octave ratios (texture_octaves)
in an entry exported before they were measured, from the data the model was trained on."""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from llmvis_studio.engine.ops.texture_looks import colour, energy
from llmvis_studio.engine.ops.texture_octaves import band_ratios
from llmvis_studio.training.archs.texture_gan import DOWNSAMPLE, TextureGenerator, count_parameters

if TYPE_CHECKING:
    from llmvis_studio.training.texture_data import TextureSet

KIND = "texture-gan"
GRAIN_CROPS = 256  # real crops per class for its typical grain (the class's sources differ up to 100× in detail)


def class_statistics(data: TextureSet, size: int, seed: int = 0) -> tuple[list[float], list[list[float]]]:
    """Per class, from GRAIN_CROPS random real training crops at the working scale (drawn as training draws
    them): (the log of their mean squared-Laplacian energy, texture_looks.energy: the grain a fill of the
    class ranks its looks around; the mean of their mean L*a*b*, texture_looks.colour: the class's typical
    colour, which keeps a dry brown lawn or dark brownish water, one source among several, from being a
    fill's first look)."""
    rng = np.random.default_rng(seed)
    grains, colours = [], []
    for k in range(len(data.names)):
        crops = [c.astype(np.float32) / 255.0 for c in data.crops(rng, np.full(GRAIN_CROPS, k), size, augment=False)]
        grains.append(round(float(np.log(np.mean([energy(c) for c in crops]) + 1e-3)), 3))
        colours.append([round(float(v), 2) for v in np.mean([colour(c) for c in crops], axis=0)])
    return grains, colours


def class_octave_ratios(data: TextureSet) -> list[list[Optional[float]]]:
    """Per class, its training images' coarse luminance band energies relative to the finest
    (texture_octaves.band_ratios, whole images at the working scale: the 64 px crops the generator learned
    from cannot hold the σ 24-48 px bands): how much large-scale light and shade its fills get."""
    return [band_ratios([im.astype(np.float32) / 255.0 for im in images]) for images in data.images]


def class_grains(data: TextureSet, size: int, seed: int = 0) -> list[float]:
    """Per class, its typical grain (class_statistics)."""
    return class_statistics(data, size, seed)[0]


def generator_io(g: TextureGenerator) -> dict:
    """The manifest's inputs/outputs: a coarse structure field z, per-pixel grain and the prompt's embedding c in."""
    field = {"layout": "NCHW", "dtype": "float32", "range": [-4, 4]}
    z = {
        "name": "z",
        **field,
        "channels": f"{g.z_channels}-channel N(0,1) structure field, 1/{DOWNSAMPLE} of the output size",
    }
    noise = {
        "name": "noise",
        **field,
        "channels": f"{TextureGenerator.NOISE_MAPS}-channel N(0,1) grain, the output size",
    }
    c = {"name": "c", "layout": "NC", "dtype": "float32", "range": [-1, 1], "channels": f"{g.c_dim}-d text embedding"}
    image = {"name": "image", "layout": "NCHW", "dtype": "float32", "range": [0, 1], "channels": "RGB"}
    return {"inputs": [z, noise, c], "outputs": [image]}


def manifest_entry(trainer: Any, onnx_path: Path, max_abs: float) -> dict:
    """`trainer`: the texture_gan.Trainer that ran (not imported here: texture_gan imports this module)."""
    from llmvis_studio.engine.conditioning import pack_vector
    from llmvis_studio.training.manifest_tools import sha256_of

    cfg, g = trainer.cfg, trainer.ema
    bundled = (Path(cfg.data) / "sources.json").is_file()
    bsds = bundled and "BSDS500" in (Path(cfg.data) / "sources.json").read_text(encoding="utf-8")
    modes = trainer.conditions()
    grains, colours = class_statistics(trainer.data, cfg.crop)
    octaves = class_octave_ratios(trainer.data)
    classes = [
        {
            "name": name,
            "images": len(trainer.data.images[i]),
            "embedding": pack_vector(trainer.vectors[i].numpy()),
            "modes": [pack_vector((m - trainer.vectors[i]).numpy()) for m in modes[i]],
            "grain": grains[i],
            "colour": colours[i],
            "octave_ratios": octaves[i],
        }
        for i, name in enumerate(trainer.data.names)
    ]
    return {
        "id": cfg.model_id,
        "name": f"Texture generator ({len(classes)} classes, any size)",
        "task": "generate",
        "file": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        **generator_io(g),
        "scale": 1,
        "stride": DOWNSAMPLE,
        "tile": {"supported": False},
        "kind": KIND,
        "downsample": DOWNSAMPLE,
        "z_channels": g.z_channels,
        "noise_channels": g.NOISE_MAPS,
        "c_dim": g.c_dim,
        "generator_config": g.config(),
        "train_crop": cfg.crop,
        "parameters": count_parameters(g),
        "embedder": trainer.embedder,
        "classes": classes,
        "licence": (
            "CC-BY-SA-4.0 (trained on CC-BY-SA-3.0/4.0, CC0, GPL-3+ and CC-BY photo sources"
            + (", and BSDS500 research photos: check their terms before a commercial release" if bsds else "")
            + ": see models/cards/texture-gan.md)"
        )
        if bundled
        else "the training images' licence (user data)",
        "source": f"trained here (llmvis_studio.training.texture_gan, {trainer.step} steps)",
        "reproduce": cfg.command or "python -m llmvis_studio.training.texture_gan --data DATA --out RUN",
        "resumed_from": trainer.earlier,
        "metrics": {
            "steps": trainer.step,
            "train_minutes": round(trainer.elapsed / 60.0, 2),
            "onnx_vs_torch_max_abs": float(f"{max_abs:.3g}"),
            "measured_on": time.strftime("%Y-%m-%d") + " CPU",
        },
    }


def install(run: Path, models: Path) -> Path:
    """Copy RUN's export into MODELS as texture-gan.onnx and upsert its manifest entry."""
    from llmvis_studio.training.manifest_tools import upsert_entry

    entry = json.loads((run / "model.json").read_text(encoding="utf-8"))
    target = models / f"{entry['id']}.onnx"
    shutil.copyfile(run / "generator.onnx", target)
    entry.update(file=target.name, default=True)
    upsert_entry(models / "manifest.json", entry)
    manifest = json.loads((models / "manifest.json").read_text(encoding="utf-8"))
    for other in manifest["models"]:  # the texture model replaces the 32 px demo as the generate default
        if other.get("task") == "generate" and other["id"] != entry["id"] and other.get("default"):
            upsert_entry(models / "manifest.json", {**other, "default": False})
    return target


def with_class_grains(entry: dict, data: TextureSet) -> dict:
    """The entry with each class's grain, colour and octave ratios measured on `data` (its classes must be the entry's, in
    order)."""
    if [c["name"] for c in entry["classes"]] != data.names:
        raise ValueError("the data's classes are not the model's: measure the grains on the data it trained on")
    grains, colours = class_statistics(data, int(entry.get("train_crop", 64)))
    octaves = class_octave_ratios(data)
    classes = [
        {**c, "grain": g, "colour": lab, "octave_ratios": o}
        for c, g, lab, o in zip(entry["classes"], grains, colours, octaves)
    ]
    return {**entry, "classes": classes}


def main(argv: Optional[list[str]] = None) -> int:
    from llmvis_studio.training.manifest_tools import upsert_entry
    from llmvis_studio.training.texture_data import TextureSet

    parser = argparse.ArgumentParser(
        description="Record each class's grain and colour in a texture-gan manifest entry."
    )
    parser.add_argument("--data", required=True, type=Path, help="the texture_data cache the model trained on")
    parser.add_argument("--run", type=Path, help="a run folder: its model.json is updated")
    parser.add_argument("--manifest", type=Path, help="a models manifest.json (with --id)")
    parser.add_argument("--id", default="texture-gan")
    args = parser.parse_args(argv)
    if bool(args.run) == bool(args.manifest):
        parser.error("give --run or --manifest")
    data = TextureSet.load(args.data)
    path = args.run / "model.json" if args.run else args.manifest
    if not path.is_file():
        parser.error(f"{path} does not exist")
    found = json.loads(path.read_text(encoding="utf-8"))
    entry = found if args.run else next((m for m in found["models"] if m.get("id") == args.id), None)
    if entry is None:
        parser.error(f"{path} has no entry '{args.id}'")
    try:
        entry = with_class_grains(entry, data)
    except ValueError as exc:
        parser.error(str(exc))
    if args.run:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(entry, indent=2), encoding="utf-8")
        tmp.replace(path)
    else:
        upsert_entry(path, entry)
    print(
        ", ".join(f"{c['name']} {c['grain']} Lab {c['colour']} octaves {c['octave_ratios']}" for c in entry["classes"])
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
