"""A rotated key is audited by hash: neither the secret it had nor the one it gets is ever in the audit log
(LiteLLM #31620 stored a raw key), whether the gateway makes the new secret or the caller chooses it."""
from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from apps.portal.models import AuditLog
from apps.teams import services
from apps.teams.auth import hash_key
from tests.conftest import MASTER_KEY
from tests.web.conftest import WebCast


def regenerate(body: dict[str, Any]) -> Any:
    return Client().post("/key/regenerate", json.dumps(body), content_type="application/json",
                         HTTP_AUTHORIZATION=f"Bearer {MASTER_KEY}")


@pytest.mark.parametrize("chosen", [None, "sk-chosen-" + "r" * 40], ids=["made", "chosen"])
def test_a_regenerated_keys_old_and_new_secrets_never_reach_the_audit_log(web_cast: WebCast,
                                                                           chosen: str | None) -> None:
    old = services.key_generate(fields={"user": web_cast.bob, "team": web_cast.search, "key_alias": "rotated"})
    body: dict[str, Any] = {"key": old.secret, "grace_period": "1h"}
    if chosen:
        body["new_key"] = chosen
    answer = regenerate(body)
    assert answer.status_code == 200, answer.content
    new = answer.json()["key"]
    assert chosen is None or new == chosen
    entries = AuditLog.objects.filter(object_type="teams.virtualkey")
    assert entries.exists(), "the rotation is audited"
    every_row = json.dumps(list(AuditLog.objects.values()), default=str)
    assert old.secret not in every_row and new not in every_row
    assert hash_key(new) in every_row, "the rotated key is named by its new hash"
