"""The warm /v1 path runs no SQL, and a deployment change is served on the next call without a restart."""
from __future__ import annotations

import httpx
import pytest
from django.test import AsyncClient

from apps.routing.models import Deployment
from tests.conftest import MASTER_KEY
from tests.querycount import count_queries

pytestmark = pytest.mark.usefixtures("example_models")
AUTH = {"Authorization": f"Bearer {MASTER_KEY}"}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "q"}]}


async def post_chat(client: AsyncClient, body: dict[str, object]) -> object:
    return await client.post("/v1/chat/completions", data=body, content_type="application/json", headers=AUTH)


@pytest.mark.smoke
async def test_warm_calls_run_no_queries() -> None:
    client = AsyncClient()
    assert (await post_chat(client, CHAT)).status_code == 200  # type: ignore[attr-defined]
    with count_queries() as counter:
        plain = await post_chat(client, CHAT)
        streamed = await post_chat(client, {**CHAT, "stream": True})
        chunks = [chunk async for chunk in streamed.streaming_content]  # type: ignore[attr-defined]
        models = await client.get("/v1/models", headers=AUTH)
        embedded = await client.post("/v1/embeddings", data={"model": "text-embedding-3-small", "input": "x"},
                                     content_type="application/json", headers=AUTH)
    assert [plain.status_code, streamed.status_code, models.status_code, embedded.status_code] == [200] * 4  # type: ignore[attr-defined]
    assert chunks[-1] == b"data: [DONE]\n\n"
    assert counter.statements == []


def test_deployment_change_is_served_without_restart(http: httpx.Client) -> None:
    first = http.post("/v1/chat/completions", json=CHAT)
    assert first.status_code == 200
    Deployment.objects.filter(model_name="gpt-4o-mini").update(enabled=False)
    Deployment.objects.create(model_name="gpt-4o-mini", provider="mock", provider_model="fresh",
                              litellm_params={"mock_response": "from the new deployment"})
    second = http.post("/v1/chat/completions", json=CHAT)
    assert second.status_code == 200
    assert second.json()["choices"][0]["message"]["content"] == "from the new deployment"


async def test_warm_messages_calls_run_no_queries() -> None:
    client = AsyncClient()
    body = {"model": "gpt-4o-mini", "max_tokens": 20, "messages": [{"role": "user", "content": "q"}]}

    async def post(path: str, value: dict[str, object]) -> object:
        return await client.post(path, data=value, content_type="application/json", headers={"x-api-key": MASTER_KEY})

    assert (await post("/v1/messages", body)).status_code == 200  # type: ignore[attr-defined]
    with count_queries() as counter:
        plain = await post("/v1/messages", body)
        streamed = await post("/v1/messages", {**body, "stream": True})
        events = [chunk async for chunk in streamed.streaming_content]  # type: ignore[attr-defined]
        counted = await post("/v1/messages/count_tokens", body)
    assert [plain.status_code, streamed.status_code, counted.status_code] == [200] * 3  # type: ignore[attr-defined]
    assert events[-1].endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
    assert counter.statements == []
