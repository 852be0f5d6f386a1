"""LLMVis Studio: an offline desktop AI image editor."""

__version__ = "0.1.0"
