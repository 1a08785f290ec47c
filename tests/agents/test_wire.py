"""0.3 <-> 1.0 conversions of A2A's objects, without HTTP."""
from __future__ import annotations

import pytest

from apps.agents.wire import event_down, event_up, message_down, message_up, parse_version, task_down, task_up

OLD_MESSAGE = {"kind": "message", "messageId": "m1", "role": "user", "contextId": "c1", "parts": [
    {"kind": "text", "text": "hi"}, {"kind": "data", "data": {"a": 1}},
    {"kind": "file", "file": {"uri": "https://x/y.png", "mimeType": "image/png", "name": "y.png"}},
    {"kind": "file", "file": {"bytes": "aGk=", "mimeType": "text/plain"}}]}
NEW_MESSAGE = {"messageId": "m1", "role": "ROLE_USER", "contextId": "c1", "parts": [
    {"text": "hi"}, {"data": {"a": 1}}, {"url": "https://x/y.png", "mediaType": "image/png", "filename": "y.png"},
    {"raw": "aGk=", "mediaType": "text/plain"}]}


def test_messages_convert_both_ways() -> None:
    assert message_up(OLD_MESSAGE) == NEW_MESSAGE
    assert message_down(NEW_MESSAGE) == OLD_MESSAGE


@pytest.mark.parametrize(("old", "new"), [("submitted", "TASK_STATE_SUBMITTED"), ("working", "TASK_STATE_WORKING"),
                                          ("input-required", "TASK_STATE_INPUT_REQUIRED"),
                                          ("completed", "TASK_STATE_COMPLETED"), ("canceled", "TASK_STATE_CANCELED"),
                                          ("failed", "TASK_STATE_FAILED"), ("rejected", "TASK_STATE_REJECTED"),
                                          ("auth-required", "TASK_STATE_AUTH_REQUIRED")],
                         ids=lambda value: f"{value}_case")
def test_task_states_convert_both_ways(old: str, new: str) -> None:
    task = {"id": "t", "contextId": "c", "status": {"state": new}}
    assert task_down(task)["status"]["state"] == old
    assert task_up({"kind": "task", **task_down(task)})["status"]["state"] == new


def test_a_status_update_is_final_in_0_3_when_the_task_ends_or_waits() -> None:
    def update(state: str) -> dict[str, object]:
        return {"statusUpdate": {"taskId": "t", "contextId": "c", "status": {"state": state}}}

    assert [event_down(update(s))["final"] for s in ("TASK_STATE_WORKING", "TASK_STATE_COMPLETED",
                                                     "TASK_STATE_INPUT_REQUIRED")] == [False, True, True]
    assert event_up(event_down(update("TASK_STATE_WORKING"))) == update("TASK_STATE_WORKING")


@pytest.mark.parametrize(("header", "version"), [(None, "0.3"), ("", "0.3"), ("0.3", "0.3"), ("0.3.0", "0.3"),
                                                 ("1.0", "1.0"), ("1.0.1", "1.0"), ("0.2", None), ("2.0", None)],
                         ids=["absent_case", "empty_case", "0_3_case", "0_3_patch_case", "1_0_case",
                              "1_0_patch_case", "0_2_case", "2_0_case"])
def test_versions_are_major_minor(header: str | None, version: str | None) -> None:
    assert parse_version(header) == version
