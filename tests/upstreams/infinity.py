"""A strict Infinity twin (michaelfeil/infinity): `/rerank` and `/embeddings` at the server's root, as LiteLLM's
`infinity/` provider calls them.

It checks `Authorization: Bearer`, refuses fields Infinity's schemas lack (422, FastAPI's `detail`), answers
rerank Cohere-shaped with documents as plain strings and `usage.{prompt_tokens,total_tokens}`, embeddings
OpenAI-shaped (sized by `output_dimension`), and records every request.
"""
from __future__ import annotations

from typing import Any

from tests.upstreams.recording import Recorded, RecordingServer, Reply
from tests.upstreams.voyage import score

API_KEY = "infinity-wire-key"
EMBEDDING_FIELDS = {"model", "input", "modality", "encoding_format", "user", "output_dimension"}
RERANK_FIELDS = {"model", "query", "documents", "top_n", "return_documents", "raw_scores"}


class InfinityUpstream(RecordingServer):
    """Use as `with InfinityUpstream() as upstream:`; point `api_base` at `upstream.url` (no `/v1`)."""

    def __init__(self) -> None:
        super().__init__(self.respond)

    def respond(self, request: Recorded) -> Reply:
        if request.headers.get("authorization") != f"Bearer {API_KEY}":
            return Reply.json(401, {"detail": "Invalid bearer token"})
        fields = {"/embeddings": EMBEDDING_FIELDS, "/rerank": RERANK_FIELDS}.get(request.path)
        if request.method != "POST" or fields is None:
            return Reply.json(404, {"detail": "Not Found"})
        body = request.json()
        unknown = set(body) - fields
        if unknown:
            return Reply.json(422, {"detail": [{"loc": ["body", name], "msg": "Extra inputs are not permitted",
                                                "type": "extra_forbidden"} for name in sorted(unknown)]})
        return self.embeddings(body) if request.path == "/embeddings" else self.rerank(body)

    def embeddings(self, body: dict[str, Any]) -> Reply:
        assert isinstance(body["input"], list) and all(isinstance(text, str) for text in body["input"]), body
        size = int(body.get("output_dimension") or 4)
        data = [{"object": "embedding", "embedding": [float(len(text))] + [0.125] * (size - 1), "index": index}
                for index, text in enumerate(body["input"])]
        tokens = sum(len(text.split()) for text in body["input"])
        return Reply.json(200, {"object": "list", "data": data, "model": body["model"], "id": "infinity-emb-1",
                                "created": 1733100000, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})

    def rerank(self, body: dict[str, Any]) -> Reply:
        documents: list[str] = body["documents"]
        assert all(isinstance(document, str) for document in documents), documents
        ranked = sorted(range(len(documents)), key=lambda i: (-score(body["query"], documents[i]), i))
        results = [{"relevance_score": score(body["query"], documents[index]), "index": index,
                    "document": documents[index] if body.get("return_documents") else None}
                   for index in ranked[:body.get("top_n") or len(ranked)]]
        tokens = len(body["query"].split()) * len(documents) + sum(len(document.split()) for document in documents)
        return Reply.json(200, {"object": "rerank", "results": results, "model": body["model"],
                                "usage": {"prompt_tokens": tokens, "total_tokens": tokens}, "id": "infinity-rr-1",
                                "created": 1733100000})
