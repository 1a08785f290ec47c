"""Fast JSON in and out (orjson), in one place so the choice can change.

Parsed JSON is bounded in depth: nesting past MAX_DEPTH is refused as malformed, so code that walks a body
recursively (validation, serialisers, the stdlib's encoder) never meets a RecursionError. orjson's own bound
(1024) is deeper than Python's recursion limit leaves room for. The check costs two `bytes.count` calls on a
body with few brackets; only a body with more brackets than MAX_DEPTH is walked, without recursion.
"""
from __future__ import annotations

from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError
MAX_DEPTH = 128  # arrays and objects nested in each other


def loads(data: bytes | str) -> Any:
    """Parse JSON bytes; nesting deeper than MAX_DEPTH raises JSONDecodeError as malformed JSON does."""
    value = orjson.loads(data)
    if isinstance(value, (dict, list)) and _brackets(data) > MAX_DEPTH and deeper_than(value, MAX_DEPTH):
        raise JSONDecodeError(f"JSON nested deeper than {MAX_DEPTH} levels", "", 0)
    return value


def _brackets(data: bytes | str) -> int:
    if isinstance(data, str):
        return data.count("[") + data.count("{")
    return data.count(b"[") + data.count(b"{")


def deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels in `value` (walked with a stack, not recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
    return False


def dumps(value: Any) -> bytes:
    """Serialise to compact JSON bytes."""
    return orjson.dumps(value)


def kept(encoded: bytes) -> bytes:
    """A copy of `dumps`' answer sized to its length, for bytes held past the call that made them.

    orjson writes into a buffer of several KiB and shrinks the bytes object in place, so the allocator keeps the
    rest as a free fragment that only a larger-than-pymalloc allocation of that size could reuse: holding 20,000
    spend records of about 775 bytes took 165 MB of RSS, their copies 19 MB (bench/journal_memory.py).
    """
    return memoryview(encoded).tobytes()
