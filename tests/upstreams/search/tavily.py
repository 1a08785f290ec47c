"""Tavily's `POST /search`: Bearer key, JSON body with `query`; `results[]` of title, url, content, score."""
from __future__ import annotations

from tests.upstreams.recording import Recorded, Reply
from tests.upstreams.search.twin import SearchTwin

API_KEY = "tvly-dev-twin"


def respond(request: Recorded) -> Reply:
    assert (request.method, request.path) == ("POST", "/search"), f"{request.method} {request.path}"
    if request.headers.get("authorization") != f"Bearer {API_KEY}":
        return Reply.json(401, {"detail": {"error": "Unauthorized: missing or invalid API key."}})
    body = request.json()
    assert isinstance(body["query"], str) and body["query"], body
    count = body.get("max_results", 5)
    results = [{"title": f"{body['query']} #{i}", "url": f"https://tavily.example/{i}", "score": 0.9 - i / 10,
                "content": f"Tavily content {i}", "raw_content": None} for i in range(count)]
    return Reply.json(200, {"query": body["query"], "answer": None, "images": [], "results": results,
                            "response_time": "0.52", "request_id": "tvly-req-1"})


class TavilyTwin(SearchTwin):
    def __init__(self) -> None:
        super().__init__(respond)
