"""Rerank on Bedrock Agent Runtime (`POST /rerank`, Amazon Rerank and Cohere Rerank on Bedrock), signed like the
other Bedrock calls (SigV4, service `bedrock`), answered in Cohere's `/rerank` shape and billed per query."""
from __future__ import annotations

import math
import uuid
from typing import Any

from apps.core import jsonutil
from apps.providers import aws_auth
from apps.providers.adapters.bedrock.convert import model_id
from apps.providers.base import Target, UpstreamRequest
from apps.providers.rerank import RerankBody, RerankCall, RerankResult, RerankResultItem, rerank_document

DOCUMENTS_PER_QUERY = 100  # Bedrock bills one query per up to 100 documents, as Cohere bills a search unit


def model_arn(model: str, region: str) -> str:
    """The foundation-model ARN Bedrock's Rerank API takes: an ARN as given, a bare model id in the region."""
    return model if model.startswith("arn:") else f"arn:aws:bedrock:{region}::foundation-model/{model}"


def rerank_body(call: RerankCall, arn: str) -> dict[str, Any]:
    """The Rerank request: the query as TEXT, every document an INLINE TEXT source, `top_n` as numberOfResults."""
    configuration: dict[str, Any] = {"modelConfiguration": {"modelArn": arn},
                                     "numberOfResults": call.top_n or len(call.documents)}
    if call.params:
        configuration["modelConfiguration"]["additionalModelRequestFields"] = dict(call.params)
    return {"queries": [{"type": "TEXT", "textQuery": {"text": call.query}}],
            "sources": [{"type": "INLINE", "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": text}}}
                        for text in call.documents],
            "rerankingConfiguration": {"type": "BEDROCK_RERANKING_MODEL",
                                       "bedrockRerankingConfiguration": configuration}}


class BedrockRerankMixin:
    def agent_runtime_endpoint(self, target: Target) -> str:
        """A configured runtime endpoint with `bedrock-runtime` read as `bedrock-agent-runtime` (as LiteLLM does),
        else the regional Bedrock Agent Runtime endpoint."""
        base = target.extra.get("aws_bedrock_runtime_endpoint") or target.api_base
        if base:
            return str(base).rstrip("/").replace("bedrock-runtime", "bedrock-agent-runtime")
        region = aws_auth.aws_region(target.extra, model=model_id(target.model))
        return f"https://bedrock-agent-runtime.{region}.amazonaws.com"

    def translate_rerank_request(self, call: RerankCall, target: Target) -> UpstreamRequest:
        region = aws_auth.aws_region(target.extra, model=model_id(target.model))
        return UpstreamRequest(method="POST", url=f"{self.agent_runtime_endpoint(target)}/rerank",
                               headers=self.headers(target),  # type: ignore[attr-defined]
                               body=jsonutil.dumps(rerank_body(call, model_arn(model_id(target.model), region))))

    def parse_rerank_response(self, status: int, body: bytes, call: RerankCall) -> RerankResult:
        """Bedrock's `{"results": [{"index", "relevanceScore"}]}` in Cohere's shape, one query per 100 documents."""
        data = jsonutil.loads(body)
        results: list[RerankResultItem] = []
        for item in data.get("results") or []:
            result: RerankResultItem = {"index": int(item["index"]), "relevance_score": float(item["relevanceScore"])}
            if call.return_documents:
                result["document"] = rerank_document(call.documents[result["index"]])
            results.append(result)
        queries = max(1, math.ceil(len(call.documents) / DOCUMENTS_PER_QUERY))
        rerank: RerankBody = {"id": str(uuid.uuid4()), "results": results,
                              "meta": {"billed_units": {"search_units": queries}}}
        return RerankResult(body=rerank, search_units=queries)
