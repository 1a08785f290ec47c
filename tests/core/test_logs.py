"""Structured logs: JSON lines with the request id, and secrets masked whatever the format."""
from __future__ import annotations

import io
import logging
import logging.config
from collections.abc import Iterator
from copy import deepcopy
from pathlib import Path

import httpx
import orjson
import pytest
from django.conf import settings

from apps.core.logs import CURRENT_REQUEST_ID, redact
from tests.conftest import MASTER_KEY, GatewayProcess

VIRTUAL_KEY = "sk-" + "Q7x" * 12


@pytest.mark.parametrize("text, kept, gone", [
    (f"upstream said: invalid key {VIRTUAL_KEY}", "sk-Q7...[redacted]", VIRTUAL_KEY),
    ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", "Bearer [redacted]", "abcdefghijklmnop"),
    ("GET https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSyA-1234567890abcdefghijklmnopqrs&x=1",
     "key=[redacted]&x=1", "AIzaSyA-1234567890"),
    ("aws AKIAIOSFODNN7EXAMPLE failed", "aws [redacted] failed", "AKIAIOSFODNN7EXAMPLE"),
])
def test_secrets_are_masked(text: str, kept: str, gone: str) -> None:
    assert kept in redact(text) and gone not in redact(text)


def test_ordinary_text_is_left_alone() -> None:
    text = "no price for openai/gpt-4o-mini-2024-07-18: its calls are logged at cost 0 (model_key=abc)"
    assert redact(text) == text


@pytest.fixture
def json_logger() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """The site's LOGGING with the JSON formatter, writing to a buffer."""
    config = deepcopy(settings.LOGGING)
    config["handlers"]["console"].update({"formatter": "json", "class": "logging.StreamHandler"})
    logging.config.dictConfig(config)
    stream = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    yield logging.getLogger("tollgate.test"), stream
    logging.config.dictConfig(settings.LOGGING)


def test_json_lines_carry_the_request_id_and_no_secret(json_logger: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = json_logger
    token = CURRENT_REQUEST_ID.set("req-abc123")
    try:
        logger.warning("upstream refused key %s", VIRTUAL_KEY)
        try:
            raise RuntimeError(f"boom with {VIRTUAL_KEY}")
        except RuntimeError:
            logger.exception("call failed")
    finally:
        CURRENT_REQUEST_ID.reset(token)
    lines = [orjson.loads(line) for line in stream.getvalue().splitlines()]
    assert [line["request_id"] for line in lines] == ["req-abc123", "req-abc123"]
    assert lines[0]["level"] == "WARNING" and lines[0]["logger"] == "tollgate.test"
    assert "RuntimeError" in lines[1]["exception"]
    assert VIRTUAL_KEY not in stream.getvalue()


@pytest.mark.django_db(transaction=True)
def test_the_gateway_writes_json_lines_with_the_callers_request_id(upstream_model: object, tmp_path: Path) -> None:
    upstream_model("unpriced-gpt", provider_model="model-with-no-listed-price")  # type: ignore[operator]
    gateway = GatewayProcess(extra_env={"TOLLGATE_LOG_FORMAT": "json"}, log_dir=tmp_path)
    try:
        answer = httpx.post(f"{gateway.url}/v1/chat/completions", timeout=30,
                            headers={"Authorization": f"Bearer {MASTER_KEY}", "x-request-id": "req-from-client-1"},
                            json={"model": "unpriced-gpt", "messages": [{"role": "user", "content": "hi"}]})
    finally:
        gateway.stop()
    assert answer.status_code == 200, answer.text
    records = [orjson.loads(line) for line in gateway.log_path.read_text().splitlines() if line.startswith("{")]
    priced = [r for r in records if "no price for openai/model-with-no-listed-price" in r["message"]]
    assert priced and priced[0]["request_id"] == "req-from-client-1", records
    assert MASTER_KEY not in gateway.log_path.read_text()
