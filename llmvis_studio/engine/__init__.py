"""The inference engine: onnxruntime and classical ops, no Qt."""

from .engine import Engine

__all__ = ["Engine"]
