"""Stream resumption without HTTP: the continuation request per provider, the client's view of a resumed stream,
streams held to their first token, routing that avoids the failed deployment, and the settings."""
from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from apps.core import jsonutil
from apps.core.errors import InvalidRequest
from apps.providers.adapters.anthropic.adapter import AnthropicAdapter
from apps.providers.adapters.openai import OpenAIAdapter
from apps.providers.base import ChatCall, ChatChunk, Target, UpstreamError, Usage
from apps.providers.transport import ChatStream, MockResponse
from apps.routing.parsing import call_options
from apps.routing.policy import policy_from_settings
from apps.routing.router import Avoid, route
from apps.routing.stream_resume import RESUME_INSTRUCTION, Continuity, continuation_call, primed, resumable_error
from tests.routing.helpers import deployment, short, table
from tests.routing.test_router import OK, Script, Sleeps, fail

CALL = ChatCall(model="g", messages=[{"role": "user", "content": "hello"}], stream=True, params={})
CUT = UpstreamError("could not reach upstream openai: RemoteProtocolError", status=502,
                    error_type="api_connection_error", code="upstream_unreachable")


def test_providers_without_prefill_get_the_text_then_an_instruction() -> None:
    sent = continuation_call(CALL, "The answer ", prefill=False)
    assert sent.messages == [*CALL.messages, {"role": "assistant", "content": "The answer "},
                             {"role": "user", "content": RESUME_INSTRUCTION}]
    assert CALL.messages == [{"role": "user", "content": "hello"}]  # the original call is left as it was


def test_anthropic_continues_a_prefilled_assistant_message() -> None:
    adapter = AnthropicAdapter()
    assert adapter.supports("assistant_prefill") and not OpenAIAdapter().supports("assistant_prefill")
    sent = continuation_call(CALL, "The answer ", prefill=True)
    request = adapter.translate_request(sent, Target(provider="anthropic", model="claude-x", api_key="k"))
    messages = jsonutil.loads(request.body)["messages"]
    # Anthropic refuses a prefill ending in whitespace; the continuation's leading space is trimmed instead.
    assert messages[-1]["role"] == "assistant"
    assert messages[-1]["content"] in ("The answer", [{"type": "text", "text": "The answer"}])


def chunk(content: str | None = None, *, role: str | None = None, id: str = "x", model: str = "m",
          usage: Usage | None = None) -> ChatChunk:
    delta = {k: v for k, v in (("role", role), ("content", content)) if v is not None}
    body = {"id": id, "model": model, "created": 5, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
    if usage is not None:
        body = {"id": id, "model": model, "created": 5, "choices": [], "usage": usage.as_openai()}
    return ChatChunk(body=body, usage=usage)


def test_a_continuation_looks_like_the_first_attempt_and_counts_every_attempt() -> None:
    seen = Continuity()
    for piece in (chunk("", role="assistant", id="a", model="one"), chunk("The answer ", id="a", model="one")):
        seen.seen(piece)
    seen.legs, seen.carried = 2, Usage(prompt_tokens=10, completion_tokens=3)
    first = seen.seen(chunk("", role="assistant", id="b", model="two"))
    spaced = seen.seen(chunk(" 42", id="b", model="two"))
    final = seen.seen(chunk(id="b", model="two", usage=Usage(prompt_tokens=20, completion_tokens=2)))
    assert first.body["choices"][0]["delta"] == {"content": ""}  # one role delta in the whole stream
    assert (spaced.body["id"], spaced.body["model"], spaced.body["choices"][0]["delta"]) == ("a", "one",
                                                                                              {"content": "42"})
    assert final.usage == Usage(prompt_tokens=30, completion_tokens=5)
    assert final.body["usage"] == {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35}
    assert (seen.text, seen.plain) == ("The answer 42", True)


def test_tool_calls_are_not_resumed() -> None:
    seen = Continuity()
    seen.seen(ChatChunk(body={"id": "a", "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0}]}}]}))
    assert not seen.plain


@pytest.mark.parametrize(("error", "expected"), [
    pytest.param(CUT, True, id="dropped_case"),
    pytest.param(fail(429), True, id="rate_limited_case"),
    pytest.param(fail(400), False, id="bad_request_case"),
    pytest.param(fail(400, code="context_length_exceeded"), False, id="context_window_case"),
    pytest.param(InvalidRequest("no"), False, id="not_upstream_case"),
])
def test_only_failures_another_deployment_may_not_share_resume(error: Exception, expected: bool) -> None:
    assert resumable_error(error) is expected  # type: ignore[arg-type]


def stream_of(events: list[bytes]) -> ChatStream:
    iterator: Iterator[bytes] = iter(events)
    return ChatStream(OpenAIAdapter(), Target(provider="openai", model="m"), MockResponse(200, iterator))


def sse(delta: dict[str, str]) -> bytes:
    body = {"id": "x", "object": "chat.completion.chunk", "model": "m", "choices": [{"index": 0, "delta": delta}]}
    return b"data: " + jsonutil.dumps(body) + b"\n\n"


async def test_a_primed_stream_holds_everything_up_to_the_first_text() -> None:
    stream = await primed(stream_of([sse({"role": "assistant", "content": ""}), sse({"content": "Hi"}),
                                     sse({"content": " there"}), b"data: [DONE]\n\n"]))
    assert [len(batch) for batch in stream.held] == [1, 1]
    contents = [c.body["choices"][0]["delta"].get("content") async for c in stream.chunks()]
    assert contents == ["", "Hi", " there"]


async def test_a_failure_before_the_first_text_is_raised_while_priming() -> None:
    bad = b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'
    with pytest.raises(UpstreamError) as caught:
        await primed(stream_of([sse({"role": "assistant", "content": ""}), bad]))
    assert caught.value.message == "overloaded"


async def test_a_resume_avoids_the_failed_deployment_then_goes_to_fallbacks() -> None:
    t = table({"g": [deployment("a"), deployment("b")], "f": [deployment("c")]}, fallbacks=[{"g": ["f"]}])
    script = Script()
    served = await route(t, "g", OK, script, rng=random.Random(1), sleep=Sleeps(),
                         avoid=Avoid(frozenset({t.deployments("g")[0].id}), CUT))
    assert (short(served.deployment), script.calls) == ("b", ["b"])
    every = frozenset(d.id for d in t.deployments("g"))
    served = await route(t, "g", OK, script, rng=random.Random(1), sleep=Sleeps(), avoid=Avoid(every, CUT))
    assert (short(served.deployment), served.fallback_depth) == ("c", 1)


def test_stream_resume_is_a_router_setting_and_a_request_option() -> None:
    assert policy_from_settings({"stream_resume": "true"})[0].stream_resume is True
    assert policy_from_settings({})[0].stream_resume is False
    assert policy_from_settings({"stream_resume": "sometimes"})[1] == [
        ("stream_resume", "stream_resume must be true or false, got 'sometimes'")]
    assert call_options({"stream_resume": True}).stream_resume is True
    with pytest.raises(InvalidRequest) as caught:
        call_options({"stream_resume": "yes"})
    assert caught.value.param == "stream_resume"
