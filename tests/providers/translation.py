"""Fixture-driven translation checks: one line per case, files under fixtures/<prefix>/.

Files for a case `<case>` in `fixtures/<prefix>/`:
- `target.json` (shared by the folder): the `Target` fields the cases run against.
- `<case>.call.json`: an OpenAI request body (chat; embeddings when it has `input`; a `/rerank` body when it
  has `query` and `documents`).
- `<case>.upstream_request.json`: `{"method", "url", "headers", "body"}` the adapter must build.
  Headers listed must match exactly ("<any>" only checks presence); `body` is compared as parsed JSON
  (or as a string for non-JSON bodies).
- `<case>.upstream_response.json` + `<case>.expected.json`: a provider answer and the OpenAI body
  it must become (`created` is checked to be an int, not compared; `"<any>"` matches any value).
- `<case>.stream.txt` + `<case>.expected_stream.json`: raw stream bytes (fed in 7-byte slices) and
  `{"chunks": [chunk bodies], "usage": {...} | null}`.
- `<case>.error.json`: `{"status", "headers", "body", "expected": {"status", "code", "type", "retryable"}}`.
"""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from apps.core import jsonutil
from apps.providers.base import ChatCall, ChatChunk, EmbeddingCall, Target, UpstreamError
from apps.providers.framing import decoder_for
from apps.providers.registry import adapter_for
from apps.providers.rerank import RerankCall

FIXTURES = Path(__file__).parent / "fixtures"
ANY = "<any>"


def load(prefix: str, name: str) -> Any:
    return jsonutil.loads((FIXTURES / prefix / name).read_bytes())


def target_for(prefix: str) -> Target:
    return Target(**load(prefix, "target.json"))


def call_from_body(body: dict[str, Any]) -> ChatCall | EmbeddingCall | RerankCall:
    body = dict(body)
    model = body.pop("model")
    if "query" in body and "documents" in body:
        return RerankCall(model=model, query=body.pop("query"), documents=body.pop("documents"),
                          top_n=body.pop("top_n", None), return_documents=bool(body.pop("return_documents", False)),
                          max_tokens_per_doc=body.pop("max_tokens_per_doc", None), params=body)
    if "input" in body:
        return EmbeddingCall(model=model, input=body.pop("input"), params=body)
    messages = body.pop("messages")
    stream = bool(body.pop("stream", False))
    return ChatCall(model=model, messages=messages, stream=stream, params=body)


def assert_matches(actual: Any, expected: Any, path: str = "$") -> None:
    """Exact structural equality, where the string "<any>" in `expected` matches any value."""
    if expected == ANY:
        return
    if isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected an object, got {actual!r}"
        assert set(actual) == set(expected), f"{path}: keys {sorted(actual)} != {sorted(expected)}"
        for key, value in expected.items():
            assert_matches(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r} != {expected!r}"
        for index, (left, right) in enumerate(zip(actual, expected)):
            assert_matches(left, right, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def check_request(prefix: str, case: str) -> None:
    adapter, target = adapter_for(prefix), target_for(prefix)
    call = call_from_body(load(prefix, f"{case}.call.json"))
    if isinstance(call, RerankCall):
        request = adapter.translate_rerank_request(call, target)  # type: ignore[attr-defined]
    elif isinstance(call, EmbeddingCall):
        request = adapter.translate_embedding_request(call, target)
    else:
        request = adapter.translate_request(call, target)
    sign = getattr(adapter, "sign", None)
    if sign is not None:
        request = sign(request, target)
    expected = load(prefix, f"{case}.upstream_request.json")
    assert request.method == expected["method"]
    assert request.url == expected["url"]
    headers = {k.lower(): v for k, v in request.headers.items()}
    for name, value in expected["headers"].items():
        assert name.lower() in headers, f"missing header {name}"
        if value != ANY:
            assert headers[name.lower()] == value, f"header {name}: {headers[name.lower()]!r} != {value!r}"
    if isinstance(expected["body"], (dict, list)):
        assert_matches(jsonutil.loads(request.body), expected["body"])
    else:
        assert request.body.decode() == expected["body"]


def check_response(prefix: str, case: str) -> None:
    adapter, target = adapter_for(prefix), target_for(prefix)
    raw = (FIXTURES / prefix / f"{case}.upstream_response.json").read_bytes()
    call = call_from_body(load(prefix, f"{case}.call.json"))
    if isinstance(call, RerankCall):
        reranked = adapter.parse_rerank_response(200, raw, call)  # type: ignore[attr-defined]
        assert_matches(dict(reranked.body), load(prefix, f"{case}.expected.json"))
        return
    if isinstance(call, EmbeddingCall):
        result = adapter.parse_embedding_response(200, raw, target)
    else:
        result = adapter.parse_response(200, raw, target)
    expected = load(prefix, f"{case}.expected.json")
    body = dict(result.body)
    if "created" in body:
        assert isinstance(body["created"], int)
        expected = {**expected, "created": ANY}
    assert_matches(body, expected)
    if "usage" in expected and expected["usage"] != ANY:
        assert result.usage.as_openai() == {k: v for k, v in expected["usage"].items()
                                            if k in ("prompt_tokens", "completion_tokens", "total_tokens",
                                                     "prompt_tokens_details", "completion_tokens_details")}


def stream_chunks(prefix: str, raw: bytes, slice_size: int = 7) -> list[ChatChunk]:
    """Feed raw stream bytes through the adapter's decoder in small slices."""
    adapter = adapter_for(prefix)
    decoder, state = decoder_for(adapter.framing), adapter.new_stream_state()
    chunks: list[ChatChunk] = []
    for start in range(0, len(raw), slice_size):
        for frame in decoder.feed(raw[start:start + slice_size]):
            chunks.extend(adapter.parse_stream_chunk(frame, state))
    for frame in decoder.close():
        chunks.extend(adapter.parse_stream_chunk(frame, state))
    return chunks


def stream_bytes(prefix: str, case: str) -> bytes:
    path = FIXTURES / prefix / f"{case}.stream.txt"
    if path.exists():
        return path.read_bytes()
    return base64.b64decode((FIXTURES / prefix / f"{case}.stream.b64").read_bytes())


def check_stream(prefix: str, case: str) -> None:
    chunks = stream_chunks(prefix, stream_bytes(prefix, case))
    expected = load(prefix, f"{case}.expected_stream.json")
    bodies = []
    for chunk in chunks:
        body = dict(chunk.body)
        if "created" in body:
            assert isinstance(body["created"], int)
            body["created"] = ANY
        bodies.append(body)
    expected_chunks = [{**c, "created": ANY} if "created" in c else c for c in expected["chunks"]]
    assert_matches(bodies, expected_chunks)
    usages = [c.usage for c in chunks if c.usage is not None]
    if expected.get("usage") is None:
        assert usages == []
    else:
        assert usages and usages[-1].as_openai() == expected["usage"]


def check_error(prefix: str, case: str) -> None:
    spec = load(prefix, f"{case}.error.json")
    body = spec["body"] if isinstance(spec["body"], str) else jsonutil.dumps(spec["body"]).decode()
    error = adapter_for(prefix).map_error(spec["status"], spec.get("headers", {}), body.encode())
    assert isinstance(error, UpstreamError)
    expected = spec["expected"]
    assert error.status == expected["status"]
    assert error.error_code == expected.get("code")
    assert error.error_type == expected["type"]
    assert error.retryable == expected["retryable"]
    if "retry_after" in expected:
        assert error.retry_after == expected["retry_after"]
    if "message" in expected:
        assert error.message == expected["message"]


def check_translation(prefix: str, case: str) -> None:
    """Run every check whose fixture files exist for this case."""
    folder = FIXTURES / prefix
    ran = False
    if (folder / f"{case}.upstream_request.json").exists():
        check_request(prefix, case)
        ran = True
    if (folder / f"{case}.upstream_response.json").exists():
        check_response(prefix, case)
        ran = True
    if (folder / f"{case}.expected_stream.json").exists():
        check_stream(prefix, case)
        ran = True
    if (folder / f"{case}.error.json").exists():
        check_error(prefix, case)
        ran = True
    assert ran, f"no fixture files for {prefix}/{case}"
