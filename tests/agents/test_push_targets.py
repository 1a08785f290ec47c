"""Push URLs are caller-supplied requests the gateway makes from inside the network: addresses that are not public
are refused (a literal one when the config is given, a name when it resolves so at delivery) unless
TOLLGATE_A2A_PUSH_ALLOW_INTERNAL is on."""
from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.agents.errors import InvalidParams
from apps.agents.models import AgentPushDelivery, AgentTask
from apps.agents import push_targets
from apps.agents.push import attempt
from apps.agents.service import checked_push

INTERNAL = ["http://127.0.0.1:8080/hook", "http://localhost/hook", "http://api.localhost/hook",
            "http://169.254.169.254/latest/meta-data/", "http://10.0.0.7/hook", "https://192.168.1.1/hook",
            "http://172.16.5.4/hook", "http://100.64.0.1/hook", "http://0.0.0.0/hook", "http://[::1]/hook",
            "http://[fd00::1]/hook", "http://[fe80::1]/hook", "http://[::ffff:127.0.0.1]/hook", "http://224.0.0.1/"]


@pytest.mark.parametrize("url", INTERNAL, ids=[f"internal_{n}_case" for n in range(len(INTERNAL))])
def test_a_push_url_to_an_internal_address_is_refused(settings: Any, url: str) -> None:
    settings.TOLLGATE_A2A_PUSH_ALLOW_INTERNAL = False
    with pytest.raises(InvalidParams, match="'url' may not be pushed to") as refused:
        checked_push({"url": url, "taskId": "t"})
    assert refused.value.data == {"field": "url"}


def test_public_urls_pass_and_the_setting_lets_internal_ones_through(settings: Any) -> None:
    settings.TOLLGATE_A2A_PUSH_ALLOW_INTERNAL = False
    for url in ("https://hooks.example.com/a2a", "http://8.8.8.8/hook", "https://[2606:4700::1111]/hook"):
        assert checked_push({"url": url, "taskId": "t"})["url"] == url
    settings.TOLLGATE_A2A_PUSH_ALLOW_INTERNAL = True
    assert checked_push({"url": "http://127.0.0.1:8080/hook", "taskId": "t"})["url"] == "http://127.0.0.1:8080/hook"


def test_a_name_resolving_to_an_internal_address_is_not_pushed_to(transactional_db: None, settings: Any,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    settings.TOLLGATE_A2A_PUSH_ALLOW_INTERNAL = False

    async def resolve(host: str, port: int) -> list[str]:  # the name's DNS answer, as a rebinding attacker sets it
        assert (host, port) == ("hooks.attacker.example", 8080)
        return ["93.184.215.14", "10.1.2.3"]

    monkeypatch.setattr(push_targets, "resolve", resolve)
    url = "http://hooks.attacker.example:8080/hook"
    assert checked_push({"url": url, "taskId": "t-ssrf"})["url"] == url  # a name passes when the config is given
    AgentTask.objects.create(task_id="t-ssrf", agent_id="a", context_id="c", owner="o")
    delivery = AgentPushDelivery.objects.create(task_id="t-ssrf", config_id="c1", url=url,
                                                body={"task": {"id": "t-ssrf"}},
                                                next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert asyncio.run(attempt(delivery.pk)) is None  # given up at once, never retried
    delivery.refresh_from_db()
    assert (delivery.delivered_at, delivery.next_attempt_at, delivery.attempts) == (None, None, 1)
    assert delivery.last_error == ("refused: hooks.attacker.example resolves to 10.1.2.3, which is not a public "
                                   "address")


def test_a_name_that_rebinds_between_the_check_and_the_connection_reaches_nothing_internal(
        transactional_db: None, settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check's lookup says public; the connection's own lookup of the same name says loopback: refused."""
    settings.TOLLGATE_A2A_PUSH_ALLOW_INTERNAL = False
    reached: list[int] = []

    async def public(host: str, port: int) -> list[str]:
        return ["93.184.215.14"]

    async def scenario(delivery_id: int) -> float | None:
        async def hook(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            reached.append(1)
            writer.close()

        server = await asyncio.start_server(hook, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        await asyncio.to_thread(AgentPushDelivery.objects.filter(pk=delivery_id).update,
                                url=f"http://localhost:{port}/hook")
        async with server:
            return await attempt(delivery_id)

    monkeypatch.setattr(push_targets, "resolve", public)
    monkeypatch.setattr(push_targets, "LOCAL_NAMES", ())  # as if the name were not localhost's own
    AgentTask.objects.create(task_id="t-rebind", agent_id="a", context_id="c", owner="o")
    delivery = AgentPushDelivery.objects.create(task_id="t-rebind", config_id="c1", url="http://placeholder/hook",
                                                body={"task": {"id": "t-rebind"}},
                                                next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert asyncio.run(scenario(delivery.pk)) is None  # given up at once, never retried
    delivery.refresh_from_db()
    assert reached == []
    assert (delivery.delivered_at, delivery.next_attempt_at) == (None, None)
    assert delivery.last_error == "refused: localhost resolves to an address this request may not reach"
