"""/v1/responses through the gateway process with the official `openai` client: passed through to a Responses
twin (OpenAI's wire format), and served over chat for an OpenAI-compatible chat server and for Anthropic."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
from django.conf import settings

from apps.core.state import state
from apps.providers.responses import ids
from apps.teams.models import SpendLog
from apps.teams.snapshot import key_ledger
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.teams.conftest import make_key, wait_for_spend_rows
from tests.upstreams import anthropic as anthropic_twin
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.openai_responses import API_KEY, ResponsesTwin
from tests.upstreams.recording import Reply

REPLY = "This is a mock response to:"  # the chat mock's answer starts so
WEATHER = {"type": "function", "name": "get_weather", "description": "Weather for a city",
           "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}


@pytest.fixture(scope="session")
def responses_twin() -> Iterator[ResponsesTwin]:
    with ResponsesTwin() as twin:
        yield twin


@pytest.fixture
def twin(responses_twin: ResponsesTwin) -> ResponsesTwin:
    responses_twin.reset()
    return responses_twin


def deploy(model_name: str, **fields: Any) -> Any:
    from apps.core.secrets import encrypt
    from apps.routing.models import Deployment, RouterSettings

    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    secret = fields.pop("api_key")
    return Deployment.objects.create(model_name=model_name, api_key_encrypted=encrypt(secret), timeout=10, **fields)


@pytest.fixture
def native(transactional_db: None, twin: ResponsesTwin) -> str:
    """`resp-gpt`: an OpenAI deployment (the Responses API passed through) on the twin."""
    deploy("resp-gpt", provider="openai", provider_model="gpt-4.1", api_base=twin.api_base, api_key=API_KEY,
           config_id="resp-gpt-1")
    return "resp-gpt"


@pytest.fixture
def chat_llm(upstream_model: Callable[..., Any]) -> str:
    """`chat-llm`: a vLLM deployment (chat only: the Responses API served over chat) on the chat mock."""
    upstream_model("chat-llm", provider="hosted_vllm", provider_model="llama-3")
    return "chat-llm"


@pytest.fixture
def claude(transactional_db: None) -> Iterator[anthropic_twin.GatewayUpstream]:
    with anthropic_twin.gateway_upstream() as upstream:
        deploy("claude", provider="anthropic", provider_model=upstream.provider_model, api_base=upstream.api_base,
               api_key=anthropic_twin.API_KEY)
        yield upstream


def test_passthrough_sends_the_body_and_gives_a_gateway_id(sdk: openai.OpenAI, native: str,
                                                          twin: ResponsesTwin) -> None:
    response = sdk.responses.create(model=native, input="hello there", instructions="Be brief.", max_output_tokens=50)
    assert response.output_text == "Responses twin heard: hello there"
    assert ids.decode(response.id) == ids.DecodedId(provider="openai", model_id="resp-gpt-1",
                                                    response_id="resp_twin1")
    assert (response.usage.input_tokens, response.usage.output_tokens) == (2, 5)  # type: ignore[union-attr]
    [seen] = twin.requests
    assert (seen.method, seen.path) == ("POST", "/v1/responses")
    assert seen.json() == {"model": "gpt-4.1", "input": "hello there", "instructions": "Be brief.",
                           "max_output_tokens": 50}


def test_passthrough_stream_renames_the_response_id(sdk: openai.OpenAI, native: str) -> None:
    with sdk.responses.stream(model=native, input="hello") as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds == ["response.created", "response.in_progress", "response.output_item.added",
                     "response.content_part.added", *["response.output_text.delta"] * 4, "response.output_text.done",
                     "response.content_part.done", "response.output_item.done", "response.completed"]
    assert final.output_text == "Responses twin heard: hello"
    assert ids.decode(final.id).response_id == "resp_twin1"  # type: ignore[union-attr]
    assert sdk.responses.retrieve(final.id).output_text == "Responses twin heard: hello"


def test_items_tools_and_options_are_translated_to_chat(sdk: openai.OpenAI, chat_llm: str,
                                                        upstream: OpenAIUpstream) -> None:
    image = {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0K", "detail": "low"}
    sdk.responses.create(model=chat_llm, instructions="Be brief.", max_output_tokens=20, temperature=0.5,
                         tools=[WEATHER], tool_choice={"type": "function", "name": "get_weather"},
                         text={"format": {"type": "json_schema", "name": "w", "schema": {"type": "object"}}},
                         input=[{"role": "user", "content": [{"type": "input_text", "text": "weather?"}, image]},
                                {"type": "function_call", "call_id": "call_1", "name": "get_weather",
                                 "arguments": '{"city":"Paris"}'},
                                {"type": "function_call_output", "call_id": "call_1", "output": "sunny"},
                                {"type": "message", "role": "developer", "content": "answer in French"}])
    [seen] = upstream.requests
    assert seen.path == "/v1/chat/completions"
    assert seen.json() == {
        "model": "llama-3", "max_tokens": 20, "temperature": 0.5,
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                                    "parameters": WEATHER["parameters"]}}],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema": {"type": "object"}}},
        "messages": [{"role": "system", "content": "Be brief."},
                     {"role": "user", "content": [{"type": "text", "text": "weather?"},
                                                  {"type": "image_url", "image_url": {
                                                      "url": "data:image/png;base64,iVBORw0K", "detail": "low"}}]},
                     {"role": "assistant", "content": None, "tool_calls": [
                         {"id": "call_1", "type": "function",
                          "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'}}]},
                     {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
                     {"role": "system", "content": "answer in French"}]}


def test_chat_answer_becomes_a_response(sdk: openai.OpenAI, chat_llm: str) -> None:
    response = sdk.responses.create(model=chat_llm, input="hello")
    assert (response.object, response.status, response.model) == ("response", "completed", "llama-3")
    assert response.output_text == f"{REPLY} hello"
    assert (response.usage.input_tokens, response.usage.output_tokens,  # type: ignore[union-attr]
            response.usage.total_tokens) == (4, 7, 11)  # type: ignore[union-attr]
    assert ids.decode(response.id).provider == "hosted_vllm"  # type: ignore[union-attr]


def test_a_tool_call_is_a_function_call_item(sdk: openai.OpenAI, chat_llm: str) -> None:
    response = sdk.responses.create(model=chat_llm, input="weather in Paris?", tools=[WEATHER])  # type: ignore[list-item]
    [call] = response.output
    assert (call.type, call.call_id, call.name, call.arguments) == (  # type: ignore[union-attr]
        "function_call", "call_mock0", "get_weather", '{"city":"mock"}')


def test_chat_stream_is_in_the_responses_event_format(sdk: openai.OpenAI, chat_llm: str) -> None:
    with sdk.responses.stream(model=chat_llm, input="hello") as stream:
        events = list(stream)
        final = stream.get_final_response()
    assert [event.type for event in events] == [
        "response.created", "response.in_progress", "response.output_item.added", "response.content_part.added",
        *["response.output_text.delta"] * 7, "response.output_text.done", "response.content_part.done",
        "response.output_item.done", "response.completed"]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    assert "".join(event.delta for event in events if event.type == "response.output_text.delta") == f"{REPLY} hello"
    assert final.output_text == f"{REPLY} hello" and final.status == "completed"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (4, 7)  # type: ignore[union-attr]
    assert sdk.responses.retrieve(final.id).output_text == f"{REPLY} hello"


def test_streamed_tool_call_gives_argument_deltas(sdk: openai.OpenAI, chat_llm: str) -> None:
    with sdk.responses.stream(model=chat_llm, input="weather?", tools=[WEATHER]) as stream:  # type: ignore[list-item]
        deltas = [event.delta for event in stream if event.type == "response.function_call_arguments.delta"]
        final = stream.get_final_response()
    assert deltas == ['{"city":"mock"}']
    [call] = final.output
    assert (call.type, call.name, call.arguments) == ("function_call", "get_weather", '{"city":"mock"}')  # type: ignore[union-attr]


def test_retrieve_input_items_and_delete(sdk: openai.OpenAI, chat_llm: str) -> None:
    created = sdk.responses.create(model=chat_llm, input=[{"role": "user", "content": "first"},
                                                          {"role": "user", "content": "second"}])
    assert sdk.responses.retrieve(created.id).model_dump() == created.model_dump()
    listed = sdk.responses.input_items.list(created.id)
    assert [item.content[0].text for item in listed.data] == ["second", "first"]  # type: ignore[union-attr]
    ascending = sdk.responses.input_items.list(created.id, order="asc", limit=1)
    assert [item.content[0].text for item in ascending.data] == ["first"]  # type: ignore[union-attr]
    assert ascending.has_more is True
    sdk.responses.delete(created.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)


def test_delete_of_a_passed_through_response_reaches_the_provider(sdk: openai.OpenAI, native: str,
                                                                  twin: ResponsesTwin) -> None:
    created = sdk.responses.create(model=native, input="hello")
    sdk.responses.delete(created.id)
    assert (twin.requests[-1].method, twin.requests[-1].path) == ("DELETE", "/v1/responses/resp_twin1")
    assert twin.stored == {}
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(created.id)


def test_cancel_of_a_synchronous_response_is_refused(sdk: openai.OpenAI, native: str, chat_llm: str,
                                                     twin: ResponsesTwin) -> None:
    passed = sdk.responses.create(model=native, input="hello")
    with pytest.raises(openai.BadRequestError, match="Cannot cancel a synchronous response"):
        sdk.responses.cancel(passed.id)
    assert (twin.requests[-1].method, twin.requests[-1].path) == ("POST", "/v1/responses/resp_twin1/cancel")
    bridged = sdk.responses.create(model=chat_llm, input="hello")
    with pytest.raises(openai.BadRequestError, match="background=true"):
        sdk.responses.cancel(bridged.id)


def until(condition: Callable[[], Any], *, timeout: float = 15.0) -> Any:
    """`condition()`'s first truthy value, polled until the deadline."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "condition not met before the deadline"
        time.sleep(0.05)
    return value


def test_background_passthrough_is_polled_at_the_provider_and_charged_once_it_completes(
        gateway: GatewayProcess, native: str, twin: ResponsesTwin) -> None:
    key, secret = make_key(None, None, max_budget=10.0)
    sdk = openai.OpenAI(api_key=secret, base_url=f"{gateway.url}/v1", max_retries=0, timeout=30)
    raw = sdk.responses.with_raw_response.create(model=native, input="hello there", background=True)
    created = raw.parse()
    assert (created.status, created.background, created.output) == ("queued", True, [])
    assert twin.requests[0].json() == {"model": "gpt-4.1", "input": "hello there", "background": True}
    assert sdk.responses.retrieve(created.id).status == "queued"
    assert (twin.requests[-1].method, twin.requests[-1].path) == ("GET", "/v1/responses/resp_twin1")
    rows = SpendLog.objects.filter(request_id=raw.headers["x-request-id"])
    assert not rows.exists()  # nothing is charged while the provider still works on it
    twin.finish_background("resp_twin1")
    done = sdk.responses.retrieve(created.id)
    assert (done.id, done.status, done.output_text) == (created.id, "completed", "Responses twin heard: hello there")
    [row] = wait_for_spend_rows(1, request_id=raw.headers["x-request-id"])
    assert (row.call_type, row.status, row.prompt_tokens, row.completion_tokens) == ("aresponses", "success", 2, 5)
    asked = len(twin.requests)
    assert sdk.responses.retrieve(created.id).status == "completed"  # ended: read from the database
    assert len(twin.requests) == asked
    assert sdk.responses.cancel(created.id).status == "completed"  # too late: the provider's answer, not charged
    [again] = wait_for_spend_rows(1, request_id=raw.headers["x-request-id"])
    assert (again.attempt, again.cost) == (1, row.cost)
    if settings.REDIS_URL:
        assert state().ledger_spend(key_ledger(key)) == int(row.cost * 10**9)  # the key's counter: charged once


def test_background_passthrough_cancel_is_forwarded_and_ends_the_call(sdk: openai.OpenAI, native: str,
                                                                      twin: ResponsesTwin) -> None:
    raw = sdk.responses.with_raw_response.create(model=native, input="hello", background=True)
    created = raw.parse()
    cancelled = sdk.responses.cancel(created.id)
    assert (cancelled.id, cancelled.status) == (created.id, "cancelled")
    assert (twin.requests[-1].method, twin.requests[-1].path) == ("POST", "/v1/responses/resp_twin1/cancel")
    assert sdk.responses.retrieve(created.id).status == "cancelled"
    [row] = wait_for_spend_rows(1, request_id=raw.headers["x-request-id"])
    assert (row.status, row.error_type, row.cost) == ("cancelled", "response_cancelled", 0)


def test_background_over_chat_runs_as_a_stored_task_any_process_can_read(
        gateway: GatewayProcess, sdk: openai.OpenAI, chat_llm: str, upstream: OpenAIUpstream,
        tmp_path_factory: pytest.TempPathFactory) -> None:
    other = GatewayProcess(log_dir=tmp_path_factory.mktemp("second-gateway"))
    try:
        there = openai.OpenAI(api_key=MASTER_KEY, base_url=f"{other.url}/v1", max_retries=0)
        upstream.reply_with(Reply(stall=True))
        created = sdk.responses.create(model=chat_llm, input="hello", background=True)
        assert (created.status, created.background) == ("queued", True)
        assert there.responses.retrieve(created.id).status == "queued"
        until(lambda: upstream.requests)
        cancelled = there.responses.cancel(created.id)  # on another process: the task stops at its next poll
        assert cancelled.status == "cancelled"
        assert upstream.hangup_event.wait(15)
        assert sdk.responses.retrieve(created.id).status == "cancelled"
        finished = sdk.responses.create(model=chat_llm, input="hello again", background=True)
        done = until(lambda: (r := there.responses.retrieve(finished.id)).status == "completed" and r)
        assert (done.id, done.output_text, done.background) == (finished.id, f"{REPLY} hello again", True)
        assert upstream.requests[-1].json()["messages"] == [{"role": "user", "content": "hello again"}]
    finally:
        other.stop()
    with pytest.raises(openai.BadRequestError, match="background"):
        sdk.responses.create(model=chat_llm, input="x", background=True, stream=True)


def test_conversation_continues_across_providers(sdk: openai.OpenAI, claude: Any, native: str, chat_llm: str,
                                                 twin: ResponsesTwin, upstream: OpenAIUpstream) -> None:
    first = sdk.responses.create(model="claude", input="hello")
    assert first.output_text == "Hello from Anthropic."
    second = sdk.responses.create(model=native, input="and then?", previous_response_id=first.id)
    [seen] = twin.requests
    assert seen.json() == {"model": "gpt-4.1", "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hello"}]},
        {"type": "message", "role": "assistant", "content": [
            {"type": "output_text", "text": "Hello from Anthropic.", "annotations": [], "logprobs": []}]},
        {"type": "message", "role": "user", "content": "and then?"}]}
    assert second.previous_response_id == first.id
    third = sdk.responses.create(model=chat_llm, input="last", previous_response_id=second.id)
    assert upstream.requests[0].json()["messages"] == [
        {"role": "user", "content": "hello"}, {"role": "assistant", "content": "Hello from Anthropic."},
        {"role": "user", "content": "and then?"},
        {"role": "assistant", "content": "Responses twin heard: and then?"},
        {"role": "user", "content": "last"}]
    assert third.output_text == f"{REPLY} last"


def test_the_same_passthrough_deployment_continues_from_its_own_id(sdk: openai.OpenAI, native: str,
                                                                  twin: ResponsesTwin) -> None:
    first = sdk.responses.create(model=native, input="hello")
    second = sdk.responses.create(model=native, input="again", previous_response_id=first.id)
    assert twin.requests[1].json() == {"model": "gpt-4.1", "input": "again", "previous_response_id": "resp_twin1"}
    assert second.output_text == "Responses twin heard: again"
    assert second.previous_response_id == first.id


def test_a_conversation_continues_on_another_gateway_process(gateway: GatewayProcess, chat_llm: str,
                                                            upstream: OpenAIUpstream,
                                                            tmp_path_factory: pytest.TempPathFactory) -> None:
    other = GatewayProcess(log_dir=tmp_path_factory.mktemp("second-gateway"))
    try:
        here = openai.OpenAI(api_key=MASTER_KEY, base_url=f"{gateway.url}/v1", max_retries=0)
        there = openai.OpenAI(api_key=MASTER_KEY, base_url=f"{other.url}/v1", max_retries=0)
        first = here.responses.create(model=chat_llm, input="hello")
        assert there.responses.retrieve(first.id).output_text == f"{REPLY} hello"
        there.responses.create(model=chat_llm, input="more", previous_response_id=first.id)
        assert [m["content"] for m in upstream.requests[1].json()["messages"]] == ["hello", f"{REPLY} hello", "more"]
    finally:
        other.stop()


def test_store_false_keeps_nothing(sdk: openai.OpenAI, native: str, chat_llm: str, twin: ResponsesTwin) -> None:
    passed = sdk.responses.create(model=native, input="hello", store=False)
    assert twin.requests[0].json()["store"] is False
    bridged = sdk.responses.create(model=chat_llm, input="hello", store=False)
    for response in (passed, bridged):
        with pytest.raises(openai.NotFoundError):
            sdk.responses.retrieve(response.id)


@pytest.mark.parametrize(("body", "status", "param"), [
    pytest.param({"input": [{"type": "telepathy"}]}, 400, "input[0].type", id="unknown_item_type_case"),
    pytest.param({"input": [{"role": "user", "content": [{"type": "input_smell"}]}]}, 400, "input[0].content[0].type",
                 id="unknown_part_type_case"),
    pytest.param({"input": [{"role": "robot", "content": "x"}]}, 400, "input[0].role", id="bad_role_case"),
    pytest.param({}, 400, "input", id="no_input_case"),
    pytest.param({"input": "x", "previous_response_id": "resp_nope"}, 404, "previous_response_id",
                 id="unknown_previous_case"),
    pytest.param({"input": "x", "background": True, "stream": True}, 400, "background",
                 id="background_stream_case"),
    pytest.param({"input": "x", "background": True, "store": False}, 400, "background",
                 id="background_unstored_case"),
    pytest.param({"input": "x", "tool_choice": "sometimes"}, 400, "tool_choice", id="bad_tool_choice_case"),
    pytest.param({"input": [{"type": "computer_call_output", "call_id": "c", "output": {}}]}, 400, "input[0]",
                 id="not_over_chat_case"),
])
def test_bad_input_is_refused(http: httpx.Client, chat_llm: str, body: dict[str, Any], status: int,
                              param: str) -> None:
    answer = http.post("/v1/responses", json={"model": chat_llm, **body})
    assert answer.status_code == status
    assert answer.json()["error"]["param"] == param
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}


def test_unknown_ids_are_404_on_every_route(http: httpx.Client) -> None:
    for method, path in (("GET", ""), ("DELETE", ""), ("GET", "/input_items"), ("POST", "/cancel")):
        answer = http.request(method, f"/v1/responses/resp_unknown{path}")
        assert answer.status_code == 404, path
        assert answer.json()["error"]["code"] == "response_not_found"


def test_bare_paths_are_served(http: httpx.Client, chat_llm: str) -> None:
    created = http.post("/responses", json={"model": chat_llm, "input": "hello"})
    assert created.status_code == 200
    assert http.get(f"/responses/{created.json()['id']}").json()["output"] == created.json()["output"]
    assert http.post("/openai/v1/responses", json={"model": chat_llm, "input": "hi"}).status_code == 200


def test_a_failing_provider_falls_back_to_another_group(sdk: openai.OpenAI, native: str, chat_llm: str,
                                                       twin: ResponsesTwin) -> None:
    twin.failing = Reply.json(500, {"error": {"message": "upstream broke", "type": "server_error", "param": None,
                                              "code": None}})
    raw = sdk.responses.with_raw_response.create(model=native, input="hello", extra_body={"fallbacks": [chat_llm]})
    assert raw.headers["x-litellm-attempted-fallbacks"] == "1"
    assert raw.headers["x-litellm-model-group"] == chat_llm
    assert raw.parse().output_text == f"{REPLY} hello"
    assert [request.path for request in twin.requests] == ["/v1/responses"]


def test_the_providers_refusal_reaches_the_client_in_openais_shape(sdk: openai.OpenAI, native: str) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        sdk.responses.create(model=native, input="hello", extra_body={"frobnicate": 1})
    assert refused.value.body == {"message": "Unknown parameter: 'frobnicate'.", "type": "invalid_request_error",
                                  "param": "frobnicate", "code": "unknown_parameter"}


def test_azure_gets_the_body_on_its_responses_path(sdk: openai.OpenAI, transactional_db: None) -> None:
    with ResponsesTwin(api_key="azure-key", auth_header="api-key") as azure:
        deploy("resp-azure", provider="azure", provider_model="my-gpt-41", api_base=azure.url, api_key="azure-key")
        response = sdk.responses.create(model="resp-azure", input="hello")
        streamed = sdk.responses.create(model="resp-azure", input="again", previous_response_id=response.id,
                                        stream=True)
        final = [event for event in streamed if event.type == "response.completed"][0].response
        sdk.responses.delete(final.id)
    assert response.output_text == "Responses twin heard: hello"
    assert ids.decode(final.id).provider == "azure"  # type: ignore[union-attr]
    assert [(seen.method, seen.path, seen.query) for seen in azure.requests] == [
        ("POST", "/openai/v1/responses", {"api-version": ["preview"]}),
        ("POST", "/openai/v1/responses", {"api-version": ["preview"]}),
        ("DELETE", "/openai/v1/responses/resp_twin2", {"api-version": ["preview"]})]
    assert azure.requests[1].json() == {"model": "my-gpt-41", "input": "again", "previous_response_id": "resp_twin1",
                                        "stream": True}
    assert azure.failures == []
