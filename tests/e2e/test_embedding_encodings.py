"""Embeddings through the gateway with the official `openai` SDK, for every provider that has them.

The SDK asks for `encoding_format: base64` unless told otherwise: the gateway answers base64 of little-endian
float32 whatever the provider sent (it packs float answers itself), and passes `dimensions` on under each
provider's own name (`output_dimension`, `outputDimensionality`, ...), checked in what each mock received.
A provider that lacks `dimensions` answers a clear 400, or drops it with `drop_params`.
"""
from __future__ import annotations

import base64
import struct
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

import openai
import pytest

from tests.e2e.test_providers_through_gateway import FACTORIES, deploy
from tests.upstreams import bedrock, mistral
from tests.upstreams.gateway import GatewayUpstream

TEXTS = ["hello", "tollgate embeds"]
SIZE = 2  # every mock answers vectors of two values here


@dataclass(frozen=True, slots=True)
class Case:
    """A provider mock, the embedding model deployed on it, and where its wire format puts `dimensions`."""

    factory: Callable[[], AbstractContextManager[GatewayUpstream]]
    sent_dimensions: Callable[[dict[str, Any]], Any]
    model: str = ""  # "" = the mock's own embedding model


CASES = {
    "openai": Case(FACTORIES["openai"], lambda body: body["dimensions"]),
    "azure": Case(FACTORIES["azure"], lambda body: body["dimensions"]),
    "bedrock_titan": Case(FACTORIES["bedrock"], lambda body: body["dimensions"]),
    "bedrock_cohere": Case(FACTORIES["bedrock"], lambda body: body["output_dimension"], model="cohere.embed-v4:0"),
    "gemini": Case(FACTORIES["gemini"], lambda body: {r["outputDimensionality"] for r in body["requests"]}.pop()),
    "vertex_ai": Case(FACTORIES["vertex_ai"], lambda body: body["parameters"]["outputDimensionality"]),
    "cohere": Case(FACTORIES["cohere"], lambda body: body["output_dimension"]),
    "ollama": Case(FACTORIES["ollama"], lambda body: body["dimensions"]),
    "voyage": Case(FACTORIES["voyage"], lambda body: body["output_dimension"]),
    "jina_ai": Case(FACTORIES["jina_ai"], lambda body: body["dimensions"]),
    "mistral": Case(mistral.gateway_upstream, lambda body: body["output_dimension"]),
}


@pytest.fixture
def embedder(request: pytest.FixtureRequest, transactional_db: None) -> Iterator[tuple[str, Case, GatewayUpstream]]:
    """The case's mock, running, deployed as `embed-<case>`."""
    case = CASES[request.param]
    with case.factory() as upstream:
        deploy(name=f"embed-{request.param}", provider=upstream.provider,
               model=case.model or upstream.embedding_model or upstream.provider_model, api_base=upstream.api_base,
               api_key=upstream.api_key, api_version=upstream.api_version, litellm_params=dict(upstream.litellm_params))
        yield f"embed-{request.param}", case, upstream


def float32(values: list[float]) -> list[float]:
    """The values as float32 reads them back (what base64 embeddings carry)."""
    return list(struct.unpack(f"<{len(values)}f", struct.pack(f"<{len(values)}f", *values)))


def unpacked(encoded: str) -> list[float]:
    raw = base64.b64decode(encoded)
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


@pytest.mark.parametrize("embedder", [pytest.param(name, id=f"{name}_case") for name in CASES], indirect=True)
def test_sdk_default_is_answered_in_base64_with_dimensions_passed_on(
        embedder: tuple[str, Case, GatewayUpstream], sdk: openai.OpenAI) -> None:
    model, case, upstream = embedder
    floats = sdk.embeddings.create(model=model, input=TEXTS, dimensions=SIZE, encoding_format="float")
    raw = sdk.embeddings.with_raw_response.create(model=model, input=TEXTS, dimensions=SIZE)  # base64, the default
    wire = raw.http_response.json()
    assert [item["index"] for item in wire["data"]] == [0, 1]
    assert all(isinstance(item["embedding"], str) for item in wire["data"])
    vectors = [item.embedding for item in floats.data]
    assert all(len(vector) == SIZE and all(isinstance(v, float) for v in vector) for vector in vectors)
    assert [unpacked(item["embedding"]) for item in wire["data"]] == [float32(vector) for vector in vectors]
    assert [item.embedding for item in raw.parse().data] == [float32(vector) for vector in vectors]
    bodies = [seen.json() for seen in upstream.server.requests]
    assert bodies and {case.sent_dimensions(body) for body in bodies} == {SIZE}


def test_dimensions_on_a_model_without_them_is_a_400_naming_it(transactional_db: None, sdk: openai.OpenAI) -> None:
    with bedrock.gateway_upstream() as upstream:
        deploy(name="titan-v1", provider="bedrock", model="amazon.titan-embed-text-v1", api_base=upstream.api_base,
               api_key="", litellm_params=dict(upstream.litellm_params))
        with pytest.raises(openai.BadRequestError) as caught:
            sdk.embeddings.create(model="titan-v1", input="hello", dimensions=SIZE)
        assert upstream.server.requests == []
    error = caught.value.body
    assert isinstance(error, dict)
    assert (error["param"], error["code"], error["type"]) == ("dimensions", "unsupported_parameter",
                                                              "invalid_request_error")
    assert "dimensions" in error["message"]


def test_drop_params_sends_the_call_without_dimensions(transactional_db: None, sdk: openai.OpenAI) -> None:
    with bedrock.gateway_upstream() as upstream:
        deploy(name="titan-v1-drop", provider="bedrock", model="amazon.titan-embed-text-v1",
               api_base=upstream.api_base, api_key="",
               litellm_params={**upstream.litellm_params, "drop_params": True})
        response = sdk.embeddings.create(model="titan-v1-drop", input="hello", dimensions=SIZE)
        [seen] = upstream.server.requests
    assert seen.json() == {"inputText": "hello"}
    assert [item.embedding for item in response.data] == [float32([0.1, 0.2, 0.1 * 3])]


def test_an_unknown_encoding_format_is_a_400(transactional_db: None, sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        sdk.embeddings.create(model="anything", input="hello", encoding_format="int8")  # type: ignore[arg-type]
    error = caught.value.body
    assert isinstance(error, dict)
    assert (error["param"], error["code"]) == ("encoding_format", "invalid_value")
