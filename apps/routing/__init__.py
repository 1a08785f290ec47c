"""Model groups, routing, retries and fallbacks; `Router(model_list=[...])` is the same for Python code."""
from __future__ import annotations

from typing import Any

__all__ = ["Router"]


def __getattr__(name: str) -> Any:
    # Imported lazily so loading the Django app does not import the SDK (and with it the HTTP client).
    if name == "Router":
        from apps.routing.sdk import Router

        return Router
    raise AttributeError(name)
