"""`GET /metrics`: Prometheus metrics for the whole pod, whichever worker answers; master key unless
`TOLLGATE_METRICS_AUTH=0`."""
from __future__ import annotations

import time

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apps.core.errors import GatewayError, PermissionDenied
from apps.core.http import request_id
from apps.core.metrics import REGISTRY, shared
from apps.core.metrics.exposition import CONTENT_TYPE, Gauge, render
from apps.core.state import state
from apps.core.responses import error_response
from apps.routing import runtime
from apps.routing.health import readiness_report
from apps.routing.snapshot import routing_table
from apps.teams.auth import authenticate


async def backend_gauge() -> Gauge:
    _, report = await readiness_report()
    return Gauge("tollgate_backend_up", "1 when the gateway reaches the backend (database, state backend).",
                 ("backend",), tuple(((name,), 1.0 if value == "ok" else 0.0) for name, value in report.items()))


async def cooldown_gauge() -> Gauge:
    """Deployments cooling down now (1) or serving (0), as the routing state holds them; none while the state
    backend is unreachable (the scrape still answers, and tollgate_backend_up says why)."""
    try:
        table = await routing_table.get()
        deployments = [record for records in table.groups.values() for record in records]
        stats = await runtime.read_stats(deployments, now=time.time()) if deployments else {}
    except Exception:  # noqa: BLE001 - whatever the backend raised, the other families must still be scraped
        deployments, stats = [], {}
    series = tuple(((record.model_name, record.public_id), 1.0 if stats[record.id].cooldown_until else 0.0)
                   for record in deployments)
    return Gauge("tollgate_deployment_cooling_down", "1 while a deployment is in cooldown after failures.",
                 ("model_group", "deployment"), series)


async def spend_buffer_gauge() -> Gauge:
    """Spend events waiting for the flush to store them: with Redis the pod-wide buffer, embedded this process's.
    It grows while the database is unreachable; none while the state backend is (tollgate_backend_up says why)."""
    try:
        series: tuple[tuple[tuple[str, ...], float], ...] = (
            ((), float(await sync_to_async(state().spend_pending, thread_sensitive=False)())),)
    except Exception:  # noqa: BLE001 - whatever the backend raised, the other families must still be scraped
        series = ()
    return Gauge("tollgate_spend_events_buffered", "Spend events waiting in the buffer for the database.", (), series)


async def metrics(request: HttpRequest) -> HttpResponse:
    try:
        await check_scraper(request)
    except GatewayError as error:
        return error_response(error, headers={"x-request-id": request_id(request)})
    return HttpResponse(await exposition(), content_type=CONTENT_TYPE)


async def check_scraper(request: HttpRequest) -> None:
    if settings.TOLLGATE_METRICS_AUTH and not (await authenticate(request.META)).is_master:
        raise PermissionDenied("GET /metrics needs the master key (or TOLLGATE_METRICS_AUTH=0).")


async def exposition() -> bytes:
    """The pod's metrics in Prometheus's text format."""
    shared.write(REGISTRY, shared.writer.gauges())  # this worker's numbers as of now
    merged = shared.merged()
    live = (Gauge("tollgate_in_flight", "API calls being served now, over the pod's workers.", (),
                  (((), merged.gauges.get("in_flight", 0.0)),)),
            Gauge("tollgate_workers", "Server worker processes reporting metrics.", (), (((), float(merged.workers)),)))
    gauges = (*live, await backend_gauge(), await cooldown_gauge(), await spend_buffer_gauge())
    return render(merged, gauges)
