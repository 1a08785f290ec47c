"""Response ids as LiteLLM builds them: `resp_` + base64 of the provider, the deployment's model id and the
provider's own response id, so a later call can tell which deployment holds the response upstream.

LiteLLM's text inside is kept (`litellm:custom_llm_provider:{};model_id:{};response_id:{}`); the base64 is the
URL-safe alphabet without padding, so an id never holds a `/` and travels in a URL path as it is. Decoding
accepts LiteLLM's standard alphabet too.
"""
from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass

PREFIX = "resp_"
TEMPLATE = "litellm:custom_llm_provider:{};model_id:{};response_id:{}"
PARTS = ("litellm:custom_llm_provider:", "model_id:", "response_id:")


@dataclass(frozen=True, slots=True)
class DecodedId:
    """What a gateway response id names."""

    provider: str
    model_id: str
    response_id: str


def new_upstream_id() -> str:
    """A fresh provider-side id for a response the gateway itself made (over chat)."""
    return f"{PREFIX}{uuid.uuid4().hex}"


def encode(*, provider: str, model_id: str, response_id: str) -> str:
    """The id clients see for `response_id` served by deployment `model_id` of `provider`."""
    text = TEMPLATE.format(provider, model_id, response_id).encode()
    return PREFIX + base64.urlsafe_b64encode(text).decode().rstrip("=")


def decode(value: str) -> DecodedId | None:
    """The parts of a gateway (or LiteLLM) response id; None for any other id."""
    if not value.startswith(PREFIX):
        return None
    raw = value[len(PREFIX):]
    padded = raw + "=" * (-len(raw) % 4)
    try:
        text = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    parts = text.split(";", 2)
    if len(parts) != 3 or not all(part.startswith(start) for part, start in zip(parts, PARTS)):
        return None
    provider, model_id, response_id = (part[len(start):] for part, start in zip(parts, PARTS))
    return DecodedId(provider=provider, model_id=model_id, response_id=response_id)
