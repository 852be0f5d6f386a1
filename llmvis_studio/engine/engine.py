"""Engine.run(request, progress) → EditResult: picks the model and the op, times the job."""
from __future__ import annotations

import time
from typing import Callable, Optional

from ..catalog import Catalog, ModelSpec, load_catalog
from ..core.errors import InputError, ModelError
from ..core.progress import Progress
from ..core.requests import EditRequest, EditResult
from .ops import denoise, inpaint_classical, upscale
from .ops.base import OpContext, OpOutput
from .session import LoadedModel, SessionCache

OpFn = Callable[[OpContext, EditRequest, ModelSpec, Progress], OpOutput]

# op name → {model task it needs, function for ONNX models, function for built-in models}
OPS: dict[str, dict[str, Optional[OpFn]]] = {
    "upscale": {"onnx": upscale.run, "builtin": None},
    "inpaint": {"onnx": None, "builtin": inpaint_classical.run},
    "denoise": {"onnx": denoise.run, "builtin": None},
}
DEFAULT_MEMORY_BUDGET = 1 << 30


class Engine:
    """Owns the catalog and the session cache. Not thread-safe: one worker thread uses it."""

    def __init__(self, catalog: Optional[Catalog] = None, threads: Optional[int] = None,
                 memory_budget: int = DEFAULT_MEMORY_BUDGET) -> None:
        self.catalog = catalog if catalog is not None else load_catalog()
        self.sessions = SessionCache(threads)
        self.memory_budget = memory_budget
        self.last_provider = ""

    def supported_ops(self) -> list[str]:
        return [op for op in OPS if self.catalog.for_task(op)]

    def resolve_model(self, request: EditRequest) -> ModelSpec:
        if request.op not in OPS:
            raise InputError(f"'{request.op}' is not available yet in this version.")
        if request.model_id:
            spec = self.catalog.get(request.model_id)
            if spec.task != request.op:
                raise InputError(f"Model '{spec.id}' does '{spec.task}', not '{request.op}'.")
            return spec
        scale = request.params.get("scale") if request.op == "upscale" else None
        return self.catalog.default_for(request.op, int(scale) if scale else None)

    def open_model(self, spec: ModelSpec, device: str) -> LoadedModel:
        path = self.catalog.verify(spec)
        # Only NCHW RGB image models are shape-checked; text or NHWC models check their own inputs.
        expected = spec.inputs[0].name if spec.inputs and spec.inputs[0].layout == "NCHW" else None
        return self.sessions.get(path, device, expected)

    def run(self, request: EditRequest, progress: Optional[Progress] = None) -> EditResult:
        progress = progress or Progress()
        progress.check()
        spec = self.resolve_model(request)
        function = OPS[request.op]["builtin" if spec.builtin else "onnx"]
        if function is None:
            raise ModelError(f"Model '{spec.id}' cannot be used for '{request.op}'.")
        context = OpContext(self.catalog, self.open_model, self.memory_budget)
        started = time.perf_counter()
        output = function(context, request, spec, progress)
        self.last_provider = output.provider
        return EditResult(
            op=request.op, image=output.image, model_id=spec.id, provider=output.provider,
            seconds=time.perf_counter() - started, changed=output.changed, notes=output.notes,
        )
