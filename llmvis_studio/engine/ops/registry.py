"""The op registry: op name → the model task it needs, its typed params and its run function.

The engine resolves and runs requests through it (params are parsed before a model loads, so the CLI, the editor
and batch files all get the same check); restore runs its fill through the same inpaint entry; batch checks params
before any file is read. `core.requests.OPS` lists the same names (core cannot
import the engine); a test keeps the two equal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ...catalog import ModelSpec
from ...core.errors import InputError, ModelError
from ...core.requests import EditRequest
from . import (
    colourize,
    denoise,
    detect_scratches,
    detect_text,
    generate,
    inpaint,
    restore,
    stylize,
    subject,
    upscale,
)
from . import params as P
from .base import OpContext, OpOutput, ProgressLike

OpFn = Callable[[OpContext, EditRequest, ModelSpec, ProgressLike], OpOutput]


@dataclass(frozen=True)
class OpEntry:
    name: str
    task: str  # the catalog task of the model it runs on (restore runs on the scratch detector)
    params: type[P.OpParams]
    run: OpFn
    builtin: bool = False  # built-in models (no ONNX file: OpenCV, patch synthesis) can run it
    keeps_grey: bool = False  # restores rather than adds colour: a greyscale input gives a greyscale output

    def function_for(self, spec: ModelSpec) -> OpFn:
        if spec.builtin and not self.builtin:
            raise ModelError(f"Model '{spec.id}' cannot be used for '{self.name}'.")
        return self.run


def _entry(name: str, run: OpFn, task: str = "", **flags: bool) -> tuple[str, OpEntry]:
    return name, OpEntry(name, task or name, P.PARAMS[name], run, **flags)


REGISTRY: Mapping[str, OpEntry] = MappingProxyType(
    dict(
        [
            _entry("upscale", upscale.run, keeps_grey=True),
            _entry("inpaint", inpaint.run, builtin=True, keeps_grey=True),
            _entry("denoise", denoise.run, keeps_grey=True),
            _entry("generate", generate.run),  # generators trained here
            _entry("stylize", stylize.run),  # Magenta arbitrary style + presets
            _entry("detect-scratches", detect_scratches.run),  # result image = the mask
            _entry("restore", restore.run, "detect-scratches", keeps_grey=True),  # detect + inpaint
            _entry("select-subject", subject.run_select),  # result image = the subject mask
            _entry("remove-background", subject.run_remove_background, "select-subject"),  # RGBA result
            _entry("detect-text", detect_text.run),  # result image = the text mask
            _entry("colourize", colourize.run),  # grey photo + optional colour hints → colour
        ]
    )
)


def entry(op: str) -> OpEntry:
    if op not in REGISTRY:
        raise InputError(f"'{op}' is not available yet in this version.")
    return REGISTRY[op]


def task_of(op: str) -> str:
    return entry(op).task
