"""Amazon Bedrock Runtime adapter (`bedrock/` models)."""
from __future__ import annotations

from apps.providers.adapters.bedrock.adapter import BedrockAdapter

__all__ = ["BedrockAdapter"]
