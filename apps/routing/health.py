"""Liveness and readiness: readiness checks the database and the state backend and names what failed."""
from __future__ import annotations

from asgiref.sync import sync_to_async
from django.db import connection
from django.http import HttpRequest, HttpResponse
from ninja import Router

from apps.core.errors import PermissionDenied
from apps.core.responses import json_response
from apps.core.snapshots import with_fresh_connection
from apps.core.state import state
from apps.routing.selectors import deployment_health_report
from apps.teams.auth import authenticate

health_router = Router(tags=["health"])


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def readiness_report() -> tuple[bool, dict[str, str]]:
    """(all healthy, component -> "ok" or the error)."""
    report: dict[str, str] = {}
    try:
        await sync_to_async(with_fresh_connection(check_database), thread_sensitive=False)()
        report["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        report["database"] = f"error: {type(exc).__name__}"
    try:
        await state().ping()
        report["state_backend"] = "ok"
    except Exception as exc:  # noqa: BLE001
        report["state_backend"] = f"error: {type(exc).__name__}"
    return all(v == "ok" for v in report.values()), report


@health_router.get("/liveliness", include_in_schema=False)
async def liveliness(request: HttpRequest) -> HttpResponse:
    return json_response({"status": "alive"})


@health_router.get("/liveness")
async def liveness(request: HttpRequest) -> HttpResponse:
    return json_response({"status": "alive"})


@health_router.get("/readiness")
async def readiness(request: HttpRequest) -> HttpResponse:
    healthy, report = await readiness_report()
    body = {"status": "healthy" if healthy else "unhealthy", **report}
    return json_response(body, status=200 if healthy else 503)


@health_router.get("")
async def deployments_health(request: HttpRequest, model: str | None = None) -> HttpResponse:
    """Per-deployment health from the latest latency probes (LiteLLM's `/health`); master key only."""
    principal = await authenticate(request.META)
    if not principal.is_master:
        raise PermissionDenied("GET /health needs the master key.")
    report = await sync_to_async(with_fresh_connection(deployment_health_report), thread_sensitive=False)(model=model)
    return json_response(report)
