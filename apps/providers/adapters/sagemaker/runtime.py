"""What both SageMaker adapters share: endpoint URLs, SigV4 signing (service `sagemaker`), errors, and
reading an InvokeEndpointWithResponseStream body.

The response stream is an AWS event stream whose `PayloadPart` events carry raw bytes of the model
server's own stream (TGI's `data: {...}` SSE lines, or LMI's JSON lines), split anywhere; `PayloadLines`
joins them and hands back whole JSON payloads. Errors arrive as `ModelStreamError` / `InternalStreamFailure`
exception events.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from apps.core import jsonutil
from apps.providers import aws_auth
from apps.providers.adapters.bedrock.response import EXCEPTIONS, STATUS_TYPES, exception_name
from apps.providers.adapters.openai import retry_after_seconds
from apps.providers.base import Frame, Target, UpstreamError, UpstreamRequest

SERVICE = "sagemaker"
# The region from AWS_REGION_NAME / AWS_REGION / AWS_DEFAULT_REGION, read when the routing snapshot is built (as Bedrock).
REGION_FROM_ENV: Mapping[str, tuple[str, ...]] = {aws_auth.ENV_REGION_OPTION: aws_auth.REGION_ENV}
# SageMaker's own exception names beside the AWS-wide ones Bedrock shares: name -> (status, type, code).
SAGEMAKER_EXCEPTIONS: dict[str, tuple[int, str, str | None]] = {
    **EXCEPTIONS,
    "ValidationError": (400, "invalid_request_error", None),
    "ModelError": (424, "api_error", "model_error"),
    "ModelStreamError": (424, "api_error", "model_error"),
    "InternalStreamFailure": (500, "api_error", None),
    "InternalFailure": (500, "api_error", None),
    "InternalDependencyException": (530, "api_error", None),
    "ServiceUnavailable": (503, "api_error", "service_unavailable"),
}

# Throttling is answered 400 by the AWS JSON protocols; the caller must see the 429 it is.
THROTTLES = frozenset({"ThrottlingException", "ThrottledException", "TooManyRequestsException"})


def runtime_url(target: Target, *, stream: bool) -> str:
    """`sagemaker_base_url` as given (LiteLLM's full-URL override), else `{api_base or the regional runtime
    endpoint}/endpoints/{endpoint}/invocations[-response-stream]`."""
    if target.extra.get("sagemaker_base_url"):
        return str(target.extra["sagemaker_base_url"])
    base = (target.api_base or f"https://runtime.sagemaker.{aws_auth.aws_region(target.extra)}.amazonaws.com")
    operation = "invocations-response-stream" if stream else "invocations"
    return f"{base.rstrip('/')}/endpoints/{quote(target.model, safe='')}/{operation}"


def runtime_headers(target: Target, *, stream: bool) -> dict[str, str]:
    """JSON in; JSON out (the stream's events wrap whatever the container writes)."""
    headers = {"Content-Type": "application/json"}
    if not stream:
        headers["Accept"] = "application/json"
    if target.extra.get("model_id"):  # an inference component on a shared endpoint (LiteLLM's `model_id`)
        headers["X-Amzn-SageMaker-Inference-Component"] = str(target.extra["model_id"])
    headers.update(target.headers)
    return headers


def runtime_request(target: Target, body: Mapping[str, Any], *, stream: bool) -> UpstreamRequest:
    return UpstreamRequest(method="POST", url=runtime_url(target, stream=stream),
                           headers=runtime_headers(target, stream=stream), body=jsonutil.dumps(body), stream=stream)


def sign(request: UpstreamRequest, target: Target) -> UpstreamRequest:
    """SigV4 for service `sagemaker` with the credentials `aws_auth` finds (SageMaker takes no API keys)."""
    return aws_auth.sigv4_sign(request, credentials=aws_auth.aws_credentials(target.extra, provider=target.provider),
                               region=aws_auth.aws_region(target.extra), service=SERVICE,
                               when=aws_auth.signing_time(target.extra))


def sagemaker_error(*, status: int | None, headers: Mapping[str, str], body: bytes, exception: str = "",
                    provider: str = "sagemaker") -> UpstreamError:
    """A SageMaker error body or stream exception event. A `ModelError` (424) reports the container's own
    failure: its `OriginalStatusCode` is the status the caller sees, so a bad prompt stays a 400."""
    try:
        data: Any = jsonutil.loads(body) if body else {}
    except jsonutil.JSONDecodeError:
        data = {"message": body.decode("utf-8", "replace")[:500]}
    data = data if isinstance(data, dict) else {}
    name = exception[:1].upper() + exception[1:] if exception else exception_name(headers, data)
    default_status, error_type, code = SAGEMAKER_EXCEPTIONS.get(name, (status or 500, "", None))
    status = default_status if name in THROTTLES or not status else status
    original = data.get("OriginalStatusCode")
    if name == "ModelError" and isinstance(original, int) and 400 <= original < 500:
        status, code = original, None
        error_type = STATUS_TYPES.get(original, "invalid_request_error")
    if not error_type:
        error_type = "api_error" if status >= 500 else STATUS_TYPES.get(status, "invalid_request_error")
    message = str(data.get("Message") or data.get("message") or data.get("OriginalMessage")
                  or f"SageMaker returned {status} {name}".strip())
    return UpstreamError(message, status=status, error_type=error_type, code=code,
                         retry_after=retry_after_seconds(headers), provider=provider)


class PayloadLines:
    """Joins `PayloadPart` bytes and yields each complete JSON payload (SSE `data:` prefix removed)."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.buffer = b""

    def feed(self, frame: Frame) -> list[Any]:
        if frame.headers.get(":message-type") == "exception":
            raise sagemaker_error(status=None, headers={}, body=frame.data, exception=frame.event or "",
                                  provider=self.provider)
        if frame.event != "PayloadPart":
            return []
        self.buffer += frame.data
        *lines, self.buffer = self.buffer.split(b"\n")
        payloads = [payload for line in lines if (payload := self.parse(line)) is not None]
        if self.buffer.rstrip().endswith(b"}"):  # a last JSON line may come without its newline
            try:
                payload = self.parse(self.buffer)
            except jsonutil.JSONDecodeError:
                return payloads  # not whole yet: a later part completes it
            self.buffer = b""
            if payload is not None:
                payloads.append(payload)
        return payloads

    def parse(self, line: bytes) -> Any:
        line = line.strip()
        if line.startswith(b"data:"):
            line = line[5:].strip()
        if not line or line == b"[DONE]" or line.startswith(b":") or line.startswith(b"event:"):
            return None
        return jsonutil.loads(line)
