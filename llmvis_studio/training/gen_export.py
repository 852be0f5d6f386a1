"""ONNX export of a GAN / VAE training run: the EMA sampler to generator.onnx, its manifest entry (model.json) and
registration in the user's models folder."""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

from llmvis_studio.core.errors import InputError, ModelError
from llmvis_studio.training.archs.gan import (
    ExportWrapper,
    Generator,
    count_parameters,
)
from llmvis_studio.training.gen_core import (
    CHECKPOINT,
    MODEL_JSON,
    ONNX_NAME,
    QUALITY_SAMPLES,
    GenConfig,
    RunLog,
    load_checkpoint,
    standing_stats,
)
from llmvis_studio.training.gen_pictures import measure_quality
from llmvis_studio.training.image_folder import ImageFolder

# ---------------------------------------------------------------- export


def export_onnx(sampler: Generator, path: Path) -> None:
    from llmvis_studio.training import export

    example = (torch.randn(2, sampler.z_dim), torch.randn(2, sampler.c_dim))
    export.export_onnx(
        ExportWrapper(sampler),
        path,
        example,
        ["z", "c"],
        ["image"],
        {"z": {0: "batch"}, "c": {0: "batch"}, "image": {0: "batch"}},
    )


def onnx_matches(sampler: Generator, path: Path) -> float:
    """Max |ONNX − torch| on a small batch, run through the engine's session code."""
    from llmvis_studio.engine.session import SessionCache

    gen = torch.Generator(device="cpu").manual_seed(3)
    z, c = torch.randn(3, sampler.z_dim, generator=gen), torch.randn(3, sampler.c_dim, generator=gen)
    with torch.no_grad():
        ref = ExportWrapper(sampler).eval()(z, c).numpy()
    session = SessionCache(threads=1).get(path, "cpu").session
    got = session.run(["image"], {"z": z.numpy(), "c": c.numpy()})[0]
    return float(np.abs(got - ref).max())


def generator_io(z_dim: int, c_dim: int) -> dict[str, Any]:
    """The manifest's inputs/outputs of a text-conditioned generator: noise z and a class/text embedding c in."""
    z = {"name": "z", "layout": "NC", "dtype": "float32", "range": [-4, 4], "channels": f"{z_dim}-d N(0,1)"}
    c = {"name": "c", "layout": "NC", "dtype": "float32", "range": [-1, 1], "channels": f"{c_dim}-d text embedding"}
    image = {"name": "image", "layout": "NCHW", "dtype": "float32", "range": [0, 1], "channels": "RGB"}
    return {"inputs": [z, c], "outputs": [image]}


def manifest_entry(
    cfg: GenConfig, state: dict, onnx_path: Path, quality: dict, max_abs: float, vectors: np.ndarray
) -> dict[str, Any]:
    from llmvis_studio.training.manifest_tools import sha256_of

    summary = state["summary"]
    counts = summary.get("counts", {})
    g_cfg = state["generator_config"]
    from llmvis_studio.engine.conditioning import pack_vector

    classes = [
        {"name": name, "images": int(counts.get(name, 0)), "embedding": pack_vector(vectors[i])}
        for i, name in enumerate(state["classes"])
    ]
    names = ", ".join(state["classes"])
    return {
        "id": cfg.model_id,
        "name": f"{cfg.kind.upper()} {cfg.size}px: {names}"[:80],
        "task": "generate",
        "file": onnx_path.name,
        "sha256": sha256_of(onnx_path),
        **generator_io(int(g_cfg["z_dim"]), int(g_cfg["c_dim"])),
        "scale": 1,
        "stride": 1,
        "tile": {"supported": False},
        "kind": cfg.kind,
        "image_size": int(g_cfg["size"]),
        "z_dim": int(g_cfg["z_dim"]),
        "c_dim": int(g_cfg["c_dim"]),
        "parameters": None,
        "embedder": state["embedder"],
        "classes": classes,
        "training_data": {
            k: summary.get(k) for k in ("root", "images", "counts", "skipped", "skipped_files", "converted", "notes")
        },
        "licence": cfg.extra.get("licence", "the training images' licence (user data)"),
        "source": cfg.extra.get("source", f"trained here (llmvis-studio train {cfg.kind}, {int(state['step'])} steps)"),
        "reproduce": cfg.command
        or f"llmvis-studio train {cfg.kind} --data {shlex.quote(cfg.data)} "
        f"--out {shlex.quote(cfg.out)} --size {cfg.size} --steps {cfg.steps}",
        "metrics": {
            "steps": int(state["step"]),
            "train_minutes": round(float(state["elapsed"]) / 60.0, 2),
            "onnx_vs_torch_max_abs": float(f"{max_abs:.3g}"),
            **quality,
            "quality_protocol": f"{QUALITY_SAMPLES} samples vs 128 training crops, per-pixel RMS distances",
            "measured_on": time.strftime("%Y-%m-%d") + " CPU",
        },
    }


def export_run(
    run_dir: str | Path, register: bool = True, echo: bool = True, data: Optional[ImageFolder] = None
) -> dict[str, Any]:
    """RUN_DIR/checkpoint.pt → generator.onnx + model.json (+ the user's models folder)."""
    run_dir = Path(run_dir)
    checkpoint = run_dir / CHECKPOINT
    if not checkpoint.is_file():
        raise InputError(f"{run_dir} has no {CHECKPOINT}: train first (llmvis-studio train gan --out {run_dir}).")
    log = RunLog(run_dir / "train.log", echo)
    state = load_checkpoint(checkpoint)
    cfg = GenConfig(**state["config"])
    g_cfg = state["generator_config"]
    generator = Generator(**g_cfg)
    generator.load_state_dict(state["generator_ema"] if "generator_ema" in state else state["generator"])
    vectors = state["class_vectors"].float()
    sampler = standing_stats(generator, vectors) if "generator_ema" in state else generator.eval()
    onnx_path = run_dir / ONNX_NAME
    export_onnx(sampler, onnx_path)
    max_abs = onnx_matches(sampler, onnx_path)
    if max_abs > 1e-3:
        raise ModelError(f"The exported ONNX differs from the torch model by {max_abs:.2g}; not registered.")
    quality: dict[str, float] = {}
    try:
        data = data or ImageFolder(cfg.data, int(g_cfg["size"]))
        quality = measure_quality(sampler, vectors, data)
    except InputError as exc:  # the data moved since training: export anyway, without the statistics
        log(f"quality statistics skipped: {exc.user_message}")
    entry = manifest_entry(cfg, state, onnx_path, quality, max_abs, vectors.numpy())
    entry["parameters"] = count_parameters(generator)
    (run_dir / (MODEL_JSON + ".tmp")).write_text(json.dumps(entry, indent=2), encoding="utf-8")
    os.replace(run_dir / (MODEL_JSON + ".tmp"), run_dir / MODEL_JSON)  # one manifest entry, written atomically
    log(
        f"exported {onnx_path.name} ({onnx_path.stat().st_size / 1e6:.1f} MB, ONNX vs torch {max_abs:.1e}); "
        f"quality {json.dumps(quality)}"
    )
    registered = None
    if register:
        registered = register_model(entry, run_dir)
        log(f"registered '{entry['id']}' in {registered}")
    return {
        "onnx": str(onnx_path),
        "model_json": str(run_dir / MODEL_JSON),
        "model_id": entry["id"],
        "quality": quality,
        "onnx_max_abs": max_abs,
        "registered": str(registered) if registered else None,
    }


def register_model(entry: dict, run_dir: Path) -> Path:
    """Add the entry to the user's models manifest (file as an absolute path into the run folder)."""
    from llmvis_studio.paths import user_models_dir
    from llmvis_studio.training.manifest_tools import upsert_entry

    manifest = user_models_dir() / "manifest.json"
    upsert_entry(manifest, {**entry, "file": str((run_dir / entry["file"]).resolve())})
    return manifest
