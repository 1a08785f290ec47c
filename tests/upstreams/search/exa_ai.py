"""Exa's `POST /search`: key in `x-api-key`, JSON body; `results[]` of id, title, url, publishedDate, text."""
from __future__ import annotations

from tests.upstreams.recording import Recorded, Reply
from tests.upstreams.search.twin import SearchTwin

API_KEY = "exa-twin-key"


def respond(request: Recorded) -> Reply:
    assert (request.method, request.path) == ("POST", "/search"), f"{request.method} {request.path}"
    if request.headers.get("x-api-key") != API_KEY:
        return Reply.json(401, {"requestId": "r-401", "error": "Invalid API key", "tag": "INVALID_API_KEY"})
    body = request.json()
    count = body.get("numResults", 10)
    with_text = bool((body.get("contents") or {}).get("text"))
    results = [{"id": f"https://exa.example/{i}", "title": f"{body['query']} #{i}", "url": f"https://exa.example/{i}",
                "publishedDate": f"2024-0{i + 1}-15T00:00:00.000Z", "author": None,
                **({"text": f"Exa text {i}"} if with_text else {})} for i in range(count)]
    return Reply.json(200, {"requestId": "exa-req-1", "resolvedSearchType": "neural", "results": results,
                            "costDollars": {"total": 0.005}})


class ExaTwin(SearchTwin):
    def __init__(self) -> None:
        super().__init__(respond)
