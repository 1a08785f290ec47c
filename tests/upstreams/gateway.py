"""What an end-to-end test needs from a started provider mock: how to deploy it and what it will say.

Each provider module offers `gateway_upstream()`, a context manager yielding a `GatewayUpstream`, so
`tests/e2e/test_providers_through_gateway.py` can drive every provider the same way.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.upstreams.recording import RecordingServer

PROMPT = "hello"
TOOL_NAME = "get_weather"
WEATHER_TOOL = {"type": "function", "function": {"name": TOOL_NAME, "description": "Weather for a city", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


@dataclass(frozen=True, slots=True)
class GatewayUpstream:
    """A running mock and the Deployment fields that point the gateway at it.

    `server` is the mock (its `requests` are what it received); `paths` maps a behaviour (`chat`, `stream`,
    `embeddings`) to the path the mock must receive; `auth` is the header that carries the credential;
    `text`/`stream_text` are the exact answers to `PROMPT`; `tool_arguments` what the mock calls
    `WEATHER_TOOL` with.
    """

    server: RecordingServer
    provider: str
    provider_model: str
    api_base: str
    paths: Mapping[str, str]
    auth: tuple[str, str]  # header name and value
    text: str
    stream_text: str
    tool_arguments: Mapping[str, Any]
    api_key: str = ""
    api_version: str = ""
    embedding_model: str = ""  # empty: the chat model also embeds
    auth_is_prefix: bool = False  # signatures vary per request: `auth` gives how the value starts
    litellm_params: Mapping[str, Any] = field(default_factory=dict)
