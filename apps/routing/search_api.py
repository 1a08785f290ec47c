"""LiteLLM's Search API: `POST /v1/search[/{search_tool_name}]` and `GET /v1/search/tools` (also without `/v1`)."""
from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from apps.core.http import read_body, request_id
from apps.core.responses import json_response
from apps.routing.headers import served_headers
from apps.routing.search_calls import parse_search_request, search, search_tools_list
from apps.teams.auth import authenticate

router = Router(tags=["search"])


async def searched(request: HttpRequest, tool: str | None) -> HttpResponse:
    rid = request_id(request)
    principal = await authenticate(request.META)
    served = await search(principal, parse_search_request(read_body(request), tool), request_id=rid)
    return json_response(served.value.body, headers=served_headers(rid, served))


async def search_view(request: HttpRequest) -> HttpResponse:
    """The tool named in the body (`search_tool_name`)."""
    return await searched(request, None)


async def tool_search_view(request: HttpRequest, search_tool_name: str) -> HttpResponse:
    """The tool named in the path."""
    return await searched(request, search_tool_name)


async def tools_view(request: HttpRequest) -> HttpResponse:
    principal = await authenticate(request.META)
    return json_response(await search_tools_list(principal), headers={"x-request-id": request_id(request)})


for prefix in ("/v1", ""):
    # `/search/tools` first: a POST there is not a search with a tool named "tools" (as in LiteLLM).
    router.add_api_operation(prefix + "/search/tools", ["GET"], tools_view, include_in_schema=prefix == "/v1")
    router.add_api_operation(prefix + "/search", ["POST"], search_view, include_in_schema=prefix == "/v1")
    router.add_api_operation(prefix + "/search/{search_tool_name}", ["POST"], tool_search_view,
                             include_in_schema=prefix == "/v1")
