"""Typed-field checks for nested request bodies: 400s in OpenAI's words, naming the field's path.

Tight, allocation-free checks (`type(x) is str`), for shapes read on the hot path.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.core.errors import InvalidRequest

TYPE_NAMES = {str: "a string", dict: "an object", list: "an array", bool: "a boolean", int: "an integer",
              float: "a number"}


def _got(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return TYPE_NAMES.get(type(value), "an unsupported value")


def wrong_type(where: str, value: Any, expected: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid type for '{where}': expected {expected}, but got {_got(value)} instead.",
                          param=where, code="invalid_type")


def missing(where: str) -> InvalidRequest:
    return InvalidRequest(f"Missing required parameter: '{where}'.", param=where, code="missing_required_parameter")


def bad_value(where: str, value: Any, allowed: tuple[str, ...]) -> InvalidRequest:
    shown = repr(value)[:60] if isinstance(value, str) else _got(value)
    choices = ", ".join(f"'{name}'" for name in allowed)
    return InvalidRequest(f"Invalid value: {shown}. Supported values are: {choices}.", param=where,
                          code="invalid_value")


def string(obj: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> None:
    """`obj[key]` is a string (absent or null is fine unless required)."""
    value = obj.get(key)
    if value is None:
        if required:
            raise missing(f"{where}.{key}")
    elif type(value) is not str:
        raise wrong_type(f"{where}.{key}", value, "a string")


def an_object(obj: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> Mapping[str, Any] | None:
    """`obj[key]` as an object (None when absent or null and not required)."""
    value = obj.get(key)
    if value is None:
        if required:
            raise missing(f"{where}.{key}")
        return None
    if type(value) is not dict:
        raise wrong_type(f"{where}.{key}", value, "an object")
    return value


def required_object(obj: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    """`obj[key]`, which must be an object."""
    value = an_object(obj, key, where, required=True)
    assert value is not None
    return value
