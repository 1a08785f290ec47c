"""Shared behaviour for embedding-and-rerank APIs with OpenAI-shaped embeddings (Voyage AI, Jina AI).

They take `Authorization: Bearer`, answer embeddings as an OpenAI `list` with `usage.total_tokens`,
report errors as `{"detail": ...}` (read by `OpenAIAdapter.error_from_body`) and rerank a query over
documents, billed in tokens. Subclasses name the rerank wire fields; they serve no chat.
"""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.providers.adapters.openai import OpenAIAdapter
from apps.providers.base import (
    ChatCall,
    ChatChunk,
    ChatCompletion,
    EmbeddingCall,
    EmbeddingResult,
    Frame,
    ParamNotSupported,
    StreamState,
    Target,
    UpstreamRequest,
    Usage,
)
from apps.providers.embedding_format import embedding_list
from apps.providers.rerank import RerankBody, RerankCall, RerankResult, RerankResultItem, rerank_document, token_meta


class NoChat(InvalidRequest):
    """A chat call to a deployment of an embeddings-and-rerank provider."""

    code = "unsupported_operation"


class TokenRerank(OpenAIAdapter):
    """Rerank at `{base}/rerank` in the Jina/Voyage/vLLM shape, billed in tokens (`usage.total_tokens`);
    subclasses name the wire fields."""

    top_n_field: ClassVar[str] = "top_n"
    results_field: ClassVar[str] = "results"

    def post(self, target: Target, endpoint: str, body: Mapping[str, Any]) -> UpstreamRequest:
        return UpstreamRequest(method="POST", url=f"{self.base_url(target)}/{endpoint}", headers=self.headers(target),
                               body=jsonutil.dumps(body))

    # --- rerank ------------------------------------------------------------------------------------

    def translate_rerank_request(self, call: RerankCall, target: Target) -> UpstreamRequest:
        body: dict[str, Any] = {"model": target.model, "query": call.query, "documents": list(call.documents)}
        if call.top_n is not None:
            body[self.top_n_field] = call.top_n
        body["return_documents"] = call.return_documents
        body.update(self.rerank_extras(call))
        return self.post(target, "rerank", body)

    def rerank_extras(self, call: RerankCall) -> dict[str, Any]:
        """Provider-specific rerank fields (none by default)."""
        return {}

    def parse_rerank_response(self, status: int, body: bytes, call: RerankCall) -> RerankResult:
        data = jsonutil.loads(body)
        results: list[RerankResultItem] = []
        for item in data.get(self.results_field) or []:
            result: RerankResultItem = {"index": int(item["index"]), "relevance_score": float(item["relevance_score"])}
            if call.return_documents and item.get("document") is not None:
                result["document"] = rerank_document(item["document"])
            results.append(result)
        tokens = int((data.get("usage") or {}).get("total_tokens") or 0)
        rerank: RerankBody = {"id": str(data.get("id") or uuid.uuid4()), "results": results,
                              "meta": token_meta(tokens)}
        return RerankResult(body=rerank, usage=Usage(prompt_tokens=tokens))


class EmbeddingRerankAdapter(TokenRerank):
    """Embeddings at `{base}/embeddings`, rerank at `{base}/rerank`; subclasses set the wire names."""

    features: ClassVar[frozenset[str]] = frozenset({"embeddings", "rerank"})
    # Embedding parameters sent as they are (besides `dimensions`, which `dimensions_field` renames).
    embedding_params: ClassVar[frozenset[str]] = frozenset()
    dimensions_field: ClassVar[str] = "dimensions"

    def headers(self, target: Target) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "Accept": "application/json", **self.auth_headers(target)}
        headers.update(target.headers)
        return headers

    # --- embeddings --------------------------------------------------------------------------------

    def translate_embedding_request(self, call: EmbeddingCall, target: Target) -> UpstreamRequest:
        """Floats are always asked for; the transport packs them as base64 when the client asked for that."""
        known = self.embedding_params | {"dimensions", "encoding_format", "user"}
        unknown = sorted(name for name in call.params if name not in known)
        if unknown and not target.drop_params:
            raise ParamNotSupported(f"{self.prefix} embeddings do not support: {', '.join(unknown)}",
                                    param=unknown[0])
        if not all(isinstance(item, str) for item in call.inputs):
            raise InvalidRequest(f"{self.prefix} embeddings take text inputs, not token arrays", param="input")
        body: dict[str, Any] = {"model": target.model, "input": list(call.inputs)}
        body.update({name: value for name, value in call.params.items()
                     if name in self.embedding_params and value is not None})
        if call.params.get("dimensions") is not None:
            body[self.dimensions_field] = call.params["dimensions"]
        return self.post(target, "embeddings", body)

    def parse_embedding_response(self, status: int, body: bytes, target: Target) -> EmbeddingResult:
        data = jsonutil.loads(body)
        items = sorted(data.get("data") or [], key=lambda item: int(item.get("index") or 0))
        tokens = (data.get("usage") or {}).get("total_tokens") or (data.get("usage") or {}).get("prompt_tokens")
        usage = Usage(prompt_tokens=int(tokens or 0))
        vectors = [item.get("embedding") or [] for item in items]
        return EmbeddingResult(body=dict(embedding_list(vectors, model=str(data.get("model") or target.model),
                                                        usage=usage)), usage=usage)

    # --- no chat -----------------------------------------------------------------------------------

    def no_chat(self) -> NoChat:
        return NoChat(f"provider {self.prefix!r} serves embeddings and rerank only, not chat completions",
                      param="model")

    def translate_request(self, call: ChatCall, target: Target) -> UpstreamRequest:
        raise self.no_chat()

    def parse_response(self, status: int, body: bytes, target: Target) -> ChatCompletion:
        raise self.no_chat()

    def parse_stream_chunk(self, frame: Frame, state: StreamState) -> list[ChatChunk]:
        raise self.no_chat()
