"""A Bedrock Runtime twin (a `RecordingServer` verifying every signature), plus the AWS pieces from the specs:

- `sigv4_authorization`: the SigV4 `Authorization` header computed with hashlib/hmac only (AWS
  "Create a signed AWS API request": canonical request, string to sign, derived key), independent
  of botocore, so tests can check the adapter's signer and the twin can verify every request;
- `event_message`: `application/vnd.amazon.eventstream` framing (prelude, headers, payload, CRC32s).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import struct
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest

from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SIGNING_TIME = "20240115T093000Z"
EVENT_STREAM = "application/vnd.amazon.eventstream"


def credentials_env(monkeypatch: pytest.MonkeyPatch, **regions: str) -> None:
    """The test credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, no other credential source set, and
    the region variables given (AWS_REGION=...)."""
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK", "AWS_DEFAULT_REGION",
                 "AWS_REGION_NAME", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, **regions}.items():
        monkeypatch.setenv(name, value)


# --- SigV4, from the spec ---------------------------------------------------------------------------

def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def sigv4_authorization(*, method: str, url: str, headers: Mapping[str, str], body: bytes, signed: list[str],
                        secret_key: str = SECRET_KEY, access_key: str = ACCESS_KEY, region: str = "us-east-1",
                        service: str = "bedrock") -> str:
    """The `Authorization` value for a request, signing the header names in `signed` (lower-case)."""
    parts = urlsplit(url)
    lowered = {name.lower(): " ".join(str(value).split()) for name, value in headers.items()}
    if "host" not in lowered:
        lowered["host"] = parts.netloc
    names = sorted(signed)
    # Non-S3 services: each path segment is URI-encoded once more on top of its wire encoding.
    canonical_uri = quote(parts.path or "/", safe="/-_.~")
    query = "&".join(sorted(parts.query.split("&"))) if parts.query else ""
    canonical = "\n".join([method, canonical_uri, query, "".join(f"{name}:{lowered[name]}\n" for name in names),
                           ";".join(names), hashlib.sha256(body).hexdigest()])
    amz_date = lowered["x-amz-date"]
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), amz_date[:8]), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"


# --- event-stream framing, from the spec --------------------------------------------------------------

def event_message(headers: Mapping[str, str], payload: bytes) -> bytes:
    """One event-stream message with string-typed (7) headers and both CRC32 checksums."""
    raw_headers = b"".join(struct.pack(">B", len(name)) + name.encode() + b"\x07" + struct.pack(">H", len(value))
                           + value.encode() for name, value in headers.items())
    total = 12 + len(raw_headers) + len(payload) + 4
    prelude = struct.pack(">II", total, len(raw_headers))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    message = prelude + raw_headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def event(name: str, body: dict[str, Any]) -> bytes:
    """A ConverseStream event as Bedrock frames it (with the `p` padding field it adds to payloads)."""
    payload = json.dumps({**body, "p": "abcdefghijklmnopqrstuvwxyzABCDEFGH"}).encode()
    return event_message({":event-type": name, ":content-type": "application/json", ":message-type": "event"},
                         payload)


def exception(name: str, message: str) -> bytes:
    """A ConverseStream exception message (e.g. `throttlingException`)."""
    return event_message({":exception-type": name, ":content-type": "application/json",
                          ":message-type": "exception"}, json.dumps({"message": message}).encode())


# --- the twin -------------------------------------------------------------------------------------------

def check_signed(seen: Recorded, base_url: str) -> None:
    """Assert the request carries a SigV4 signature that verifies for the test credentials."""
    authorization = seen.headers.get("authorization", "")
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential="), f"not SigV4: {authorization!r}"
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "content-type"} <= set(signed), f"unsigned essentials: {signed}"
    region = authorization.split("Credential=")[1].split("/")[2]  # verified with the region the scope names
    expected = sigv4_authorization(method=seen.method, url=base_url + seen.path, headers=seen.headers,
                                   body=seen.body, signed=signed, region=region)
    assert authorization == expected, f"signature mismatch:\n{authorization}\n{expected}"


def bedrock_twin(*, converse: dict[str, Any], stream: list[bytes], embedding: dict[str, Any]) -> RecordingServer:
    """Answers /converse with JSON, /converse-stream with event-stream messages, /invoke with an embedding."""
    upstream: RecordingServer

    def respond(seen: Recorded) -> Reply:
        check_signed(seen, upstream.url)
        prefix, _, rest = seen.path.partition("/model/")
        assert prefix == "" and "/" in rest, f"unexpected path {seen.path}"
        model, operation = rest.rsplit("/", 1)
        assert "/" not in model and unquote(model), "model id must be one encoded path segment"
        seen.json()  # the body must be JSON
        if operation == "converse":
            return Reply.json(200, converse)
        if operation == "converse-stream":
            return Reply.stream(stream, EVENT_STREAM)
        assert operation == "invoke", f"unknown operation {operation}"
        return Reply.json(200, embedding)

    upstream = RecordingServer(respond)
    return upstream


def error_twin(status: int, *, error_type: str, message: str) -> RecordingServer:
    """Answers every call with a Bedrock REST-JSON error (`x-amzn-ErrorType` + `{"message"}`)."""
    def respond(seen: Recorded) -> Reply:
        headers = {"x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/"}
        return Reply.json(status, {"message": message}, headers)
    return RecordingServer(respond)


# --- the twin the gateway end-to-end tests deploy ----------------------------------------------------

GATEWAY_MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0"
GATEWAY_EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"
GATEWAY_USAGE = {"inputTokens": 10, "outputTokens": 5, "totalTokens": 15}


def gateway_converse(*, tools: bool) -> dict[str, Any]:
    """A Converse answer: a toolUse block when tools were offered, else a fixed text."""
    block: dict[str, Any] = ({"toolUse": {"toolUseId": "tu_e2e", "name": "get_weather", "input": {"city": "Paris"}}}
                             if tools else {"text": "Hello from Bedrock."})
    return {"output": {"message": {"role": "assistant", "content": [block]}},
            "stopReason": "tool_use" if tools else "end_turn", "usage": GATEWAY_USAGE, "metrics": {"latencyMs": 10}}


def gateway_stream(*, tools: bool) -> list[bytes]:
    """The ConverseStream twin of `gateway_converse`."""
    if tools:
        opening = [event("contentBlockStart", {"contentBlockIndex": 0,
                                               "start": {"toolUse": {"toolUseId": "tu_e2e", "name": "get_weather"}}})]
        deltas: list[dict[str, Any]] = [{"toolUse": {"input": piece}} for piece in ("{\"ci", "ty\": \"Pa", "ris\"}")]
    else:
        opening, deltas = [], [{"text": piece} for piece in ("Hello", " from Bedrock.")]
    return [event("messageStart", {"role": "assistant"}), *opening,
            *[event("contentBlockDelta", {"contentBlockIndex": 0, "delta": delta}) for delta in deltas],
            event("contentBlockStop", {"contentBlockIndex": 0}),
            event("messageStop", {"stopReason": "tool_use" if tools else "end_turn"}),
            event("metadata", {"usage": GATEWAY_USAGE, "metrics": {"latencyMs": 10}})]


TITAN_V2_FIELDS = {"inputText", "dimensions", "normalize", "embeddingTypes"}
COHERE_EMBED_FIELDS = {"texts", "images", "input_type", "truncate", "embedding_types", "output_dimension",
                       "max_tokens"}


def invoke_embedding(model: str, body: dict[str, Any]) -> Reply:
    """InvokeModel for Titan Text Embeddings v2 (one `inputText`) or Cohere Embed (a batch of `texts`), each
    refusing fields its model does not take (Bedrock's ValidationException) and sized by the asked dimension."""
    cohere = model.startswith("cohere.embed")
    unknown = sorted(set(body) - (COHERE_EMBED_FIELDS if cohere else TITAN_V2_FIELDS))
    if unknown:
        return Reply.json(400, {"message": f"Malformed input request: extraneous key [{unknown[0]}] is not permitted"},
                          {"x-amzn-ErrorType": "ValidationException:http://internal.amazon.com/"})
    if cohere:
        size = int(body.get("output_dimension") or 3)
        vectors = [[float(len(text))] + [0.5] * (size - 1) for text in body["texts"]]
        return Reply.json(200, {"id": "emb-cohere-bedrock", "embeddings": vectors, "texts": body["texts"],
                                "response_type": "embeddings_floats"})
    size = int(body.get("dimensions") or 3)
    return Reply.json(200, {"embedding": [0.1 * (index + 1) for index in range(size)], "inputTextTokenCount": 2})


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """A SigV4-checking Bedrock twin answering text or a tool call, deployable through the gateway."""
    def respond(seen: Recorded) -> Reply:
        check_signed(seen, twin.url)
        body = seen.json()
        tools = "toolConfig" in body
        if seen.path.endswith("/converse"):
            return Reply.json(200, gateway_converse(tools=tools))
        if seen.path.endswith("/converse-stream"):
            return Reply.stream(gateway_stream(tools=tools), EVENT_STREAM)
        assert seen.path.endswith("/invoke"), f"unknown operation {seen.path}"
        return invoke_embedding(unquote(seen.path.split("/")[2]), body)

    model_path = f"/model/{quote(GATEWAY_MODEL, safe='')}"
    with RecordingServer(respond) as twin:
        yield GatewayUpstream(
            server=twin, provider="bedrock", provider_model=GATEWAY_MODEL, api_base=twin.url,
            paths={"chat": f"{model_path}/converse", "stream": f"{model_path}/converse-stream",
                   "embeddings": f"/model/{quote(GATEWAY_EMBEDDING_MODEL, safe='')}/invoke"},
            auth=("authorization", f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{SIGNING_TIME[:8]}/us-east-1/bedrock/"),
            text="Hello from Bedrock.", stream_text="Hello from Bedrock.", tool_arguments={"city": "Paris"},
            embedding_model=GATEWAY_EMBEDDING_MODEL, auth_is_prefix=True,
            litellm_params={"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY,
                            "aws_region_name": "us-east-1", "aws_signing_time": SIGNING_TIME})
    assert twin.failures == []


# --- Bedrock Agent Runtime's Rerank --------------------------------------------------------------------

RERANK_MODELS = ("amazon.rerank-v1:0", "cohere.rerank-v3-5:0")


def rerank_reply(body: dict[str, Any]) -> Reply:
    """Bedrock's Rerank answer after asserting the request is the API's shape (one TEXT query, INLINE TEXT
    sources, a foundation-model ARN of a rerank model): documents scored by the query words they hold."""
    assert set(body) == {"queries", "sources", "rerankingConfiguration"}, f"unexpected fields {sorted(body)}"
    [query] = body["queries"]
    assert query["type"] == "TEXT" and set(query) == {"type", "textQuery"}, query
    texts = []
    for source in body["sources"]:
        assert source["type"] == "INLINE" and set(source) == {"type", "inlineDocumentSource"}, source
        inline = source["inlineDocumentSource"]
        assert inline["type"] == "TEXT" and set(inline) == {"type", "textDocument"}, inline
        texts.append(inline["textDocument"]["text"])
    configuration = body["rerankingConfiguration"]
    assert configuration["type"] == "BEDROCK_RERANKING_MODEL", configuration
    arn = configuration["bedrockRerankingConfiguration"]["modelConfiguration"]["modelArn"]
    assert arn.startswith("arn:aws:bedrock:") and arn.split("foundation-model/")[-1] in RERANK_MODELS, arn
    count = configuration["bedrockRerankingConfiguration"]["numberOfResults"]
    assert 1 <= count <= len(texts), count
    words = set(query["textQuery"]["text"].lower().split())
    scores = [len(words & set(text.lower().rstrip(".").split())) / len(words) for text in texts]
    order = sorted(range(len(texts)), key=lambda index: (-scores[index], index))[:count]
    return Reply.json(200, {"results": [{"index": index, "relevanceScore": scores[index]} for index in order]})


@contextmanager
def rerank_upstream() -> Iterator[RecordingServer]:
    """A SigV4-checking Bedrock Agent Runtime twin answering `POST /rerank` (and nothing else)."""
    def respond(seen: Recorded) -> Reply:
        check_signed(seen, twin.url)
        assert (seen.method, seen.path) == ("POST", "/rerank"), f"unexpected {seen.method} {seen.path}"
        assert seen.headers["content-type"] == "application/json"
        return rerank_reply(seen.json())

    with RecordingServer(respond) as twin:
        yield twin
