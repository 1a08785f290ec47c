"""SigV4 known answers (AWS's published test-suite vectors and spec-computed values), and credential lookup."""
from __future__ import annotations

import datetime as dt

import pytest

from apps.providers import aws_auth
from apps.providers.aws_auth import AWSCredentials, aws_credentials, aws_region, sign_bedrock, sigv4_sign
from apps.providers.base import UpstreamError, UpstreamRequest
from tests.upstreams.bedrock import ACCESS_KEY, SECRET_KEY, sigv4_authorization

CREDENTIALS = AWSCredentials(ACCESS_KEY, SECRET_KEY)
SUITE_TIME = dt.datetime(2015, 8, 30, 12, 36)  # the AWS SigV4 test suite's 20150830T123600Z
FIXED = {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY, "aws_signing_time": "20240115T093000Z"}


def test_aws_suite_get_vanilla() -> None:
    request = UpstreamRequest(method="GET", url="https://example.amazonaws.com/", headers={}, body=b"")
    signed = sigv4_sign(request, credentials=CREDENTIALS, region="us-east-1", service="service", when=SUITE_TIME)
    assert signed.headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    assert signed.headers["X-Amz-Date"] == "20150830T123600Z"


def test_aws_suite_post_vanilla() -> None:
    request = UpstreamRequest(method="POST", url="https://example.amazonaws.com/", headers={}, body=b"")
    signed = sigv4_sign(request, credentials=CREDENTIALS, region="us-east-1", service="service", when=SUITE_TIME)
    assert signed.headers["Authorization"].endswith(
        "Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")


def test_bedrock_converse_signature_matches_the_spec_computation() -> None:
    body = b'{"messages":[{"role":"user","content":[{"text":"Hi"}]}]}'
    url = ("https://bedrock-runtime.eu-central-1.amazonaws.com/model/"
           "arn%3Aaws%3Abedrock%3Aeu-central-1%3A123456789012%3Ainference-profile%2Feu.anthropic.claude-3-haiku/converse")
    request = UpstreamRequest(method="POST", url=url, headers={"Content-Type": "application/json"}, body=body)
    session = AWSCredentials(ACCESS_KEY, SECRET_KEY, token="FwoGZXIvYXdzEXAMPLETOKEN")
    signed = sigv4_sign(request, credentials=session, region="eu-central-1",
                        when=dt.datetime(2024, 1, 15, 9, 30, tzinfo=dt.timezone.utc))
    expected = sigv4_authorization(method="POST", url=url, headers=signed.headers, body=body, region="eu-central-1",
                                   signed=["content-type", "host", "x-amz-date", "x-amz-security-token"])
    assert signed.headers["Authorization"] == expected
    assert signed.headers["X-Amz-Security-Token"] == "FwoGZXIvYXdzEXAMPLETOKEN"
    assert expected.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240115/eu-central-1/bedrock/aws4_request, "
                               "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=")


def test_resigning_replaces_the_previous_signature() -> None:
    request = UpstreamRequest(method="POST", url="https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse",
                              headers={"Content-Type": "application/json"}, body=b"{}")
    once = sign_bedrock(request, extra=FIXED, api_key=None, region="us-east-1", environ={})
    twice = sign_bedrock(once, extra=FIXED, api_key=None, region="us-east-1", environ={})
    assert twice.headers == once.headers


def test_explicit_keys_win_over_the_environment() -> None:
    environ = {"AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret", "AWS_SESSION_TOKEN": "envtoken"}
    extra = {"aws_access_key_id": "PARAMKEY", "aws_secret_access_key": "paramsecret"}
    assert aws_credentials(extra, environ=environ) == AWSCredentials("PARAMKEY", "paramsecret", None)
    assert aws_credentials({}, environ=environ) == AWSCredentials("ENVKEY", "envsecret", "envtoken")


def test_missing_credentials_is_an_authentication_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(aws_auth, "_chain_credentials", lambda profile: None)
    with pytest.raises(UpstreamError) as caught:
        aws_credentials({}, environ={})
    assert (caught.value.upstream_status, caught.value.error_code) == (401, "missing_credentials")


def test_bedrock_api_key_is_sent_as_bearer_without_sigv4() -> None:
    request = UpstreamRequest(method="POST", url="https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse",
                              headers={"Content-Type": "application/json"}, body=b"{}")
    signed = sign_bedrock(request, extra={}, api_key="bedrock-api-key-abc", region="us-east-1", environ={})
    assert signed.headers == {"Content-Type": "application/json", "Authorization": "Bearer bedrock-api-key-abc"}
    from_env = sign_bedrock(request, extra={}, api_key=None, region="us-east-1",
                            environ={"AWS_BEARER_TOKEN_BEDROCK": "env-key"})
    assert from_env.headers["Authorization"] == "Bearer env-key"


@pytest.mark.parametrize(("extra", "model", "environ", "region"), [
    pytest.param({"aws_region_name": "eu-west-1"}, "m", {"AWS_REGION": "us-east-2"}, "eu-west-1", id="param_case"),
    pytest.param({}, "arn:aws:bedrock:ap-south-1:123456789012:inference-profile/apac.x", {}, "ap-south-1",
                 id="arn_case"),
    pytest.param({}, "m", {"AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-west-1"}, "us-east-2", id="env_case"),
    pytest.param({}, "m", {"AWS_DEFAULT_REGION": "us-west-1"}, "us-west-1", id="default_env_case"),
    pytest.param({}, "m", {}, "us-east-1", id="fallback_case")])
def test_region_lookup_order(extra: dict[str, str], model: str, environ: dict[str, str], region: str) -> None:
    assert aws_region(extra, model=model, environ=environ) == region
