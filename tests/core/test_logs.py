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
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AZURE_KEY = "a1B2" * 13 + "JQQJ99" + "Cz" * 13  # the shape of Azure's 84-character keys
SERVICE_ACCOUNT = ('{"type": "service_account", "private_key_id": "f00d", "private_key": "-----BEGIN PRIVATE KEY-----\\n'
                   'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n-----END PRIVATE KEY-----\\n", "client_email": "a@p.iam"}')


@pytest.mark.parametrize("text, kept, gone", [
    (f"upstream said: invalid key {VIRTUAL_KEY}", "sk-Q7...[redacted]", VIRTUAL_KEY),
    ("Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", "Bearer [redacted]", "abcdefghijklmnop"),
    ("GET https://generativelanguage.googleapis.com/v1beta/models?key=AIzaSyA-1234567890abcdefghijklmnopqrs&x=1",
     "key=[redacted]&x=1", "AIzaSyA-1234567890"),
    ("aws AKIAIOSFODNN7EXAMPLE failed", "aws [redacted] failed", "AKIAIOSFODNN7EXAMPLE"),
    ("temporary ASIAIOSFODNN7EXAMPLE", "temporary [redacted]", "ASIAIOSFODNN7EXAMPLE"),
    (f"signing with {AWS_SECRET} failed", "signing with [redacted] failed", AWS_SECRET),
    ("aws_secret_access_key=abcdefghij0123456789", "aws_secret_access_key=[redacted]", "abcdefghij0123456789"),
    ('{"aws_session_token": "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ"}',
     '{"aws_session_token": "[redacted]"}', "IQoJb3JpZ2lu"),
    ("api-key: 0123456789abcdef0123456789abcdef", "api-key: [redacted]", "0123456789abcdef"),
    ("Ocp-Apim-Subscription-Key: 0123456789abcdef0123456789abcdef", "Subscription-Key: [redacted]", "0123456789abcdef"),
    (f"key {AZURE_KEY} refused", "key [redacted] refused", AZURE_KEY),
    (SERVICE_ACCOUNT, '"private_key": "[redacted]', "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nafter", "[redacted]\nafter",
     "MIIEowIBAAKCAQEA"),
    ("client_secret='s3cr3tvalue'", "client_secret='[redacted]'", "s3cr3tvalue"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "Basic [redacted]", "dXNlcjpwYXNzd29yZA"),
    ("azure_ad_token: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THs",
     "azure_ad_token: [redacted]", "dozjgNryP4J3jVmNHl0w5N"),
    ("vertex token ya29.a0AfH6SMBx3jkdl_abcdefghijklmnop", "vertex token [redacted]", "a0AfH6SMBx3jkdl"),
])
def test_secrets_are_masked(text: str, kept: str, gone: str) -> None:
    assert kept in redact(text) and gone not in redact(text)


@pytest.mark.parametrize("text", [
    "no price for openai/gpt-4o-mini-2024-07-18: its calls are logged at cost 0 (model_key=abc)",
    "trace 0af7651916cd43dd8448eb211c80319c commit 9434513b7c1ad0e2f3a4b5c6d7e8f90123456789",
    "input_cost_per_token: 0.000001 max_tokens=100 x-request-id: req-1234abcd",
    "aws_secret_access_key: os.environ/AWS_SECRET_ACCESS_KEY",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
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
