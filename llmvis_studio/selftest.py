"""`llmvis-studio self-test`: every bundled model is verified and run once on a tiny input.

Works the same in the source tree and in the frozen bundle; exit code 0 only if all pass.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Optional

import numpy as np

from .core.errors import StudioError
from .core.requests import EditRequest
from .engine.session import runtime_summary, short_provider


@dataclass
class Check:
    model: str
    task: str
    ok: bool
    provider: str
    seconds: float
    message: str = ""


def tiny_image(size: int = 24) -> np.ndarray:
    """A small structured image (gradients and an edge), not noise."""
    y, x = np.mgrid[:size, :size]
    image = np.stack([x * 255 // size, y * 255 // size, ((x + y) % 7) * 36], axis=2)
    image[size // 3 : size // 2] = 255
    return image.astype(np.uint8)


def tiny_mask(size: int = 24) -> np.ndarray:
    mask = np.zeros((size, size), np.uint8)
    mask[size // 2 - 1 : size // 2 + 1, 2 : size - 2] = 255
    return mask


def request_for(spec) -> Optional[EditRequest]:
    image = tiny_image()
    if spec.task == "upscale":
        return EditRequest(op="upscale", image=image, model_id=spec.id, params={"scale": spec.scale}, device="auto")
    if spec.task == "inpaint":
        return EditRequest(op="inpaint", image=image, mask=tiny_mask(), model_id=spec.id)
    if spec.task == "generate":  # a trained generator fills the mask (no prompt: a random class)
        return EditRequest(op="generate", image=image, mask=tiny_mask(), model_id=spec.id)
    if spec.task in ("denoise", "restore", "stylize", "detect-scratches", "select-subject", "detect-text", "colourize"):
        return EditRequest(op=spec.task, image=image, model_id=spec.id)
    return None


def check_model(engine, spec) -> Check:
    started = time.perf_counter()
    try:
        if not spec.builtin:
            engine.catalog.verify(spec)
        request = request_for(spec)
        if request is not None and request.op in engine.supported_ops():
            result = engine.run(request)
            if not np.isfinite(result.image.astype(np.float32)).all():
                raise StudioError("produced invalid pixels")
            provider = result.provider
        elif spec.builtin:
            provider = "built in"
        else:  # encoders and helper models: opening the session proves the file loads
            provider = short_provider(engine.open_model(spec, "auto").provider)
        return Check(spec.id, spec.task, True, provider, time.perf_counter() - started)
    except StudioError as exc:
        return Check(spec.id, spec.task, False, "", time.perf_counter() - started, exc.user_message)


def run_self_test(engine_factory: Callable, as_json: bool = False) -> int:
    engine = engine_factory()
    checks = [check_model(engine, spec) for spec in engine.catalog]
    report = dict(runtime_summary(), models=[asdict(c) for c in checks], passed=all(c.ok for c in checks))
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        print(f"onnxruntime {report['onnxruntime']}; providers listed: {', '.join(report['available_providers'])}")
        for c in checks:
            status = "ok  " if c.ok else "FAIL"
            print(f"{status} {c.model:<22} {c.task:<14} {c.provider:<14} {c.seconds:6.2f} s {c.message}")
        print("self-test passed" if report["passed"] else "self-test FAILED")
    return 0 if report["passed"] else 1
