"""/key/regenerate with LiteLLM's grace_period: the old secret works until the grace ends; spend carries over."""
from __future__ import annotations

import time
from decimal import Decimal

from apps.teams import services
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.teams.conftest import Cast, chat, client, make_key

ONE_CALL = Decimal("0.005")


def test_old_secret_works_through_the_grace_period_then_401(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    key, old_secret = make_key(cast.bob.user, cast.team_a, max_budget=3 * ONE_CALL)
    with client(gateway, MASTER_KEY) as admin:
        answer = admin.post("/key/regenerate", json={"key": old_secret, "grace_period": "3s"})
    assert answer.status_code == 200, answer.text
    new_secret = answer.json()["key"]
    with client(gateway, old_secret) as old, client(gateway, new_secret) as new:
        assert chat(old, max_tokens=5).status_code == 200
        assert chat(new, max_tokens=5).status_code == 200
        assert old.get("/key/info", params={"key": new_secret}).status_code == 200  # the management API too
        assert chat(old, max_tokens=5).status_code == 200
        refused = chat(new, max_tokens=5)  # one budget for both secrets: three calls spent it
        assert (refused.status_code, refused.json()["error"]["param"]) == (400, "key")
        deadline = time.monotonic() + 15
        while (response := chat(old)).status_code != 401 and time.monotonic() < deadline:
            time.sleep(0.1)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "key_expired")
    with client(gateway, old_secret) as old:
        assert old.get("/key/info", params={"key": new_secret}).status_code == 401


def test_regenerate_without_grace_ends_the_old_secret_at_once(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    key, old_secret = make_key(cast.bob.user, cast.team_a)
    with client(gateway, MASTER_KEY) as admin:
        new_secret = admin.post("/key/regenerate", json={"key": old_secret}).json()["key"]
    with client(gateway, old_secret) as old, client(gateway, new_secret) as new:
        assert chat(old).status_code == 401
        assert chat(new).status_code == 200


def test_bad_grace_period_is_400_and_keeps_the_key(cast: Cast, priced, gateway: GatewayProcess) -> None:
    priced()
    key, secret = make_key(cast.bob.user, cast.team_a)
    with client(gateway, MASTER_KEY) as admin:
        answer = admin.post("/key/regenerate", json={"key": secret, "grace_period": "soon"})
    assert (answer.status_code, answer.json()["error"]["param"]) == (400, "grace_period")
    with client(gateway, secret) as http:
        assert chat(http).status_code == 200
    services.key_delete(keys=[key])
