"""A strict Mistral La Plateforme twin for `/v1/embeddings`: Bearer auth, Mistral's own field names.

Mistral refuses fields it does not know (OpenAI's `dimensions` is `output_dimension` there, `user` does not
exist), and answers `encoding_format: base64` with base64 of little-endian float32, as OpenAI does.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from apps.providers.embedding_format import encode_vector
from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply

API_KEY = "mistral-e2e"
MODEL = "codestral-embed"
EMBEDDING_FIELDS = {"model", "input", "output_dimension", "output_dtype", "encoding_format", "metadata"}


def vector(text: str, size: int) -> list[float]:
    """The twin's embedding of `text`: its length, then quarters."""
    return [float(len(text))] + [0.25 * (index + 1) for index in range(size - 1)]


def respond(request: Recorded) -> Reply:
    if request.headers.get("authorization") != f"Bearer {API_KEY}":
        return Reply.json(401, {"message": "Unauthorized", "request_id": "r1"})
    if request.path != "/v1/embeddings":
        return Reply.json(404, {"object": "error", "message": f"no route {request.path}",
                                "type": "invalid_request_error"})
    body: dict[str, Any] = request.json()
    unknown = sorted(set(body) - EMBEDDING_FIELDS)
    if unknown:  # Mistral's validation error for an extra field
        return Reply.json(422, {"object": "error", "type": "invalid_request_error", "code": None, "param": None,
                                "message": {"detail": [{"type": "extra_forbidden", "loc": ["body", unknown[0]],
                                                        "msg": "Extra inputs are not permitted"}]}})
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    encoding = "base64" if body.get("encoding_format") == "base64" else "float"
    data = [{"object": "embedding", "index": index,
             "embedding": encode_vector(vector(text, int(body.get("output_dimension") or 4)), encoding)}
            for index, text in enumerate(texts)]
    tokens = sum(len(text.split()) for text in texts)
    return Reply.json(200, {"id": "emb-mistral", "object": "list", "data": data, "model": body["model"],
                            "usage": {"prompt_tokens": tokens, "total_tokens": tokens, "completion_tokens": 0}})


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """The Mistral twin, deployable through the gateway (embeddings only here: chat is the OpenAI-compatible mock's)."""
    with RecordingServer(respond) as twin:
        yield GatewayUpstream(server=twin, provider="mistral", provider_model=MODEL, api_base=f"{twin.url}/v1",
                              paths={"embeddings": "/v1/embeddings"}, auth=("authorization", f"Bearer {API_KEY}"),
                              text="", stream_text="", tool_arguments={}, api_key=API_KEY)
    assert twin.failures == []
