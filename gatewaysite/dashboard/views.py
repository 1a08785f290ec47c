"""Dashboard pages: each view reads the viewer and span, calls one context builder or selector, renders."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from gatewaysite.dashboard import context, exports, selectors
from gatewaysite.dashboard.span import SpanInvalid, span_from
from gatewaysite.dashboard.viewer import Viewer, viewer_for
from gatewaysite.dashboard.why import explain

Page = Callable[..., HttpResponse]  # (request, viewer, *url arguments)


def dashboard_page(view: Page) -> Callable[[HttpRequest], HttpResponse]:
    """Logged in (else the one login page of the admin, dashboard and portal: settings.LOGIN_URL), staff or a team
    admin (else 403), a readable query (else 400)."""
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        viewer = viewer_for(request.user)  # type: ignore[arg-type]
        if viewer is None:
            return render(request, "dashboard/refused.html", {"reason": "Only staff and team admins see the "
                                                              "dashboard."}, status=403)
        try:
            return view(request, viewer, *args, **kwargs)  # type: ignore[call-arg]
        except SpanInvalid as error:
            return render(request, "dashboard/refused.html", {"reason": str(error)}, status=400)
    return wrapper


@dashboard_page
def home(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    return render(request, "dashboard/home.html", context.overview(viewer, span_from(request.GET)))


@dashboard_page
def keys(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    search = (request.GET.get("q") or "").strip()[:200]
    page = selectors.key_page(viewer, search=search, after=(request.GET.get("after") or "")[:80])
    return render(request, "dashboard/keys.html", {"page": page, "search": search, "viewer": viewer})


@dashboard_page
def export(request: HttpRequest, viewer: Viewer, table: str) -> HttpResponse:
    if table not in exports.TABLES:
        raise Http404(f"No table '{table}'.")
    span = span_from(request.GET)
    text = exports.csv_text(viewer, span, table, by=request.GET.get("by") or "team")
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="tollgate-{table}-{span.first_day}-{span.last_day}.csv"'
    return response


@dashboard_page
def why(request: HttpRequest, viewer: Viewer) -> HttpResponse:
    request_id = (request.GET.get("request_id") or "").strip()[:100]
    found = explain(viewer, request_id) if request_id else None
    status = 404 if request_id and found is None else 200
    return render(request, "dashboard/why.html", {"request_id": request_id, "why": found}, status=status)

