"""Every subcommand, found by walking the parser (so new ones are covered automatically): its --help has an
example, it is in the README's command table, and it runs once for real on a small real photo (in-process,
bundled models) or is run by the named existing test."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from llmvis_studio.cli import build_parser, main
from llmvis_studio.cli._help import EXAMPLES, leaf_parsers
from llmvis_studio.files import load_image, save_image, save_mask
from llmvis_studio.paths import sample_image

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = [name for name, _ in leaf_parsers(build_parser())]

# Commands whose real run is slow (training, every model, the text encoder) and already done by another test.
RUN_ELSEWHERE = {
    "train gan": "tests/training/test_gan_vae.py::test_train_gan_then_generate_four_different_images",
    "train vae": "tests/training/test_gan_vae.py::test_vae_loss_falls_and_export_works",
    "train texture": "tests/training/test_texture_gan.py::test_train_texture_cli_on_an_image_folder",
    "export": "tests/training/test_gan_vae.py::test_export_command_rebuilds_from_the_checkpoint",
    "self-test": "tests/engine/test_batch.py::test_self_test_passes_on_the_bundled_models",
    "prompt": "tests/engine/test_text_cli.py::test_prompt_json_prints_one_object",
    "select-subject": "tests/engine/test_smart_masks_cli.py::test_select_subject_writes_a_mask",
    "remove-background": "tests/engine/test_smart_masks_cli.py::test_remove_background_keeps_16_bits_and_adds_alpha",
    "detect-text": "tests/engine/test_smart_masks_cli.py::test_detect_text_writes_a_mask_over_the_letters",
    "colourize": "tests/engine/test_colourize.py::test_cli_colourizes_with_hints",
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A 64×80 crop of the bundled photo, a mask of a block in it, and a folder of two images for batch."""
    folder = tmp_path_factory.mktemp("cli")
    photo, _ = load_image(sample_image())
    crop = np.ascontiguousarray(photo[200:264, 150:230])
    save_image(folder / "in.png", crop)
    mask = np.zeros(crop.shape[:2], np.uint8)
    mask[20:40, 25:60] = 255
    save_mask(folder / "mask.png", mask)
    (folder / "batch_in").mkdir()
    save_image(folder / "batch_in" / "a.png", crop)
    save_image(folder / "batch_in" / "b.png", np.ascontiguousarray(photo[300:340, 300:348]))
    return folder


@pytest.fixture(autouse=True)
def bundled_models(monkeypatch, tmp_path):
    monkeypatch.delenv("LLMVIS_MODELS_DIR", raising=False)
    monkeypatch.setenv("LLMVIS_DATA_DIR", str(tmp_path / "data"))  # no user models from elsewhere


def run_json(capsys, *argv) -> dict:
    code = main([str(a) for a in argv] + ["--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)  # with --json, stdout is only the summary
    assert summary["ok"] and summary["command"] == argv[0]
    return summary


def check_image(path: Path, shape) -> None:
    image, _ = load_image(path)
    assert image.shape[:2] == shape


# ---------------------------------------------------------------- one real invocation each


def run_upscale(d, out, capsys):
    s = run_json(capsys, "upscale", d / "in.png", out / "up.png", "--scale", "2")
    check_image(out / "up.png", (128, 160))
    return s


def run_inpaint(d, out, capsys):
    s = run_json(capsys, "inpaint", d / "in.png", d / "mask.png", out / "inp.png")
    check_image(out / "inp.png", (64, 80))
    return s


def run_fill(d, out, capsys):
    s = run_json(capsys, "fill", d / "in.png", d / "mask.png", out / "fill.png", "--prompt", "bricks")
    check_image(out / "fill.png", (64, 80))
    return s


def run_detect(d, out, capsys):
    s = run_json(capsys, "detect-scratches", d / "in.png", out / "scratches.png")
    check_image(out / "scratches.png", (64, 80))
    return s


def run_restore(d, out, capsys):
    s = run_json(capsys, "restore", d / "in.png", out / "restored.png")
    check_image(out / "restored.png", (64, 80))
    return s


def run_denoise(d, out, capsys):
    s = run_json(capsys, "denoise", d / "in.png", out / "clean.png")
    check_image(out / "clean.png", (64, 80))
    return s


def run_stylize(d, out, capsys):
    s = run_json(
        capsys,
        "stylize",
        d / "in.png",
        out / "style.png",
        "--style",
        "kroyer-oil",
        "--working-size",
        "64",
        "--detail-size",
        "80",
    )
    check_image(out / "style.png", (64, 80))
    return s


def run_batch(d, out, capsys):
    s = run_json(capsys, "batch", "upscale", "--in", d / "batch_in", "--out", out / "batch_out", "--scale", "2")
    assert (s["done"], s["failed"]) == (2, 0)
    check_image(out / "batch_out" / "b.png", (80, 96))
    return s


def run_generate(d, out, capsys):
    s = run_json(capsys, "generate", "--prompt", "grass", "-n", "2", "--out", out / "gen")
    assert sorted(p.name for p in (out / "gen").iterdir()) == ["sample_000.png", "sample_001.png"]
    return s


def run_models_list(d, out, capsys):
    assert main(["models", "list", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert {"upscale", "inpaint", "generate"} <= {e["task"] for e in entries}
    return None


def run_completion(d, out, capsys):
    assert main(["completion", "zsh"]) == 0
    assert capsys.readouterr().out.startswith("#compdef llmvis-studio")
    return None


INVOCATIONS = {
    "upscale": run_upscale,
    "inpaint": run_inpaint,
    "fill": run_fill,
    "detect-scratches": run_detect,
    "restore": run_restore,
    "denoise": run_denoise,
    "stylize": run_stylize,
    "batch": run_batch,
    "generate": run_generate,
    "models list": run_models_list,
    "completion": run_completion,
}


def test_every_command_has_a_real_invocation():
    missing = [c for c in COMMANDS if c not in INVOCATIONS and c not in RUN_ELSEWHERE]
    assert not missing, f"add a real invocation to INVOCATIONS for: {missing}"
    for test in RUN_ELSEWHERE.values():
        path, name = test.split("::")
        assert f"def {name}(" in (ROOT / path).read_text(), test


@pytest.mark.parametrize("command", sorted(INVOCATIONS))
def test_real_invocation(command, files, tmp_path, capsys):
    summary = INVOCATIONS[command](files, tmp_path, capsys)
    if summary is not None:  # what ran, on which model and provider, how long, where it went
        assert summary["model"] and summary["provider"] in ("CPU", "CUDA"), summary
        assert summary["seconds"] > 0 and summary["output"]


# ---------------------------------------------------------------- --help, README


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_an_example(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(command.split() + ["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    example = re.search(r"example:\n  (.+)", text)
    assert example, f"`{command} --help` has no example: add one to cli._help.EXAMPLES"
    assert example.group(1).startswith(f"llmvis-studio {command}")
    assert "--json" in text or command == "completion"


def test_readme_command_table_lists_every_command_with_its_help_example():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `([a-z][a-z -]*)` \| .+ \| `(llmvis-studio .+)` \|$", readme, re.M)
    }
    missing = [c for c in COMMANDS if c not in rows]
    assert not missing, f"README.md's command table lacks: {missing}"
    assert {c: rows[c] for c in COMMANDS} == {c: EXAMPLES[c] for c in COMMANDS}


def test_bash_completion_completes_subcommands_and_options(tmp_path, capsys):
    assert main(["completion", "bash"]) == 0
    script = tmp_path / "llmvis-studio.bash"
    script.write_text(capsys.readouterr().out)
    probe = (
        f'source {script}; COMP_WORDS=(llmvis-studio fi); COMP_CWORD=1; _shtab_llmvis_studio; echo "${{COMPREPLY[@]}}"; '
        'COMP_WORDS=(llmvis-studio fill --p); COMP_CWORD=2; _shtab_llmvis_studio; echo "${COMPREPLY[@]}"'
    )
    lines = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=30).stdout.splitlines()
    assert lines == ["fill", "--prompt"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completion_script_parses(tmp_path, capsys):
    assert main(["completion", "zsh"]) == 0
    script = tmp_path / "_llmvis-studio"
    script.write_text(capsys.readouterr().out)
    proc = subprocess.run(["zsh", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
