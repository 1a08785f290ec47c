"""Provider adapters; `completion`, `acompletion`, `embedding`, `aembedding` are the Python SDK."""
from __future__ import annotations

from typing import Any

__all__ = ["acompletion", "aembedding", "completion", "embedding"]


def __getattr__(name: str) -> Any:
    # Imported lazily so loading the Django app does not import the HTTP client.
    if name in __all__:
        from apps.providers import sdk

        return getattr(sdk, name)
    raise AttributeError(name)
