"""Brave's `GET /res/v1/web/search`: key in `X-Subscription-Token`, parameters in the query string; results in
`web` and `news` blocks, each with title, url, description, page_age, fetched_content_timestamp."""
from __future__ import annotations

from tests.upstreams.recording import Recorded, Reply
from tests.upstreams.search.twin import SearchTwin, one

API_KEY = "BSA-twin-key"


def respond(request: Recorded) -> Reply:
    assert (request.method, request.path) == ("GET", "/res/v1/web/search"), f"{request.method} {request.path}"
    assert request.body == b"", "Brave's search is a GET without a body"
    if request.headers.get("x-subscription-token") != API_KEY:
        return Reply.json(422, {"type": "ErrorResponse", "error": {
            "id": "e-1", "status": 422, "code": "SUBSCRIPTION_TOKEN_INVALID", "detail": "The provided subscription "
            "token is invalid."}})
    query = one(request, "q")
    count = int(one(request, "count")) if "count" in request.query else 20
    web = [{"type": "search_result", "title": f"{query} #{i}", "url": f"https://brave.example/{i}",
            "description": f"Brave description {i}", "page_age": f"2024-05-0{i + 1}T10:00:00",
            "fetched_content_timestamp": 1717200000 + i * 86400} for i in range(count)]
    news = [{"title": f"{query} news", "url": "https://brave.example/news", "description": "Brave news",
             "age": "May 20, 2024"}]
    return Reply.json(200, {"type": "search", "query": {"original": query}, "web": {"type": "search", "results": web},
                            "news": {"type": "news", "results": news}})


class BraveTwin(SearchTwin):
    def __init__(self) -> None:
        super().__init__(respond)
