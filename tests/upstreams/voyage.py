"""A strict Voyage AI twin: `/v1/embeddings` and `/v1/rerank` in Voyage's own wire format.

It checks `Authorization: Bearer`, refuses fields Voyage does not know (OpenAI's `dimensions`,
Cohere's `top_n`) with Voyage's `{"detail": ...}` errors, and records every request.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply

API_KEY = "pa-voyage-wire"
EMBEDDING_FIELDS = {"model", "input", "input_type", "truncation", "output_dimension", "output_dtype", "encoding_format"}
RERANK_FIELDS = {"model", "query", "documents", "top_k", "return_documents", "truncation"}


def score(query: str, document: str) -> float:
    """A deterministic relevance: the share of the query's words found in the document."""
    words = query.lower().split()
    return round(sum(word in document.lower() for word in words) / max(len(words), 1), 4)


class VoyageUpstream(RecordingServer):
    """Use as `with VoyageUpstream() as upstream:`; point `Target.api_base` at `upstream.url`."""

    def __init__(self) -> None:
        super().__init__(self.respond)

    def respond(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return Reply.json(401, {"detail": "Provided API key is invalid."})
        assert request.headers.get("content-type") == "application/json", "Voyage takes JSON bodies"
        body = request.json()
        if request.path == "/v1/embeddings":
            return self.embeddings(body)
        if request.path == "/v1/rerank":
            return self.rerank(body)
        return Reply.json(404, {"detail": "Not Found"})

    def embeddings(self, body: dict[str, Any]) -> Reply:
        unknown = set(body) - EMBEDDING_FIELDS
        if unknown:
            return Reply.json(400, {"detail": f"Unknown fields: {sorted(unknown)}"})
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        size = int(body.get("output_dimension") or 2)
        data = [{"object": "embedding", "embedding": [float(len(text))] + [0.5] * (size - 1), "index": index}
                for index, text in enumerate(texts)]
        tokens = sum(len(text.split()) for text in texts)
        return Reply.json(200, {"object": "list", "data": data, "model": body["model"], "usage": {"total_tokens": tokens}})

    def rerank(self, body: dict[str, Any]) -> Reply:
        unknown = set(body) - RERANK_FIELDS
        if unknown:
            return Reply.json(400, {"detail": f"Unknown fields: {sorted(unknown)}"})
        documents: list[str] = body["documents"]
        ranked = sorted(range(len(documents)), key=lambda i: (-score(body["query"], documents[i]), i))
        data = []
        for index in ranked[:body.get("top_k") or len(ranked)]:
            item: dict[str, Any] = {"relevance_score": score(body["query"], documents[index]), "index": index}
            if body.get("return_documents"):
                item["document"] = documents[index]
            data.append(item)
        tokens = len(body["query"].split()) + sum(len(document.split()) for document in documents)
        return Reply.json(200, {"object": "list", "data": data, "model": body["model"], "usage": {"total_tokens": tokens}})


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """The Voyage twin, deployable through the gateway (embeddings only: Voyage serves no chat)."""
    with VoyageUpstream() as twin:
        yield GatewayUpstream(server=twin, provider="voyage", provider_model="voyage-3.5", api_base=twin.url,
                              paths={"embeddings": "/v1/embeddings"}, auth=("authorization", f"Bearer {API_KEY}"),
                              text="", stream_text="", tool_arguments={}, api_key=API_KEY)
    assert twin.failures == []
