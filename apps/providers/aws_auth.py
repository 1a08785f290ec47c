"""AWS credentials, region and SigV4 signing for Bedrock and SageMaker, kept out of the pure adapters.

Lookup order (LiteLLM's litellm_params first, then what boto3 would find):
1. `aws_access_key_id` / `aws_secret_access_key` / `aws_session_token` in the deployment's params;
2. `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` in the environment;
3. botocore's provider chain for `aws_profile_name` (or `AWS_PROFILE`): shared config/credentials
   files, SSO, container and instance roles. The chain object is cached per profile because it
   refreshes temporary credentials itself; the first lookup may block briefly on instance metadata.
The region: `aws_region_name`, else the one in an ARN model id, else LiteLLM's variables in its order
(AWS_REGION_NAME, AWS_REGION, then AWS_DEFAULT_REGION as boto3 reads it). Adapters declare the variables in
`extra_env` under `aws_region_from_env`, so the gateway reads them once, when it builds the routing snapshot.
The signing time can be fixed with `aws_signing_time` (`20150830T123600Z`) for reproducible tests.
"""
from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.session import Session

from apps.providers.base import UpstreamError, UpstreamRequest
from apps.providers.env_defaults import first_set

SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
DEFAULT_REGION = "us-east-1"
REGION_ENV = ("AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION")  # LiteLLM's order
# The `Target.extra` option env defaults fill from REGION_ENV: below an ARN's region, which `aws_region_name` is not.
ENV_REGION_OPTION = "aws_region_from_env"


@dataclass(frozen=True, slots=True)
class AWSCredentials:
    """One set of static or temporary AWS credentials."""

    access_key: str
    secret_key: str
    token: str | None = None


def aws_region(extra: Mapping[str, Any], *, model: str = "", environ: Mapping[str, str] | None = None) -> str:
    """`aws_region_name`, else the region in an ARN model id, else the environment's (see the module doc)."""
    if extra.get("aws_region_name"):
        return str(extra["aws_region_name"])
    if model.startswith("arn:"):
        parts = model.split(":")
        if len(parts) > 3 and parts[3]:
            return parts[3]
    if extra.get(ENV_REGION_OPTION):
        return str(extra[ENV_REGION_OPTION])
    return first_set(REGION_ENV, os.environ if environ is None else environ) or DEFAULT_REGION


def aws_credentials(extra: Mapping[str, Any], *, environ: Mapping[str, str] | None = None,
                    provider: str = "bedrock") -> AWSCredentials:
    """Credentials from the deployment's params, the environment, or botocore's chain (see module doc)."""
    environ = os.environ if environ is None else environ
    if extra.get("aws_access_key_id") and extra.get("aws_secret_access_key"):
        return AWSCredentials(str(extra["aws_access_key_id"]), str(extra["aws_secret_access_key"]),
                              str(extra["aws_session_token"]) if extra.get("aws_session_token") else None)
    if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        return AWSCredentials(environ["AWS_ACCESS_KEY_ID"], environ["AWS_SECRET_ACCESS_KEY"],
                              environ.get("AWS_SESSION_TOKEN") or None)
    profile = extra.get("aws_profile_name") or environ.get("AWS_PROFILE") or None
    found = _chain_credentials(str(profile) if profile else None)
    if found is None:
        raise UpstreamError(f"no AWS credentials for {provider}: set aws_access_key_id/aws_secret_access_key, "
                            "the AWS_* environment variables, or a profile", status=401,
                            error_type="authentication_error", code="missing_credentials", provider=provider)
    frozen = found.get_frozen_credentials()  # refreshes temporary credentials when they are about to expire
    return AWSCredentials(frozen.access_key, frozen.secret_key, frozen.token)


@cache
def _chain_credentials(profile: str | None) -> Any:
    """botocore's refreshing credentials object for a profile (None when the chain finds nothing)."""
    return Session(profile=profile).get_credentials()


def signing_time(extra: Mapping[str, Any]) -> dt.datetime:
    """The fixed `aws_signing_time` (str or datetime) if given, else now (UTC)."""
    fixed = extra.get("aws_signing_time")
    if isinstance(fixed, dt.datetime):
        return fixed
    if fixed:
        return dt.datetime.strptime(str(fixed), SIGV4_TIMESTAMP)
    return dt.datetime.now(dt.timezone.utc)


def sigv4_sign(request: UpstreamRequest, *, credentials: AWSCredentials, region: str, service: str = "bedrock",
               when: dt.datetime) -> UpstreamRequest:
    """The request with `X-Amz-Date`, `X-Amz-Security-Token` and a SigV4 `Authorization` header.

    botocore's `SigV4Auth` builds the canonical request, string to sign and signature; its `add_auth`
    reads the clock itself, so the timestamp is placed in the request context here instead.
    """
    headers = {name: value for name, value in request.headers.items()
               if name.lower() not in ("authorization", "x-amz-date", "x-amz-security-token")}
    headers["X-Amz-Date"] = when.strftime(SIGV4_TIMESTAMP)
    if credentials.token:
        headers["X-Amz-Security-Token"] = credentials.token
    aws_request = AWSRequest(method=request.method, url=request.url, headers=headers, data=request.body)
    aws_request.context["timestamp"] = headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials(credentials.access_key, credentials.secret_key, credentials.token),
                       service, region)
    canonical = signer.canonical_request(aws_request)
    signature = signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
    signed = signer.signed_headers(signer.headers_to_sign(aws_request))
    headers["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={signer.scope(aws_request)}, "
                                f"SignedHeaders={signed}, Signature={signature}")
    return UpstreamRequest(method=request.method, url=request.url, headers=headers, body=request.body,
                           stream=request.stream)


def bearer_token(api_key: str | None, *, environ: Mapping[str, str] | None = None) -> str | None:
    """A Bedrock API key: the deployment's `api_key`, else `AWS_BEARER_TOKEN_BEDROCK` (as boto3 reads it)."""
    environ = os.environ if environ is None else environ
    return api_key or environ.get("AWS_BEARER_TOKEN_BEDROCK") or None


def sign_bedrock(request: UpstreamRequest, *, extra: Mapping[str, Any], api_key: str | None, region: str,
                 environ: Mapping[str, str] | None = None) -> UpstreamRequest:
    """Authenticate a Bedrock request: explicit keys (SigV4), else a Bedrock API key (Bearer), else the chain."""
    explicit = bool(extra.get("aws_access_key_id") and extra.get("aws_secret_access_key"))
    token = None if explicit else bearer_token(api_key, environ=environ)
    if token:
        headers = {name: value for name, value in request.headers.items() if name.lower() != "authorization"}
        headers["Authorization"] = f"Bearer {token}"
        return UpstreamRequest(method=request.method, url=request.url, headers=headers, body=request.body,
                               stream=request.stream)
    return sigv4_sign(request, credentials=aws_credentials(extra, environ=environ), region=region,
                      when=signing_time(extra))
