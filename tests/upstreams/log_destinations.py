"""Logging destinations as their servers speak: Langfuse's ingestion API, a webhook, and S3's PUT Object."""
from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.upstreams.recording import Recorded, RecordingServer, Reply

LANGFUSE_PUBLIC, LANGFUSE_SECRET = "pk-lf-test-public", "sk-lf-test-secret-0123456789"
S3_ACCESS, S3_SECRET, S3_REGION, S3_BUCKET = "AKIDEXAMPLE1234567890", "s3-secret-key/for+tests", "eu-west-1", "logs"


class FlakyResponder:
    """Answers `failing` requests with 500 first, then `ok`."""

    def __init__(self, ok: Reply, failing: int = 0) -> None:
        self.ok, self.failing, self.lock = ok, failing, threading.Lock()

    def __call__(self, request: Recorded) -> Reply:
        with self.lock:
            if self.failing > 0:
                self.failing -= 1
                return Reply.json(500, {"error": "try later"})
        return self.ok


def langfuse_answer(request: Recorded) -> Reply:
    assert request.method == "POST" and request.path == "/api/public/ingestion", request.path
    expected = "Basic " + base64.b64encode(f"{LANGFUSE_PUBLIC}:{LANGFUSE_SECRET}".encode()).decode()
    assert request.headers["authorization"] == expected
    batch = request.json()["batch"]
    assert all(event["type"] in ("trace-create", "generation-create") for event in batch)
    return Reply.json(207, {"successes": [{"id": e["id"], "status": 201} for e in batch], "errors": []})


def s3_answer(request: Recorded) -> Reply:
    """PUT Object, with the SigV4 signature checked by botocore against the shared secret."""
    assert request.method == "PUT" and request.path.startswith(f"/{S3_BUCKET}/"), request.path
    assert request.headers["x-amz-content-sha256"] == hashlib.sha256(request.body).hexdigest()
    authorization = request.headers["authorization"]
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    headers = {name: request.headers[name] for name in signed if name != "host"}
    aws = AWSRequest(method="PUT", url=f"http://{request.headers['host']}{request.path}", data=request.body,
                     headers=headers)
    aws.context["timestamp"] = request.headers["x-amz-date"]
    signer = SigV4Auth(Credentials(S3_ACCESS, S3_SECRET), "s3", S3_REGION)
    expected = signer.signature(signer.string_to_sign(aws, signer.canonical_request(aws)), aws)
    assert authorization.endswith(f"Signature={expected}"), "the SigV4 signature does not verify"
    return Reply(200, {"ETag": '"' + hashlib.md5(request.body).hexdigest() + '"'})  # noqa: S324 - S3's ETag


def s3_object_key(request: Recorded) -> str:
    return unquote(request.path[len(f"/{S3_BUCKET}/"):])


@contextmanager
def destination(responder: object) -> Iterator[RecordingServer]:
    with RecordingServer(responder) as server:  # type: ignore[arg-type]
        yield server
