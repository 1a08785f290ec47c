"""Gemini and Vertex AI custom `api_base` as LiteLLM reads it: a base ending in the API version gets it once."""
from __future__ import annotations

import pytest

from apps.providers import completion, embedding
from tests.upstreams.gemini import GeminiUpstream
from tests.upstreams.vertex_ai import STATIC_TOKEN, VertexUpstream

MSG = [{"role": "user", "content": "hello"}]
VERTEX_MODELS = "/v1/projects/acme-prod/locations/us-east5/publishers/google/models"
VERTEX = {"vertex_project": "acme-prod", "vertex_location": "us-east5", "api_key": STATIC_TOKEN}


@pytest.mark.parametrize("suffix", [
    pytest.param("", id="host_only_case"),
    pytest.param("/v1beta", id="ends_in_version_case"),
    pytest.param("/v1beta/", id="ends_in_version_with_slash_case"),
])
def test_gemini_base_gets_the_version_once(suffix: str) -> None:
    with GeminiUpstream() as upstream:
        reply = completion(model="gemini/gemini-2.5-flash", messages=MSG, api_base=upstream.url + suffix,
                           api_key=upstream.api_key)
        chunks = list(completion(model="gemini/gemini-2.5-flash", messages=MSG, api_base=upstream.url + suffix,
                                 api_key=upstream.api_key, stream=True))
        paths = [(seen.path, seen.query) for seen in upstream.requests]
    assert reply.choices[0].message.content == "echo: hello"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello"
    assert paths == [("/v1beta/models/gemini-2.5-flash:generateContent", {}),
                     ("/v1beta/models/gemini-2.5-flash:streamGenerateContent", {"alt": ["sse"]})]


def test_gemini_base_from_gemini_api_base(monkeypatch: pytest.MonkeyPatch) -> None:
    with GeminiUpstream() as upstream:
        monkeypatch.setenv("GEMINI_API_BASE", f"{upstream.url}/v1beta")
        monkeypatch.setenv("GEMINI_API_KEY", upstream.api_key)
        result = embedding(model="gemini/text-embedding-004", input=["a", "b"])
        [seen] = upstream.requests
    assert seen.path == "/v1beta/models/text-embedding-004:batchEmbedContents"
    assert [item.embedding for item in result.data] == [[0.0, 0.5], [1.0, 0.5]]


@pytest.mark.parametrize(("suffix", "model"), [
    pytest.param("", "gemini-2.5-pro", id="host_only_case"),
    pytest.param("/v1", "gemini-2.5-pro", id="ends_in_version_case"),
    pytest.param(f"{VERTEX_MODELS}/gemini-2.5-pro", "ignored-the-base-names-it", id="full_model_path_case"),
])
def test_vertex_base_gets_the_version_once(suffix: str, model: str) -> None:
    with VertexUpstream() as upstream:
        reply = completion(model=f"vertex_ai/{model}", messages=MSG, api_base=upstream.url + suffix, **VERTEX)
        list(completion(model=f"vertex_ai/{model}", messages=MSG, api_base=upstream.url + suffix, stream=True,
                        **VERTEX))
        paths = [seen.path for seen in upstream.requests]
    assert reply.choices[0].message.content == "echo: hello"
    assert paths == [f"{VERTEX_MODELS}/gemini-2.5-pro:generateContent",
                     f"{VERTEX_MODELS}/gemini-2.5-pro:streamGenerateContent"]


def test_vertex_embeddings_on_a_versioned_base() -> None:
    with VertexUpstream() as upstream:
        result = embedding(model="vertex_ai/text-embedding-005", input="a", api_base=f"{upstream.url}/v1", **VERTEX)
        [seen] = upstream.requests
    assert seen.path == f"{VERTEX_MODELS}/text-embedding-005:predict"
    assert (result.data[0].embedding, result.usage.prompt_tokens) == ([0.25, 0.0], 2)
