"""A SearXNG instance's `GET /search?format=json` (403 unless `format=json`, as an instance with JSON enabled
answers other formats it has turned off): `results[]` of url, title, content, engine, publishedDate."""
from __future__ import annotations

from tests.upstreams.recording import Recorded, Reply
from tests.upstreams.search.twin import SearchTwin, one


def respond(request: Recorded) -> Reply:
    assert (request.method, request.path) == ("GET", "/search"), f"{request.method} {request.path}"
    if request.query.get("format") != ["json"]:
        return Reply(403, {"Content-Type": "text/html"}, b"<html>403 Forbidden</html>")
    query = one(request, "q")
    results = [{"url": f"https://searx.example/{i}", "title": f"{query} #{i}", "content": f"SearXNG content {i}",
                "engine": "duckduckgo", "engines": ["duckduckgo"], "score": 1.0 / (i + 1), "category": "general",
                "publishedDate": "2024-04-0%dT00:00:00" % (i + 1) if i % 2 == 0 else None} for i in range(25)]
    return Reply.json(200, {"query": query, "number_of_results": 0, "results": results, "answers": [],
                            "suggestions": [], "unresponsive_engines": []})


class SearXNGTwin(SearchTwin):
    def __init__(self) -> None:
        super().__init__(respond)
