"""Rerank values (Cohere/LiteLLM `/rerank` shape) shared by adapters that can rerank."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict

from apps.providers.base import Usage


class RerankDocument(TypedDict):
    text: str


class RerankResultItem(TypedDict, total=False):
    index: int
    relevance_score: float
    document: RerankDocument


class RerankBody(TypedDict, total=False):
    id: str
    results: list[RerankResultItem]
    meta: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RerankCall:
    """One rerank request: documents are strings or `{"text": ...}` objects (others are sent as JSON)."""

    model: str
    query: str
    documents: list[Any]
    top_n: int | None = None
    return_documents: bool = False
    max_tokens_per_doc: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RerankResult:
    """The rerank answer (`{"id", "results", "meta"}`) and what it was billed: search units (Cohere)
    or tokens (Voyage, Jina: `usage.prompt_tokens`)."""

    body: RerankBody
    search_units: int = 0
    usage: Usage = field(default_factory=Usage)


def rerank_document(document: Any) -> RerankDocument:
    """A document an upstream echoed back (a string or `{"text": ...}`) in the `/rerank` answer's shape."""
    if isinstance(document, Mapping) and isinstance(document.get("text"), str):
        return {"text": str(document["text"])}
    return {"text": document if isinstance(document, str) else str(document)}


def token_meta(tokens: int) -> dict[str, Any]:
    """LiteLLM's rerank `meta` for a token-billed reranker."""
    return {"billed_units": {"total_tokens": tokens}, "tokens": {"input_tokens": tokens, "output_tokens": 0}}
