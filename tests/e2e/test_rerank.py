"""`/rerank`, `/v1/rerank` and `/v2/rerank` through the gateway process: Cohere's shape in, each reranker's wire
format out (Cohere, Voyage, Jina, vLLM, Infinity, Bedrock Agent Runtime signed with SigV4), billed per search unit
or per token, refused with a 4xx naming the bad field."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.test import AsyncClient

from apps.core.secrets import encrypt
from apps.routing.models import Deployment, RouterSettings
from apps.teams.services import key_update
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.querycount import count_queries
from tests.teams.conftest import client, make_key, wait_for_spend_rows
from tests.upstreams import bedrock, cohere, infinity, jina_ai, voyage
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

QUERY = "capital of france"
DOCUMENTS = ["Paris is the capital of France.", "Berlin is in Germany.", "The capital city has a river."]


def deploy(name: str, provider: str, model: str, api_base: str, api_key: str, **fields: Any) -> Deployment:
    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    return Deployment.objects.create(model_name=name, provider=provider, provider_model=model, api_base=api_base,
                                     api_key_encrypted=encrypt(api_key), timeout=10, **fields)


@pytest.fixture
def rerankers(transactional_db: None) -> Iterator[dict[str, Any]]:
    """Cohere, Voyage, Jina and vLLM twins, deployed as `co-rerank`, `voyage-rerank`, `jina-rerank`, `vllm-rerank`
    (and an OpenAI chat model, `gpt`, which cannot rerank)."""
    with cohere.CohereUpstream() as co, voyage.VoyageUpstream() as vo, jina_ai.JinaUpstream() as ji, \
            OpenAIUpstream() as vl:
        deploy("co-rerank", "cohere", "rerank-v3.5", co.url, cohere.API_KEY)
        deploy("voyage-rerank", "voyage", "rerank-2.5", vo.url, voyage.API_KEY)
        deploy("jina-rerank", "jina_ai", "jina-reranker-v2-base-multilingual", ji.url, jina_ai.API_KEY)
        deploy("vllm-rerank", "vllm", "BAAI/bge-reranker-v2-m3", vl.api_base, "sk-vllm",
               model_info={"mode": "rerank"})
        deploy("gpt", "openai", "gpt-4o", vl.api_base, "sk-vllm")
        yield {"cohere": co, "voyage": vo, "jina_ai": ji, "vllm": vl}
        assert co.failures == vo.failures == ji.failures == vl.failures == []


@pytest.mark.parametrize("path", ["/v1/rerank", "/rerank", "/v2/rerank"])
def test_cohere_rerank_answers_in_cohere_shape_on_every_path(rerankers: dict[str, Any], http: httpx.Client,
                                                             path: str) -> None:
    answer = http.post(path, json={"model": "co-rerank", "query": QUERY, "documents": DOCUMENTS, "top_n": 2,
                                   "return_documents": True})
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"id": "rr-1", "results": [
        {"index": 0, "relevance_score": 1.0, "document": {"text": DOCUMENTS[0]}},
        {"index": 2, "relevance_score": 0.5, "document": {"text": DOCUMENTS[2]}}],
        "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}}}
    [seen] = rerankers["cohere"].requests
    assert (seen.path, seen.json()) == ("/v2/rerank", {"model": "rerank-v3.5", "query": QUERY,
                                                      "documents": DOCUMENTS, "top_n": 2})
    assert answer.headers["x-litellm-model-group"] == "co-rerank"


def test_cohere_rerank_is_billed_per_search_unit(rerankers: dict[str, Any], http: httpx.Client) -> None:
    answer = http.post("/v1/rerank", json={"model": "co-rerank", "query": QUERY, "documents": DOCUMENTS})
    assert answer.status_code == 200
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.call_type, row.provider, row.model_alias, row.cost, row.prompt_tokens, row.status) == (
        "rerank", "cohere", "co-rerank", Decimal("0.002"), 0, "success")


def test_voyage_rerank_is_sent_in_voyage_names_and_billed_per_token(rerankers: dict[str, Any],
                                                                    http: httpx.Client) -> None:
    answer = http.post("/v1/rerank", json={"model": "voyage-rerank", "query": QUERY, "documents": DOCUMENTS,
                                           "top_n": 1, "return_documents": True})
    assert answer.status_code == 200, answer.text
    tokens = 3 + 6 + 4 + 6  # the twin counts the query once, then every document's words
    assert answer.json()["results"] == [{"index": 0, "relevance_score": 1.0, "document": {"text": DOCUMENTS[0]}}]
    assert answer.json()["meta"] == {"billed_units": {"total_tokens": tokens},
                                     "tokens": {"input_tokens": tokens, "output_tokens": 0}}
    [seen] = rerankers["voyage"].requests
    assert seen.json() == {"model": "rerank-2.5", "query": QUERY, "documents": DOCUMENTS, "top_k": 1,
                           "return_documents": True}
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.call_type, row.prompt_tokens, row.cost) == ("rerank", tokens, Decimal("5e-08") * tokens)


def test_object_documents_are_ranked_on_their_rank_fields(rerankers: dict[str, Any], http: httpx.Client) -> None:
    documents = [{"title": "France", "body": "Paris is the capital.", "id": 7}, {"text": "Berlin is in Germany."}]
    answer = http.post("/v1/rerank", json={"model": "jina-rerank", "query": QUERY, "documents": documents,
                                           "rank_fields": ["title", "body", "text"]})
    assert answer.status_code == 200, answer.text
    [seen] = rerankers["jina_ai"].requests
    assert seen.json()["documents"] == ["title: France\nbody: Paris is the capital.", "text: Berlin is in Germany."]
    assert [item["index"] for item in answer.json()["results"]] == [0, 1]


def test_vllm_rerank_server_is_called_at_its_rerank_path(rerankers: dict[str, Any], http: httpx.Client) -> None:
    answer = http.post("/v1/rerank", json={"model": "vllm-rerank", "query": QUERY, "documents": DOCUMENTS,
                                           "top_n": 2})
    assert answer.status_code == 200, answer.text
    assert [(item["index"], item["relevance_score"]) for item in answer.json()["results"]] == [(0, 1.0), (2, 1 / 3)]
    [seen] = rerankers["vllm"].requests
    assert (seen.path, seen.headers["authorization"]) == ("/v1/rerank", "Bearer sk-vllm")
    assert seen.json() == {"model": "BAAI/bge-reranker-v2-m3", "query": QUERY, "documents": DOCUMENTS, "top_n": 2,
                           "return_documents": False}


BEDROCK_CREDENTIALS = {"aws_access_key_id": bedrock.ACCESS_KEY, "aws_secret_access_key": bedrock.SECRET_KEY,
                       "aws_region_name": "us-west-2"}


@pytest.mark.parametrize(("model", "arn", "price"), [
    pytest.param("amazon.rerank-v1:0", "arn:aws:bedrock:us-west-2::foundation-model/amazon.rerank-v1:0",
                 Decimal("0.001"), id="amazon_rerank_by_id_case"),
    pytest.param("arn:aws:bedrock:us-west-2::foundation-model/cohere.rerank-v3-5:0",
                 "arn:aws:bedrock:us-west-2::foundation-model/cohere.rerank-v3-5:0", Decimal("0.002"),
                 id="cohere_rerank_by_arn_case"),
])
def test_bedrock_rerank_is_signed_sent_to_agent_runtime_and_billed_per_query(
        transactional_db: None, http: httpx.Client, model: str, arn: str, price: Decimal) -> None:
    with bedrock.rerank_upstream() as twin:
        deploy("bedrock-rerank", "bedrock", model, twin.url, "", litellm_params=BEDROCK_CREDENTIALS)
        answer = http.post("/v1/rerank", json={"model": "bedrock-rerank", "query": QUERY, "documents": DOCUMENTS,
                                               "top_n": 2, "return_documents": True})
        assert answer.status_code == 200, answer.text
        assert twin.failures == []
    body = answer.json()
    assert (body["results"], body["meta"]) == ([
        {"index": 0, "relevance_score": 1.0, "document": {"text": DOCUMENTS[0]}},
        {"index": 2, "relevance_score": 1 / 3, "document": {"text": DOCUMENTS[2]}}],
        {"billed_units": {"search_units": 1}})
    [seen] = twin.requests
    assert seen.headers["authorization"].startswith(
        f"AWS4-HMAC-SHA256 Credential={bedrock.ACCESS_KEY}/") and "/us-west-2/bedrock/aws4_request" in \
        seen.headers["authorization"]
    assert seen.json() == {
        "queries": [{"type": "TEXT", "textQuery": {"text": QUERY}}],
        "sources": [{"type": "INLINE", "inlineDocumentSource": {"type": "TEXT", "textDocument": {"text": text}}}
                    for text in DOCUMENTS],
        "rerankingConfiguration": {"type": "BEDROCK_RERANKING_MODEL", "bedrockRerankingConfiguration": {
            "modelConfiguration": {"modelArn": arn}, "numberOfResults": 2}}}
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.call_type, row.provider, row.cost, row.status) == ("rerank", "bedrock", price, "success")


def test_bedrock_rerank_errors_are_mapped_and_fall_back(transactional_db: None, http: httpx.Client) -> None:
    with bedrock.error_twin(400, error_type="ValidationException", message="numberOfResults too large") as invalid, \
            bedrock.error_twin(429, error_type="ThrottlingException", message="Too many requests") as throttled, \
            cohere.CohereUpstream() as co:
        deploy("bedrock-invalid", "bedrock", "amazon.rerank-v1:0", invalid.url, "", litellm_params=BEDROCK_CREDENTIALS)
        deploy("bedrock-busy", "bedrock", "amazon.rerank-v1:0", throttled.url, "", litellm_params=BEDROCK_CREDENTIALS)
        deploy("co-rerank", "cohere", "rerank-v3.5", co.url, cohere.API_KEY)
        refused = http.post("/v1/rerank", json={"model": "bedrock-invalid", "query": QUERY, "documents": DOCUMENTS})
        served = http.post("/v1/rerank", json={"model": "bedrock-busy", "query": QUERY, "documents": DOCUMENTS,
                                               "fallbacks": ["co-rerank"]})
    assert (refused.status_code, refused.json()["error"]["message"]) == (400, "numberOfResults too large")
    assert set(refused.json()["error"]) == {"message", "type", "param", "code"}
    assert (served.status_code, served.headers["x-litellm-model-group"]) == (200, "co-rerank")
    assert [seen.path for seen in invalid.requests + throttled.requests] == ["/rerank", "/rerank"]


def test_infinity_rerank_and_embeddings_reach_its_root_paths(transactional_db: None, http: httpx.Client) -> None:
    with infinity.InfinityUpstream() as twin:
        deploy("infinity-rerank", "infinity", "BAAI/bge-reranker-v2-m3", twin.url, infinity.API_KEY,
               model_info={"mode": "rerank", "input_cost_per_token": 1e-08})
        deploy("infinity-embed", "infinity", "BAAI/bge-small-en-v1.5", twin.url + "/", infinity.API_KEY)
        answer = http.post("/v1/rerank", json={"model": "infinity-rerank", "query": QUERY, "documents": DOCUMENTS,
                                               "top_n": 2, "return_documents": True})
        embedded = http.post("/v1/embeddings", json={"model": "infinity-embed", "input": ["hello there", "x"],
                                                     "dimensions": 2, "encoding_format": "float"})
        assert twin.failures == []
    assert answer.status_code == 200, answer.text
    tokens = 3 * 3 + 6 + 4 + 6
    assert answer.json()["results"] == [{"index": 0, "relevance_score": 1.0, "document": {"text": DOCUMENTS[0]}},
                                        {"index": 2, "relevance_score": 0.3333, "document": {"text": DOCUMENTS[2]}}]
    assert answer.json()["meta"] == {"billed_units": {"total_tokens": tokens},
                                     "tokens": {"input_tokens": tokens, "output_tokens": 0}}
    assert embedded.status_code == 200, embedded.text
    assert [item["embedding"] for item in embedded.json()["data"]] == [[11.0, 0.125], [1.0, 0.125]]
    rerank_seen, embed_seen = twin.requests
    assert (rerank_seen.path, rerank_seen.json()) == ("/rerank", {
        "model": "BAAI/bge-reranker-v2-m3", "query": QUERY, "documents": DOCUMENTS, "top_n": 2,
        "return_documents": True})
    assert (embed_seen.path, embed_seen.json()) == ("/embeddings", {
        "model": "BAAI/bge-small-en-v1.5", "input": ["hello there", "x"], "output_dimension": 2})
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.call_type, row.provider, row.prompt_tokens, row.cost) == ("rerank", "infinity", tokens,
                                                                          Decimal("1e-08") * tokens)


def test_a_failed_attempt_is_retried_and_logged(rerankers: dict[str, Any], http: httpx.Client) -> None:
    upstream: OpenAIUpstream = rerankers["vllm"]
    upstream.reply_with(Reply.json(503, {"error": {"message": "overloaded", "type": "server_error"}}))
    answer = http.post("/v1/rerank", json={"model": "vllm-rerank", "query": QUERY, "documents": DOCUMENTS,
                                           "num_retries": 1})
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-tollgate-attempts"] == "2"
    rows = wait_for_spend_rows(2, request_id=answer.headers["x-request-id"])
    assert [(row.attempt, row.status, row.call_type) for row in rows] == [(1, "failure", "rerank"),
                                                                          (2, "success", "rerank")]


def test_a_failing_group_falls_back_to_another_reranker(rerankers: dict[str, Any], http: httpx.Client) -> None:
    rerankers["vllm"].always_for("BAAI/bge-reranker-v2-m3",
                                 Reply.json(500, {"error": {"message": "boom", "type": "server_error"}}))
    answer = http.post("/v1/rerank", json={"model": "vllm-rerank", "query": QUERY, "documents": DOCUMENTS,
                                           "fallbacks": ["voyage-rerank"]})
    assert answer.status_code == 200, answer.text
    assert (answer.headers["x-litellm-attempted-fallbacks"], answer.headers["x-litellm-model-group"]) == (
        "1", "voyage-rerank")
    assert [request.path for request in rerankers["voyage"].requests] == ["/v1/rerank"]


def test_a_client_hang_up_cancels_the_upstream_call(rerankers: dict[str, Any], gateway: GatewayProcess) -> None:
    upstream: OpenAIUpstream = rerankers["vllm"]
    upstream.reply_with(Reply(stall=True))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{gateway.url}/v1/rerank", headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=1,
                   json={"model": "vllm-rerank", "query": QUERY, "documents": DOCUMENTS})
    assert upstream.hangup_event.wait(10)


def test_key_limits_and_model_permissions_apply(rerankers: dict[str, Any], gateway: GatewayProcess) -> None:
    _, limited = make_key(None, None, rpm_limit=1)
    _, cohere_only = make_key(None, None, allowed_models=["co-rerank"])
    body = {"query": QUERY, "documents": DOCUMENTS}
    with client(gateway, limited) as caller:
        assert caller.post("/v1/rerank", json={"model": "co-rerank", **body}).status_code == 200
        refused = caller.post("/v1/rerank", json={"model": "co-rerank", **body})
    assert refused.status_code == 429 and refused.headers["retry-after"]
    with client(gateway, cohere_only) as caller:
        forbidden = caller.post("/v1/rerank", json={"model": "voyage-rerank", **body})
    assert forbidden.status_code == 401
    assert forbidden.json()["error"]["param"] == "model"
    assert len(rerankers["cohere"].requests) == 1


def test_a_budget_that_cannot_cover_a_search_unit_refuses_the_call(rerankers: dict[str, Any],
                                                                   gateway: GatewayProcess) -> None:
    key, poor = make_key(None, None, max_budget=0.001)
    key_update(key=key, fields={"spend": Decimal("0.001")})
    with client(gateway, poor) as caller:
        refused = caller.post("/v1/rerank", json={"model": "co-rerank", "query": QUERY, "documents": DOCUMENTS})
    assert refused.status_code == 400
    assert refused.json()["error"]["type"] == "budget_exceeded"
    assert rerankers["cohere"].requests == []


BAD_INPUT = [
    pytest.param({"model": "co-rerank", "query": "", "documents": DOCUMENTS}, 400, "query", id="empty_query_case"),
    pytest.param({"model": "co-rerank", "documents": DOCUMENTS}, 400, "query", id="no_query_case"),
    pytest.param({"model": "co-rerank", "query": QUERY}, 400, "documents", id="no_documents_case"),
    pytest.param({"model": "co-rerank", "query": QUERY, "documents": []}, 400, "documents",
                 id="empty_documents_case"),
    pytest.param({"model": "co-rerank", "query": QUERY, "documents": ["a", 3]}, 400, "documents[1]",
                 id="number_document_case"),
    pytest.param({"model": "co-rerank", "query": QUERY, "documents": DOCUMENTS, "top_n": 0}, 400, "top_n",
                 id="top_n_zero_case"),
    pytest.param({"model": "co-rerank", "query": QUERY, "documents": DOCUMENTS, "top_n": 4}, 400, "top_n",
                 id="top_n_past_documents_case"),
    pytest.param({"model": "co-rerank", "query": QUERY, "documents": DOCUMENTS, "rank_fields": "title"}, 400,
                 "rank_fields", id="rank_fields_not_a_list_case"),
    pytest.param({"query": QUERY, "documents": DOCUMENTS}, 400, "model", id="no_model_case"),
    pytest.param({"model": "nope", "query": QUERY, "documents": DOCUMENTS}, 404, "model", id="unknown_model_case"),
    pytest.param({"model": "gpt", "query": QUERY, "documents": DOCUMENTS}, 400, "model",
                 id="model_that_cannot_rerank_case"),
]


@pytest.mark.parametrize(("body", "status", "param"), BAD_INPUT)
def test_bad_input_is_refused_naming_the_param(rerankers: dict[str, Any], http: httpx.Client, body: dict[str, Any],
                                               status: int, param: str) -> None:
    answer = http.post("/v1/rerank", json=body)
    assert (answer.status_code, answer.json()["error"]["param"]) == (status, param), answer.text
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
    assert all(upstream.requests == [] for upstream in rerankers.values())


async def test_warm_rerank_runs_no_queries(rerankers: dict[str, Any]) -> None:
    caller = AsyncClient()
    auth = {"Authorization": f"Bearer {MASTER_KEY}"}
    body = {"model": "co-rerank", "query": QUERY, "documents": DOCUMENTS}
    assert (await caller.post("/v1/rerank", data=body, content_type="application/json",
                              headers=auth)).status_code == 200  # type: ignore[attr-defined]
    with count_queries() as counter:
        warm = await caller.post("/v1/rerank", data=body, content_type="application/json", headers=auth)
    assert warm.status_code == 200  # type: ignore[attr-defined]
    assert counter.statements == []
