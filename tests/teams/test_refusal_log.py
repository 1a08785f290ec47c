"""Calls refused before admission are logged too, with their reason, and the "why" view answers for them."""
from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from apps.teams import services
from apps.teams.models import User, VirtualKey
from tests.conftest import GatewayProcess
from tests.teams.conftest import MSG, Cast, client, make_key, wait_for_spend_rows


def test_blocked_expired_and_disallowed_calls_are_logged_with_their_reason(cast: Cast, priced,
                                                                           gateway: GatewayProcess) -> None:
    priced()
    priced("secret-model")
    bob, team = cast.bob.user, cast.team_a
    blocked, expired = make_key(bob, team), make_key(bob, team)
    services.key_block(key=blocked[0])
    VirtualKey.objects.filter(pk=expired[0].pk).update(expires=timezone.now() - timedelta(minutes=1))  # unused yet
    routes = make_key(bob, team, allowed_routes=["/v1/embeddings"])
    models = make_key(bob, team, allowed_models=["priced"])
    services.team_update(team=cast.team_b, fields={"blocked": True})  # mallory's team
    chat = ("/v1/chat/completions", {"model": "priced", "messages": MSG})
    cases = [  # (secret, call, status, code, level, kind, the why view's words)
        (blocked[1], chat, 401, "key_blocked", "key", "blocked", "Refused: the key is blocked."),
        (cast.mallory.secret, chat, 401, "key_blocked", "team", "blocked", "Refused: the team is blocked."),
        (expired[1], chat, 401, "key_expired", "key", "expired", "Refused: the key has expired."),
        (routes[1], chat, 403, "route_not_allowed", "key", "route",
         "Refused: the key may not call this route (/v1/chat/completions)."),
        (models[1], ("/v1/chat/completions", {"model": "secret-model", "messages": MSG}), 401, "model_not_allowed",
         "key", "model", "Refused: the key may not use model secret-model.")]
    staff = Client()
    staff.force_login(User.objects.create_superuser(username="ops", password="x-very-long-password"))
    for secret, (path, body), status, code, level, kind, words in cases:
        with client(gateway, secret) as http:
            response = http.post(path, json=body)
        assert (response.status_code, response.json().get("error", {}).get("code")) == (status, code), code
        request_id = response.headers["x-request-id"]
        [row] = wait_for_spend_rows(1, request_id=request_id, status="refused")
        assert (row.limit_level, row.limit_kind, row.error_type, row.cost) == (level, kind, code, 0), code
        why = staff.get("/dashboard/why/", {"request_id": request_id})
        assert (why.status_code, why.context["why"].verdict, why.context["why"].summary) == (200, "refused", words)
