"""Deepgram's `/v1/listen` as a recording mock: the raw audio body, options in the query, `Token` auth."""
from __future__ import annotations

from typing import Any

from tests.upstreams.openai_media import wav_seconds
from tests.upstreams.recording import Recorded, RecordingServer, Reply

API_KEY = "dg-secret"


def listen(request: Recorded) -> Reply:
    if request.headers.get("authorization") != f"Token {API_KEY}":
        return Reply.json(401, {"err_code": "INVALID_AUTH", "err_msg": "Invalid credentials.", "request_id": "r"})
    assert request.path == "/v1/listen", request.path
    assert request.headers["content-type"].startswith("audio/"), request.headers["content-type"]
    seconds = wav_seconds(request.body)
    text = f"deepgram heard {len(request.body)} bytes"
    half = round(seconds / 2, 3)
    body: dict[str, Any] = {
        "metadata": {"request_id": "dg-1", "duration": seconds, "channels": 1},
        "results": {"channels": [{"alternatives": [{"transcript": text, "confidence": 0.99, "words": [
            {"word": "deepgram", "start": 0.0, "end": half}, {"word": "heard", "start": half, "end": seconds}]}]}]}}
    if request.query.get("utterances") == ["true"]:
        body["results"]["utterances"] = [{"start": 0.0, "end": half, "transcript": "deepgram"},
                                         {"start": half, "end": seconds, "transcript": "heard"}]
    return Reply.json(200, body)


class DeepgramUpstream(RecordingServer):
    def __init__(self) -> None:
        super().__init__(listen)
