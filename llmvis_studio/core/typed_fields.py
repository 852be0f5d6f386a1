"""Build a frozen dataclass from a plain mapping (a request's params, a manifest entry), converting each value to its
field's declared type: numbers from strings or numpy scalars, None only where the field is Optional.

Used by the ops' parameter classes (engine/ops/params.py) and the models' settings (catalog/settings.py).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar, Union

import numpy as np

from .errors import StudioError

T = TypeVar("T")
_KINDS = {int: "a whole number", float: "a number", bool: "true or false", str: "text"}


def field_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def build(cls: type[T], values: Mapping[str, Any], error: type[StudioError], what: str = "") -> T:
    """`cls(**values)` with every value converted to its field's type; names not in `cls` are left out (the caller
    decides whether they are an error). A value that does not convert raises `error` naming the field."""
    hints = typing.get_type_hints(cls)
    known = set(field_names(cls))
    return cls(
        **{name: convert(name, value, hints[name], error, what) for name, value in values.items() if name in known}
    )


def convert(name: str, value: Any, hint: Any, error: type[StudioError], what: str = "") -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (Union, types.UnionType) and type(None) in args:
        if value is None:
            return None
        hint = next(arg for arg in args if arg is not type(None))
    if hint is Any or hint is np.ndarray or hint not in _KINDS:
        return value
    try:
        if hint is bool and not isinstance(value, (bool, np.bool_, int)):
            raise TypeError(value)
        converted = hint(value)
    except (TypeError, ValueError, OverflowError):
        raise error(f"{what}'{name}' must be {_KINDS[hint]}, not {value!r}.") from None
    if hint is float and math.isnan(converted):
        raise error(f"{what}'{name}' must be a number, not NaN.")
    return converted
