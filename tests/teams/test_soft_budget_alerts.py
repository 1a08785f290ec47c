"""Soft budget alerts: logged and POSTed to a webhook once per window, after the spend that crossed it is stored."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from apps.teams import services
from apps.teams.alerts import soft_budget_alerts
from apps.teams.models import SoftBudgetAlert
from apps.teams.spend import spend_flush
from tests.conftest import GatewayProcess
from tests.teams.conftest import Cast, chat, client, make_key, wait_for_spend_rows

ONE_CALL = Decimal("0.005")


class Webhook:
    """A local HTTP server that records the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        received = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, *, timeout: float = 15.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.bodies) < count and time.monotonic() < deadline:
            if settings.REDIS_URL:  # with Redis, Celery's spend flush alerts; here the test is that worker
                spend_flush()
                soft_budget_alerts()
            time.sleep(0.05)
        return list(self.bodies)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def alerting_gateway(gateway: GatewayProcess, webhook: Webhook, settings: Any,
                     tmp_path: Path) -> Iterator[GatewayProcess]:
    """Embedded, the gateway's own flush loop alerts: one started with the webhook URL. With Redis the tests
    flush, so this process alerts."""
    settings.TOLLGATE_ALERT_WEBHOOK_URL = webhook.url
    if settings.REDIS_URL:
        yield gateway
        return
    own = GatewayProcess(extra_env={"TOLLGATE_ALERT_WEBHOOK_URL": webhook.url}, log_dir=tmp_path)
    yield own
    own.stop()


def test_crossing_a_soft_budget_posts_one_alert_per_level(cast: Cast, priced, webhook: Webhook,
                                                          alerting_gateway: GatewayProcess) -> None:
    priced()
    services.team_update(team=cast.team_a, fields={"soft_budget": 2 * ONE_CALL})
    key, secret = make_key(cast.bob.user, cast.team_a, key_alias="bob-soft", soft_budget=ONE_CALL)
    with client(alerting_gateway, secret) as http:
        assert chat(http, max_tokens=5).status_code == 200
        first = webhook.wait_for(1)
        assert chat(http, max_tokens=5).status_code == 200
        both = webhook.wait_for(2)
        for _ in range(2):
            assert chat(http, max_tokens=5).status_code == 200
    # No more alerts in this window. A sentinel crossing, alerted by the same flush as those calls or a later one,
    # shows that their flush's alerts have run.
    _, sentinel_secret = make_key(cast.alice.user, cast.team_b, key_alias="sentinel", soft_budget=ONE_CALL)
    with client(alerting_gateway, sentinel_secret) as http:
        assert chat(http, max_tokens=5).status_code == 200
    received = webhook.wait_for(3)
    assert received[:2] == both and [body["key_alias"] for body in received[2:]] == ["sentinel"]
    assert first == [{
        "event": "soft_budget_crossed", "event_group": "key", "spend": 0.005, "soft_budget": 0.005,
        "max_budget": None, "token": key.token_hash, "key_alias": "bob-soft", "user_id": "bob", "team_id":
        cast.team_a.team_id, "team_alias": "team-a", "organization_id": None,
        "event_message": "Key bob-soft Soft Budget Crossed: spend 0.0050000000 reached soft budget 0.0050000000"}]
    team_event = both[1]
    assert (team_event["event_group"], team_event["team_id"], team_event["spend"], team_event["token"]) == (
        "team", cast.team_a.team_id, 0.01, None)
    assert secret not in json.dumps(both)
    assert SoftBudgetAlert.objects.count() == 3


def test_no_alert_below_the_soft_budget(cast: Cast, priced, webhook: Webhook,
                                        alerting_gateway: GatewayProcess) -> None:
    priced()
    key, secret = make_key(cast.bob.user, cast.team_a, soft_budget=3 * ONE_CALL)
    with client(alerting_gateway, secret) as http:
        for _ in range(2):
            assert chat(http, max_tokens=5).status_code == 200
    wait_for_spend_rows(2, key_id=key.pk)
    _, sentinel_secret = make_key(cast.alice.user, cast.team_b, key_alias="sentinel", soft_budget=ONE_CALL)
    with client(alerting_gateway, sentinel_secret) as http:
        assert chat(http, max_tokens=5).status_code == 200
    assert [body["key_alias"] for body in webhook.wait_for(1)] == ["sentinel"]
    assert SoftBudgetAlert.objects.count() == 1
