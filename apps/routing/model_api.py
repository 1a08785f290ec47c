"""LiteLLM's model management endpoints (models kept in the database, served by every process on its next
call) and `/spend/calculate`.

Proxy admins (the master key, `proxy_admin` users' keys) add, change and delete models; any key reads the
models it may call, proxy admins and proxy admin viewers read all of them.
"""
from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import InvalidRequest
from apps.routing import selectors, services
from apps.routing.model_bodies import parse_model_delete, parse_model_new, parse_model_update
from apps.routing.model_entries import model_row
from apps.routing.model_groups import model_group_list
from apps.routing.snapshot import load_routing_table
from apps.routing.spend_calculate import parse_spend_question, spend_calculate
from apps.teams.auth import key_from_meta
from apps.teams.permissions import IsCaller, IsProxyAdmin


def visible_to(request: Request) -> frozenset[str] | None:
    """The model groups this caller may see (None: all)."""
    return selectors.models_visible(raw_key=key_from_meta(request.META), reads_all=request.user.reads_all)


# Bodies are checked by config.yaml's rules (model_bodies), not by a serializer: the schema says JSON in and out.
JSON_BODY = extend_schema(request=OpenApiTypes.OBJECT, responses=OpenApiTypes.OBJECT)
JSON_ANSWER = extend_schema(responses=OpenApiTypes.OBJECT)


class ModelNew(APIView):
    permission_classes = [IsProxyAdmin]

    @JSON_BODY
    def post(self, request: Request) -> Response:
        return Response(model_row(services.model_create(change=parse_model_new(request.data))))


class ModelUpdate(APIView):
    """`POST /model/update` (id in model_info.id) and `PATCH /model/{model_id}/update`: a merge."""

    permission_classes = [IsProxyAdmin]

    @JSON_BODY
    def post(self, request: Request, model_id: str | None = None) -> Response:
        chosen, change = parse_model_update(request.data, model_id=model_id)
        return Response(model_row(services.model_update(model_id=chosen, change=change)))

    @JSON_BODY
    def patch(self, request: Request, model_id: str | None = None) -> Response:
        return self.post(request, model_id=model_id)


class ModelDelete(APIView):
    permission_classes = [IsProxyAdmin]

    @JSON_BODY
    def post(self, request: Request) -> Response:
        model_id = services.model_delete(model_id=parse_model_delete(request.data))
        return Response({"message": f"Model: {model_id} deleted successfully"})


class ModelInfo(APIView):
    """`GET /model/info[?litellm_model_id=...]`: `{"data": [entries]}`."""

    permission_classes = [IsCaller]

    @JSON_ANSWER
    def get(self, request: Request) -> Response:
        model_id = request.query_params.get("litellm_model_id") or None
        return Response({"data": selectors.model_info_list(visible=visible_to(request), model_id=model_id)})


def _positive(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidRequest(f"{name}: must be a whole number of at least 1.", param=name, code="invalid_value")
    return int(raw)


def model_query(request: Request) -> selectors.ModelQuery:
    """`/v2/model/info`'s query string (user_models_only, include_team_models, teamId and debug change nothing)."""
    params: Any = request.query_params
    sort_by, order = params.get("sortBy") or None, (params.get("sortOrder") or "asc").lower()
    if sort_by is not None and sort_by not in selectors.V2_SORTS:
        raise InvalidRequest(f"sortBy: must be one of {', '.join(selectors.V2_SORTS)}.", param="sortBy",
                             code="invalid_value")
    if order not in ("asc", "desc"):
        raise InvalidRequest(f"Invalid sortOrder: {order}. Must be 'asc' or 'desc'", param="sortOrder",
                             code="invalid_value")
    return selectors.ModelQuery(model=params.get("model") or None, model_id=params.get("modelId") or None,
                                search=params.get("search") or None, sort_by=sort_by, descending=order == "desc",
                                page=_positive(request, "page", 1), size=_positive(request, "size", 50))


class ModelInfoV2(APIView):
    """`GET /v2/model/info`: LiteLLM's paginated model list."""

    permission_classes = [IsCaller]

    @JSON_ANSWER
    def get(self, request: Request) -> Response:
        return Response(selectors.model_info_page(visible=visible_to(request), query=model_query(request)))


class ModelGroupInfo(APIView):
    """`GET /model_group/info[?model_group=...]`: `{"data": [group summaries]}`."""

    permission_classes = [IsCaller]

    @JSON_ANSWER
    def get(self, request: Request) -> Response:
        groups = model_group_list(load_routing_table(), visible=visible_to(request),
                                  model_group=request.query_params.get("model_group") or None)
        return Response({"data": groups})


class SpendCalculate(APIView):
    """`POST /spend/calculate`: `{"cost": USD}` for a model and messages, or for a completion response."""

    permission_classes = [IsCaller]

    @JSON_BODY
    def post(self, request: Request) -> Response:
        question = parse_spend_question(request.data)
        return Response(spend_calculate(load_routing_table(), question, visible=visible_to(request)))
