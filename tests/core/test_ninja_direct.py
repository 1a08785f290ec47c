"""Calling the API's ninja operations directly: which are, and that they answer as ninja's own dispatch does."""
from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import resolve
from ninja import NinjaAPI, Router
from ninja.security import APIKeyHeader

from apps.core.asgi_lean import API_URLCONF, LeanASGIHandler
from apps.core.ninja_direct import DirectView, direct_eligible, direct_view, path_view_of
from tests.core.test_lean_handler import CHAT, FakeServer, scope

pytestmark = pytest.mark.usefixtures("example_models")


def callback(path: str) -> Any:
    return resolve(path, urlconf=API_URLCONF).func


def test_the_chat_route_is_called_directly_and_its_other_methods_keep_ninjas_405() -> None:
    view = direct_view(callback("/v1/chat/completions"))
    assert isinstance(view, DirectView)
    assert view.by_method["POST"] is not None
    assert "GET" not in view.by_method  # answered by ninja itself: its 405


def test_a_path_parameter_route_is_called_directly() -> None:
    view = direct_view(callback("/openai/deployments/gpt-4o-mini/chat/completions"))
    assert isinstance(view, DirectView) and view.by_method["POST"] is not None


class Header(APIKeyHeader):
    param_name = "x-test"

    def authenticate(self, request: HttpRequest, key: str | None) -> str | None:
        return key


def built_operations() -> dict[str, Any]:
    """Operations ninja must keep running itself: auth, query parameters, a `response` argument, a sync view."""
    router = Router()

    @router.post("/authed", auth=Header())
    async def authed(request: HttpRequest) -> HttpResponse:
        return HttpResponse(b"ok")

    @router.get("/query")
    async def query(request: HttpRequest, limit: int) -> HttpResponse:
        return HttpResponse(b"ok")

    @router.get("/response-arg")
    async def response_arg(request: HttpRequest, response: HttpResponse) -> dict[str, str]:
        return {}

    @router.get("/sync")
    def sync(request: HttpRequest) -> HttpResponse:
        return HttpResponse(b"ok")

    @router.get("/plain")
    async def plain(request: HttpRequest) -> HttpResponse:
        return HttpResponse(b"ok")

    api = NinjaAPI(urls_namespace="ninja-direct-test")
    api.add_router("/", router)
    api.urls  # binds the operations to the api (auth callbacks included)  # noqa: B018
    return {path.strip("/"): view.operations[0] for path, view in router.path_operations.items()}


def test_only_operations_ninja_would_run_unchanged_are_eligible() -> None:
    operations = built_operations()
    assert direct_eligible(operations["plain"])
    for name in ("authed", "query", "response-arg", "sync"):
        assert not direct_eligible(operations[name]), name


def test_a_plain_function_is_left_as_it_is() -> None:
    async def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse(b"ok")

    assert path_view_of(view) is None
    assert direct_view(view) is view


async def test_a_view_that_raises_is_answered_by_the_apis_exception_handlers() -> None:
    """No key: the view raises the gateway's auth error, and the API's handler gives OpenAI's 401, as via ninja."""
    server = FakeServer([CHAT])
    bare = scope()
    bare["headers"] = [(k, v) for k, v in bare["headers"] if k != b"authorization"]
    await LeanASGIHandler()(bare, server.receive, server.send)
    assert server.status == 401
    error = orjson.loads(server.body)["error"]
    assert set(error) >= {"message", "type", "param", "code"}


async def test_a_method_the_route_lacks_is_ninjas_405_in_openais_shape() -> None:
    server = FakeServer([b""])
    await LeanASGIHandler()(scope() | {"method": "GET"}, server.receive, server.send)
    assert server.status == 405
    assert "error" in orjson.loads(server.body)


async def test_the_direct_call_answers_what_ninjas_dispatch_answers() -> None:
    ninja_view = callback("/v1/chat/completions")
    handler = LeanASGIHandler()
    direct = FakeServer([CHAT])
    await handler(scope(), direct.receive, direct.send)
    handler.views[ninja_view] = ninja_view  # ninja's own dispatch for the same route
    through_ninja = FakeServer([CHAT])
    await handler(scope(), through_ninja.receive, through_ninja.send)
    assert direct.status == through_ninja.status == 200
    first, second = orjson.loads(direct.body), orjson.loads(through_ninja.body)
    assert first["object"] == second["object"] == "chat.completion"
    names = {name.lower() for name, _ in direct.sent[0]["headers"]}
    assert names == {name.lower() for name, _ in through_ninja.sent[0]["headers"]}
    assert {b"x-request-id", b"x-litellm-model-group", b"content-type"} <= names
