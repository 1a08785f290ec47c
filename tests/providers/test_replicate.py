"""Replicate: fixtures, model routes, then predictions through the real transport against a strict twin:
sync mode (`Prefer: wait`), polling until a terminal status, and the `urls.stream` SSE stream."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from apps.core import jsonutil
from apps.providers import transport
from apps.providers.adapters.replicate import model_route
from apps.providers.base import ChatCall, ParamNotSupported, Target, UpstreamError
from apps.providers.registry import adapter_for
from tests.providers.translation import check_translation, target_for
from tests.upstreams.replicate import API_TOKEN, MODEL, PIECES, VERSION, ReplicateUpstream

CASES = ["text", "stream", "error_auth", "error_rate_limit", "error_validation"]
HELLO = [{"role": "user", "content": "hello"}]


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case}_case") for case in CASES])
def test_fixture_case(case: str) -> None:
    check_translation("replicate", case)


@pytest.mark.parametrize(("model", "route"), [
    ("meta/llama-2-70b-chat", ("models/meta/llama-2-70b-chat/predictions", None)),
    (f"meta/llama-2-70b-chat:{VERSION}", ("predictions", VERSION)),
    (VERSION, ("predictions", VERSION)),
    ("deployments/acme/my-llama", ("deployments/acme/my-llama/predictions", None)),
])
def test_model_routes(model: str, route: tuple[str, str | None]) -> None:
    assert model_route(model) == route


def test_system_prompt_and_refused_tools() -> None:
    adapter, target = adapter_for("replicate"), target_for("replicate")
    call = ChatCall(model="m", messages=[{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"}])
    request = adapter.translate_request(call, replace(target, model="meta/llama-3-8b", extra={"supports_system_prompt": True,
                                                                                             "replicate_wait": 30}))
    assert (request.headers["Prefer"], jsonutil.loads(request.body)) == (
        "wait=30", {"input": {"system_prompt": "Be kind.", "prompt": "Hi"}})
    with pytest.raises(ParamNotSupported) as caught:
        adapter.translate_request(replace(call, params={"tools": [{"type": "function"}]}), target)
    assert caught.value.param == "tools"
    # the same options given as SDK keywords (call parameters) are honoured, never sent as model inputs
    sdk_call = replace(call, params={"supports_system_prompt": True, "replicate_poll_interval": 0.1, "top_k": 5})
    assert jsonutil.loads(adapter.translate_request(sdk_call, replace(target, model="meta/llama-3-8b")).body) == {
        "input": {"system_prompt": "Be kind.", "prompt": "Hi", "top_k": 5}}


@pytest.fixture
async def closing_transport() -> AsyncIterator[None]:
    yield
    await transport.close_all()


def twin_target(twin: ReplicateUpstream, model: str = MODEL) -> Target:
    return Target(provider="replicate", model=model, api_base=twin.url, api_key=API_TOKEN, timeout=10,
                  extra={"replicate_poll_interval": 0.01})


async def test_sync_mode_answer_needs_one_request(closing_transport: None) -> None:
    with ReplicateUpstream(polls=0) as twin:
        answer = await transport.send_chat(adapter_for("replicate"), ChatCall(model="r", messages=HELLO), twin_target(twin))
    assert twin.failures == []
    [seen] = twin.requests
    assert (seen.method, seen.path, seen.headers["prefer"], seen.json()) == (
        "POST", f"/v1/models/{MODEL}/predictions", "wait", {"input": {"prompt": "hello"}})
    assert answer.body["choices"][0]["message"]["content"] == "".join(PIECES)
    assert answer.usage.as_openai() == {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}


async def test_unfinished_prediction_is_polled_until_it_succeeds(closing_transport: None) -> None:
    with ReplicateUpstream(polls=3) as twin:
        target = twin_target(twin, model=f"{MODEL}:{VERSION}")
        answer = await transport.send_chat(adapter_for("replicate"), ChatCall(model="r", messages=HELLO), target)
    assert twin.failures == []
    assert [(seen.method, seen.path) for seen in twin.requests] == [
        ("POST", "/v1/predictions"), *[("GET", "/v1/predictions/pred0001")] * 3]
    assert twin.requests[0].json() == {"input": {"prompt": "hello"}, "version": VERSION}
    assert all(seen.headers["authorization"] == f"Bearer {API_TOKEN}" for seen in twin.requests)
    assert (answer.body["id"], answer.body["choices"][0]["message"]["content"]) == ("pred0001", "".join(PIECES))


async def test_polling_stops_at_the_deadline(closing_transport: None) -> None:
    with ReplicateUpstream(polls=10**6) as twin:
        target = replace(twin_target(twin), timeout=0.3, extra={"replicate_poll_interval": 0.05})
        with pytest.raises(UpstreamError) as caught:
            await transport.send_chat(adapter_for("replicate"), ChatCall(model="r", messages=HELLO), target)
    assert (caught.value.status, caught.value.error_code) == (408, "timeout")
    assert 2 <= len(twin.requests) <= 8


async def test_failed_prediction_is_a_422_naming_the_error(closing_transport: None) -> None:
    with ReplicateUpstream() as twin:
        with pytest.raises(UpstreamError) as caught:
            await transport.send_chat(adapter_for("replicate"), ChatCall(model="r", messages=[
                {"role": "user", "content": "fail please"}]), twin_target(twin))
    assert (caught.value.status, caught.value.error_code, caught.value.message) == (
        422, "prediction_failed", "replicate prediction pred0001 failed: CUDA error: out of memory")


async def test_stream_reads_the_predictions_stream_url(closing_transport: None) -> None:
    with ReplicateUpstream() as twin:
        stream = await transport.open_chat_stream(adapter_for("replicate"),
                                                  ChatCall(model="r", messages=HELLO, stream=True), twin_target(twin))
        chunks = [chunk async for chunk in stream.chunks()]
    assert twin.failures == []
    assert [(seen.method, seen.path) for seen in twin.requests] == [
        ("POST", f"/v1/models/{MODEL}/predictions"), ("GET", "/v1/streams/pred0001")]
    assert twin.requests[0].json() == {"input": {"prompt": "hello"}, "stream": True}
    assert "prefer" not in twin.requests[0].headers
    assert "".join(chunk.body["choices"][0]["delta"]["content"] for chunk in chunks
                   if chunk.body["choices"] and "content" in chunk.body["choices"][0]["delta"]) == "".join(PIECES)
    assert chunks[-2].body["choices"][0]["finish_reason"] == "stop"
    # no token counts in the stream: the prompt (3 + 2 + 1) and the output are estimated
    assert chunks[-1].usage is not None and chunks[-1].usage.as_openai() == {
        "prompt_tokens": 9, "completion_tokens": 6, "total_tokens": 15}


@pytest.mark.parametrize(("end", "code", "message"), [
    pytest.param(b'event: error\ndata: {"detail": "CUDA error: out of memory"}\n\n', "prediction_failed",
                 "replicate prediction failed: CUDA error: out of memory", id="error_event_json_case"),
    pytest.param(b"event: error\ndata: model crashed\n\n", "prediction_failed",
                 "replicate prediction failed: model crashed", id="error_event_text_case"),
    pytest.param(b'event: done\ndata: {"reason": "canceled"}\n\n', "prediction_canceled",
                 "replicate prediction canceled", id="done_canceled_case"),
    pytest.param(b'event: done\ndata: {"reason": "error"}\n\n', "prediction_error",
                 "replicate prediction error", id="done_error_case"),
])
async def test_a_stream_that_ends_in_failure_raises_after_its_text(closing_transport: None, end: bytes, code: str,
                                                                   message: str) -> None:
    with ReplicateUpstream(stream_end=end) as twin:
        stream = await transport.open_chat_stream(adapter_for("replicate"),
                                                  ChatCall(model="r", messages=HELLO, stream=True), twin_target(twin))
        chunks = []
        with pytest.raises(UpstreamError) as caught:
            async for chunk in stream.chunks():
                chunks.append(chunk)
    assert twin.failures == []
    assert [chunk.body["choices"][0]["delta"].get("content") for chunk in chunks] == [PIECES[0]]
    assert (caught.value.status, caught.value.error_code, caught.value.message) == (422, code, message)


async def test_bad_token_is_an_authentication_error(closing_transport: None) -> None:
    with ReplicateUpstream() as twin:
        with pytest.raises(UpstreamError) as caught:
            await transport.send_chat(adapter_for("replicate"), ChatCall(model="r", messages=HELLO),
                                      replace(twin_target(twin), api_key="r8_wrong"))
    assert (caught.value.status, caught.value.error_code) == (401, "invalid_api_key")
