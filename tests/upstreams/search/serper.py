"""Serper's `POST /search`: key in `X-API-KEY`, JSON body (`q`, `num`, `gl`); `organic[]` of title, link, snippet,
position (and `date` on some)."""
from __future__ import annotations

from tests.upstreams.recording import Recorded, Reply
from tests.upstreams.search.twin import SearchTwin

API_KEY = "serper-twin-key"


def respond(request: Recorded) -> Reply:
    assert (request.method, request.path) == ("POST", "/search"), f"{request.method} {request.path}"
    if request.headers.get("x-api-key") != API_KEY:
        return Reply.json(403, {"message": "Unauthorized.", "statusCode": 403})
    body = request.json()
    count = body.get("num", 10)
    organic = [{"title": f"{body['q']} #{i}", "link": f"https://serper.example/{i}", "snippet": f"Serper snippet {i}",
                "position": i + 1, **({"date": "Mar 4, 2024"} if i == 0 else {})} for i in range(count)]
    return Reply.json(200, {"searchParameters": {"q": body["q"], "type": "search", "engine": "google"},
                            "organic": organic, "credits": 1})


class SerperTwin(SearchTwin):
    def __init__(self) -> None:
        super().__init__(respond)
