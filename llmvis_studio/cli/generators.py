"""CLI subcommands for the generators: `train gan|vae`, `export RUN_DIR` (both need the train extra) and
`generate` and `fill` (onnxruntime only).

Training code is reached through importlib on purpose: `llmvis_studio.training` imports torch, which is an
optional extra, and the runtime (GUI, other subcommands) must start without it. The import-linter contract
"nothing outside training imports torch" therefore cannot see this edge; it is the only such edge besides
the same one in __main__.py (the editor's Train dialog).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
from pathlib import Path
from types import ModuleType

from ..core.errors import InputError
from ._run import check_output_path, finish_command, print_notices, record, run_request, save_result

COMMANDS = ("train", "export", "generate", "fill")
TRAIN_EXTRA_MESSAGE = "training needs the train extra: pip install 'llmvis-studio[train]'"


def training_module() -> ModuleType:
    """llmvis_studio.training.cli_train, or a clear error when torch (the train extra) is missing."""
    if importlib.util.find_spec("torch") is None:  # looked up, not imported: this module stays torch-free
        raise InputError(TRAIN_EXTRA_MESSAGE)
    name = "llmvis_studio.training" + ".cli_train"  # dynamic on purpose: see the module docstring
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise InputError(TRAIN_EXTRA_MESSAGE, detail=repr(exc)) from exc


def cmd_train(args: argparse.Namespace) -> int:
    return training_module().train_command(args)


def cmd_export(args: argparse.Namespace) -> int:
    return training_module().export_command(args)


def resolve_generator(model: str | None):
    """(catalog, model id): MODEL may be a catalog id or a training run folder (RUN_DIR/model.json)."""
    from ..catalog import Catalog, load_catalog, load_run_dir

    catalog = load_catalog()
    if model and Path(model).is_dir():
        spec = load_run_dir(Path(model))
        others = tuple(s for s in catalog if s.id != spec.id)  # the folder wins over a registered copy
        return Catalog(others + (spec,)), spec.id
    return catalog, model


def cmd_generate(args: argparse.Namespace) -> int:
    from ..engine import Engine
    from ..files import save_image

    if not 1 <= args.n <= 64:
        raise InputError(f"-n must be 1 to 64, not {args.n}.")
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a folder.")
    catalog, model_id = resolve_generator(args.model)
    engine = Engine(catalog=catalog)
    images, described, provider = engine.generate_images(model_id, args.prompt or "", args.n, args.seed, args.device)
    record(model=model_id or engine.catalog.default_for("generate").id, provider=provider, images=len(images))
    out.mkdir(parents=True, exist_ok=True)
    for index, image in enumerate(images):
        save_image(out / f"{args.prefix}{index:03d}.png", image)
    print(f"{len(images)} images → {out} ({images[0].shape[1]}×{images[0].shape[0]}, {provider}); {described}")
    return 0


def cmd_fill(args: argparse.Namespace) -> int:
    """The editor's Generate into the mask, as one request: text → embedding → generator → blended into MASK
    at full resolution; pixels outside MASK stay bit-identical and the bit depth is kept."""
    from ..core.requests import GENERATE_VARIATIONS, EditRequest, generate_params
    from ..engine import Engine
    from ..files import load_image, load_mask

    if not 1 <= args.variation <= GENERATE_VARIATIONS:
        raise InputError(f"--variation must be 1 to {GENERATE_VARIATIONS}, not {args.variation}.")
    out = Path(args.output)
    check_output_path(out, args.overwrite)
    catalog, model_id = resolve_generator(args.model)
    image, metadata = load_image(args.input)
    print_notices(metadata)
    mask = load_mask(args.mask, expected_shape=image.shape[:2])
    if not mask.any():
        raise InputError(f"{args.mask} has no white pixels: nothing to fill.")
    request = EditRequest(
        op="generate",
        image=image,
        mask=mask,
        model_id=model_id,
        prompt=args.prompt,
        params=generate_params(args.seed, args.variation - 1),
        device=args.device,
    )
    save_result(out, run_request(request, "fill", lambda: Engine(catalog=catalog)), metadata, args.overwrite)
    return 0


def add_texture_training(kinds) -> None:
    """`train texture`: the resolution-free generator (fills a mask of any size at full resolution)."""
    p = kinds.add_parser("texture", help="resolution-free texture generator; sub-folder names are the classes")
    p.add_argument("--data", required=True, help="image folder: one sub-folder per class")
    p.add_argument("--out", required=True, help="run folder (checkpoint, samples, generator.onnx + model.json)")
    p.add_argument("--minutes", type=float, default=20.0, help="wall-clock budget (default 20)")
    p.add_argument("--steps", type=int, default=1_000_000, help="stop earlier after this many steps")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--crop", type=int, default=64, help="training crop, a multiple of 16 (default 64)")
    p.add_argument("--adv", type=float, default=0.0, help="weight of the adversarial term (default 0: statistics only)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy 2-core CPU)")
    p.add_argument("--resume", action="store_true", help="continue from RUN/checkpoint.pt")
    p.add_argument("--id", dest="model_id", default="", help="model id (default: texture-RUNFOLDERNAME)")
    p.add_argument(
        "--no-register",
        dest="no_register",
        action="store_true",
        help="do not add the exported model to the user's models folder",
    )
    p.set_defaults(handler=cmd_train, kind="texture")


def register(sub) -> None:
    _register_train(sub)
    _register_export_generate_fill(sub)


def _add_generator_options(p, kind: str) -> None:
    """The options of `train gan` / `train vae`: data, run folder, budget, network, precision, export."""
    p.add_argument("--data", required=True, help="image folder: one sub-folder per class (or just images)")
    p.add_argument("--out", required=True, help="run folder (checkpoints, samples, loss curves, export)")
    p.add_argument("--size", type=int, default=32, choices=(32, 64, 128))
    p.add_argument("--steps", type=int, default=2000, help="total steps (also the target when resuming)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--resume", action="store_true", help="continue from RUN/checkpoint.pt")
    p.add_argument(
        "--width",
        type=int,
        default=0,
        help="network width: channels at full resolution (default 32 for --size 32, else 64)",
    )
    p.add_argument("--z-dim", dest="z_dim", type=int, default=0, help="noise/latent size (default 128 GAN, 64 VAE)")
    p.add_argument("--lr", type=float, default=0.0, help="learning rate (default 2e-4 GAN, 1e-3 VAE)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: its default)")
    p.add_argument(
        "--checkpoint-every",
        dest="checkpoint_every",
        type=int,
        default=0,
        help="steps between checkpoints and sample grids (default: a tenth of --steps)",
    )
    p.add_argument(
        "--text-embedder",
        dest="text_embedder",
        choices=("auto", "hashed"),
        default="auto",
        help="embed class names with the text encoder if installed (auto) or hashed words",
    )
    p.add_argument("--id", dest="model_id", default="", help="model id (default: KIND-RUNFOLDERNAME)")
    p.add_argument(
        "--precision",
        choices=("auto", "fp32", "bf16"),
        default="auto",
        help="CPU training precision; auto times a few steps both ways and keeps the faster (default)",
    )
    p.add_argument("--bf16", dest="precision", action="store_const", const="bf16", help="same as --precision bf16")
    p.add_argument("--no-bf16", dest="precision", action="store_const", const="fp32", help="same as --precision fp32")
    if kind == "gan":
        p.add_argument(
            "--ms-weight",
            dest="ms_weight",
            type=float,
            default=None,
            help="weight of the mode-seeking term that keeps samples of one class apart (default 0.25)",
        )
    p.add_argument(
        "--no-register",
        dest="no_register",
        action="store_true",
        help="do not add the exported model to the user's models folder",
    )


def _register_train(sub) -> None:
    train = sub.add_parser("train", help="train a generator (GAN or VAE) on an image folder (needs the train extra)")
    kinds = train.add_subparsers(dest="kind", required=True)
    for kind in ("gan", "vae"):
        p = kinds.add_parser(
            kind, help=f"class-conditional {'GAN' if kind == 'gan' else 'VAE'}; sub-folder names are the classes"
        )
        _add_generator_options(p, kind)
        p.set_defaults(handler=cmd_train, kind=kind)
    add_texture_training(kinds)


def _register_export_generate_fill(sub) -> None:
    export = sub.add_parser("export", help="export a training run's generator to ONNX + model.json")
    export.add_argument("run_dir")
    export.add_argument("--no-register", dest="no_register", action="store_true")
    export.set_defaults(handler=cmd_export)

    gen = sub.add_parser("generate", help="write N images from a trained generator and a prompt")
    gen.add_argument("--model", help="model id (see `models list`) or a training run folder; default: the catalog's")
    gen.add_argument("--prompt", default="", help="what to make; matched to the model's classes")
    gen.add_argument("-n", type=int, default=4)
    gen.add_argument("--out", required=True, help="output folder")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--prefix", default="sample_")
    finish_command(gen, cmd_generate)

    fill = sub.add_parser("fill", help="fill the white part of MASK with what --prompt names (the editor's Generate)")
    fill.add_argument("input")
    fill.add_argument("mask", help="PNG, white = fill, same size as the image")
    fill.add_argument("output")
    fill.add_argument("--prompt", required=True, help="what to put there; matched to the generator's classes")
    fill.add_argument(
        "--model", help="generator id (see `models list`) or a training run folder; default: the catalog's"
    )
    fill.add_argument("--seed", type=int, default=0, help="which noise (as the editor's seed box)")
    fill.add_argument("--variation", type=int, default=1, help="which of the 4 samples of that seed (1-4)")
    finish_command(fill, cmd_fill, overwrite=True)
