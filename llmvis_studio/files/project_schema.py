"""The shape a `project.json` header must have before any of it is used.

Known keys are type- and size-checked; unknown keys are ignored (never used), so a later minor
version may add one. Every violation raises ProjectFormatError naming the key, which the loader
turns into a one-line message. Limits: the header entry itself is at most MAX_HEADER_BYTES, so
the lists below are bounded twice; the per-item limits keep one prompt or path from being absurd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

FORMAT = "llmvis-project"
# 1: image, original, mask, jobs, prompts. 2: adds an optional hints.npy (colour hints, see core/hint_layer.py).
# A project is written with the lowest version that holds its content, so one without hints stays readable by
# version-1 builds; a version-1 file opens here unchanged (no hints).
VERSION = 2
VERSION_WITHOUT_HINTS = 1
MAX_HEADER_BYTES = 1 << 20
MAX_JOBS = 10_000
MAX_PROMPTS = 10_000
MAX_PROMPT_CHARS = 10_000
MAX_PATH_CHARS = 4096
MAX_FORMAT_CHARS = 32
MAX_DPI = 1_000_000.0


class ProjectFormatError(ValueError):
    """project.json breaks the schema; the text says where."""


@dataclass(frozen=True)
class ProjectHeader:
    version: int
    source_path: Optional[str]
    image_format: str
    dpi: Optional[tuple[float, float]]
    jobs: list[dict[str, Any]]
    prompts: list[str]


class NewerVersion(ProjectFormatError):
    pass


def check_header(header: Any) -> ProjectHeader:
    if not isinstance(header, dict):
        raise ProjectFormatError(f"project.json holds {_kind(header)}, not an object")
    if header.get("format") != FORMAT:
        raise ProjectFormatError("project.json does not say it is an LLMVis project")
    version = header.get("version", 0)
    if not _is_int(version) or version < 1:
        raise ProjectFormatError("'version' must be a positive whole number")
    if version > VERSION:
        raise NewerVersion(f"version {version}")
    metadata = header.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ProjectFormatError(f"'metadata' must be an object, not {_kind(metadata)}")
    return ProjectHeader(
        version=version,
        source_path=_source_path(header.get("source_path")),
        image_format=_image_format(metadata.get("format", "PNG")),
        dpi=_dpi(metadata.get("dpi")),
        jobs=_jobs(header.get("jobs", [])),
        prompts=_prompts(header.get("prompts", [])),
    )


def _source_path(value: Any) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProjectFormatError(f"'source_path' must be text, not {_kind(value)}")
    if len(value) > MAX_PATH_CHARS or "\x00" in value:
        raise ProjectFormatError("'source_path' is not a usable path")
    return value or None


def _image_format(value: Any) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_FORMAT_CHARS:
        raise ProjectFormatError("'metadata.format' must be a short format name")
    return value


def _dpi(value: Any) -> Optional[tuple[float, float]]:
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(_is_number(v) and 0 < v <= MAX_DPI and math.isfinite(v) for v in value)
    ):
        raise ProjectFormatError("'metadata.dpi' must be two positive numbers")
    return float(value[0]), float(value[1])


def _jobs(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ProjectFormatError(f"'jobs' must be a list, not {_kind(value)}")
    if len(value) > MAX_JOBS:
        raise ProjectFormatError(f"'jobs' has more than {MAX_JOBS} entries")
    for job in value:
        if not isinstance(job, dict):
            raise ProjectFormatError(f"each entry of 'jobs' must be an object, not {_kind(job)}")
        for key in ("op", "model", "prompt", "device", "provider", "time"):
            if job.get(key) is not None and not isinstance(job[key], str):
                raise ProjectFormatError(f"'jobs[].{key}' must be text")
        if job.get("params") is not None and not isinstance(job["params"], dict):
            raise ProjectFormatError("'jobs[].params' must be an object")
    return [dict(job) for job in value]


def _prompts(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ProjectFormatError(f"'prompts' must be a list, not {_kind(value)}")
    if len(value) > MAX_PROMPTS:
        raise ProjectFormatError(f"'prompts' has more than {MAX_PROMPTS} entries")
    if not all(isinstance(text, str) and len(text) <= MAX_PROMPT_CHARS for text in value):
        raise ProjectFormatError(f"each prompt must be text of at most {MAX_PROMPT_CHARS} characters")
    return list(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a number",
        float: "a number",
        type(None): "null",
    }
    return names.get(type(value), type(value).__name__)
