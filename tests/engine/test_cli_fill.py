"""`llmvis-studio fill`: the editor's Generate into a mask, on real photos and the bundled generator."""

import json

import numpy as np
import pytest

from llmvis_studio.cli import main
from llmvis_studio.core.requests import EditRequest, generate_params
from llmvis_studio.engine import Engine
from llmvis_studio.files import load_image, save_image, save_mask
from llmvis_studio.paths import sample_image
from tests.generator_helpers import generator_entry, tiny_generator_onnx


@pytest.fixture(autouse=True)
def bundled_models(monkeypatch, tmp_path):
    monkeypatch.delenv("LLMVIS_MODELS_DIR", raising=False)
    monkeypatch.setenv("LLMVIS_DATA_DIR", str(tmp_path / "data"))


@pytest.fixture
def scan(tmp_path):
    """A 72×96 crop of the bundled photo (8-bit PNG and a 16-bit TIFF with real low bits) and a mask."""
    photo, _ = load_image(sample_image())
    crop = np.ascontiguousarray(photo[180:252, 120:216])
    save_image(tmp_path / "in.png", crop)
    rng = np.random.default_rng(3)
    deep = (crop.astype(np.uint16) * 257 + rng.integers(0, 200, size=crop.shape)).astype(np.uint16)
    save_image(tmp_path / "in16.tif", deep)
    mask = np.zeros(crop.shape[:2], np.uint8)
    mask[20:52, 30:80] = 255
    save_mask(tmp_path / "mask.png", mask)
    return tmp_path, crop, deep, mask


def test_fill_is_the_editors_request_and_keeps_every_pixel_outside_the_mask(scan, capsys):
    folder, crop, _, mask = scan
    argv = [
        "fill",
        folder / "in.png",
        folder / "mask.png",
        folder / "out.png",
        "--prompt",
        "bricks",
        "--seed",
        "5",
        "--variation",
        "3",
        "--json",
    ]
    assert main([str(a) for a in argv]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "texture-gan" and summary["provider"] in ("CPU", "CUDA")
    assert "Variation 3 of 4 (seed 5)" in summary["notes"][0]
    out, _ = load_image(folder / "out.png")
    np.testing.assert_array_equal(out[mask == 0], crop[mask == 0])
    assert np.abs(out[mask > 0].astype(int) - crop[mask > 0]).mean() > 5  # new content, not a copy
    # what the editor sends for the same seed, variation and prompt (PromptPanel.params uses generate_params)
    editor = EditRequest.build("generate", crop, mask, params=generate_params(5, 2), prompt="bricks")
    np.testing.assert_array_equal(out, Engine().run(editor).image)


def test_16_bit_in_16_bit_out(scan):
    folder, _, deep, mask = scan
    assert (
        main(
            [
                str(a)
                for a in (
                    "fill",
                    folder / "in16.tif",
                    folder / "mask.png",
                    folder / "out16.tif",
                    "--prompt",
                    "grass",
                    "--device",
                    "cpu",
                )
            ]
        )
        == 0
    )
    out, _ = load_image(folder / "out16.tif")
    assert out.dtype == np.uint16
    np.testing.assert_array_equal(out[mask == 0], deep[mask == 0])
    assert np.any(out[mask > 0] % 257 != 0)  # full 16-bit values inside, not 8-bit ones scaled up


def test_a_training_run_folder_is_a_model(scan, capsys):
    folder, crop, _, mask = scan
    run = folder / "run"
    run.mkdir()
    onnx_file = tiny_generator_onnx(run / "generator.onnx")
    (run / "model.json").write_text(json.dumps(generator_entry("my-run-gen", onnx_file)))
    means = {}
    for prompt in ("red", "blue"):
        out_path = folder / f"{prompt}.png"
        assert (
            main(
                [
                    str(a)
                    for a in (
                        "fill",
                        folder / "in.png",
                        folder / "mask.png",
                        out_path,
                        "--prompt",
                        prompt,
                        "--model",
                        run,
                        "--json",
                    )
                ]
            )
            == 0
        )
        assert json.loads(capsys.readouterr().out)["model"] == "my-run-gen"
        out, _ = load_image(out_path)
        np.testing.assert_array_equal(out[mask == 0], crop[mask == 0])
        means[prompt] = out[mask > 0].astype(float).mean(axis=0)
    # colour is matched to the surroundings, but the prompt still decides which way the fill leans
    assert means["red"][0] - means["red"][2] > means["blue"][0] - means["blue"][2]


@pytest.mark.parametrize("case", ["empty mask", "variation 5", "mask size", "missing mask", "no prompt"])
def test_bad_input_is_one_line_and_writes_nothing(scan, case, capsys):
    folder, _, _, _ = scan
    save_mask(folder / "empty.png", np.zeros((72, 96), np.uint8))
    save_mask(folder / "small.png", np.full((10, 10), 255, np.uint8))
    mask = {"empty mask": "empty.png", "mask size": "small.png", "missing mask": "none.png"}.get(case, "mask.png")
    argv = ["fill", str(folder / "in.png"), str(folder / mask), str(folder / "o.png")]
    argv += [] if case == "no prompt" else ["--prompt", "clouds"]
    argv += ["--variation", "5"] if case == "variation 5" else []
    if case == "no prompt":
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        code = exit_info.value.code
    else:
        code = main(argv + ["--json"])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err
    if case != "no prompt":  # with --json the failure is in the summary too
        summary = json.loads(captured.out)
        assert summary["ok"] is False and summary["exit_code"] == 2 and summary["error"] == lines[0][len("error: ") :]
    assert not (folder / "o.png").exists()
