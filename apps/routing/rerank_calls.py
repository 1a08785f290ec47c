"""`/rerank` without HTTP: Cohere's request shape checked, budgets reserved, routed like chat, billed per search
unit (Cohere) or per token (Voyage, Jina, vLLM)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from apps.core.errors import InvalidRequest
from apps.providers.base import Usage
from apps.providers.registry import adapter_for
from apps.providers.rerank import RerankCall, RerankResult, query_price, rerank_texts
from apps.providers.rerank_send import can_rerank, rerank_adapter, send_rerank
from apps.routing.calls import table_for, target_for
from apps.routing.parsing import GATEWAY_FIELDS, CallOptions, check_type, call_options, require_model, parse_json_object
from apps.routing.prices import deployment_price
from apps.routing.router import Served, fallback_models, route
from apps.routing.snapshot import DeploymentRecord, RoutingTable
from apps.routing.strategies import CallShape
from apps.teams.auth import Principal
from apps.teams.costing import CHARS_PER_TOKEN, to_nanos
from apps.teams.metering import admit, request_end_user, request_tags

RERANK_FIELDS = frozenset({"model", "query", "documents", "top_n", "rank_fields", "return_documents",
                           "max_chunks_per_doc", "max_tokens_per_doc"})
DOCUMENTS_PER_SEARCH_UNIT = 100  # Cohere: one search unit is one query over up to 100 documents
TOKENS_PER_CHUNK = 500  # Cohere: a longer document (with the query) counts as one document per chunk


def positive(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    check_type(name, value, (int,))
    if value is not None and value < 1:
        raise InvalidRequest(f"Invalid value for '{name}': must be at least 1.", param=name, code="invalid_value")
    return value


def parse_rerank_request(raw: bytes) -> tuple[RerankCall, CallOptions]:
    """A Cohere-shaped rerank body as a RerankCall (documents as text) and its routing options."""
    body = parse_json_object(raw)
    model = require_model(body)
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequest("'query' must be a non-empty string.", param="query",
                             code="missing_required_parameter" if query is None else "invalid_value")
    documents = body.get("documents")
    if not isinstance(documents, list) or not documents:
        raise InvalidRequest("'documents' must be a non-empty array of strings or objects.", param="documents",
                             code="missing_required_parameter" if documents is None else "invalid_value")
    rank_fields = body.get("rank_fields")
    if rank_fields is not None and not (isinstance(rank_fields, list) and rank_fields
                                        and all(isinstance(name, str) for name in rank_fields)):
        raise InvalidRequest("'rank_fields' must be a non-empty array of field names.", param="rank_fields",
                             code="invalid_type")
    top_n = positive(body, "top_n")
    if top_n is not None and top_n > len(documents):
        raise InvalidRequest(f"Invalid value for 'top_n': {top_n} is more than the {len(documents)} documents sent.",
                             param="top_n", code="invalid_value")
    return_documents = body.get("return_documents")
    check_type("return_documents", return_documents, (bool,))
    positive(body, "max_chunks_per_doc")
    params = {k: v for k, v in body.items() if k not in RERANK_FIELDS and k not in GATEWAY_FIELDS}
    call = RerankCall(model=model, query=query,
                      documents=rerank_texts(documents, rank_fields),
                      top_n=top_n, return_documents=bool(return_documents),
                      max_tokens_per_doc=positive(body, "max_tokens_per_doc"), params=params)
    return call, call_options(body)


@dataclass(frozen=True, slots=True)
class RerankBounds:
    """The most a rerank call can be billed: tokens (the query once per document, plus the documents) or search
    units."""

    tokens: int
    search_units: int

    @classmethod
    def of(cls, call: RerankCall) -> RerankBounds:
        query = len(call.query.encode())
        sizes = [len(document.encode()) for document in call.documents]  # no token is shorter than a byte
        chunks = sum(math.ceil((size + query) / TOKENS_PER_CHUNK) for size in sizes)
        return cls(tokens=query * len(sizes) + sum(sizes),
                   search_units=max(1, math.ceil(chunks / DOCUMENTS_PER_SEARCH_UNIT)))


def search_unit_price(deployment: DeploymentRecord) -> Decimal | None:
    """USD per search unit: `model_info.input_cost_per_query`, else the list price; None for token-billed ones."""
    given = deployment.model_info.get("input_cost_per_query")
    if given is not None:
        return Decimal(repr(float(given)))
    return query_price(deployment.target.provider, deployment.target.model)


def worst_case_nanos(deployment: DeploymentRecord, bounds: RerankBounds) -> int:
    per_unit = search_unit_price(deployment)
    if per_unit is not None:
        return to_nanos(per_unit * bounds.search_units, up=True)
    return -(-bounds.tokens * deployment_price(deployment).input_rate // 1_000_000_000)


def reachable(table: RoutingTable, call: RerankCall, options: CallOptions) -> list[DeploymentRecord]:
    names = (call.model, *fallback_models(table, call.model, options))
    return [deployment for name in names for deployment in table.deployments(name)]


def check_can_rerank(table: RoutingTable, model: str) -> None:
    """A 400 naming the model when none of its deployments' providers can rerank."""
    deployments = [d for d in table.deployments(model) if d.supported]
    if deployments and not any(can_rerank(adapter_for(d.target.provider)) for d in deployments):
        rerank_adapter(adapter_for(deployments[0].target.provider), model)


async def rerank(principal: Principal, call: RerankCall, options: CallOptions, *,
                 request_id: str = "") -> Served[RerankResult]:
    """The documents ranked by the first deployment that answers."""
    table, call = await table_for(principal, call)
    check_can_rerank(table, call.model)
    bounds = RerankBounds.of(call)

    def worst_case() -> int:
        return max([worst_case_nanos(d, bounds) for d in reachable(table, call, options)], default=0)

    meter = await admit(principal, model=call.model, call_type="rerank", worst_case=worst_case,
                        request_id=request_id, estimate_prompt=lambda: bounds.tokens // CHARS_PER_TOKEN,
                        tags=request_tags(call.params), end_user=request_end_user(call.params))

    async def attempt(deployment: DeploymentRecord) -> RerankResult:
        target = target_for(deployment, options)
        return await send_rerank(adapter_for(target.provider), call, target)

    shape = CallShape(prompt_tokens=bounds.tokens // CHARS_PER_TOKEN, max_completion_tokens=0, mode="rerank")
    try:
        served = await route(table, call.model, options, attempt, meter, shape=shape)
    except BaseException:
        meter.finish_soon(None, Usage(), price=None)
        raise
    deployment, result = served.deployment, served.value
    per_unit = search_unit_price(deployment)
    cost = to_nanos(per_unit * max(result.search_units, 1)) if per_unit is not None else None
    meter.finish_soon(deployment, result.usage, price=deployment_price(deployment), cost_nanos=cost)
    return served
