"""Soft budget alerts: logged and POSTed to a webhook once per window, after the spend that crossed it is stored."""
from __future__ import annotations

import json
import logging
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
from apps.teams.models import Organization, SoftBudgetAlert, User, VirtualKey
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


class FlakyWebhook(Webhook):
    """A webhook that answers 500 to its first `failures` POSTs (and records only the ones it accepted)."""

    def __init__(self, failures: int) -> None:
        super().__init__()
        self.attempts = 0
        accepted = self.bodies
        flaky = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                flaky.attempts += 1
                if flaky.attempts > failures:
                    accepted.append(body)
                self.send_response(500 if flaky.attempts <= failures else 200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server.RequestHandlerClass = Handler


def over_soft_budget(cast: Cast) -> None:
    """bob (a user) and acme (an organization) at their soft budgets, as stored spend leaves them."""
    User.objects.filter(pk=cast.bob.user.pk).update(soft_budget=Decimal(1), spend=Decimal(1))  # type: ignore[union-attr]
    Organization.objects.filter(pk=cast.org.pk).update(soft_budget=Decimal(2), spend=Decimal("2.5"))


def test_user_and_organization_crossings_are_logged_and_posted(cast: Cast, webhook: Webhook, settings: Any,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    settings.TOLLGATE_ALERT_WEBHOOK_URL = webhook.url
    over_soft_budget(cast)
    with caplog.at_level(logging.WARNING, logger="tollgate.alerts"):
        assert soft_budget_alerts() == 2
    assert [r.getMessage() for r in caplog.records if r.name == "tollgate.alerts"] == [
        "User bob Soft Budget Crossed: spend 1.0000000000 reached soft budget 1.0000000000",
        "Organization acme Soft Budget Crossed: spend 2.5000000000 reached soft budget 2.0000000000"]
    assert [(b["event_group"], b["user_id"], b["organization_id"], b["spend"], b["soft_budget"])
            for b in webhook.bodies] == [("user", "bob", None, 1.0, 1.0),
                                         ("organization", None, cast.org.organization_id, 2.5, 2.0)]
    caplog.clear()
    assert soft_budget_alerts() == 0  # once per window
    assert [r for r in caplog.records if r.name == "tollgate.alerts"] == []


def test_a_failed_webhook_is_tried_again_after_the_next_flush(cast: Cast, settings: Any) -> None:
    hook = FlakyWebhook(failures=2)
    try:
        settings.TOLLGATE_ALERT_WEBHOOK_URL = hook.url
        over_soft_budget(cast)
        assert (soft_budget_alerts(), SoftBudgetAlert.objects.count()) == (0, 0)  # both refused: no marker kept
        assert (soft_budget_alerts(), hook.attempts) == (2, 4)
        assert [b["event_group"] for b in hook.bodies] == ["user", "organization"]
        assert (soft_budget_alerts(), hook.attempts) == (0, 4)
    finally:
        hook.close()


def test_rows_already_alerted_cost_no_transaction_per_flush(cast: Cast, settings: Any,
                                                            django_assert_num_queries: Any) -> None:
    """Every flush looks for crossings; rows alerted in their window are skipped by one read of the markers."""
    settings.TOLLGATE_ALERT_WEBHOOK_URL = ""
    for n in range(5):
        make_key(cast.bob.user, cast.team_a, key_alias=f"spent-{n}", soft_budget=ONE_CALL)
    VirtualKey.objects.filter(key_alias__startswith="spent-").update(spend=ONE_CALL)
    assert soft_budget_alerts() == 5
    with django_assert_num_queries(5):  # keys, users, teams, organizations, then the markers
        assert soft_budget_alerts() == 0
