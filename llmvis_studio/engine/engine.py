"""Engine.run(request, progress) → EditResult: picks the model and the op, times the job."""
from __future__ import annotations

import time
from typing import Callable, Optional

from ..catalog import Catalog, ModelSpec, load_catalog
from ..core.errors import InputError, ModelError
from ..core.pixels import is_grey, to_grey_like
from ..core.progress import Progress
from ..core.requests import EditRequest, EditResult, PromptRouting
from .ops import denoise, generate, inpaint_classical, upscale
from .ops import detect_scratches, inpaint_learned, restore
from .ops import remove_object, stylize
from .ops import detect_text, subject
from .ops import colourize
from .ops.base import OpContext, OpOutput
from .session import LoadedModel, SessionCache

OpFn = Callable[[OpContext, EditRequest, ModelSpec, Progress], OpOutput]

def _inpaint_builtin(context: OpContext, request: EditRequest, spec: ModelSpec, progress: Progress) -> OpOutput:
    run = remove_object.run if spec.id == remove_object.MODEL_ID else inpaint_classical.run
    return run(context, request, spec, progress)


# inpaint `method` parameter → built-in model id ("learned" and "auto" are resolved in Engine.inpaint_model)
INPAINT_METHODS = {"telea": "opencv-telea", "ns": "opencv-ns", "patch": remove_object.MODEL_ID}
METHOD_NAMES = ("auto", "learned", "patch", "telea", "ns")

# op name → {model task it needs, function for ONNX models, function for built-in models}
OPS: dict[str, dict[str, Optional[OpFn]]] = {
    "upscale": {"onnx": upscale.run, "builtin": None},
    "inpaint": {"onnx": inpaint_learned.run, "builtin": _inpaint_builtin},
    "denoise": {"onnx": denoise.run, "builtin": None},
    "generate": {"onnx": generate.run, "builtin": None},  # generators trained here
    "stylize": {"onnx": stylize.run, "builtin": None},  # Magenta arbitrary style + presets
    "detect-scratches": {"onnx": detect_scratches.run, "builtin": None},  # result image = the mask
    "restore": {"onnx": restore.run, "builtin": None},  # detect + inpaint; runs on the detector's spec
    "select-subject": {"onnx": subject.run_select, "builtin": None},  # result image = the subject mask
    "remove-background": {"onnx": subject.run_remove_background, "builtin": None},  # RGBA result
    "detect-text": {"onnx": detect_text.run, "builtin": None},  # result image = the text mask
    "colourize": {"onnx": colourize.run, "builtin": None},  # grey photo + optional colour hints → colour
}
# ops whose model has another task name (restore is driven by the scratch detector, remove-background by
# the subject model)
OP_TASK: dict[str, str] = {"restore": "detect-scratches", "remove-background": "select-subject"}
# ops that restore the picture rather than add colour: a greyscale input gives a greyscale output
GREY_KEEPING_OPS = frozenset({"upscale", "inpaint", "denoise", "restore"})
DEFAULT_MEMORY_BUDGET = 512 << 20  # activations of one tile; the output array comes on top


class Engine:
    """Owns the catalog and the session cache. Not thread-safe: one worker thread uses it."""

    def __init__(self, catalog: Optional[Catalog] = None, threads: Optional[int] = None,
                 memory_budget: int = DEFAULT_MEMORY_BUDGET) -> None:
        self.catalog = catalog if catalog is not None else load_catalog()
        self._own_catalog = catalog is None  # re-read from disk when a newly trained model is asked for
        self.sessions = SessionCache(threads)
        self.memory_budget = memory_budget
        self.threads = threads
        self._router = None  # the prompt router: loaded by the first route_prompt

    def route_prompt(self, text: str) -> PromptRouting:
        """What a typed prompt asks for (op, style or content, confidence); the router loads once."""
        if self._router is None:
            from .text.router import load_router

            self._router = load_router(self.catalog, self.threads)
        routing = self._router.route(text)
        return PromptRouting(prompt=routing.prompt, op=routing.op, confidence=routing.confidence,
                             alternatives=routing.alternatives, style=routing.style, content=routing.content,
                             params=routing.params, ask=routing.ask, then=routing.then)

    def supported_ops(self) -> list[str]:
        return [op for op in OPS if self.catalog.for_task(OP_TASK.get(op, op))]

    def resolve_model(self, request: EditRequest) -> ModelSpec:
        if request.op not in OPS:
            raise InputError(f"'{request.op}' is not available yet in this version.")
        if request.op == "inpaint" and (request.model_id is None or "method" in request.params):
            return self.inpaint_model(request)
        if request.model_id:
            spec = self.get_model(request.model_id)
            if spec.task != OP_TASK.get(request.op, request.op):
                raise InputError(f"Model '{spec.id}' does '{spec.task}', not '{request.op}'.")
            return spec
        scale = request.params.get("scale") if request.op == "upscale" else None
        return self.catalog.default_for(OP_TASK.get(request.op, request.op), int(scale) if scale else None)

    def inpaint_model(self, request: EditRequest) -> ModelSpec:
        """The model for the inpaint `method` parameter (default auto): auto = remove-object when some part of the
        mask is thicker than a brush stroke, else the learned model (else the default built-in fill)."""
        method = str(request.params.get("method", "auto"))
        if method not in METHOD_NAMES:
            raise InputError(f"Unknown inpaint method '{method}'. Use {', '.join(METHOD_NAMES)}.")
        if method == "auto":
            large = request.mask is not None and remove_object.is_large(request.mask)
            method = "patch" if large else "learned"
            if method == "learned" and remove_object.learned_spec(self.catalog) is None:
                return self.catalog.default_for("inpaint")
        if method == "learned":
            if request.model_id:
                spec = self.get_model(request.model_id)
                if spec.task != "inpaint" or spec.builtin:
                    raise InputError(f"Model '{spec.id}' is not a learned inpainting model.")
                return spec
            spec = remove_object.learned_spec(self.catalog)
            if spec is None:
                raise InputError("No learned inpainting model is installed; use --method telea, ns or patch.")
            return spec
        if request.model_id and request.model_id != INPAINT_METHODS[method]:
            raise InputError(f"Choose either the model '{request.model_id}' or the method '{method}', not both.")
        return self.get_model(INPAINT_METHODS[method])

    def get_model(self, model_id: str) -> ModelSpec:
        """A catalog entry; a catalog read from disk is re-read once for an id it lacks (a model trained
        after the engine started, e.g. from the editor's Train dialog)."""
        if self._own_catalog and model_id not in self.catalog.ids():
            self.catalog = load_catalog()
        return self.catalog.get(model_id)

    def generate_images(self, model_id: Optional[str], prompt: str, count: int, seed: int = 0,
                        device: str = "auto") -> tuple[list, str, str]:
        """`count` uint8 H×W×3 samples of a `generate` model; returns (images, description, provider)."""
        spec = self.get_model(model_id) if model_id else self.catalog.default_for("generate")
        if spec.task != "generate":
            raise InputError(f"Model '{spec.id}' does '{spec.task}', not 'generate'.")
        context = OpContext(self.catalog, self.open_model, self.memory_budget)
        images, described, provider = generate.sample(context, spec, prompt, count, seed, device)
        return generate.sample_to_uint8(images), described, provider

    def open_model(self, spec: ModelSpec, device: str) -> LoadedModel:
        path = self.catalog.verify(spec)
        # Only NCHW RGB image models are shape-checked; text, NHWC or other-channel (colourize) models check their own.
        first = spec.inputs[0] if spec.inputs else None
        rgb = first is not None and first.layout == "NCHW" and str(first.channels).startswith("RGB")
        return self.sessions.get(path, device, first.name if rgb else None, fixed_size="input_size" in spec.extra)

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
        image = output.image
        if request.op in GREY_KEEPING_OPS and image.ndim == 3 and image.shape[2] >= 3 and is_grey(request.image):
            image = to_grey_like(image)
        return EditResult(
            op=request.op, image=image, model_id=spec.id, provider=output.provider,
            seconds=time.perf_counter() - started, changed=output.changed, notes=output.notes,
        )
