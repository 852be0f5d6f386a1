"""What every subcommand's help shares: the example under `--help` (EXAMPLES, which the README table repeats),
a `--json` flag, and file/folder hints for shell completion, given by one walk over the built parser.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from ..core.errors import StudioError

# Command path → one example command line (shown under `--help`; the README table repeats them).
EXAMPLES: dict[str, str] = {
    "upscale": "llmvis-studio upscale scan.jpg scan_x4.png --scale 4",
    "inpaint": "llmvis-studio inpaint photo.jpg mask.png filled.png",
    "fill": "llmvis-studio fill photo.jpg mask.png filled.png --prompt 'clouds' --seed 3",
    "detect-scratches": "llmvis-studio detect-scratches scan.tif scratches.png --sensitivity 0.6",
    "restore": "llmvis-studio restore scan.tif restored.tif",
    "denoise": "llmvis-studio denoise noisy.jpg clean.png",
    "stylize": "llmvis-studio stylize photo.jpg painted.png --style watercolour --strength 0.8",
    "select-subject": "llmvis-studio select-subject photo.jpg subject.png",
    "remove-background": "llmvis-studio remove-background photo.jpg cutout.png",
    "detect-text": "llmvis-studio detect-text photo.jpg text.png --grow 3",
    "colourize": "llmvis-studio colourize grandpa.tif colour.tif --hints hints.png",
    "batch": "llmvis-studio batch upscale --in scans/ --out scans_x4/ --scale 4 --recursive",
    "models list": "llmvis-studio models list --json",
    "self-test": "llmvis-studio self-test --json",
    "train gan": "llmvis-studio train gan --data textures/ --out runs/gan1 --size 32 --steps 2000",
    "train vae": "llmvis-studio train vae --data textures/ --out runs/vae1 --size 32 --steps 2000",
    "train texture": "llmvis-studio train texture --data textures/ --out runs/tex1 --minutes 20",
    "export": "llmvis-studio export runs/gan1",
    "generate": "llmvis-studio generate --model runs/gan1 --prompt 'bricks' -n 8 --out samples/",
    "prompt": "llmvis-studio prompt 'remove the scratches' --json",
    "completion": "llmvis-studio completion bash > ~/.local/share/bash-completion/completions/llmvis-studio",
}
# Positional/option names that are files or folders, for shell completion.
FILE_ARGS = frozenset({"input", "output", "mask", "mask_output", "hints", "style"})
FOLDER_ARGS = frozenset({"input_dir", "output_dir", "out", "data", "run_dir"})


# ---------------------------------------------------------------- the parser walk


def leaf_parsers(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """('models list', parser), ('upscale', parser), ...: every subcommand that runs something."""
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions and path:
        yield " ".join(path), parser
    for action in actions:
        for name, child in action.choices.items():
            yield from leaf_parsers(child, path + (name,))


def finish_parser(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give every subcommand its example, `--json` (unless it prints its own JSON) and completion hints."""
    for name, sub in leaf_parsers(parser):
        if name in EXAMPLES and not sub.epilog:
            sub.epilog = f"example:\n  {EXAMPLES[name]}"
            sub.formatter_class = argparse.RawDescriptionHelpFormatter
        if not any("--json" in a.option_strings for a in sub._actions) and not sub.get_default("no_summary"):
            sub.add_argument(
                "--json",
                action="store_true",
                help="print a JSON summary on stdout (what ran, model, provider, seconds, output); "
                "other output goes to stderr",
            )
            sub.set_defaults(summary_json=True)
        sub.set_defaults(command_path=name)
        for action in sub._actions:
            if action.dest in FILE_ARGS:
                action.complete = {"bash": "_shtab_compgen_files", "zsh": "_files"}  # type: ignore[attr-defined]
            elif action.dest in FOLDER_ARGS:
                action.complete = {"bash": "_shtab_compgen_dirs", "zsh": "_files -/"}  # type: ignore[attr-defined]
    return parser


# ---------------------------------------------------------------- shell completion


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The bash/zsh completion script generated from the parser by shtab (a runtime dependency)."""
    try:
        import shtab
    except ImportError as exc:
        raise StudioError("Shell completion needs shtab: pip install shtab==1.13.0", detail=repr(exc)) from exc
    return shtab.complete(parser, shell=shell)
