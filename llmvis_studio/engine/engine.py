"""Engine.run(request, progress) → EditResult: picks the model and the op, times the job."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Optional

from ..catalog import Catalog, ModelSpec, load_catalog
from ..core.errors import InputError
from ..core.pixels import is_grey, to_grey_like
from ..core.progress import Progress
from ..core.requests import EditRequest, EditResult, PromptRouting
from .ops import generate, remove_object
from .ops.base import OpContext
from .ops.params import InpaintParams, UpscaleParams, parse_params
from .ops.registry import REGISTRY, entry, task_of
from .session import LoadedModel, SessionCache

if TYPE_CHECKING:  # the router (and its tokenizer) loads with the first typed prompt
    from .text.router import PromptRouter

# inpaint `method` parameter → built-in model id ("learned" and "auto" are resolved in Engine.inpaint_model)
INPAINT_METHODS = {"telea": "opencv-telea", "ns": "opencv-ns", "patch": remove_object.MODEL_ID}
METHOD_NAMES = ("auto", "learned", "patch", "telea", "ns")
DEFAULT_MEMORY_BUDGET = 512 << 20  # activations of one tile; the output array comes on top


class Engine:
    """Owns the catalog and the session cache. Not thread-safe: one worker thread uses it."""

    def __init__(
        self,
        catalog: Optional[Catalog] = None,
        threads: Optional[int] = None,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
    ) -> None:
        self.catalog = catalog if catalog is not None else load_catalog()
        self._own_catalog = catalog is None  # re-read from disk when a newly trained model is asked for
        self.sessions = SessionCache(threads)
        self.memory_budget = memory_budget
        self.threads = threads
        self._router: Optional[PromptRouter] = None  # the prompt router: loaded by the first route_prompt

    def route_prompt(self, text: str) -> PromptRouting:
        """What a typed prompt asks for (op, style or content, confidence); the router loads once."""
        if self._router is None:
            from .text.router import load_router

            self._router = load_router(self.catalog, self.threads)
        routing = self._router.route(text)
        return PromptRouting(
            prompt=routing.prompt,
            op=routing.op,
            confidence=routing.confidence,
            alternatives=routing.alternatives,
            style=routing.style,
            content=routing.content,
            params=routing.params,
            ask=routing.ask,
            then=routing.then,
        )

    def supported_ops(self) -> list[str]:
        return [op for op in REGISTRY if self.catalog.for_task(task_of(op))]

    def resolve_model(self, request: EditRequest) -> ModelSpec:
        task = task_of(request.op)
        params = parse_params(request.op, request.params)
        if isinstance(params, InpaintParams) and (request.model_id is None or params.method is not None):
            return self.inpaint_model(request, params.method or "auto")
        if request.model_id:
            spec = self.get_model(request.model_id)
            if spec.task != task:
                raise InputError(f"Model '{spec.id}' does '{spec.task}', not '{request.op}'.")
            return spec
        scale = params.scale if isinstance(params, UpscaleParams) else None
        return self.catalog.default_for(task, scale or None)

    def inpaint_model(self, request: EditRequest, method: str = "auto") -> ModelSpec:
        """The model for the inpaint `method` parameter (default auto): auto = remove-object when some part of the
        mask is thicker than a brush stroke, else the learned model (else the default built-in fill)."""
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
            learned = remove_object.learned_spec(self.catalog)
            if learned is None:
                raise InputError("No learned inpainting model is installed; use --method telea, ns or patch.")
            return learned
        if request.model_id and request.model_id != INPAINT_METHODS[method]:
            raise InputError(f"Choose either the model '{request.model_id}' or the method '{method}', not both.")
        return self.get_model(INPAINT_METHODS[method])

    def get_model(self, model_id: str) -> ModelSpec:
        """A catalog entry; a catalog read from disk is re-read once for an id it lacks (a model trained
        after the engine started, e.g. from the editor's Train dialog)."""
        if self._own_catalog and model_id not in self.catalog.ids():
            self.catalog = load_catalog()
        return self.catalog.get(model_id)

    def generate_images(
        self, model_id: Optional[str], prompt: str, count: int, seed: int = 0, device: str = "auto"
    ) -> tuple[list, str, str]:
        """`count` uint8 H×W×3 samples of a `generate` model; returns (images, description, provider)."""
        spec = self.get_model(model_id) if model_id else self.catalog.default_for("generate")
        if spec.task != "generate":
            raise InputError(f"Model '{spec.id}' does '{spec.task}', not 'generate'.")
        context = OpContext(self.catalog, self.open_model, self.memory_budget, self.sessions.threads)
        images, described, provider = generate.sample(context, spec, prompt, count, seed, device)
        return generate.sample_to_uint8(images), described, provider

    def open_model(self, spec: ModelSpec, device: str, arena: bool = False) -> LoadedModel:
        """arena: the caller runs equal-sized tiles and releases the arena with its last run (see SessionCache.get)."""
        path = self.catalog.verify(spec)
        # Only NCHW RGB image models are shape-checked; text, NHWC or other-channel (colourize) models check their own.
        first = spec.inputs[0] if spec.inputs else None
        rgb = first is not None and first.layout == "NCHW" and str(first.channels).startswith("RGB")
        checked = first.name if first is not None and rgb else None
        fixed = arena or spec.settings.input_size is not None
        return self.sessions.get(path, device, checked, fixed_size=fixed, reference=spec.settings.exact_int8)

    def run(self, request: EditRequest, progress: Optional[Progress] = None) -> EditResult:
        progress = progress or Progress()
        progress.check()
        op = entry(request.op)
        spec = self.resolve_model(request)
        function = op.function_for(spec)
        context = OpContext(self.catalog, self.open_model, self.memory_budget, self.sessions.threads)
        started = time.perf_counter()
        output = function(context, request, spec, progress)
        image = output.image
        if op.keeps_grey and image.ndim == 3 and image.shape[2] >= 3 and is_grey(request.image):
            image = to_grey_like(image)
        return EditResult(
            op=request.op,
            image=image,
            model_id=spec.id,
            provider=output.provider,
            seconds=time.perf_counter() - started,
            changed=output.changed,
            notes=output.notes,
        )
