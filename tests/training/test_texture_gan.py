"""The texture generator's data readers and a tiny real training run: train → export → the engine paints."""

from __future__ import annotations

import json
import struct

import numpy as np
import pytest
from PIL import Image

from llmvis_studio.core.errors import InputError
from llmvis_studio.files import load_image
from llmvis_studio.paths import sample_image
from llmvis_studio.training.texture_data import TextureSet, parse_dep5, read_gimp_pattern, stk_licence

COPYRIGHT = """Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: someone
License: GPL-3+

Files: data/textures/sky*.jpg
 data/textures/sand.png
Copyright: someone else
License: CC-BY-SA-3.0

Files: data/textures/sky3.jpg
License: CC0
"""


def test_dep5_licences_take_the_last_matching_stanza():
    stanzas = parse_dep5(COPYRIGHT)
    assert stk_licence("sky.jpg", stanzas) == "CC-BY-SA-3.0"
    assert stk_licence("sky3.jpg", stanzas) == "CC0"
    assert stk_licence("sand.png", stanzas) == "CC-BY-SA-3.0"  # a continuation line of Files:
    assert stk_licence("rock.jpg", stanzas) == "GPL-3+"


def test_gimp_patterns_are_read_from_their_header(tmp_path):
    pixels = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3)
    name = b"test\0"
    header = struct.pack(">5I", 24 + len(name), 1, 5, 4, 3) + b"GPAT" + name
    (tmp_path / "p.pat").write_bytes(header + pixels.tobytes())
    np.testing.assert_array_equal(read_gimp_pattern(tmp_path / "p.pat"), pixels)
    (tmp_path / "bad.pat").write_bytes(struct.pack(">5I", 24, 1, 2, 2, 3) + b"NOPE" + bytes(12))
    with pytest.raises(ValueError, match="not a GIMP pattern"):
        read_gimp_pattern(tmp_path / "bad.pat")


@pytest.fixture
def tiny_data(tmp_path):
    """Two classes cut from the bundled photo (sky-ish top, suit-ish middle), in texture_data's cache layout."""
    photo, _ = load_image(sample_image())
    regions = {"sky": photo[0:96, 300:500], "fabric": photo[250:346, 150:300]}
    classes = {}
    for index, (name, region) in enumerate(regions.items()):
        Image.fromarray(np.ascontiguousarray(region[..., :3])).save(tmp_path / f"train_{index}.png")
        classes[name] = [
            {
                "file": "test",
                "box": [0, 0, 1, 1],
                "transform": "",
                "licence": "PD",
                "train": f"train_{index}.png",
                "holdout": None,
                "size": [1, 1],
            }
        ]
    (tmp_path / "sources.json").write_text(json.dumps({"work_side": 512, "holdout_fraction": 0.25, "classes": classes}))
    return tmp_path


def test_crops_have_the_asked_size_and_class(tiny_data):
    data = TextureSet.load(tiny_data)
    crops = data.crops(np.random.default_rng(0), np.array([0, 1, 1]), 32)
    assert crops.shape == (3, 32, 32, 3) and crops.dtype == np.uint8
    assert crops[0].mean(axis=(0, 1))[2] != crops[1].mean(axis=(0, 1))[2]


def test_a_tiny_run_exports_a_model_the_engine_paints_at_any_size(tiny_data, tmp_path):
    import torch

    from llmvis_studio.catalog import Catalog, load_catalog
    from llmvis_studio.catalog.catalog import spec_from_entry
    from llmvis_studio.engine import Engine
    from llmvis_studio.engine.ops import texture_fill
    from llmvis_studio.training.texture_gan import TextureConfig, Trainer

    torch.set_num_threads(1)
    out = tmp_path / "run"
    cfg = TextureConfig(
        data=str(tiny_data),
        out=str(out),
        steps=3,
        batch=2,
        crop=32,
        adv=0.1,
        adv_after=1,
        threads=1,
        widths=(16, 16, 8, 8),
        minutes=2.0,
        cls=0.0,  # a run from before the critic's class head
    )
    Trainer(cfg).run()
    entry = json.loads((out / "model.json").read_text())
    assert entry["kind"] == "texture-gan" and entry["metrics"]["steps"] == 3
    assert entry["metrics"]["onnx_vs_torch_max_abs"] < 1e-4
    assert [c["name"] for c in entry["classes"]] == ["sky", "fabric"]
    sky_grain, fabric_grain = (c["grain"] for c in entry["classes"])  # the real crops' grain, for the fill's looks
    assert fabric_grain > sky_grain + 1.0  # the suit's weave is much finer detail than the sky
    # a run exported before the grains were recorded gets them from its data, the same figures
    from llmvis_studio.training import texture_export

    sky_colour, fabric_colour = (c["colour"] for c in entry["classes"])  # mean L*a*b*, for the looks' colour prior
    assert len(sky_colour) == 3 and sky_colour[2] < fabric_colour[2] - 5  # the sky is bluer (lower b*)
    ratios = [c["octave_ratios"] for c in entry["classes"]]  # large-scale structure of the class's photos
    assert all(len(r) == 3 for r in ratios)
    old = {
        **entry,
        "classes": [
            {k: v for k, v in c.items() if k not in ("grain", "colour", "octave_ratios")} for c in entry["classes"]
        ],
    }
    (out / "model.json").write_text(json.dumps(old))
    assert texture_export.main(["--data", str(tiny_data), "--run", str(out)]) == 0
    measured = json.loads((out / "model.json").read_text())["classes"]
    assert [c["grain"] for c in measured] == [sky_grain, fabric_grain]
    assert [c["colour"] for c in measured] == [sky_colour, fabric_colour]
    assert [c["octave_ratios"] for c in measured] == ratios
    assert (out / "samples" / "step_000003.png").is_file()
    with pytest.raises(InputError, match="--resume"):  # an existing run is never overwritten silently
        Trainer(cfg)
    # continues from the checkpoint, the critic gaining its class head (AC-GAN) with fresh weights
    Trainer(TextureConfig(**{**cfg.__dict__, "steps": 5, "resume": True, "cls": 0.1})).run()
    entry = json.loads((out / "model.json").read_text())
    assert entry["metrics"]["steps"] == 5
    assert "class head added" in (out / "train.log").read_text()

    entry["id"] = "tiny-texture"
    engine = Engine(Catalog(tuple(load_catalog()) + (spec_from_entry(entry, out),)), threads=1)
    spec = engine.catalog.get("tiny-texture")
    info = texture_fill.TextureInfo.of(spec)
    texture = texture_fill.paint(engine.open_model(spec, "cpu"), info, info.vectors[1], 70, 45, seed=0)
    assert texture.shape == (70, 45, 3)


def test_train_texture_cli_on_an_image_folder(tmp_path, monkeypatch, capsys):
    """Train-your-own with the texture architecture: class sub-folders in, a registered model out."""
    from llmvis_studio.catalog import load_catalog
    from llmvis_studio.cli import main

    monkeypatch.setenv("LLMVIS_DATA_DIR", str(tmp_path / "user"))
    photo, _ = load_image(sample_image())
    for name, region in {"sky": photo[0:120, 280:500], "suit": photo[250:370, 150:300]}.items():
        (tmp_path / "data" / name).mkdir(parents=True)
        Image.fromarray(np.ascontiguousarray(region[..., :3])).save(tmp_path / "data" / name / "a.png")
    (tmp_path / "data" / "sky" / "broken.png").write_bytes(b"not an image")
    argv = [
        "train",
        "texture",
        "--data",
        tmp_path / "data",
        "--out",
        tmp_path / "run",
        "--steps",
        "2",
        "--batch",
        "2",
        "--crop",
        "32",
    ]
    assert main([str(a) for a in argv]) == 0
    assert "model 'texture-run'" in capsys.readouterr().out
    spec = load_catalog().get("texture-run")  # registered in the user's models folder
    assert spec.task == "generate" and spec.extra["kind"] == "texture-gan"
    assert main([str(a) for a in argv[:-2] + ["--crop", "40"]]) == 2  # a crop that is not a multiple of 16
    assert "--crop must be a multiple of 16" in capsys.readouterr().err
    empty = tmp_path / "empty"  # nothing to learn from: refused before a run folder is written
    empty.mkdir()
    assert main([str(a) for a in argv[:2] + ["--data", empty, "--out", tmp_path / "run2"]]) == 2
    assert "is empty" in capsys.readouterr().err and not (tmp_path / "run2").exists()


def test_a_small_source_is_still_drawn_often_enough_to_be_learned():
    """Modes by area, but each at least half an even share: a 80 px lawn strip next to 512 px textures."""
    big, small = np.zeros((512, 512, 3), np.uint8), np.zeros((80, 200, 3), np.uint8)
    data = TextureSet(["grass"], [[big, big, small]])
    shares = data.mode_shares(0, 64)
    assert shares.sum() == pytest.approx(1.0)
    assert shares[2] > 0.1 and shares[0] == pytest.approx(shares[1]) and shares[0] > shares[2]  # by area: 0.005
    drawn = data.random_modes(np.random.default_rng(0), np.zeros(3000, int), 64)
    assert 0.1 < (drawn == 2).mean() < 0.25
