"""Fast JSON in and out (orjson), in one place so the choice can change."""
from __future__ import annotations

from typing import Any

import orjson

JSONDecodeError = orjson.JSONDecodeError


def loads(data: bytes | str) -> Any:
    """Parse JSON bytes."""
    return orjson.loads(data)


def dumps(value: Any) -> bytes:
    """Serialise to compact JSON bytes."""
    return orjson.dumps(value)
