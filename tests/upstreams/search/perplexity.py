"""Perplexity's `POST /search`: Bearer key, JSON body (`query` a string or a list); `results[]` of title, url,
snippet, date, last_updated (a list of queries gets one list of results per query)."""
from __future__ import annotations

from typing import Any

from tests.upstreams.recording import Recorded, Reply
from tests.upstreams.search.twin import SearchTwin

API_KEY = "pplx-twin-key"


def results_for(query: str, count: int) -> list[dict[str, Any]]:
    return [{"title": f"{query} #{i}", "url": f"https://perplexity.example/{query.replace(' ', '-')}/{i}",
             "snippet": f"Perplexity snippet {i}", "date": "2024-03-01", "last_updated": "2024-06-01"}
            for i in range(count)]


def respond(request: Recorded) -> Reply:
    assert (request.method, request.path) == ("POST", "/search"), f"{request.method} {request.path}"
    if request.headers.get("authorization") != f"Bearer {API_KEY}":
        return Reply.json(401, {"error": {"message": "Invalid API key", "type": "invalid_api_key", "code": 401}})
    body = request.json()
    count = body.get("max_results", 10)
    query = body["query"]
    results: Any = results_for(query, count) if isinstance(query, str) else [results_for(q, count) for q in query]
    return Reply.json(200, {"results": results, "id": "pplx-search-1"})


class PerplexityTwin(SearchTwin):
    def __init__(self) -> None:
        super().__init__(respond)
