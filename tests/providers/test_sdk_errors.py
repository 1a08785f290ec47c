"""SDK errors are the openai SDK's exception classes too: `except openai.RateLimitError` works around our calls."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import openai
import pytest

from apps.core.errors import GatewayError
from apps.providers import acompletion, completion, embedding
from apps.providers.base import ParamNotSupported, UpstreamError
from apps.providers.sdk_errors import ContentPolicyViolationError, ContextWindowExceededError
from tests.conftest import free_port
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.recording import Reply

ROOT = Path(__file__).resolve().parents[2]
MSG = [{"role": "user", "content": "hello"}]


def error_reply(status: int, message: str, *, kind: str, code: str | None = None,
                headers: dict[str, str] | None = None) -> Reply:
    return Reply.json(status, {"error": {"message": message, "type": kind, "param": None, "code": code}}, headers)


@pytest.fixture
def planned(openai_upstream: OpenAIUpstream) -> OpenAIUpstream:
    openai_upstream.reset()
    return openai_upstream


@pytest.mark.parametrize(("status", "kind", "expected"), [
    pytest.param(400, "invalid_request_error", openai.BadRequestError, id="bad_request_case"),
    pytest.param(401, "authentication_error", openai.AuthenticationError, id="authentication_case"),
    pytest.param(403, "permission_error", openai.PermissionDeniedError, id="permission_case"),
    pytest.param(404, "not_found_error", openai.NotFoundError, id="not_found_case"),
    pytest.param(409, "conflict_error", openai.ConflictError, id="conflict_case"),
    pytest.param(422, "invalid_request_error", openai.UnprocessableEntityError, id="unprocessable_case"),
    pytest.param(429, "rate_limit_error", openai.RateLimitError, id="rate_limit_case"),
    pytest.param(500, "api_error", openai.InternalServerError, id="internal_case"),
    pytest.param(503, "api_error", openai.InternalServerError, id="unavailable_case"),
])
def test_each_status_raises_the_openai_class(planned: OpenAIUpstream, status: int, kind: str,
                                             expected: type[openai.APIStatusError]) -> None:
    planned.reply_with(error_reply(status, f"failed with {status}", kind=kind, code="c1"))
    with pytest.raises(expected) as caught:
        completion(model="openai/gpt-4o", messages=MSG, api_base=planned.api_base, api_key="sk-x")
    error = caught.value
    assert isinstance(error, UpstreamError) and isinstance(error, GatewayError)
    assert (error.status_code, error.upstream_status, str(error), error.message) == (
        status, status, f"failed with {status}", f"failed with {status}")
    assert (error.code, error.type, error.param) == ("c1", kind, None)
    assert error.body == {"message": f"failed with {status}", "type": kind, "param": None, "code": "c1"}
    assert error.response.status_code == status
    assert json.loads(error.response.content) == {"error": error.body}
    assert str(error.request.url) == f"{planned.api_base}"
    assert error.payload() == {"error": error.body}  # our own shape is unchanged


def test_rate_limit_keeps_retry_after_on_the_response(planned: OpenAIUpstream) -> None:
    planned.reply_with(error_reply(429, "slow down", kind="rate_limit_error", headers={"Retry-After": "7"}))
    with pytest.raises(openai.RateLimitError) as caught:
        completion(model="openai/gpt-4o", messages=MSG, api_base=planned.api_base)
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.retry_after == 7.0


@pytest.mark.parametrize(("message", "code", "litellm_class"), [
    pytest.param("This model's maximum context length is 8192 tokens", "context_length_exceeded",
                 ContextWindowExceededError, id="context_window_case"),
    pytest.param("Your request was rejected as a result of our safety system", "content_policy_violation",
                 ContentPolicyViolationError, id="content_policy_case"),
])
def test_a_bad_request_is_named_as_litellm_names_it(planned: OpenAIUpstream, message: str, code: str,
                                                    litellm_class: type) -> None:
    planned.reply_with(error_reply(400, message, kind="invalid_request_error", code=code))
    with pytest.raises(openai.BadRequestError) as caught:
        completion(model="openai/gpt-4o", messages=MSG, api_base=planned.api_base)
    assert isinstance(caught.value, litellm_class)
    assert (type(caught.value).__name__, caught.value.status_code, caught.value.code) == (
        litellm_class.__name__, 400, code)


def test_a_stalled_upstream_raises_api_timeout_error(planned: OpenAIUpstream) -> None:
    planned.reply_with(Reply(stall=True))
    with pytest.raises(openai.APITimeoutError) as caught:
        completion(model="openai/gpt-4o", messages=MSG, api_base=planned.api_base, timeout=0.3)
    assert isinstance(caught.value, openai.APIConnectionError) and isinstance(caught.value, UpstreamError)
    assert (caught.value.upstream_status, str(caught.value)) == (408, "upstream openai timed out after 0.3s")


def test_an_unreachable_upstream_raises_api_connection_error() -> None:
    with pytest.raises(openai.APIConnectionError) as caught:
        completion(model="openai/gpt-4o", messages=MSG, api_base=f"http://127.0.0.1:{free_port()}/v1")
    assert not isinstance(caught.value, openai.APITimeoutError)
    assert str(caught.value) == "could not reach upstream openai: ConnectError"


async def test_acompletion_and_its_stream_raise_openai_classes(planned: OpenAIUpstream) -> None:
    planned.reply_with(error_reply(401, "bad key", kind="authentication_error"),
                       error_reply(429, "slow down", kind="rate_limit_error"),
                       Reply.stream([b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n']))
    with pytest.raises(openai.AuthenticationError):
        await acompletion(model="openai/gpt-4o", messages=MSG, api_base=planned.api_base)
    with pytest.raises(openai.RateLimitError):
        await acompletion(model="openai/gpt-4o", messages=MSG, api_base=planned.api_base, stream=True)
    stream = await acompletion(model="openai/gpt-4o", messages=MSG, api_base=planned.api_base, stream=True)
    with pytest.raises(openai.InternalServerError) as caught:
        [chunk async for chunk in stream]  # type: ignore[union-attr]
    assert (str(caught.value), caught.value.status_code) == ("overloaded", 500)


def test_a_sync_stream_raises_mid_way_as_openai_class(planned: OpenAIUpstream) -> None:
    planned.reply_with(Reply.stream([b'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n']))
    with pytest.raises(openai.InternalServerError):
        list(completion(model="openai/gpt-4o", messages=MSG, api_base=planned.api_base, stream=True))


def test_embedding_errors_are_openai_classes(planned: OpenAIUpstream) -> None:
    planned.reply_with(error_reply(404, "no such model", kind="invalid_request_error", code="model_not_found"))
    with pytest.raises(openai.NotFoundError) as caught:
        embedding(model="openai/text-embedding-3-small", input="x", api_base=planned.api_base)
    assert caught.value.code == "model_not_found"


def test_our_own_request_errors_are_bad_requests_and_keep_their_class() -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        embedding(model="bedrock/amazon.titan-embed-text-v1", input="x", dimensions=3,
                  aws_access_key_id="AKID", aws_secret_access_key="secret", aws_region_name="us-east-1")
    assert isinstance(caught.value, ParamNotSupported)
    assert (caught.value.status_code, caught.value.param, caught.value.code) == (400, "dimensions",
                                                                                 "unsupported_parameter")


def test_the_gateway_does_not_import_openai() -> None:
    code = ("import django, sys; django.setup(); import gatewaysite.asgi, gatewaysite.urls; "
            "print(sorted(name for name in ('openai', 'apps.providers.sdk', 'apps.providers.sdk_errors') "
            "if name in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env={**os.environ, "DJANGO_SETTINGS_MODULE": "gatewaysite.settings"})
    assert result.stdout.strip() == "[]", result.stderr


def test_the_error_request_url_carries_no_credentials() -> None:
    from apps.providers.base import Target
    from apps.providers.registry import adapter_for
    from apps.providers.sdk import call_url

    def url(api_base: str | None) -> str:
        return call_url(adapter_for("openai"), Target(provider="openai", model="m", api_base=api_base))

    assert url("http://user:secret@[::1]:8080/v1?key=sk-in-query") == "http://[::1]:8080/v1"
    assert url(None) == "https://api.openai.com/v1"
