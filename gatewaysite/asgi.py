"""ASGI entry: Channels routes HTTP to Django and WebSockets to consumers.

Streaming uses Django's async StreamingHttpResponse under this router rather than a Channels
AsyncHttpConsumer: both forward each chunk with one `http.response.body` send, but Django 5's
handler already listens for `http.disconnect` and cancels the view (and so the upstream request)
for streamed and non-streamed answers alike, with no per-consumer channel-layer bookkeeping.
"""
from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gatewaysite.settings")

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402

django_application = get_asgi_application()

from apps.core import tracing  # noqa: E402
from apps.core.asgi_lean import PathDispatcher  # noqa: E402
from apps.core.body_limit import BodyLimit  # noqa: E402
from apps.core.tracing_asgi import api_handler  # noqa: E402
from apps.core.lifeline import follow_the_server  # noqa: E402
from apps.core.lifespan import Lifespan, gc_freeze  # noqa: E402
from apps.core.metrics.shared import writer as metrics_writer  # noqa: E402
from apps.routing.config import tracing_requested  # noqa: E402
from apps.teams.spend import spend_flusher  # noqa: E402
from gatewaysite.websockets import websocket_urlpatterns  # noqa: E402

# Under a path prefix (FORCE_SCRIPT_NAME) that the proxy passes on, the API's paths start with it.
API_PREFIXES = settings.TOLLGATE_API_PATH_PREFIXES + tuple(
    f"{settings.FORCE_SCRIPT_NAME}{p}" for p in settings.TOLLGATE_API_PATH_PREFIXES if settings.FORCE_SCRIPT_NAME)
if settings.TOLLGATE_OTEL or tracing_requested(settings.TOLLGATE_CONFIG):
    tracing.configure()  # before the API handler is built: it is the traced one then
dispatcher = PathDispatcher(api=api_handler(), full=django_application, prefixes=API_PREFIXES,
                            max_in_flight=settings.TOLLGATE_MAX_IN_FLIGHT, fair_share=settings.TOLLGATE_FAIR_SHARE)
# Outermost: a body past the limit is refused before a slot is taken or Django spools it.
http_application = BodyLimit(dispatcher, limit=settings.TOLLGATE_MAX_REQUEST_BYTES)

metrics_writer.gauges = lambda: {"in_flight": float(dispatcher.in_flight)}

application = ProtocolTypeRouter({
    "http": http_application,
    "websocket": URLRouter(websocket_urlpatterns),
    # Spend events are flushed while serving and once more on shutdown (SIGTERM), after requests drain.
    "lifespan": Lifespan(startup=[follow_the_server, spend_flusher.start, metrics_writer.start, gc_freeze],
                         shutdown=[spend_flusher.stop, metrics_writer.stop, tracing.stop]),
})
