"""Anthropic Messages API adapter (`anthropic/` models)."""
from __future__ import annotations

from apps.providers.adapters.anthropic.adapter import AnthropicAdapter

__all__ = ["AnthropicAdapter"]
