"""A SageMaker Runtime twin: InvokeEndpoint and InvokeEndpointWithResponseStream, every SigV4 signature
verified (service `sagemaker`) with the spec-derived signer in `tests.upstreams.bedrock`.

Endpoints answer as their container would: a text-generation container (TGI: `{"inputs", "parameters"}`
in, `[{"generated_text"}]` out; streamed as `data:{"token": ...}` SSE lines) or, for a body with
`messages`, an OpenAI-compatible one. Streams wrap the container's bytes in `PayloadPart` events cut at
odd places, as SageMaker does. A parameter TGI does not know is its 422 wrapped in SageMaker's 424
`ModelError`.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from tests.upstreams.bedrock import ACCESS_KEY, SECRET_KEY, SIGNING_TIME, event_message, sigv4_authorization
from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply

EVENT_STREAM = "application/vnd.amazon.eventstream"
ENDPOINT = "tgi-llama-2-7b-chat"
EMBEDDING_ENDPOINT = "hf-bge-small-embeddings"
CHAT_ENDPOINT = "hf-tgi-qwen2-5-7b-instruct"
TGI_PARAMETERS = {"temperature", "top_p", "top_k", "max_new_tokens", "stop", "seed", "do_sample", "best_of",
                  "repetition_penalty", "return_full_text", "truncate", "typical_p", "watermark", "details",
                  "decoder_input_details"}
TOKENS = ("Hello", " from", " SageMaker", ".")
SIGNED_PARAMS = {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY, "aws_region_name": "us-west-2",
                 "aws_signing_time": SIGNING_TIME}


def check_signed(seen: Recorded, base_url: str, region: str = "us-west-2") -> None:
    authorization = seen.headers.get("authorization", "")
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential="), f"not SigV4: {authorization!r}"
    signed = authorization.split("SignedHeaders=")[1].split(",")[0].split(";")
    assert {"host", "x-amz-date", "content-type"} <= set(signed), f"unsigned essentials: {signed}"
    expected = sigv4_authorization(method=seen.method, url=base_url + seen.path, headers=seen.headers, body=seen.body,
                                   signed=signed, region=region, service="sagemaker")
    assert authorization == expected, f"signature mismatch:\n{authorization}\n{expected}"


def payload_parts(data: bytes, cut: int = 11) -> list[bytes]:
    """The container's stream bytes as `PayloadPart` events of `cut` bytes (splitting lines and JSON)."""
    return [event_message({":event-type": "PayloadPart", ":content-type": "application/octet-stream",
                           ":message-type": "event"}, data[start:start + cut]) for start in range(0, len(data), cut)]


def model_error(original_status: int, message: str) -> Reply:
    """SageMaker's 424 for a container that answered with an error status."""
    return Reply.json(424, {"ErrorCode": "CLIENT_ERROR_FROM_MODEL", "OriginalStatusCode": original_status,
                            "OriginalMessage": json.dumps({"error": message}),
                            "Message": f"Received client error ({original_status}) from primary with message "
                                       f"\"{message}\". See logs.",
                            "LogStreamArn": "arn:aws:logs:us-west-2:123456789012:log-group:/aws/sagemaker/Endpoints/x"},
                      headers={"x-amzn-ErrorType": "ModelError:http://internal.amazon.com/coral/com.amazon.sagemaker/"})


def tgi_stream(tokens: tuple[str, ...]) -> bytes:
    """TGI's SSE token events; the last carries `generated_text` and `details`."""
    lines = []
    for index, text in enumerate(tokens):
        last = index == len(tokens) - 1
        body = {"index": index + 1, "token": {"id": 100 + index, "text": text, "logprob": -0.1, "special": False},
                "generated_text": "".join(tokens) if last else None,
                "details": {"finish_reason": "eos_token", "generated_tokens": len(tokens), "seed": None} if last else None}
        lines.append(f"data:{json.dumps(body)}\n\n")
    return "".join(lines).encode()


def chat_stream(text_pieces: tuple[str, ...]) -> bytes:
    chunks = [{"id": "", "object": "chat.completion.chunk", "created": 1735689600, "model": "tgi",
               "system_fingerprint": "3.0.1-sha", "choices": [{"index": 0, "delta": {"role": "assistant", "content": piece},
                                                               "logprobs": None, "finish_reason": None}]}
              for piece in text_pieces]
    chunks.append({"id": "", "object": "chat.completion.chunk", "created": 1735689600, "model": "tgi",
                   "system_fingerprint": "3.0.1-sha", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                                   "logprobs": None, "finish_reason": "stop"}],
                   "usage": {"prompt_tokens": 7, "completion_tokens": len(text_pieces), "total_tokens": 7 + len(text_pieces)}})
    return ("".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n").encode()


class SageMakerUpstream(RecordingServer):
    """Use as `with SageMakerUpstream() as upstream:`; point `Target.api_base` at `upstream.url`."""

    def __init__(self) -> None:
        super().__init__(self.respond)

    def respond(self, seen: Recorded) -> Reply:
        check_signed(seen, self.url)
        assert seen.headers.get("content-type") == "application/json", "SageMaker gets the container's JSON"
        prefix, _, rest = seen.path.partition("/endpoints/")
        endpoint, _, operation = rest.partition("/")
        assert prefix == "" and unquote(endpoint), f"unexpected path {seen.path}"
        if operation not in ("invocations", "invocations-response-stream"):
            return Reply.json(404, {"message": f"unknown operation {operation}"})
        body = seen.json()
        if "messages" in body:
            return self.chat(body, stream=operation.endswith("stream"))
        if isinstance(body.get("inputs"), list):
            return self.embed(body, stream=operation.endswith("stream"))
        return self.textgen(body, stream=operation.endswith("stream"))

    def textgen(self, body: dict[str, Any], *, stream: bool) -> Reply:
        assert set(body) <= {"inputs", "parameters", "stream"}, f"not a TGI body: {sorted(body)}"
        assert isinstance(body["inputs"], str) and body["inputs"], "inputs must be the prompt string"
        unknown = sorted(set(body.get("parameters") or {}) - TGI_PARAMETERS)
        if unknown:
            return model_error(422, f"Failed to deserialize the JSON body: unknown field `{unknown[0]}`")
        if "overflow" in body["inputs"]:
            return model_error(422, "Input validation error: `inputs` must have less than 4096 tokens")
        if body["inputs"].strip().endswith("please throttle [/INST]"):
            return Reply.json(400, {"message": "Rate exceeded"}, headers={"x-amzn-ErrorType": "ThrottlingException:"})
        if stream:
            assert body.get("stream") is True, "the response-stream path needs stream: true for TGI"
            return Reply.stream(payload_parts(tgi_stream(TOKENS)), EVENT_STREAM)
        return Reply.json(200, [{"generated_text": "".join(TOKENS)}])

    def embed(self, body: dict[str, Any], *, stream: bool) -> Reply:
        """A JumpStart / Hugging Face embedding container: `{"embedding": [[...], ...]}`."""
        assert not stream and set(body) <= {"inputs", "normalize", "truncate"}, f"not an embedding body: {sorted(body)}"
        assert all(isinstance(text, str) for text in body["inputs"]), "inputs must be texts"
        return Reply.json(200, {"embedding": [[float(len(text)), 0.5, -0.5] for text in body["inputs"]]})

    def chat(self, body: dict[str, Any], *, stream: bool) -> Reply:
        assert body.get("model"), "the messages API body names a model"
        if body.get("tools"):
            return self.tool_call(stream=stream)
        if stream:
            return Reply.stream(payload_parts(chat_stream(TOKENS), cut=17), EVENT_STREAM)
        return Reply.json(200, {"object": "chat.completion", "id": "", "created": 1735689600, "model": "tgi",
                                "system_fingerprint": "3.0.1-sha",
                                "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(TOKENS)},
                                             "logprobs": None, "finish_reason": "stop"}],
                                "usage": {"prompt_tokens": 7, "completion_tokens": 4, "total_tokens": 11}})


    def tool_call(self, *, stream: bool) -> Reply:
        """TGI's answer when it picks a tool: `get_weather` for Paris, whole or in argument pieces."""
        call = {"id": "0", "type": "function", "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}
        usage = {"prompt_tokens": 40, "completion_tokens": 9, "total_tokens": 49}
        if not stream:
            return Reply.json(200, {"object": "chat.completion", "id": "", "created": 1735689600, "model": "tgi",
                                    "choices": [{"index": 0, "message": {"role": "assistant", "tool_calls": [call]},
                                                 "logprobs": None, "finish_reason": "tool_calls"}], "usage": usage})
        pieces = ["{\"city\"", ":\"Par", "is\"}"]
        deltas: list[dict[str, Any]] = [{"role": "assistant", "tool_calls": [
            {"index": 0, "id": "0", "type": "function", "function": {"name": "get_weather", "arguments": ""}}]}]
        deltas += [{"tool_calls": [{"index": 0, "function": {"arguments": piece}}]} for piece in pieces]
        chunks = [{"id": "", "object": "chat.completion.chunk", "created": 1735689600, "model": "tgi",
                   "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": None}]} for delta in deltas]
        chunks.append({"id": "", "object": "chat.completion.chunk", "created": 1735689600, "model": "tgi",
                       "choices": [{"index": 0, "delta": {}, "logprobs": None, "finish_reason": "tool_calls"}],
                       "usage": usage})
        data = "".join(f"data: {json.dumps(chunk)}\n\n" for chunk in chunks) + "data: [DONE]\n\n"
        return Reply.stream(payload_parts(data.encode(), cut=23), EVENT_STREAM)


def deployed(twin: SageMakerUpstream, *, provider: str, endpoint: str, **fields: Any) -> GatewayUpstream:
    """The twin as a deployment of `provider` serving `endpoint`, signed with the test credentials."""
    base = f"/endpoints/{endpoint}"
    paths = {"chat": f"{base}/invocations", "stream": f"{base}/invocations-response-stream", **fields.pop("paths", {})}
    return GatewayUpstream(
        server=twin, provider=provider, provider_model=endpoint, api_base=twin.url, paths=paths,
        auth=("authorization", f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{SIGNING_TIME[:8]}/us-west-2/sagemaker/"),
        auth_is_prefix=True, text="".join(TOKENS), stream_text="".join(TOKENS), litellm_params=SIGNED_PARAMS, **fields)


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """A `sagemaker/` (text-generation, and embeddings) deployment of the twin."""
    with SageMakerUpstream() as twin:
        yield deployed(twin, provider="sagemaker", endpoint=ENDPOINT, tool_arguments={},
                       paths={"embeddings": f"/endpoints/{EMBEDDING_ENDPOINT}/invocations"},
                       embedding_model=EMBEDDING_ENDPOINT)
    assert twin.failures == []


@contextmanager
def gateway_chat_upstream() -> Iterator[GatewayUpstream]:
    """A `sagemaker_chat/` (messages API) deployment of the twin."""
    with SageMakerUpstream() as twin:
        yield deployed(twin, provider="sagemaker_chat", endpoint=CHAT_ENDPOINT, tool_arguments={"city": "Paris"})
    assert twin.failures == []
