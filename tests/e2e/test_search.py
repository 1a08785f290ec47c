"""`/v1/search` (and `/search`, `/v1/search/{tool}`, `/v1/search/tools`) through the gateway process: LiteLLM's
Search API in, each provider's wire format out (checked by its twin), results in Perplexity's shape, billed per
query, refused with a 4xx naming the bad field."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from django.test import AsyncClient, Client

from apps.core.secrets import encrypt
from apps.routing.models import RouterSettings, SearchTool
from apps.teams.models import User
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.querycount import count_queries
from tests.teams.conftest import client, make_key, wait_for_spend_rows
from tests.upstreams.recording import Reply
from tests.upstreams.search import brave, duckduckgo, exa_ai, google_pse, perplexity, searxng, serper, tavily
from tests.upstreams.search.twin import SearchTwin


def tool(name: str, provider: str, api_base: str, api_key: str = "", **params: Any) -> SearchTool:
    return SearchTool.objects.create(search_tool_name=name, search_provider=provider, api_base=api_base,
                                     api_key_encrypted=encrypt(api_key) if api_key else "", litellm_params=params)


@pytest.fixture
def twins(transactional_db: None) -> Iterator[dict[str, SearchTwin]]:
    """A twin of every provider, each deployed as a search tool named after it (`<provider>-search`)."""
    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    servers = {"tavily": tavily.TavilyTwin(), "exa_ai": exa_ai.ExaTwin(), "brave": brave.BraveTwin(),
               "perplexity": perplexity.PerplexityTwin(), "google_pse": google_pse.GooglePSETwin(),
               "searxng": searxng.SearXNGTwin(), "serper": serper.SerperTwin(),
               "duckduckgo": duckduckgo.DuckDuckGoTwin()}
    for twin in servers.values():
        twin.start()
    try:
        tool("tavily-search", "tavily", servers["tavily"].url, tavily.API_KEY, timeout=10)
        tool("exa_ai-search", "exa_ai", servers["exa_ai"].url, exa_ai.API_KEY)
        tool("brave-search", "brave", servers["brave"].url + "/res/v1/web/search", brave.API_KEY)
        tool("perplexity-search", "perplexity", servers["perplexity"].url, perplexity.API_KEY)
        tool("google_pse-search", "google_pse", servers["google_pse"].url + "/customsearch/v1", google_pse.API_KEY,
             search_engine_id=google_pse.ENGINE_ID)
        tool("searxng-search", "searxng", servers["searxng"].url)
        tool("serper-search", "serper", servers["serper"].url, serper.API_KEY)
        tool("duckduckgo-search", "duckduckgo", servers["duckduckgo"].url)
        yield servers
        assert all(twin.failures == [] for twin in servers.values())
    finally:
        for twin in servers.values():
            twin.stop()


def item(title: str, url: str, snippet: str, date: str | None = None, last_updated: str | None = None) -> dict[str, Any]:
    return {"title": title, "url": url, "snippet": snippet, "date": date, "last_updated": last_updated}


SITES = "(tollgate) AND (site:a.org OR site:b.org)"  # the query Brave gets (its twin titles results by it)
# (provider, request body, what its twin must receive: JSON body or query string, the results answered, cost)
CASES = [
    pytest.param("tavily", {"query": "tollgate gateway", "max_results": 2, "search_domain_filter": ["a.org"],
                            "country": "US", "topic": "news"},
                 {"query": "tollgate gateway", "max_results": 2, "include_domains": ["a.org"], "country": "us",
                  "topic": "news"},
                 [item("tollgate gateway #0", "https://tavily.example/0", "Tavily content 0"),
                  item("tollgate gateway #1", "https://tavily.example/1", "Tavily content 1")],
                 Decimal("0.008"), id="tavily_case"),
    pytest.param("exa_ai", {"query": ["tollgate", "gateway"], "max_results": 2, "country": "DE"},
                 {"query": "tollgate gateway", "numResults": 2, "userLocation": "DE", "contents": {"text": True}},
                 [item("tollgate gateway #0", "https://exa.example/0", "Exa text 0", "2024-01-15T00:00:00.000Z"),
                  item("tollgate gateway #1", "https://exa.example/1", "Exa text 1", "2024-02-15T00:00:00.000Z")],
                 Decimal("0.005"), id="exa_case"),
    pytest.param("brave", {"query": "tollgate", "max_results": 2, "search_domain_filter": ["a.org", "b.org"],
                           "country": "GB"},
                 {"q": [SITES], "count": ["2"], "country": ["GB"],
                  "include_fetch_metadata": ["true"]},
                 [item(f"{SITES} #0", "https://brave.example/0", "Brave description 0", "2024-05-01", "2024-06-01"),
                  item(f"{SITES} #1", "https://brave.example/1", "Brave description 1", "2024-05-02", "2024-06-02")],
                 Decimal("0.005"), id="brave_case"),
    pytest.param("perplexity", {"query": ["ai news", "gpu"], "max_results": 1, "max_tokens_per_page": 512,
                                "search_recency_filter": "week"},
                 {"query": ["ai news", "gpu"], "max_results": 1, "max_tokens_per_page": 512,
                  "search_recency_filter": "week"},
                 [item("ai news #0", "https://perplexity.example/ai-news/0", "Perplexity snippet 0", "2024-03-01",
                       "2024-06-01"),
                  item("gpu #0", "https://perplexity.example/gpu/0", "Perplexity snippet 0", "2024-03-01",
                       "2024-06-01")],
                 Decimal("0.010"), id="perplexity_two_queries_case"),
    pytest.param("google_pse", {"query": "tollgate", "max_results": 15, "search_domain_filter": ["a.org", "b.org"],
                                "country": "us", "safe": "active"},
                 {"q": ["tollgate"], "cx": [google_pse.ENGINE_ID], "key": [google_pse.API_KEY], "num": ["10"],
                  "siteSearch": ["a.org"], "siteSearchFilter": ["i"], "gl": ["US"], "safe": ["active"]},
                 [item(f"tollgate #{i}", f"https://google.example/{i}", f"Google snippet {i}") for i in range(10)],
                 Decimal("0.005"), id="google_pse_case"),
    pytest.param("searxng", {"query": "tollgate", "max_results": 3, "country": "DE", "categories": "general"},
                 {"q": ["tollgate"], "format": ["json"], "language": ["de"], "categories": ["general"]},
                 [item("tollgate #0", "https://searx.example/0", "SearXNG content 0", "2024-04-01T00:00:00"),
                  item("tollgate #1", "https://searx.example/1", "SearXNG content 1"),
                  item("tollgate #2", "https://searx.example/2", "SearXNG content 2", "2024-04-03T00:00:00")],
                 Decimal("0"), id="searxng_case"),
    pytest.param("serper", {"query": "tollgate", "max_results": 2, "country": "US", "search_domain_filter": ["a.org"]},
                 {"q": "tollgate site:a.org", "num": 2, "gl": "us"},
                 [item("tollgate site:a.org #0", "https://serper.example/0", "Serper snippet 0", "2024-03-04"),
                  item("tollgate site:a.org #1", "https://serper.example/1", "Serper snippet 1")],
                 Decimal("0.001"), id="serper_case"),
    pytest.param("duckduckgo", {"query": "tollgate", "max_results": 3},
                 {"q": ["tollgate"], "format": ["json"], "no_html": ["1"], "skip_disambig": ["1"]},
                 [item("Tollgate", "https://en.wikipedia.org/x", "tollgate is a thing."),
                  item("Official site", "https://example.org", "Official site"),
                  item("tollgate one", "https://duckduckgo.com/Topic_1", "tollgate one - the first topic")],
                 Decimal("0"), id="duckduckgo_case"),
]


@pytest.mark.parametrize(("provider", "body", "sent", "results", "cost"), CASES)
def test_each_provider_gets_its_wire_format_and_answers_in_litellm_shape(
        twins: dict[str, SearchTwin], http: httpx.Client, provider: str, body: dict[str, Any], sent: dict[str, Any],
        results: list[dict[str, Any]], cost: Decimal) -> None:
    answer = http.post(f"/v1/search/{provider}-search", json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"object": "search", "results": results}
    [seen] = twins[provider].requests
    assert (seen.json() if seen.method == "POST" else seen.query) == sent
    assert answer.headers["x-litellm-model-group"] == f"{provider}-search"
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.call_type, row.provider, row.model_alias, row.cost, row.status) == (
        "search", provider, f"{provider}-search", cost, "success")


def test_the_tool_may_be_named_in_the_body_and_the_bare_paths_serve(twins: dict[str, SearchTwin],
                                                                    http: httpx.Client) -> None:
    for path in ("/v1/search", "/search"):
        answer = http.post(path, json={"search_tool_name": "serper-search", "query": "q", "max_results": 1})
        assert answer.status_code == 200, answer.text
        assert [r["url"] for r in answer.json()["results"]] == ["https://serper.example/0"]
    assert http.post("/search/serper-search", json={"query": "q"}).status_code == 200
    assert [r.json() for r in twins["serper"].requests] == [{"q": "q", "num": 1}, {"q": "q", "num": 1}, {"q": "q"}]


def test_search_tools_lists_what_the_key_may_use(twins: dict[str, SearchTwin], http: httpx.Client,
                                                 gateway: GatewayProcess) -> None:
    SearchTool.objects.filter(search_tool_name="tavily-search").update(search_tool_info={"description": "Tavily"})
    listed = http.get("/v1/search/tools").json()
    assert listed["object"] == "list"
    assert {"search_tool_name": "tavily-search", "search_provider": "tavily", "description": "Tavily"} in listed["data"]
    assert len(listed["data"]) == 8
    _, only_brave = make_key(None, None, allowed_models=["brave-search"])
    with client(gateway, only_brave) as caller:
        assert caller.get("/search/tools").json() == {"object": "list", "data": [
            {"search_tool_name": "brave-search", "search_provider": "brave"}]}


def test_key_tool_permissions_and_rate_limits_apply(twins: dict[str, SearchTwin], gateway: GatewayProcess) -> None:
    _, brave_only = make_key(None, None, allowed_models=["brave-search"], rpm_limit=1)
    with client(gateway, brave_only) as caller:
        forbidden = caller.post("/v1/search/tavily-search", json={"query": "q"})
        assert (forbidden.status_code, forbidden.json()["error"]["code"]) == (401, "model_not_allowed")
        assert caller.post("/v1/search/brave-search", json={"query": "q"}).status_code == 200
        limited = caller.post("/v1/search/brave-search", json={"query": "q"})
    assert limited.status_code == 429 and limited.headers["retry-after"]
    assert twins["tavily"].requests == [] and len(twins["brave"].requests) == 1


def test_a_budget_that_cannot_cover_a_query_refuses_the_call(twins: dict[str, SearchTwin],
                                                             gateway: GatewayProcess) -> None:
    _, poor = make_key(None, None, max_budget=0.01)
    with client(gateway, poor) as caller:
        # 0.008 a query: the second call may pass the budget (by at most one call), the third is refused.
        answers = [caller.post("/v1/search/tavily-search", json={"query": "q"}) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 400]
    assert answers[2].json()["error"]["type"] == "budget_exceeded"
    assert len(twins["tavily"].requests) == 2


def test_a_failed_attempt_is_retried_and_logged(twins: dict[str, SearchTwin], http: httpx.Client) -> None:
    twins["exa_ai"].reply_with(Reply.json(503, {"error": "Service temporarily unavailable"}))
    answer = http.post("/v1/search/exa_ai-search", json={"query": "q", "max_results": 1, "num_retries": 1})
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-tollgate-attempts"] == "2"
    rows = wait_for_spend_rows(2, request_id=answer.headers["x-request-id"])
    assert [(row.attempt, row.status, row.cost) for row in rows] == [(1, "failure", Decimal(0)),
                                                                     (2, "success", Decimal("0.005"))]


def test_a_failing_tool_falls_back_to_another(twins: dict[str, SearchTwin], http: httpx.Client) -> None:
    twins["tavily"].reply_with(Reply.json(500, {"detail": {"error": "internal"}}))
    answer = http.post("/v1/search/tavily-search", json={"query": "q", "max_results": 1,
                                                         "fallbacks": ["serper-search"]})
    assert answer.status_code == 200, answer.text
    assert (answer.headers["x-litellm-attempted-fallbacks"], answer.headers["x-litellm-model-group"]) == (
        "1", "serper-search")
    assert answer.json()["results"][0]["url"] == "https://serper.example/0"


def test_a_provider_refusing_the_key_is_a_clear_error_without_the_key(twins: dict[str, SearchTwin],
                                                                      http: httpx.Client) -> None:
    SearchTool.objects.filter(search_tool_name="google_pse-search").update(api_key_encrypted=encrypt("AIza-wrong"))
    answer = http.post("/v1/search/google_pse-search", json={"query": "q"})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == "google_pse: API key not valid. Please pass a valid API key."
    assert "AIza" not in answer.text


def test_a_client_hang_up_cancels_the_upstream_call(twins: dict[str, SearchTwin], gateway: GatewayProcess) -> None:
    twins["perplexity"].reply_with(Reply(stall=True))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{gateway.url}/v1/search/perplexity-search", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                   timeout=1, json={"query": "q"})
    assert twins["perplexity"].hangup_event.wait(10)


def test_a_tool_of_a_provider_tollgate_lacks_is_refused(twins: dict[str, SearchTwin], http: httpx.Client) -> None:
    tool("crawl", "firecrawl", "http://127.0.0.1:9")
    answer = http.post("/v1/search/crawl", json={"query": "q"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "unsupported_provider")


BAD_INPUT = [
    pytest.param("/v1/search/tavily-search", {"query": ""}, 400, "query", id="empty_query_case"),
    pytest.param("/v1/search/tavily-search", {"max_results": 3}, 400, "query", id="no_query_case"),
    pytest.param("/v1/search/tavily-search", {"query": ["a", " "]}, 400, "query", id="blank_query_in_list_case"),
    pytest.param("/v1/search/tavily-search", {"query": 7}, 400, "query", id="number_query_case"),
    pytest.param("/v1/search/tavily-search", {"query": "q", "max_results": 0}, 400, "max_results",
                 id="max_results_zero_case"),
    pytest.param("/v1/search/tavily-search", {"query": "q", "max_results": 21}, 400, "max_results",
                 id="max_results_past_twenty_case"),
    pytest.param("/v1/search/tavily-search", {"query": "q", "max_results": "5"}, 400, "max_results",
                 id="max_results_string_case"),
    pytest.param("/v1/search/tavily-search", {"query": "q", "search_domain_filter": "a.org"}, 400,
                 "search_domain_filter", id="domain_filter_not_a_list_case"),
    pytest.param("/v1/search/tavily-search", {"query": "q", "search_domain_filter": [f"d{i}.org" for i in range(21)]},
                 400, "search_domain_filter", id="too_many_domains_case"),
    pytest.param("/v1/search/tavily-search", {"query": "q", "max_tokens_per_page": 0}, 400, "max_tokens_per_page",
                 id="max_tokens_per_page_zero_case"),
    pytest.param("/v1/search/tavily-search", {"query": "q", "country": 1}, 400, "country", id="country_number_case"),
    pytest.param("/v1/search", {"query": "q"}, 400, "search_tool_name", id="no_tool_case"),
    pytest.param("/v1/search/no-such-tool", {"query": "q"}, 404, "search_tool_name", id="unknown_tool_case"),
    pytest.param("/v1/search", {"search_tool_name": "nope", "query": "q"}, 404, "search_tool_name",
                 id="unknown_tool_in_body_case"),
]


@pytest.mark.parametrize(("path", "body", "status", "param"), BAD_INPUT)
def test_bad_input_is_refused_naming_the_param(twins: dict[str, SearchTwin], http: httpx.Client, path: str,
                                               body: dict[str, Any], status: int, param: str) -> None:
    answer = http.post(path, json=body)
    assert (answer.status_code, answer.json()["error"]["param"]) == (status, param), answer.text
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
    assert all(twin.requests == [] for twin in twins.values())


def test_a_body_that_is_not_json_is_refused(twins: dict[str, SearchTwin], http: httpx.Client) -> None:
    answer = http.post("/v1/search/tavily-search", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (answer.status_code, answer.json()["error"]["code"]) == (400, "invalid_json")
    assert http.post("/v1/search/tavily-search", json={"query": "still serving"}).status_code == 200


async def test_warm_search_runs_no_queries(twins: dict[str, SearchTwin]) -> None:
    caller = AsyncClient()
    auth = {"Authorization": f"Bearer {MASTER_KEY}"}
    body = {"query": "q", "max_results": 1}
    assert (await caller.post("/v1/search/serper-search", data=body, content_type="application/json",
                              headers=auth)).status_code == 200  # type: ignore[attr-defined]
    with count_queries() as counter:
        warm = await caller.post("/v1/search/serper-search", data=body, content_type="application/json", headers=auth)
    assert warm.status_code == 200  # type: ignore[attr-defined]
    assert counter.statements == []


def test_a_tool_added_in_the_admin_serves_the_running_gateway(twins: dict[str, SearchTwin], http: httpx.Client) -> None:
    admin = Client()
    admin.force_login(User.objects.create(username="root", email="root@example.com", is_staff=True,
                                          is_superuser=True))
    assert admin.get("/admin/routing/searchtool/add/").status_code == 200
    response = admin.post("/admin/routing/searchtool/add/", {
        "search_tool_name": "admin-search", "search_provider": "serper", "api_base": twins["serper"].url,
        "api_key_env": "", "api_key": serper.API_KEY, "litellm_params": "{}", "search_tool_info": "{}",
        "enabled": "on"})
    assert response.status_code == 302, response.content.decode()[:2000]
    stored = SearchTool.objects.get(search_tool_name="admin-search")
    assert serper.API_KEY not in stored.api_key_encrypted
    answer = http.post("/v1/search/admin-search", json={"query": "q", "max_results": 1})
    assert answer.status_code == 200, answer.text
    assert twins["serper"].requests[-1].headers["x-api-key"] == serper.API_KEY


def test_a_keys_allowed_routes_cover_search_as_litellm_groups_it(twins: dict[str, SearchTwin],
                                                                 gateway: GatewayProcess) -> None:
    _, llm_routes = make_key(None, None, allowed_routes=["llm_api_routes"])
    _, chat_only = make_key(None, None, allowed_routes=["/v1/chat/completions"])
    with client(gateway, llm_routes) as caller:
        assert caller.post("/v1/search/serper-search", json={"query": "q"}).status_code == 200
        assert caller.get("/v1/search/tools").status_code == 200
    with client(gateway, chat_only) as caller:
        refused = caller.post("/v1/search/serper-search", json={"query": "q"})
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "route_not_allowed")
    assert len(twins["serper"].requests) == 1
