"""onnxruntime sessions: provider choice, a per-model cache, and which provider really ran.

onnxruntime-gpu lists CUDA even on machines without a GPU and silently falls back to the
CPU, so the provider we report is read back from the session, never assumed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import onnxruntime as ort

from ..core.errors import InputError, ModelError, ModelIntegrityError, OutOfMemory

log = logging.getLogger(__name__)
# onnxruntime-gpu prints a red ERROR when CUDA libraries are missing, then uses the CPU; we
# detect that fallback from session.get_providers() and report it ourselves, so keep it quiet.
ort.set_default_logger_severity(4)

CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
_ALLOCATION_WORDS = ("bad_alloc", "bad allocation", "failed to allocate", "out of memory", "cudaerrormemoryallocation")


def runtime_summary() -> dict:
    """onnxruntime's version and the providers it lists (listed is not the same as usable)."""
    return {"onnxruntime": ort.__version__, "available_providers": ort.get_available_providers()}


def providers_for(device: str) -> list[str]:
    available = ort.get_available_providers()
    if device == "cpu":
        return [CPU]
    if device == "cuda":
        if CUDA not in available:
            raise InputError("CUDA was asked for, but this onnxruntime has no CUDA support installed.")
        return [CUDA, CPU]
    return [CUDA, CPU] if CUDA in available else [CPU]


def short_provider(name: str) -> str:
    return {CUDA: "CUDA", CPU: "CPU"}.get(name, name.replace("ExecutionProvider", ""))


def default_thread_count() -> int:
    return max(1, os.cpu_count() or 1)


@dataclass
class LoadedModel:
    session: ort.InferenceSession
    provider: str  # the provider that will actually run the first node types
    input_name: str
    output_name: str

    def run(self, tensor: np.ndarray, release_arena: bool = False) -> np.ndarray:
        """release_arena: after this run, hand the session's memory arena back to the system (the last tile of a
        job run on an arena session; see SessionCache.get)."""
        options = None
        if release_arena:
            options = ort.RunOptions()
            options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        try:
            return self.session.run([self.output_name], {self.input_name: tensor}, options)[0]
        except Exception as exc:  # onnxruntime raises its own pybind exception types
            raise translate_ort_error(exc) from exc


def translate_ort_error(exc: Exception) -> Exception:
    text = str(exc)
    lower = text.lower()
    if isinstance(exc, MemoryError) or any(word in lower for word in _ALLOCATION_WORDS):
        return OutOfMemory("Not enough memory for this tile.", detail=text)
    kind = type(exc).__name__
    if "external data" in lower and ("escapes" in lower or "outside" in lower or ".." in text):
        return ModelIntegrityError("The model refers to weight data outside its own folder; refused.", detail=text)
    if "external data" in lower and "absolute path" in lower:
        return ModelIntegrityError(
            "The model refers to weight data by an absolute path; refused (a model's "
            "weight files must lie in its own folder).",
            detail=text,
        )
    if "external data" in lower and "does not exist" in lower:
        return ModelError("A weight file the model refers to is missing from its folder.", detail=text)
    if kind == "InvalidProtobuf" or "protobuf parsing failed" in lower:
        return ModelError("The model file is not a valid ONNX model.", detail=text)
    if kind in ("InvalidArgument", "InvalidGraph"):
        return ModelError("The model does not accept this input (wrong size, channels or type).", detail=text)
    if kind in ("NoSuchFile",):
        return ModelError("The model file could not be found.", detail=text)
    return ModelError("The model failed to run.", detail=f"{kind}: {text}")


def check_image_input(path: Path, model_input, expected_name: str) -> None:
    """An image model must take one NCHW tensor with 3 channels under the manifest's name."""
    if model_input.name != expected_name:
        raise ModelError(
            f"{path.name} takes an input named '{model_input.name}', but its manifest says '{expected_name}'."
        )
    shape = list(model_input.shape)
    channels = shape[1] if len(shape) == 4 else None
    if len(shape) != 4 or (isinstance(channels, int) and channels != 3):
        raise ModelError(f"{path.name} expects input of shape {shape}, not an RGB image (1×3×H×W).")


class SessionCache:
    """One session per (model file, device): sessions are expensive, so keep them."""

    def __init__(self, threads: Optional[int] = None) -> None:
        self._threads = threads or default_thread_count()
        self._sessions: dict[tuple[Path, str, bool, bool], LoadedModel] = {}
        self._lock = threading.Lock()

    @property
    def threads(self) -> int:
        return self._threads

    def get(
        self,
        path: Path,
        device: str,
        expected_input: Optional[str] = None,
        fixed_size: bool = False,
        reference: bool = False,
    ) -> LoadedModel:
        """fixed_size: keep a memory arena. Right for a model that only sees one input size (U²-Net-p at 320² runs
        in about 30 % less CPU time with it) and for a tiled job whose tiles are all about one size, if the job
        releases the arena with its last run (LoadedModel.run(release_arena=True)): without an arena every large
        activation is fresh memory from the system, and the 12-MP damage detector spent half its CPU time in page
        faults. Without release an arena keeps the largest tile's memory for good.
        reference: no graph optimisation (ModelSettings.exact_int8): a quantised model then gives the same numbers on
        every CPU kind up to fp32 rounding, where its fused int8 kernels do not."""
        key = (path, device, fixed_size, reference)
        with self._lock:
            if key not in self._sessions:
                self._sessions[key] = self._open(path, device, expected_input, fixed_size, reference)
            return self._sessions[key]

    def _open(
        self, path: Path, device: str, expected_input: Optional[str], fixed_size: bool = False, reference: bool = False
    ) -> LoadedModel:
        options = ort.SessionOptions()
        options.intra_op_num_threads = self._threads
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = fixed_size  # tiles vary in size; an arena keeps the largest of each forever
        options.log_severity_level = 4
        if reference:
            options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        try:
            session = ort.InferenceSession(str(path), sess_options=options, providers=providers_for(device))
        except InputError:
            raise
        except Exception as exc:
            raise translate_ort_error(exc) from exc
        active = session.get_providers()
        if device == "cuda" and CUDA not in active:
            raise InputError("CUDA was asked for, but no usable GPU was found; use --device cpu or auto.")
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if expected_input:
            check_image_input(path, inputs[0], expected_input)
        if CUDA in providers_for(device) and CUDA not in active:
            log.info("CUDA is listed but not usable here; %s runs on the CPU", path.name)
        log.info("opened %s on %s", path.name, active)
        return LoadedModel(session, active[0], inputs[0].name, outputs[0].name)

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()


InferFn = Callable[[np.ndarray], np.ndarray]
