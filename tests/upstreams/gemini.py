"""A mock Gemini API (generativelanguage.googleapis.com) speaking its real wire format over HTTP.

It checks the `x-goog-api-key` header and the `/v1beta/models/{model}:{method}` path (answering with
Google's own error bodies when they are wrong), requires `alt=sse` on streamGenerateContent, and
records every request for the test to assert on. TTS models (`*-tts`) answer only AUDIO requests, with
24 kHz PCM events and a usage breakdown by modality; Imagen models (`imagen-*`) answer `:predict`.
"""
from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.upstreams.gateway import PROMPT, GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply

SIGNATURE = "CiQBcsjafF0qT9+/wire=="
USAGE = {"promptTokenCount": 11, "candidatesTokenCount": 4, "thoughtsTokenCount": 3, "totalTokenCount": 18}
SPEECH_PCM = [b"\x01\x00" * 2400, b"\x02\x00" * 2400]  # two 0.1 s chunks of 24 kHz 16-bit PCM
SPEECH_USAGE = {"promptTokenCount": 9, "candidatesTokenCount": 52, "totalTokenCount": 61,
                "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 9}],
                "candidatesTokensDetails": [{"modality": "AUDIO", "tokenCount": 52}]}
IMAGEN_RATIOS = ("1:1", "3:4", "4:3", "9:16", "16:9")


def google_error(status: int, message: str, rpc_status: str, details: list[dict[str, Any]] | None = None) -> Reply:
    error: dict[str, Any] = {"code": status, "message": message, "status": rpc_status}
    if details:
        error["details"] = details
    return Reply.json(status, {"error": error})


def sse(events: list[dict[str, Any]]) -> Reply:
    return Reply.stream([b"data: " + json.dumps(event).encode() + b"\r\n\r\n" for event in events])


class GeminiUpstream(RecordingServer):
    """Use as `with GeminiUpstream() as upstream:`; point `Target.api_base` at `upstream.url`."""

    api_key = "AIza-wire-test"
    path_pattern = re.compile(r"^/v1beta/models/(?P<model>[^/:]+):(?P<method>[A-Za-z]+)$")

    def __init__(self) -> None:
        super().__init__(self.respond)

    # --- auth ----------------------------------------------------------------------------------------

    def authorized(self, request: Recorded) -> bool:
        return request.headers.get("x-goog-api-key") == self.api_key

    def unauthorized(self) -> Reply:
        return google_error(400, "API key not valid. Please pass a valid API key.", "INVALID_ARGUMENT", [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com"}])

    # --- routing -------------------------------------------------------------------------------------

    def respond(self, request: Recorded) -> Reply:
        if not self.authorized(request):
            return self.unauthorized()
        match = self.path_pattern.match(request.path)
        if match is None:
            return google_error(404, f"path {request.path} not found", "NOT_FOUND")
        if request.headers.get("content-type") != "application/json":
            return google_error(400, "Content-Type must be application/json", "INVALID_ARGUMENT")
        body = request.json()
        method = match["method"]
        if method == "generateContent":
            return self.generate(body, match["model"])
        if method == "streamGenerateContent":
            if request.query.get("alt") != ["sse"]:
                return google_error(400, "expected alt=sse", "INVALID_ARGUMENT")
            return self.stream(body, match["model"])
        return self.other(method, body, match["model"])

    def other(self, method: str, body: dict[str, Any], model: str) -> Reply:
        if method == "batchEmbedContents":
            return Reply.json(200, {"embeddings": [{"values": [float(i), 0.5]} for i, _ in enumerate(body["requests"])]})
        if method == "predict" and model.startswith("imagen-"):
            return imagen(body)
        return google_error(404, f"method {method} not found", "NOT_FOUND")

    # --- answers ---------------------------------------------------------------------------------------

    def last_text(self, body: dict[str, Any]) -> str:
        return str(body["contents"][-1]["parts"][-1].get("text") or "")

    def wants_tool(self, body: dict[str, Any]) -> bool:
        return "tools" in body and "functionResponse" not in body["contents"][-1]["parts"][-1]

    def generate(self, body: dict[str, Any], model: str) -> Reply:
        if self.last_text(body) == "please rate limit":
            return google_error(429, "Resource has been exhausted (e.g. check quota).", "RESOURCE_EXHAUSTED", [
                {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "13s"}])
        if self.wants_tool(body):
            parts: list[dict[str, Any]] = [{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                                            "thoughtSignature": SIGNATURE}]
        else:
            parts = [{"text": "thinking...", "thought": True}, {"text": f"echo: {self.last_text(body)}"}]
        return Reply.json(200, {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP",
                                                "index": 0}],
                                "usageMetadata": USAGE, "modelVersion": model, "responseId": "wire-1"})

    def stream(self, body: dict[str, Any], model: str) -> Reply:
        if model.endswith("-tts"):
            return speech(body)

        def event(parts: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
            candidate = {"content": {"role": "model", "parts": parts}, "index": 0, **extra}
            return {"candidates": [candidate], "usageMetadata": {"promptTokenCount": 11, "totalTokenCount": 11},
                    "modelVersion": model, "responseId": "wire-s"}

        events = [event([{"text": "Hel"}]), event([{"text": "lo"}])]
        if self.wants_tool(body):
            events.append(event([{"functionCall": {"name": "get_weather", "args": {"city": "Paris"}},
                                  "thoughtSignature": SIGNATURE}]))
        final = event([{"text": ""}], finishReason="STOP")
        final["usageMetadata"] = USAGE
        return sse([*events, final])


def imagen(body: dict[str, Any]) -> Reply:
    """Imagen's `:predict`: one prompt, 1-4 samples in one of its aspect ratios; each image names its prompt and
    number so a test can tell them apart."""
    instances, parameters = body.get("instances") or [], body.get("parameters") or {}
    count = parameters.get("sampleCount", 4)
    if len(instances) != 1 or not isinstance(instances[0].get("prompt"), str) or count not in range(1, 5):
        return google_error(400, "Imagen takes one instance with a prompt and a sampleCount of 1 to 4.",
                            "INVALID_ARGUMENT")
    if parameters.get("aspectRatio", "1:1") not in IMAGEN_RATIOS:
        return google_error(400, f"Unsupported aspect ratio {parameters['aspectRatio']}.", "INVALID_ARGUMENT")
    prompt = instances[0]["prompt"]
    return Reply.json(200, {"predictions": [
        {"bytesBase64Encoded": base64.b64encode(f"imagen:{prompt}:{i}".encode()).decode(), "mimeType": "image/png"}
        for i in range(count)]})


def speech(body: dict[str, Any]) -> Reply:
    """A TTS model's stream: it refuses anything but AUDIO output, then sends one event per PCM chunk, the
    usage (text in, audio out) in the last."""
    if (body.get("generationConfig") or {}).get("responseModalities") != ["AUDIO"]:
        return google_error(400, "The requested combination of response modalities (TEXT) is not supported by the "
                                 "model.", "INVALID_ARGUMENT")
    events: list[dict[str, Any]] = [{"candidates": [{"content": {"role": "model", "parts": [{"inlineData": {
        "mimeType": "audio/L16;codec=pcm;rate=24000", "data": base64.b64encode(chunk).decode()}}]}, "index": 0}],
        "modelVersion": "tts"} for chunk in SPEECH_PCM]
    events[-1]["candidates"][0]["finishReason"] = "STOP"
    events[-1]["usageMetadata"] = SPEECH_USAGE
    return sse(events)


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """A Gemini API mock deployable through the gateway."""
    with GeminiUpstream() as upstream:
        model_path = "/v1beta/models/gemini-2.5-flash"
        yield GatewayUpstream(
            server=upstream, provider="gemini", provider_model="gemini-2.5-flash", api_base=upstream.url,
            api_key=upstream.api_key,
            paths={"chat": f"{model_path}:generateContent", "stream": f"{model_path}:streamGenerateContent",
                   "embeddings": f"{model_path}:batchEmbedContents"},
            auth=("x-goog-api-key", upstream.api_key), text=f"echo: {PROMPT}", stream_text="Hello",
            tool_arguments={"city": "Paris"})
