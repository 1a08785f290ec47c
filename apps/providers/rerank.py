"""Rerank values (Cohere/LiteLLM `/rerank` shape) shared by adapters that can rerank."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypedDict

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
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


# USD per search unit (one query over up to 100 documents) of Cohere's rerank models, as LiteLLM lists them
# (`input_cost_per_query`); a Cohere rerank model not listed is priced as the current ones.
COHERE_QUERY_PRICES = {"rerank-v3.5": Decimal("0.002"), "rerank-english-v3.0": Decimal("0.002"),
                       "rerank-multilingual-v3.0": Decimal("0.002"), "rerank-english-v2.0": Decimal("0.002"),
                       "rerank-multilingual-v2.0": Decimal("0.002")}
COHERE_DEFAULT_QUERY_PRICE = Decimal("0.002")


# USD per query (up to 100 documents) of the rerank models on Bedrock (LiteLLM's `input_cost_per_query`); a model
# not listed is priced as Cohere's.
BEDROCK_QUERY_PRICES = {"amazon.rerank-v1:0": Decimal("0.001"), "cohere.rerank-v3-5:0": Decimal("0.002")}


def query_price(provider: str, model: str) -> Decimal | None:
    """The list price of one search unit (query), for providers that bill rerank per search (Cohere, Bedrock);
    None otherwise. A Bedrock model may be named by its ARN (`...:foundation-model/amazon.rerank-v1:0`)."""
    if provider == "bedrock":
        return BEDROCK_QUERY_PRICES.get(model.rsplit("/", 1)[-1], COHERE_DEFAULT_QUERY_PRICE)
    if provider != "cohere":
        return None
    return COHERE_QUERY_PRICES.get(model, COHERE_DEFAULT_QUERY_PRICE)


def document_text(document: Any, rank_fields: list[str] | None, index: int) -> str:
    """A document as the text ranked: a string as is, `{"text"}` its text, other objects their (rank) fields
    as `name: value` lines."""
    if isinstance(document, str):
        return document
    if not isinstance(document, dict):
        raise InvalidRequest(f"Invalid type for 'documents[{index}]': expected a string or an object.",
                             param=f"documents[{index}]", code="invalid_type")
    if rank_fields is None and set(document) == {"text"} and isinstance(document["text"], str):
        return document["text"]
    names = rank_fields if rank_fields is not None else list(document)
    lines = [f"{name}: {value if isinstance(value, str) else jsonutil.dumps(value).decode()}"
             for name in names if (value := document.get(name)) is not None]
    if not lines:
        raise InvalidRequest(f"'documents[{index}]' has none of the rank_fields {names}.",
                             param=f"documents[{index}]", code="invalid_value")
    return "\n".join(lines)


def rerank_texts(documents: list[Any], rank_fields: list[str] | None = None) -> list[str]:
    """Every document as the text ranked (see `document_text`)."""
    return [document_text(document, rank_fields, index) for index, document in enumerate(documents)]
