"""DuckDuckGo's Instant Answer API, `GET /?q&format=json`: an abstract, `Results` and `RelatedTopics` (some grouped
under a category), served as `application/x-javascript` as DuckDuckGo does."""
from __future__ import annotations

from tests.upstreams.recording import Recorded, Reply
from tests.upstreams.search.twin import SearchTwin, one
from apps.core import jsonutil


def respond(request: Recorded) -> Reply:
    assert (request.method, request.path) == ("GET", "/"), f"{request.method} {request.path}"
    assert one(request, "format") == "json"
    query = one(request, "q")
    topics = [{"FirstURL": "https://duckduckgo.com/Topic_1", "Text": f"{query} one - the first topic",
               "Result": "<a>...</a>", "Icon": {"URL": ""}},
              {"Name": "In media", "Topics": [{"FirstURL": "https://duckduckgo.com/Topic_2",
                                               "Text": f"{query} two - a grouped topic", "Icon": {"URL": ""}}]}]
    body = {"Heading": query.title(), "AbstractText": f"{query} is a thing.", "AbstractURL": "https://en.wikipedia.org/x",
            "AbstractSource": "Wikipedia", "Abstract": f"{query} is a thing.", "Type": "A",
            "Results": [{"FirstURL": "https://example.org", "Text": "Official site"}], "RelatedTopics": topics}
    return Reply(200, {"Content-Type": "application/x-javascript"}, jsonutil.dumps(body))


class DuckDuckGoTwin(SearchTwin):
    def __init__(self) -> None:
        super().__init__(respond)
