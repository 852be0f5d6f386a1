"""Super-resolution quality (PSNR-Y) and speed of the shipped upscalers, through onnxruntime.

Protocol (DESIGN.md §8): HR cropped to a multiple of the scale, LR = Pillow BICUBIC downscale (antialiased), model
output clipped and rounded to 8 bits, PSNR on BT.601 Y (16–235) with `scale` pixels shaved from each border.
Bicubic = Pillow BICUBIC upscale of the same LR (Set5 ×4 28.43 dB / ×2 33.67 dB validates the protocol).
Images: ../shared/benchmarks/sr/{Set5,Set14} (override with LLMVIS_BENCHMARKS=folder holding sr/).

Speed: megapixels of output per second for a 256×256 input on 2 onnxruntime threads, and for our own nets the
onnxruntime / PyTorch-eager (2 threads, fp32, same weights) ratio. Memory: peak RSS growth per input pixel, measured
in fresh processes at two input sizes.

    python benchmarks/sr_quality.py [--no-realesrgan] [--no-speed] [--update-manifest]

Prints one JSON object on its last line.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import ROOT, emit
from PIL import Image

from llmvis_studio.core.metrics import psnr_y

PUBLISHED_SET5_X4 = {"SRCNN": 30.48, "FSRCNN": 30.72, "VDSR": 31.35, "CARN-M": 31.92, "EDSR": 32.46}
PUBLISHED_SET5_X2 = {"SRCNN": 36.66, "FSRCNN": 37.05, "VDSR": 37.53, "CARN-M": 37.53, "EDSR": 38.11}
OURS = {4: "sr-compact-x4", 2: "sr-compact-x2"}
INT8 = {4: "sr-compact-x4-int8"}  # the CPU default, quantised from OURS[4] (training/quantize_sr.py)


def bench_root() -> Path:
    env = os.environ.get("LLMVIS_BENCHMARKS")
    return Path(env) if env else (ROOT.parent / "shared" / "benchmarks")


def load_set(name: str) -> dict[str, np.ndarray]:
    folder = bench_root() / "sr" / name
    out = {}
    for p in sorted(folder.glob("*.png")):
        with Image.open(p) as im:
            out[p.stem] = np.asarray(im.convert("RGB"))
    if not out:
        raise SystemExit(f"no benchmark images in {folder} (set LLMVIS_BENCHMARKS)")
    return out


def lr_hr(img: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray]:
    h, w = img.shape[:2]
    hr = img[: h - h % scale, : w - w % scale]
    lr = np.asarray(Image.fromarray(hr).resize((hr.shape[1] // scale, hr.shape[0] // scale), Image.BICUBIC))
    return lr, hr


def bicubic_up(lr: np.ndarray, scale: int) -> np.ndarray:
    return np.asarray(Image.fromarray(lr).resize((lr.shape[1] * scale, lr.shape[0] * scale), Image.BICUBIC))


def manifest() -> dict:
    return json.loads((ROOT / "models" / "manifest.json").read_text(encoding="utf-8"))


def entry(model_id: str) -> dict | None:
    for e in manifest().get("models", []):
        if e["id"] == model_id and (ROOT / "models" / e["file"]).is_file():
            return e
    return None


def session(path: Path, threads: int = 2):
    import onnxruntime as ort

    ort.set_default_logger_severity(3)
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def run_model(sess, lr_u8: np.ndarray, scale: int, pre_pad: int = 0) -> np.ndarray:
    x = lr_u8.astype(np.float32).transpose(2, 0, 1)[None] / 255.0
    if pre_pad:
        x = np.pad(x, ((0, 0), (0, 0), (0, pre_pad), (0, pre_pad)), mode="reflect")
    y = sess.run(["output"], {"image": x})[0][0]
    if pre_pad:
        y = y[:, : lr_u8.shape[0] * scale, : lr_u8.shape[1] * scale]
    return (np.clip(y, 0, 1).transpose(1, 2, 0) * 255.0 + 0.5).astype(np.uint8)


def quality(sets: dict[str, dict[str, np.ndarray]], scale: int, models: dict[str, tuple]) -> dict:
    res: dict = {}
    for set_name, images in sets.items():
        per: dict[str, dict[str, float]] = {}
        for name, img in images.items():
            lr, hr = lr_hr(img, scale)
            row = {"bicubic": psnr_y(bicubic_up(lr, scale), hr, scale)}
            for mid, (sess, pre_pad) in models.items():
                row[mid] = psnr_y(run_model(sess, lr, scale, pre_pad), hr, scale)
            per[name] = {k: round(v, 3) for k, v in row.items()}
        keys = next(iter(per.values())).keys()
        mean = {k: round(float(np.mean([r[k] for r in per.values()])), 3) for k in keys}
        res[set_name] = {"mean": mean, "per_image": per}
    return res


def speed_onnx(sess, scale: int, size: int = 256, repeats: int = 3) -> float:
    """Best of `repeats` timed runs after one warm-up (the machine may be shared)."""
    x = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
    sess.run(["output"], {"image": x})
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        sess.run(["output"], {"image": x})
        best = min(best, time.perf_counter() - t)
    return (size * scale) ** 2 / best / 1e6


def eager_from_onnx(path: Path, scale: int):
    """Our CompactSR with the ONNX file's weights (same names), for the eager-PyTorch speed comparison."""
    import onnx
    import torch
    from onnx import numpy_helper

    from llmvis_studio.training.archs.sr import CompactSR

    m = onnx.load(str(path))
    weights = {i.name: torch.from_numpy(numpy_helper.to_array(i).copy()) for i in m.graph.initializer}
    blocks = len({k.split(".")[1] for k in weights if k.startswith("body.") and k.endswith("conv1.weight")})
    channels = weights["head.weight"].shape[0]
    net = CompactSR(scale=scale, channels=channels, blocks=blocks).eval()
    missing = net.load_state_dict(weights, strict=False)
    return net, list(missing.missing_keys)


def speed_eager(net, scale: int, size: int = 256, repeats: int = 3) -> float:
    import torch

    torch.set_num_threads(2)
    x = torch.rand(1, 3, size, size)
    best = float("inf")
    with torch.inference_mode():
        net(x)
        for _ in range(repeats):
            t = time.perf_counter()
            net(x)
            best = min(best, time.perf_counter() - t)
    return (size * scale) ** 2 / best / 1e6


_MEM_CHILD = r"""
import resource, sys, numpy as np, onnxruntime as ort
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])  # KiB
ort.set_default_logger_severity(3)
path, size = sys.argv[1], int(sys.argv[2])
so = ort.SessionOptions(); so.intra_op_num_threads = 2; so.inter_op_num_threads = 1
s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
s.run(["output"], {"image": np.zeros((1, 3, 16, 16), np.float32)})
x = np.random.default_rng(0).random((1, 3, size, size), dtype=np.float32)
try:
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")  # reset the peak (VmHWM) to the current RSS
    before = status("VmRSS")
    s.run(["output"], {"image": x})
    print(status("VmHWM") - before)
except OSError:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    s.run(["output"], {"image": x})
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base)
"""


def memory_per_input_pixel(path: Path, sizes: tuple[int, int] = (384, 768)) -> int:
    """Peak-RSS growth (bytes) of one run per input pixel, at the larger size, in a fresh process (the peak is reset
    after the session is set up). The smaller size is measured too and the larger of the two ratios is kept."""
    kib = []
    for s in sizes:
        out = subprocess.run(
            [sys.executable, "-c", _MEM_CHILD, str(path), str(s)], capture_output=True, text=True, check=True
        )
        kib.append(int(out.stdout.strip().splitlines()[-1]))
    return int(math.ceil(max(k * 1024 / sz**2 for k, sz in zip(kib, sizes))))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--no-realesrgan", action="store_true")
    ap.add_argument("--no-speed", action="store_true")
    ap.add_argument("--update-manifest", action="store_true", help="write metrics into models/manifest.json")
    a = ap.parse_args()

    sets = {"set5": load_set("Set5"), "set14": load_set("Set14")}
    result: dict = {
        "protocol": "PSNR-Y BT.601 16-235, shave=scale, LR=Pillow BICUBIC (antialiased) downscale of HR "
        "cropped to a multiple of the scale, outputs rounded to 8 bits, onnxruntime CPU",
        "published_set5_x4": PUBLISHED_SET5_X4,
        "published_set5_x2": PUBLISHED_SET5_X2,
    }
    speed: dict = {}
    memory: dict = {}
    for scale in (4, 2):
        models = {}
        for mid in (OURS[scale], INT8.get(scale)):
            e = entry(mid) if mid else None
            if e:
                models[e["id"]] = (session(ROOT / "models" / e["file"]), e.get("pre_pad", 0))
        if scale == 4 and not a.no_realesrgan:
            r = entry("realesrgan-x4plus")
            if r:
                models[r["id"]] = (session(ROOT / "models" / r["file"]), r.get("pre_pad", 0))
        result[f"x{scale}"] = quality(sets, scale, models)
        if not a.no_speed:
            for mid, (sess, _) in models.items():
                s = {"onnx_mp_per_s": round(speed_onnx(sess, scale, repeats=1 if "realesrgan" in mid else 3), 3)}
                if mid in OURS.values():
                    path = ROOT / "models" / entry(mid)["file"]
                    net, missing = eager_from_onnx(path, scale)
                    s["eager_mp_per_s"] = round(speed_eager(net, scale), 3)
                    s["onnx_over_eager"] = round(s["onnx_mp_per_s"] / s["eager_mp_per_s"], 3)
                    if missing:
                        s["eager_weights_missing"] = missing
                    memory[mid] = memory_per_input_pixel(path)
                speed[mid] = s
    result["speed_256px_input_2_threads"] = speed
    result["memory_bytes_per_input_pixel"] = memory

    summary = {}
    for scale in (4, 2):
        for set_name in ("set5", "set14"):
            for k, v in result[f"x{scale}"][set_name]["mean"].items():
                summary[f"{set_name}_x{scale}_{k}"] = v
    per14 = result["x4"]["set14"]["per_image"]
    if OURS[4] in next(iter(per14.values())):
        summary["set14_x4_mean_gain_over_bicubic"] = round(
            float(np.mean([r[OURS[4]] - r["bicubic"] for r in per14.values()])), 3
        )
    result["summary"] = summary

    if a.update_manifest:
        from llmvis_studio.training.manifest_tools import upsert_entry

        today = time.strftime("%Y-%m-%d")
        for scale, mid in [*OURS.items(), *INT8.items()]:
            e = entry(mid)
            if not e:
                continue
            m = dict(e.get("metrics", {}))
            m.update(
                {
                    f"set5_x{scale}_psnr_y": summary.get(f"set5_x{scale}_{mid}"),
                    f"set14_x{scale}_psnr_y": summary.get(f"set14_x{scale}_{mid}"),
                    f"bicubic_set5_x{scale}": summary.get(f"set5_x{scale}_bicubic"),
                    f"bicubic_set14_x{scale}": summary.get(f"set14_x{scale}_bicubic"),
                }
            )
            if mid in speed:
                m["onnx_output_mp_per_s_2_threads"] = speed[mid]["onnx_mp_per_s"]
                if "onnx_over_eager" in speed[mid]:
                    m["onnx_over_torch_eager"] = speed[mid]["onnx_over_eager"]
            m["measured_on"] = f"{today}, benchmarks/sr_quality.py, {os.cpu_count()}-core CPU"
            e["metrics"] = m
            if mid in memory:
                e["memory_bytes_per_input_pixel"] = memory[mid]
            upsert_entry(ROOT / "models" / "manifest.json", e)
    emit(result)


if __name__ == "__main__":
    main()
