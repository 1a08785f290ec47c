"""/v1 enforcement with virtual keys: 401 for dead keys, 400 budget_exceeded at every level, 429 limits."""
from __future__ import annotations

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.teams import services
from apps.teams.models import VirtualKey
from tests.conftest import GatewayProcess
from tests.teams.conftest import Cast, chat, client, make_key, wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream, paced
from tests.upstreams.recording import Reply

ONE_CALL = Decimal("0.005")  # 5 completion tokens (max_tokens=5) at 0.001


def test_blocked_expired_deleted_and_regenerated_keys_are_401(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    keys = {name: make_key(cast.bob.user, cast.team_a) for name in ("blocked", "expired", "deleted", "rotated")}
    with client(gateway, keys["blocked"][1]) as http:
        assert chat(http).status_code == 200
        services.key_block(key=keys["blocked"][0])
        assert chat(http).json()["error"]["code"] == "key_blocked"
    services.key_update(key=keys["expired"][0], fields={}, duration="1s")
    VirtualKey.objects.filter(pk=keys["expired"][0].pk).update(expires=timezone.now() - timedelta(seconds=1))
    services.key_delete(keys=[keys["deleted"][0]])
    fresh = services.key_regenerate(key=keys["rotated"][0], fields={})
    for name, code in (("expired", "key_expired"), ("deleted", "invalid_api_key"), ("rotated", "invalid_api_key")):
        with client(gateway, keys[name][1]) as http:
            response = chat(http)
            assert (response.status_code, response.json()["error"]["code"]) == (401, code), name
    with client(gateway, fresh.secret) as http:
        assert chat(http).status_code == 200


def test_model_not_allowed_is_401_naming_the_model(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    priced("secret-model")
    _, secret = make_key(cast.bob.user, cast.team_a, allowed_models=["priced"])
    with client(gateway, secret) as http:
        response = chat(http, "secret-model")
    assert response.status_code == 401
    assert "model=secret-model" in response.json()["error"]["message"]


def set_budget(cast: Cast, level: str, amount: Decimal) -> None:
    """Give exactly one level a budget of `amount`."""
    if level == "key":
        services.key_update(key=cast.bob.key, fields={"max_budget": amount})  # type: ignore[arg-type]
    elif level == "user":
        services.user_update(user=cast.bob.user, fields={"max_budget": amount})  # type: ignore[arg-type]
    elif level == "team_member":
        services.team_update(team=cast.team_a, fields={"team_member_budget": amount})
    elif level == "team":
        services.team_update(team=cast.team_a, fields={"max_budget": amount})
    else:
        services.organization_update(organization=cast.org, fields={"max_budget": amount})


LABELS = {"key": "Key=bob-key", "user": "User=bob", "team_member": "Team member=bob in team-a",
          "team": "Team=team-a", "organization": "Organization=acme"}


@pytest.mark.parametrize("level", [pytest.param(lv, id=f"{lv}_case") for lv in LABELS])
def test_budget_at_any_level_blocks_with_litellm_error(cast: Cast, priced, gateway: GatewayProcess,
                                                       level: str) -> None:
    priced()
    set_budget(cast, level, 2 * ONE_CALL)
    with client(gateway, cast.bob.secret) as http:
        assert [chat(http, max_tokens=5).status_code for _ in range(2)] == [200, 200]
        refused = chat(http, max_tokens=5)
    assert refused.status_code == 400
    assert refused.json() == {"error": {
        "message": f"Budget has been exceeded! {LABELS[level]} Current cost: 0.01, Max budget: 0.01",
        "type": "budget_exceeded", "param": level, "code": "400"}}
    # Both admitted calls are logged under bob's string ids, and stored before the next case makes a new
    # "bob": spend flushed late would otherwise land on him. (A row flushed late by an earlier test may
    # still arrive here; filtering by this case's team leaves it out.)
    rows = wait_for_spend_rows(2, team_id=cast.team_a.team_id)
    assert [(r.user_id, r.team_id, r.status) for r in rows] == [("bob", cast.team_a.team_id, "success")] * 2
    # The refusal is logged too, with the level that refused it and its spend against the limit.
    [row] = wait_for_spend_rows(1, team_id=cast.team_a.team_id, status="refused")
    assert (row.request_id, row.user_id, row.limit_level, row.limit_kind, row.limit_current, row.limit_max,
            row.error_type, row.cost) == (refused.headers["x-request-id"], "bob", level, "budget", Decimal("0.01"),
                                          Decimal("0.01"), "budget_exceeded", Decimal(0))


def test_first_limit_hit_blocks_even_when_a_wider_level_has_room(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    set_budget(cast, "team", Decimal(100))
    set_budget(cast, "key", ONE_CALL)
    with client(gateway, cast.bob.secret) as http:
        assert chat(http, max_tokens=5).status_code == 200
        assert chat(http, max_tokens=5).json()["error"]["param"] == "key"
    with client(gateway, cast.alice.secret) as http:
        assert chat(http, max_tokens=5).status_code == 200


def test_rpm_and_tpm_limits_are_429_with_retry_after(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    _, rpm_secret = make_key(cast.bob.user, cast.team_a, rpm_limit=2)
    _, tpm_secret = make_key(cast.bob.user, cast.team_a, tpm_limit=5)
    with client(gateway, rpm_secret) as http:
        statuses = [chat(http).status_code for _ in range(3)]
        limited = chat(http)
    with client(gateway, tpm_secret) as http:
        assert chat(http).status_code == 200  # 4 prompt + 7 completion tokens: the minute's 5 are used up
        tpm_limited = chat(http)
    assert statuses == [200, 200, 429]
    for response in (limited, tpm_limited):
        assert response.status_code == 429
        assert 1 <= int(response.headers["retry-after"]) <= 60
        assert response.json()["error"]["type"] == "rate_limit_error"
    assert "rpm_limit 2" in limited.json()["error"]["message"]


def test_parallel_limit_is_429_while_a_call_is_in_flight(cast: Cast, upstream_model, upstream: OpenAIUpstream,
                                                         gateway: GatewayProcess) -> None:
    upstream_model(timeout=1)
    _, secret = make_key(cast.bob.user, cast.team_a, max_parallel_requests=1)
    upstream.reply_with(Reply(stall=True))
    statuses: list[int] = []
    with client(gateway, secret) as http:
        first = threading.Thread(target=lambda: statuses.append(chat(http, "upstream-gpt").status_code))
        first.start()
        deadline = time.monotonic() + 10
        while not upstream.requests and time.monotonic() < deadline:
            time.sleep(0.01)
        second = chat(http, "upstream-gpt")
        first.join()
        third = chat(http, "upstream-gpt")
    assert (second.status_code, second.headers["retry-after"]) == (429, "1")
    assert "parallel" in second.json()["error"]["message"]
    assert (statuses, third.status_code) == ([408], 200)


def test_stream_is_charged_from_final_usage(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    set_budget(cast, "key", Decimal("0.014"))
    with client(gateway, cast.bob.secret) as http:
        with http.stream("POST", "/v1/chat/completions", json={"model": "priced", "stream": True,
                                                               "messages": [{"role": "user", "content": "hello"}]}) as s:
            assert s.status_code == 200 and s.read().endswith(b"data: [DONE]\n\n")
        assert chat(http, max_tokens=5).status_code == 200  # 0.007 + 0.005 = 0.012 < 0.014
        assert chat(http, max_tokens=5).status_code == 200  # 0.002 left: admitted, reserving what is left
        assert chat(http, max_tokens=5).status_code == 400  # 0.017 spent
    rows = wait_for_spend_rows(3, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert [(r.completion_tokens, r.cost) for r in rows] == [(7, Decimal("0.007")), (5, ONE_CALL), (5, ONE_CALL)]


def test_cut_stream_is_charged_for_what_was_generated(cast: Cast, upstream_model, upstream: OpenAIUpstream,
                                                      gateway: GatewayProcess) -> None:
    upstream_model(output_cost_per_token=Decimal("0.001"), input_cost_per_token=Decimal(0))
    upstream.reply_with(paced(0.3))
    with client(gateway, cast.bob.secret) as http:
        with http.stream("POST", "/v1/chat/completions", json={
                "model": "upstream-gpt", "stream": True,
                "messages": [{"role": "user", "content": "tell me a long story"}]}) as s:
            lines = s.iter_lines()
            got = [next(lines) for _ in range(5)]
    assert any(line.startswith("data: {") for line in got)
    assert upstream.hangup_event.wait(10)
    [row] = wait_for_spend_rows(1, key_id=cast.bob.key.pk)  # type: ignore[union-attr]
    assert (row.status, row.error_type) == ("cancelled", "client_disconnected")
    assert 0 < row.completion_tokens < 10 and row.cost == row.completion_tokens * Decimal("0.001")


def test_embeddings_are_budgeted_too(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced("embed", provider_model="text-embedding-3-small", input_cost_per_token=Decimal("0.001"),
           output_cost_per_token=Decimal(0))
    set_budget(cast, "key", Decimal("0.001"))
    with client(gateway, cast.bob.secret) as http:
        first = http.post("/v1/embeddings", json={"model": "embed", "input": "hi"})
        second = http.post("/v1/embeddings", json={"model": "embed", "input": "hi"})
    assert first.status_code == 200
    assert second.json()["error"]["type"] == "budget_exceeded"


def test_budget_window_resets_lazily_on_the_next_call(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    _, secret = make_key(cast.bob.user, cast.team_a, max_budget=ONE_CALL, budget_duration="2s")
    with client(gateway, secret) as http:
        assert chat(http, max_tokens=5).status_code == 200
        assert chat(http, max_tokens=5).status_code == 400
        deadline = time.monotonic() + 10  # no beat runs here: only the call itself can reset the window
        while chat(http, max_tokens=5).status_code != 200:
            assert time.monotonic() < deadline, "the window never reset"
            time.sleep(0.2)
