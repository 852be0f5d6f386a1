"""What every op receives and returns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Optional, Protocol

import numpy as np

from ...catalog import Catalog
from ...core.geometry import Bounds
from ..session import LoadedModel


class ProgressLike(Protocol):
    def set(self, fraction: float, message: str = "") -> None: ...

    def check(self) -> None: ...

    def span(self, start: float, end: float) -> ProgressLike: ...


@dataclass(frozen=True)
class OpContext:
    catalog: Catalog
    open_model: Callable[..., LoadedModel]  # (spec, device, arena=False) → cached session
    memory_budget: int  # bytes a tiled run may use for the model's activations
    threads: int = 1  # CPU threads an op may use for its own parallel work (the engine's thread count)


@dataclass(frozen=True)
class OpOutput:
    image: np.ndarray
    provider: str
    changed: Optional[Bounds] = None
    notes: tuple[str, ...] = ()


def nchw_runner(model: LoadedModel) -> Callable[[np.ndarray], np.ndarray]:
    """Adapt an NCHW float32 RGB session to the tiler's H×W×C float32 → H×W×C interface."""

    def infer(patch: np.ndarray) -> np.ndarray:
        tensor = np.ascontiguousarray(patch.transpose(2, 0, 1)[None], dtype=np.float32)
        return model.run(tensor)[0].transpose(1, 2, 0)

    return infer
