"""A strict Jina AI twin: `/v1/embeddings` and `/v1/rerank` in Jina's own wire format.

It checks `Authorization: Bearer`, answers embeddings OpenAI-shaped with Jina's `usage`, rerank under
`results` with documents as `{"text": ...}`, refuses unknown fields, and records every request.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply
from tests.upstreams.voyage import score

API_KEY = "jina_wire_key"
EMBEDDING_FIELDS = {"model", "input", "task", "dimensions", "late_chunking", "normalized", "truncate", "embedding_type"}
RERANK_FIELDS = {"model", "query", "documents", "top_n", "return_documents"}


class JinaUpstream(RecordingServer):
    """Use as `with JinaUpstream() as upstream:`; point `Target.api_base` at `upstream.url`."""

    def __init__(self) -> None:
        super().__init__(self.respond)

    def respond(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return Reply.json(401, {"detail": "Unauthorized: Invalid API key."})
        body = request.json()
        fields = {"/v1/embeddings": EMBEDDING_FIELDS, "/v1/rerank": RERANK_FIELDS}.get(request.path)
        if fields is None:
            return Reply.json(404, {"detail": "Not Found"})
        unknown = set(body) - fields
        if unknown:
            return Reply.json(422, {"detail": [{"loc": ["body", name], "msg": "extra fields not permitted"}
                                               for name in sorted(unknown)]})
        return self.embeddings(body) if request.path == "/v1/embeddings" else self.rerank(body)

    def embeddings(self, body: dict[str, Any]) -> Reply:
        size = int(body.get("dimensions") or 3)
        data = [{"object": "embedding", "index": index, "embedding": [float(len(text))] + [0.25] * (size - 1)}
                for index, text in enumerate(body["input"])]
        tokens = sum(len(text.split()) for text in body["input"])
        return Reply.json(200, {"model": body["model"], "object": "list",
                                "usage": {"total_tokens": tokens, "prompt_tokens": tokens}, "data": data})

    def rerank(self, body: dict[str, Any]) -> Reply:
        documents: list[str] = body["documents"]
        ranked = sorted(range(len(documents)), key=lambda i: (-score(body["query"], documents[i]), i))
        results = []
        for index in ranked[:body.get("top_n") or len(ranked)]:
            item: dict[str, Any] = {"index": index, "relevance_score": score(body["query"], documents[index])}
            if body.get("return_documents", True):
                item["document"] = {"text": documents[index]}
            results.append(item)
        tokens = len(body["query"].split()) + sum(len(document.split()) for document in documents)
        return Reply.json(200, {"model": body["model"], "usage": {"total_tokens": tokens}, "results": results})


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """The Jina twin, deployable through the gateway (embeddings only: Jina serves no chat)."""
    with JinaUpstream() as twin:
        yield GatewayUpstream(server=twin, provider="jina_ai", provider_model="jina-embeddings-v3", api_base=twin.url,
                              paths={"embeddings": "/v1/embeddings"}, auth=("authorization", f"Bearer {API_KEY}"),
                              text="", stream_text="", tool_arguments={}, api_key=API_KEY)
    assert twin.failures == []
