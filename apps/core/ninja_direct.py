"""Calling a ninja operation the way ninja would, minus the work that is the same for every call of the API.

The API's views take the request (and at most `str` path parameters), run their own authentication and
parsing, and return a finished response. For such an operation ninja's `AsyncOperation.run` only finds the
operation by method, runs no checks (no auth, no throttles), builds a throwaway "temporal" `HttpResponse`,
resolves no parameters, calls the view, and passes its response through; any exception becomes
`api.on_exception`. `DirectView` does exactly that without the throwaway response and the layers of wrapper
calls (about 10 us per call, measured in-process). An operation ninja would treat differently in any way
(auth, throttles, parameter models other than plain string path parameters, a `response` argument, streaming,
decorated `run`) keeps ninja's own dispatch, as does a method no operation serves (ninja's 405).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from ninja.operation import AsyncOperation, PathView


def path_view_of(callback: Callable[..., Any]) -> PathView | None:
    """The PathView behind a ninja URL callback (`PathView.get_view`'s wrapper closes over it), or None."""
    for cell in getattr(callback, "__closure__", None) or ():
        try:
            found = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if isinstance(found, PathView):
            return found
    return None


def direct_eligible(operation: Any) -> bool:
    """Whether ninja's run of `operation` is: no checks, no parameters to resolve, the view's result as is."""
    if not isinstance(operation, AsyncOperation) or type(operation).run is not AsyncOperation.run:
        return False
    if "run" in vars(operation) or getattr(operation, "_run_decorators", None):
        return False
    if operation.auth_callbacks or operation.throttle_objects or operation.stream_format is not None:
        return False
    if operation.signature.response_arg:
        return False
    return all(_plain_path_model(model) for model in operation.models)


def _plain_path_model(model: Any) -> bool:
    """A path-parameter model whose fields are all required `str`: ninja's resolution passes Django's strings on."""
    if getattr(model, "__ninja_param_source__", None) != "path":
        return False
    fields = getattr(model, "model_fields", {})
    return all(field.annotation is str and field.is_required() and (field.alias in (None, name))
               for name, field in fields.items())


class DirectView:
    """One URL's operations by method: eligible ones called directly, the rest (and 405s) through ninja."""

    __slots__ = ("ninja_view", "by_method")

    def __init__(self, ninja_view: Callable[..., Any], path_view: PathView) -> None:
        self.ninja_view = ninja_view
        self.by_method: dict[str, AsyncOperation | None] = {}
        for operation in path_view.operations:
            for method in operation.methods:
                if method not in self.by_method:  # ninja takes the first operation that serves the method: so do we
                    self.by_method[method] = cast(AsyncOperation, operation) if direct_eligible(operation) else None

    async def __call__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        operation = self.by_method.get(request.method or "")
        if operation is None or args:
            return await self.ninja_view(request, *args, **kwargs)  # type: ignore[no-any-return]
        if operation.csrf_exempt:
            request._ninja_csrf_exempt = True  # type: ignore[attr-defined]  # as ninja's checks set it
        try:
            result = await operation.view_func(request, **kwargs)
            if isinstance(result, HttpResponseBase):
                return result
            return operation._result_to_response(request, result, operation.api.create_temporal_response(request))
        except Exception as exc:  # noqa: BLE001 - as ninja's run: the API's exception handlers answer
            return operation.api.on_exception(request, exc)


def direct_view(callback: Callable[..., Any]) -> Callable[..., Any]:
    """An async URL callback itself, or a DirectView when it is a ninja URL with an operation served directly."""
    path_view = path_view_of(callback)
    if path_view is None:
        return callback
    view = DirectView(callback, path_view)
    return view if any(view.by_method.values()) else callback
