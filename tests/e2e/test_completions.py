"""`/v1/completions` through the gateway process with the `openai` client: sent natively to OpenAI-compatible
upstreams, over chat to the rest, streamed or not, metered as text completions."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest
from django.test import AsyncClient

from apps.core.secrets import encrypt
from apps.routing.models import Deployment, RouterSettings
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.querycount import count_queries
from tests.teams.conftest import wait_for_spend_rows
from tests.upstreams import cohere, text_completion_openai
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import RecordingServer, Reply

INSTRUCT = text_completion_openai.MODEL


def deploy(name: str, provider: str, model: str, api_base: str, api_key: str, **fields: Any) -> None:
    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    Deployment.objects.create(model_name=name, provider=provider, provider_model=model, api_base=api_base,
                              api_key_encrypted=encrypt(api_key), timeout=10, **fields)


@pytest.fixture
def upstreams(transactional_db: None) -> Iterator[dict[str, RecordingServer]]:
    """The legacy completions twin as `instruct` (openai) and `instruct-tc` (text-completion-openai); Cohere's
    chat twin as `command` (served over chat)."""
    with RecordingServer(text_completion_openai.respond) as legacy, cohere.CohereUpstream() as co:
        deploy("instruct", "openai", INSTRUCT, f"{legacy.url}/v1", text_completion_openai.API_KEY)
        deploy("instruct-tc", "text-completion-openai", INSTRUCT, f"{legacy.url}/v1", text_completion_openai.API_KEY)
        deploy("command", "cohere", "command-a-03-2025", co.url, cohere.API_KEY)
        yield {"legacy": legacy, "cohere": co}
        assert legacy.failures == co.failures == []


@pytest.mark.parametrize("model", ["instruct", "instruct-tc"])
def test_compatible_upstreams_get_the_request_as_sent(upstreams: dict[str, RecordingServer], sdk: openai.OpenAI,
                                                      model: str) -> None:
    answer = sdk.completions.create(model=model, prompt="hello", max_tokens=7, temperature=0.5, echo=False)
    assert (answer.object, answer.model, answer.choices[0].text, answer.choices[0].finish_reason) == (
        "text_completion", INSTRUCT, text_completion_openai.ANSWER, "stop")
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (1, 3)  # type: ignore[union-attr]
    [seen] = upstreams["legacy"].requests
    assert (seen.path, seen.json()) == ("/v1/completions", {"model": INSTRUCT, "prompt": "hello", "max_tokens": 7,
                                                           "temperature": 0.5, "echo": False})


def test_native_stream_passes_chunks_and_shows_usage_only_when_asked(upstreams: dict[str, RecordingServer],
                                                                     sdk: openai.OpenAI) -> None:
    chunks = list(sdk.completions.create(model="instruct", prompt="hello", stream=True))
    assert "".join(chunk.choices[0].text for chunk in chunks) == "".join(text_completion_openai.PIECES)
    assert [chunk.usage for chunk in chunks] == [None] * len(chunks)
    assert chunks[-1].choices[0].finish_reason == "stop"
    [seen] = upstreams["legacy"].requests
    assert seen.json() == {"model": INSTRUCT, "prompt": "hello", "stream": True,
                           "stream_options": {"include_usage": True}}
    with_usage = list(sdk.completions.create(model="instruct", prompt="hello", stream=True,
                                             stream_options={"include_usage": True}))
    assert with_usage[-1].choices == [] and with_usage[-1].usage.total_tokens == 4  # type: ignore[union-attr]


def test_other_providers_answer_over_chat(upstreams: dict[str, RecordingServer], sdk: openai.OpenAI) -> None:
    answer = sdk.completions.create(model="command", prompt="hello", max_tokens=5)
    assert (answer.object, answer.choices[0].text, answer.choices[0].finish_reason) == (
        "text_completion", "echo: hello", "stop")
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (9, 4)  # type: ignore[union-attr]
    [seen] = upstreams["cohere"].requests
    assert seen.path == "/v2/chat"
    assert (seen.json()["messages"], seen.json()["max_tokens"]) == ([{"role": "user", "content": "hello"}], 5)


def test_streams_over_chat_are_text_completion_chunks(upstreams: dict[str, RecordingServer],
                                                      sdk: openai.OpenAI) -> None:
    chunks = list(sdk.completions.create(model="command", prompt="hello", stream=True,
                                         stream_options={"include_usage": True}))
    assert {chunk.object for chunk in chunks} == {"text_completion"}
    assert "".join(chunk.choices[0].text for chunk in chunks if chunk.choices) == "Hello"
    assert [chunk.choices[0].finish_reason for chunk in chunks if chunk.choices][-1] == "stop"
    assert chunks[-1].usage.completion_tokens == 4  # type: ignore[union-attr]


def test_spend_is_logged_as_a_text_completion(upstreams: dict[str, RecordingServer], http: httpx.Client) -> None:
    answer = http.post("/v1/completions", json={"model": "instruct-tc", "prompt": "hello"})
    assert answer.status_code == 200, answer.text
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    # gpt-3.5-turbo-instruct: $1.5 per million prompt tokens, $2 per million completion tokens
    assert (row.call_type, row.prompt_tokens, row.completion_tokens, row.cost) == (
        "text_completion", 1, 3, Decimal("0.0000015") + 3 * Decimal("0.000002"))


def test_a_hang_up_mid_stream_cancels_upstream_and_bills_what_was_sent(upstreams: dict[str, RecordingServer],
                                                                       upstream: OpenAIUpstream,
                                                                       gateway: GatewayProcess) -> None:
    deploy("paced", "openai", INSTRUCT, upstream.api_base, "sk-paced")
    events = [text_completion_openai.completion_event(f" piece{i}", None) for i in range(20)]
    upstream.reply_with(Reply.stream(events, delay=0.3))
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    with httpx.stream("POST", f"{gateway.url}/v1/completions", headers=headers, timeout=10,
                      json={"model": "paced", "prompt": "hello", "stream": True}) as answer:
        rid = answer.headers["x-request-id"]
        first = next(answer.iter_lines())
    assert first.startswith("data: ") and '"text": " piece0"' in first.replace('":"', '": "')
    assert upstream.hangup_event.wait(10)
    [row] = wait_for_spend_rows(1, request_id=rid)
    assert (row.call_type, row.status, row.error_type) == ("text_completion", "cancelled", "client_disconnected")
    assert row.completion_tokens >= 2  # " piece0" at least, counted from the text sent


BAD_INPUT = [
    pytest.param({"model": "instruct"}, 400, "prompt", id="no_prompt_case"),
    pytest.param({"model": "instruct", "prompt": ""}, 400, "prompt", id="empty_prompt_case"),
    pytest.param({"model": "instruct", "prompt": [1, "a"]}, 400, "prompt", id="mixed_prompt_case"),
    pytest.param({"model": "instruct", "prompt": "x", "max_tokens": 0}, 400, "max_tokens", id="max_tokens_zero_case"),
    pytest.param({"model": "instruct", "prompt": "x", "echo": "yes"}, 400, "echo", id="echo_not_bool_case"),
    pytest.param({"model": "nope", "prompt": "x"}, 404, "model", id="unknown_model_case"),
    pytest.param({"model": "command", "prompt": "x", "echo": True}, 400, "echo", id="echo_over_chat_case"),
    pytest.param({"model": "command", "prompt": ["a", "b"]}, 400, "prompt", id="two_prompts_over_chat_case"),
]


@pytest.mark.parametrize(("body", "status", "param"), BAD_INPUT)
def test_bad_input_is_refused_naming_the_param(upstreams: dict[str, RecordingServer], http: httpx.Client,
                                               body: dict[str, Any], status: int, param: str) -> None:
    answer = http.post("/v1/completions", json=body)
    assert (answer.status_code, answer.json()["error"]["param"]) == (status, param), answer.text
    assert all(upstream.requests == [] for upstream in upstreams.values())


async def test_warm_completions_run_no_queries(upstreams: dict[str, RecordingServer]) -> None:
    caller = AsyncClient()
    auth = {"Authorization": f"Bearer {MASTER_KEY}"}
    body = {"model": "instruct", "prompt": "hello"}
    assert (await caller.post("/v1/completions", data=body, content_type="application/json",
                              headers=auth)).status_code == 200  # type: ignore[attr-defined]
    with count_queries() as counter:
        plain = await caller.post("/v1/completions", data=body, content_type="application/json", headers=auth)
        streamed = await caller.post("/v1/completions", data={**body, "stream": True},
                                     content_type="application/json", headers=auth)
        chunks = [chunk async for chunk in streamed.streaming_content]  # type: ignore[attr-defined]
    assert [plain.status_code, streamed.status_code] == [200, 200]  # type: ignore[attr-defined]
    assert chunks[-1] == b"data: [DONE]\n\n"
    assert counter.statements == []


@pytest.mark.usefixtures("example_models")
def test_the_offline_mock_answers_over_chat(sdk: openai.OpenAI) -> None:
    answer = sdk.completions.create(model="gpt-4o-mini", prompt="hello there")
    chat = sdk.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello there"}])
    assert (answer.object, answer.choices[0].text) == ("text_completion", chat.choices[0].message.content)
    assert answer.usage == chat.usage
