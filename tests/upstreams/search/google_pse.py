"""Google Custom Search JSON API, `GET /customsearch/v1?key&cx&q`: `items[]` of title, link, snippet."""
from __future__ import annotations

from tests.upstreams.recording import Recorded, Reply
from tests.upstreams.search.twin import SearchTwin, one

API_KEY = "AIza-twin-key"
ENGINE_ID = "017576662512468239146:omuauf_lfve"


def respond(request: Recorded) -> Reply:
    assert (request.method, request.path) == ("GET", "/customsearch/v1"), f"{request.method} {request.path}"
    if request.query.get("key") != [API_KEY]:
        return Reply.json(400, {"error": {"code": 400, "message": "API key not valid. Please pass a valid API key.",
                                          "status": "INVALID_ARGUMENT"}})
    assert one(request, "cx") == ENGINE_ID
    query = one(request, "q")
    count = int(one(request, "num")) if "num" in request.query else 10
    assert 1 <= count <= 10, "Google answers 400 for num outside 1-10"
    items = [{"kind": "customsearch#result", "title": f"{query} #{i}", "link": f"https://google.example/{i}",
              "displayLink": "google.example", "snippet": f"Google snippet {i}"} for i in range(count)]
    return Reply.json(200, {"kind": "customsearch#search", "queries": {"request": [{"searchTerms": query}]},
                            "items": items})


class GooglePSETwin(SearchTwin):
    def __init__(self) -> None:
        super().__init__(respond)
