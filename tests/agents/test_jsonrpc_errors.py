"""Malformed JSON-RPC of every kind, and version negotiation, over raw HTTP against the live gateway: each gets
its JSON-RPC error code (and 1.0's error details), never an HTML page or an OpenAI-shaped error."""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.agents.conftest import hosted, rpc
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream

MESSAGE_1_0 = {"message": {"messageId": "m1", "role": "ROLE_USER", "parts": [{"text": "hi"}]}}


def post(gateway: GatewayProcess, body: bytes | Any, *, version: str | None = "1.0", agent: str = "research_agent",
         key: str = MASTER_KEY) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    if version is not None:
        headers["A2A-Version"] = version
    content = body if isinstance(body, bytes) else None
    return httpx.post(f"{gateway.url}/a2a/{agent}", headers=headers, content=content,
                      json=None if content is not None else body, timeout=30)


def error_of(answer: httpx.Response) -> tuple[Any, int, str]:
    body = answer.json()
    assert body["jsonrpc"] == "2.0" and "result" not in body, body
    return body["id"], body["error"]["code"], body["error"]["message"]


@pytest.mark.parametrize(("body", "request_id", "code"), [
    (b"{not json", None, -32700),
    (b"", None, -32700),
    (b"[1, 2]", None, -32600),
    (b'"a string"', None, -32600),
    (b'{"jsonrpc": "1.0", "id": 7, "method": "GetTask", "params": {"id": "x"}}', 7, -32600),
    (b'{"id": 8, "method": "GetTask", "params": {"id": "x"}}', 8, -32600),
    (b'{"jsonrpc": "2.0", "id": 9, "params": {}}', 9, -32600),
    (b'{"jsonrpc": "2.0", "id": 10, "method": 5}', 10, -32600),
    (b'{"jsonrpc": "2.0", "id": {"no": 1}, "method": "GetTask"}', None, -32600),
    (b'{"jsonrpc": "2.0", "id": 11, "method": "GetTask", "params": [1]}', 11, -32602),
    (b'{"jsonrpc": "2.0", "id": "u", "method": "NoSuchMethod", "params": {}}', "u", -32601),
], ids=["bad_json_case", "empty_body_case", "batch_case", "not_object_case", "wrong_jsonrpc_case",
        "no_jsonrpc_case", "no_method_case", "method_not_string_case", "bad_id_case", "params_not_object_case",
        "unknown_method_case"])
@pytest.mark.parametrize("version", ["1.0", None], ids=["v1_0_case", "header_less_0_3_case"])
def test_malformed_envelopes_get_their_json_rpc_code(agent_gateway: GatewayProcess, body: bytes, request_id: Any,
                                                     code: int, version: str | None) -> None:
    answer = post(agent_gateway, body, version=version)
    assert answer.status_code == 200
    assert error_of(answer)[:2] == (request_id, code)


@pytest.mark.parametrize(("method", "params", "field"), [
    ("SendMessage", {}, "message"),
    ("SendMessage", {"message": {"role": "ROLE_USER", "parts": [{"text": "x"}]}}, "messageId"),
    ("SendMessage", {"message": {"messageId": "m", "role": "user", "parts": [{"text": "x"}]}}, "message.role"),
    ("SendMessage", {"message": {"messageId": "m", "role": "ROLE_USER", "parts": []}}, "message.parts"),
    ("SendMessage", {"message": {"messageId": "m", "role": "ROLE_USER", "parts": [{"text": "a", "url": "b"}]}},
     "message.parts[0]"),
    ("GetTask", {}, "id"),
    ("GetTask", {"id": "x", "historyLength": -1}, "historyLength"),
    ("ListTasks", {"pageSize": 0}, "pageSize"),
    ("ListTasks", {"pageToken": "not-ours"}, "pageToken"),
    ("CancelTask", {"id": 5}, "id"),
], ids=["no_message_case", "no_message_id_case", "0_3_role_in_1_0_case", "no_parts_case", "two_kinds_case",
        "get_without_id_case", "negative_history_case", "page_size_zero_case", "foreign_page_token_case",
        "id_not_string_case"])
def test_bad_params_are_invalid_params_naming_the_field(agent_gateway: GatewayProcess, method: str,
                                                        params: dict[str, Any], field: str) -> None:
    answer = post(agent_gateway, rpc(method, params, "p"))
    assert error_of(answer)[:2] == ("p", -32602)
    [detail] = answer.json()["error"]["data"]
    assert detail["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert (detail["reason"], detail["domain"], detail["metadata"]) == ("INVALID_PARAMS", "a2a-protocol.org",
                                                                        {"field": field})


@pytest.mark.parametrize(("method", "params", "field"), [
    ("message/send", {"message": "hello"}, "message"),
    ("message/send", {"message": {"kind": "message", "role": "user", "parts": [{"kind": "text", "text": "x"}]}},
     "messageId"),
    ("message/send", {"message": {"kind": "message", "messageId": "m", "role": "user", "parts": []}},
     "message.parts"),
    ("message/send", {"message": {"kind": "message", "messageId": "m", "role": "user",
                                  "parts": [{"kind": "text", "text": "x"}]}, "configuration": "fast"},
     "configuration"),
    ("tasks/get", {"historyLength": 1}, "id"),
    ("tasks/pushNotificationConfig/get", {}, "id"),
    ("tasks/pushNotificationConfig/delete", {"id": "t"}, "pushNotificationConfigId"),
], ids=["message_not_object_case", "no_message_id_case", "no_parts_case", "configuration_not_object_case",
        "get_without_id_case", "push_get_without_id_case", "push_delete_without_config_id_case"])
def test_0_3_bad_params_are_invalid_params_in_0_3s_shape(agent_gateway: GatewayProcess, method: str,
                                                         params: dict[str, Any], field: str) -> None:
    answer = post(agent_gateway, rpc(method, params, "p"), version=None)
    assert error_of(answer)[:2] == ("p", -32602)
    assert answer.json()["error"]["data"] == {"field": field}  # 0.3: the detail as an object, not 1.0's list


@pytest.mark.parametrize(("version", "method", "params"), [
    ("1.0", "GetTask", {"id": "missing"}), ("0.3", "tasks/get", {"id": "missing"}),
    ("1.0", "CancelTask", {"id": "missing"}), ("0.3", "tasks/cancel", {"id": "missing"}),
    ("1.0", "SubscribeToTask", {"id": "missing"}), ("0.3", "tasks/resubscribe", {"id": "missing"}),
], ids=["get_1_0_case", "get_0_3_case", "cancel_1_0_case", "cancel_0_3_case", "subscribe_1_0_case",
        "resubscribe_0_3_case"])
def test_unknown_task_is_task_not_found(agent_gateway: GatewayProcess, version: str, method: str,
                                       params: dict[str, Any]) -> None:
    answer = post(agent_gateway, rpc(method, params), version=version)
    assert error_of(answer)[:2] == (1, -32001)
    data = answer.json()["error"]["data"]
    assert data == ({"taskId": "missing"} if version == "0.3" else [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "TASK_NOT_FOUND",
         "domain": "a2a-protocol.org", "metadata": {"taskId": "missing"}}])


def test_an_unsupported_version_is_version_not_supported(agent_gateway: GatewayProcess) -> None:
    answer = post(agent_gateway, rpc("SendMessage", MESSAGE_1_0), version="0.5")
    assert error_of(answer)[1] == -32009
    assert "0.5" in error_of(answer)[2]


@pytest.mark.parametrize(("version", "method"), [(None, "SendMessage"), ("0.3", "GetTask"), ("1.0", "message/send"),
                                                 ("1.0", "tasks/get")],
                         ids=["no_header_is_0_3_case", "0_3_header_case", "0_3_name_under_1_0_case",
                              "0_3_get_under_1_0_case"])
def test_method_names_belong_to_the_negotiated_version(agent_gateway: GatewayProcess, version: str | None,
                                                       method: str) -> None:
    answer = post(agent_gateway, rpc(method, {"id": "x"}), version=version)
    assert error_of(answer)[:2] == (1, -32601)


def test_patch_version_numbers_are_ignored(agent_gateway: GatewayProcess) -> None:
    answer = post(agent_gateway, rpc("GetTask", {"id": "missing"}), version="1.0.3")
    assert error_of(answer)[1] == -32001


def test_a_bad_key_is_a_json_rpc_error_with_401(agent_gateway: GatewayProcess) -> None:
    answer = post(agent_gateway, rpc("GetTask", {"id": "x"}), key="sk-nope")
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert error_of(answer)[:2] == (None, -32010)


def test_an_unknown_agent_is_not_found(agent_gateway: GatewayProcess) -> None:
    answer = post(agent_gateway, rpc("GetTask", {"id": "x"}), agent="nobody")
    assert error_of(answer)[:2] == (None, -32001)
    assert error_of(answer)[2] == "Agent nobody was not found."


def test_extended_card_comes_over_json_rpc_in_each_version(agent_gateway: GatewayProcess) -> None:
    new = post(agent_gateway, rpc("GetExtendedAgentCard", {}), version="1.0").json()["result"]
    old = post(agent_gateway, rpc("agent/getAuthenticatedExtendedCard", {}), version=None).json()["result"]
    assert new["securitySchemes"] == {"bearer": {"httpAuthSecurityScheme": {
        "scheme": "bearer", "description": "a Tollgate virtual key"}}}
    assert "url" not in new and old["url"] == f"{agent_gateway.url}/a2a/research_agent"
    assert old["securitySchemes"]["bearer"]["type"] == "http"


def test_trailing_slash_and_litellm_alias_reach_the_same_endpoint(agent_gateway: GatewayProcess) -> None:
    for path in ("/a2a/research_agent/", "/a2a/research_agent/message/send", "/v1/a2a/research_agent/message/send"):
        answer = httpx.post(f"{agent_gateway.url}{path}", json=rpc("tasks/get", {"id": "missing"}),
                            headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30)
        assert error_of(answer)[1] == -32001, path


def test_rest_binding_errors_are_google_rpc_status(agent_gateway: GatewayProcess) -> None:
    headers = {"Authorization": f"Bearer {MASTER_KEY}", "A2A-Version": "1.0"}
    missing = httpx.get(f"{agent_gateway.url}/a2a/research_agent/tasks/missing", headers=headers, timeout=30)
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": 404, "status": "NOT_FOUND", "message": "Task missing was not found.",
                                        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                                     "reason": "TASK_NOT_FOUND", "domain": "a2a-protocol.org",
                                                     "metadata": {"taskId": "missing"}}]}}
    old = httpx.get(f"{agent_gateway.url}/a2a/research_agent/tasks/missing",
                    headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30)
    assert (old.status_code, old.json()["error"]["details"][0]["reason"]) == (400, "VERSION_NOT_SUPPORTED")
    bad = httpx.post(f"{agent_gateway.url}/a2a/research_agent/message:send", headers=headers, content=b"{",
                     timeout=30)
    assert (bad.status_code, bad.json()["error"]["status"]) == (400, "INVALID_ARGUMENT")
    wrong_method = httpx.get(f"{agent_gateway.url}/a2a/research_agent/message:send", headers=headers, timeout=30)
    assert wrong_method.status_code == 405


def ended_task(gateway: GatewayProcess) -> str:
    answer = post(gateway, rpc("SendMessage", MESSAGE_1_0))
    task = answer.json()["result"]["task"]
    assert task["status"]["state"] == "TASK_STATE_COMPLETED"
    return str(task["id"])


@pytest.mark.parametrize(("version", "method"), [("1.0", "SubscribeToTask"), (None, "tasks/resubscribe")],
                         ids=["subscribe_1_0_case", "resubscribe_0_3_case"])
def test_subscribing_to_an_ended_task_is_unsupported(agent_gateway: GatewayProcess, models: OpenAIUpstream,
                                                      version: str | None, method: str) -> None:
    task_id = ended_task(agent_gateway)
    answer = post(agent_gateway, rpc(method, {"id": task_id}), version=version)
    assert error_of(answer)[:2] == (1, -32004)
    assert f"Task {task_id} is TASK_STATE_COMPLETED" in error_of(answer)[2]


def test_a_message_to_an_ended_task_is_unsupported(agent_gateway: GatewayProcess, models: OpenAIUpstream) -> None:
    task_id = ended_task(agent_gateway)
    answer = post(agent_gateway, rpc("SendMessage", {"message": {**MESSAGE_1_0["message"], "messageId": "m2",
                                                                 "taskId": task_id}}))
    assert error_of(answer)[:2] == (1, -32004)
    assert answer.json()["error"]["data"][0]["reason"] == "UNSUPPORTED_OPERATION"


@pytest.mark.parametrize(("version", "method", "params", "field"), [
    ("1.0", "SendMessage", {"message": {"messageId": "m", "role": "ROLE_USER",
                                        "parts": [{"url": "https://example.com/a.pdf", "mediaType": "application/pdf"}]}},
     "message.parts[0]"),
    (None, "message/send", {"message": {"kind": "message", "messageId": "m", "role": "user", "parts": [
        {"kind": "text", "text": "read this"}, {"kind": "file", "file": {"bytes": "aGk=", "mimeType": "image/png"}}]}},
     "message.parts[1]"),
    ("1.0", "SendStreamingMessage", {**MESSAGE_1_0, "configuration": {"acceptedOutputModes": ["image/png"]}},
     "configuration.acceptedOutputModes"),
    (None, "message/send", {"message": {"kind": "message", "messageId": "m", "role": "user",
                                        "parts": [{"kind": "text", "text": "x"}]},
                            "configuration": {"acceptedOutputModes": ["audio/wav"]}},
     "configuration.acceptedOutputModes"),
], ids=["url_part_1_0_case", "file_part_0_3_case", "no_text_output_1_0_case", "no_text_output_0_3_case"])
def test_content_an_agent_cannot_read_or_write_is_content_type_not_supported(
        agent_gateway: GatewayProcess, models: OpenAIUpstream, version: str | None, method: str,
        params: dict[str, Any], field: str) -> None:
    answer = post(agent_gateway, rpc(method, params), version=version)
    assert error_of(answer)[:2] == (1, -32005)
    data = answer.json()["error"]["data"]
    assert data == ({"field": field} if version is None else [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "CONTENT_TYPE_NOT_SUPPORTED",
         "domain": "a2a-protocol.org", "metadata": {"field": field}}])
    assert models.requests == []  # refused before any model call


def test_an_agent_without_push_notifications_refuses_push_configs(agent_gateway: GatewayProcess,
                                                                   models: OpenAIUpstream) -> None:
    hosted("no-push", push_notifications=False)
    card = httpx.get(f"{agent_gateway.url}/a2a/no-push/.well-known/agent-card.json", timeout=30,
                     headers={"Authorization": f"Bearer {MASTER_KEY}", "A2A-Version": "1.0"}).json()
    assert card["capabilities"]["pushNotifications"] is False
    push = {"url": "https://hooks.example.com/a2a", "token": "t"}
    with_push = post(agent_gateway, rpc("SendMessage", {**MESSAGE_1_0, "configuration": {
        "taskPushNotificationConfig": push}}), agent="no-push")
    assert error_of(with_push)[:2] == (1, -32003)
    task_id = post(agent_gateway, rpc("SendMessage", MESSAGE_1_0), agent="no-push").json()["result"]["task"]["id"]
    for method, params in (("CreateTaskPushNotificationConfig", {**push, "taskId": task_id}),
                           ("ListTaskPushNotificationConfigs", {"taskId": task_id})):
        assert error_of(post(agent_gateway, rpc(method, params), agent="no-push"))[:2] == (1, -32003)
    old = post(agent_gateway, rpc("tasks/pushNotificationConfig/set", {"taskId": task_id, "pushNotificationConfig":
                                                                      push}), version=None, agent="no-push")
    assert error_of(old)[:2] == (1, -32003)


def test_an_agent_without_an_extended_card_says_so_and_refuses_it(agent_gateway: GatewayProcess,
                                                                    transactional_db: None) -> None:
    hosted("plain-card", extended_card=False)
    headers = {"Authorization": f"Bearer {MASTER_KEY}"}
    old_card = httpx.get(f"{agent_gateway.url}/a2a/plain-card/.well-known/agent-card.json", headers=headers,
                         timeout=30).json()
    new_card = httpx.get(f"{agent_gateway.url}/a2a/plain-card/.well-known/agent-card.json", timeout=30,
                         headers={**headers, "A2A-Version": "1.0"}).json()
    assert (old_card["supportsAuthenticatedExtendedCard"], new_card["capabilities"]["extendedAgentCard"]) == (
        False, False)
    for version, method in (("1.0", "GetExtendedAgentCard"), (None, "agent/getAuthenticatedExtendedCard")):
        assert error_of(post(agent_gateway, rpc(method, {}), version=version, agent="plain-card"))[:2] == (1, -32004)
    rest = httpx.get(f"{agent_gateway.url}/a2a/plain-card/extendedAgentCard", timeout=30,
                     headers={**headers, "A2A-Version": "1.0"})
    assert (rest.status_code, rest.json()["error"]["details"][0]["reason"]) == (400, "UNSUPPORTED_OPERATION")
