"""Rerank values (Cohere/LiteLLM `/rerank` shape) shared by adapters that can rerank."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict


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
    """The rerank answer (`{"id", "results", "meta"}`) and the search units it was billed."""

    body: RerankBody
    search_units: int = 0
