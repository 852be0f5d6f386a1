"""The CPU's default ×4 upscaler is the int8 copy of sr-compact-x4 (issue 13): same quality, measured here on a real
photo through the engine; the speed is measured by benchmarks/upscale_speed.py."""

from pathlib import Path

import numpy as np
from PIL import Image

from llmvis_studio.catalog import load_catalog
from llmvis_studio.core.metrics import psnr_y
from llmvis_studio.core.requests import EditRequest
from llmvis_studio.engine.engine import Engine

SAMPLE = Path(__file__).resolve().parents[2] / "resources" / "sample.png"


def test_default_x4_is_the_int8_copy_and_keeps_the_fp32_quality():
    catalog = load_catalog()
    default = catalog.default_for("upscale", 4)
    assert default.id == "sr-compact-x4-int8" and default.extra["quantised_from"] == "sr-compact-x4"
    with Image.open(SAMPLE) as im:
        hr = np.asarray(im.convert("RGB"))[:192, :256]
    lr = np.asarray(Image.fromarray(hr).resize((64, 48), Image.BICUBIC))
    bicubic = np.asarray(Image.fromarray(lr).resize((256, 192), Image.BICUBIC))
    engine = Engine(catalog)
    outputs = {
        mid: engine.run(EditRequest.build("upscale", lr, model_id=mid, params={"scale": 4})).image
        for mid in ("sr-compact-x4-int8", "sr-compact-x4")
    }
    int8, fp32 = (psnr_y(outputs[m], hr, 4) for m in ("sr-compact-x4-int8", "sr-compact-x4"))
    assert abs(int8 - fp32) < 0.05, (int8, fp32)
    assert int8 > psnr_y(bicubic, hr, 4) + 1.0
    assert np.abs(outputs["sr-compact-x4-int8"].astype(int) - outputs["sr-compact-x4"]).mean() < 1.0
