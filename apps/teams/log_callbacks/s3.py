"""S3 (and S3-compatible stores: MinIO, R2, ...): each batch one JSON-lines object, SigV4-signed PUT.

Settings are LiteLLM's `s3_callback_params` (`s3_bucket_name`, `s3_region_name`, `s3_endpoint_url`,
`s3_aws_access_key_id`, `s3_aws_secret_access_key`, `s3_aws_session_token`, `s3_path`), values as written or
`os.environ/NAME`; without keys, the AWS environment or profile chain. The object key names the batch's first and
last call (`<s3_path>/<date>/<first>_<last>.jsonl`), so a batch sent again overwrites itself.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from apps.core import jsonutil
from apps.providers.aws_auth import aws_credentials, signing_time, sigv4_sign
from apps.providers.base import UpstreamError, UpstreamRequest
from apps.teams.log_callbacks.payloads import call_record, event_id
from apps.teams.log_callbacks.senders import DeliveryFailed, http_send, param
from apps.teams.models import SpendLog


def object_key(path: str, rows: Sequence[SpendLog]) -> str:
    day = rows[0].start_time.strftime("%Y-%m-%d")
    name = f"{day}/{event_id(rows[0])}_{event_id(rows[-1])}.jsonl"
    return f"{path.strip('/')}/{name}" if path.strip("/") else name


class S3Sender:
    def __init__(self, params: Mapping[str, Any]) -> None:
        self.bucket = param(params, "s3_bucket_name")
        self.region = param(params, "s3_region_name", env="AWS_REGION_NAME", default="us-east-1")
        self.endpoint = param(params, "s3_endpoint_url", default=f"https://s3.{self.region}.amazonaws.com")
        self.path = param(params, "s3_path")
        self.keys = {"aws_access_key_id": param(params, "s3_aws_access_key_id"),
                     "aws_secret_access_key": param(params, "s3_aws_secret_access_key"),
                     "aws_session_token": param(params, "s3_aws_session_token")}

    def send(self, rows: Sequence[SpendLog]) -> None:
        if not self.bucket:
            raise DeliveryFailed("no s3_bucket_name in s3_callback_params")
        body = b"".join(jsonutil.dumps(call_record(row)) + b"\n" for row in rows)
        url = f"{self.endpoint.rstrip('/')}/{self.bucket}/{quote(object_key(self.path, rows))}"
        try:
            credentials = aws_credentials({k: v for k, v in self.keys.items() if v}, provider="s3")
        except UpstreamError as error:
            raise DeliveryFailed(error.message) from None
        headers = {"Content-Type": "application/x-ndjson", "x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
        signed = sigv4_sign(UpstreamRequest(method="PUT", url=url, headers=headers, body=body),
                            credentials=credentials, region=self.region, service="s3", when=signing_time({}))
        http_send("PUT", url, body, signed.headers)
