"""A strict Replicate twin: create predictions (official models, pinned versions, deployments), `Prefer: wait`
sync mode, polling `GET /v1/predictions/{id}`, and `urls.stream` Server-Sent Events.

`polls` is how many polls a prediction stays `processing` after a create that could not finish in time
(0: sync mode answers the finished prediction). `stream_end` is the event that ends a stream after its first
piece, in place of the last pieces and `done`: e.g. `event: error` with its data, or `event: done` with
`{"reason": "canceled"}`. Every request is checked for `Authorization: Bearer`;
bodies may hold only `input`, `version` and `stream`; `input.prompt` must be a string.
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.upstreams.gateway import GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply

API_TOKEN = "r8_wire_test_token"
MODEL = "meta/meta-llama-3-8b-instruct"
VERSION = "5a6809ca6288247d06daf6365557e5e429063f32a21146b2a807c682652136b8"
PIECES = ("Hello", " from", " Replicate.")
VERSION_PATH = re.compile(r"^/v1/(models/[\w.-]+/[\w.-]+|deployments/[\w.-]+/[\w.-]+)/predictions$")


def problem(status: int, title: str, detail: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply.json(status, {"title": title, "detail": detail, "status": status}, headers)


class ReplicateUpstream(RecordingServer):
    """Use as `with ReplicateUpstream(polls=2) as upstream:`; point `Target.api_base` at `upstream.url`."""

    def __init__(self, *, polls: int = 0, stream_end: bytes = b"") -> None:
        super().__init__(self.respond)
        self.polls = polls
        self.stream_end = stream_end
        self.predictions: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()

    def respond(self, seen: Recorded) -> Reply:
        if seen.headers.get("authorization") != f"Bearer {API_TOKEN}":
            return problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        if seen.method == "POST" and (seen.path == "/v1/predictions" or VERSION_PATH.match(seen.path)):
            return self.create(seen)
        if seen.method == "GET" and seen.path.startswith("/v1/predictions/"):
            return self.poll(seen.path.rsplit("/", 1)[1])
        if seen.method == "GET" and seen.path.startswith("/v1/streams/"):
            return self.stream(seen)
        return problem(404, "Not found", f"{seen.method} {seen.path} does not exist")

    def create(self, seen: Recorded) -> Reply:
        assert seen.headers.get("content-type") == "application/json", "predictions take JSON"
        body = seen.json()
        assert set(body) <= {"input", "version", "stream"}, f"unknown prediction fields {sorted(body)}"
        assert isinstance(body["input"].get("prompt"), str), "input.prompt must be a string"
        assert (seen.path == "/v1/predictions") == ("version" in body), "a version is created at /v1/predictions"
        prefer = seen.headers.get("prefer")
        assert prefer is None or re.fullmatch(r"wait(=([1-9]|[1-5]\d|60))?", prefer), f"bad Prefer {prefer!r}"
        with self.lock:
            number = len(self.predictions) + 1
            prediction = {"id": f"pred{number:04d}", "model": MODEL, "version": body.get("version") or VERSION,
                          "input": body["input"], "logs": "", "output": None, "error": None, "status": "starting",
                          "created_at": "2025-01-01T00:00:00.000Z", "polls_left": self.polls,
                          "urls": {"get": f"{self.url}/v1/predictions/pred{number:04d}",
                                   "cancel": f"{self.url}/v1/predictions/pred{number:04d}/cancel",
                                   "stream": f"{self.url}/v1/streams/pred{number:04d}"}}
            self.predictions[prediction["id"]] = prediction
        if "fail please" in body["input"]["prompt"]:
            prediction |= {"status": "failed", "error": "CUDA error: out of memory"}
        elif prefer and not self.polls:
            self.complete(prediction)
        elif prefer:
            prediction["status"] = "processing"
        return Reply.json(201, self.public(prediction))

    def complete(self, prediction: dict[str, Any]) -> None:
        prediction |= {"status": "succeeded", "output": list(PIECES),
                       "metrics": {"predict_time": 0.4, "input_token_count": 12, "output_token_count": len(PIECES)}}

    def poll(self, prediction_id: str) -> Reply:
        with self.lock:
            prediction = self.predictions.get(prediction_id)
            if prediction is None:
                return problem(404, "Not found", "The requested resource could not be found.")
            if prediction["status"] == "processing":
                prediction["polls_left"] -= 1
                if prediction["polls_left"] <= 0:
                    self.complete(prediction)
            return Reply.json(200, self.public(prediction))

    def stream(self, seen: Recorded) -> Reply:
        assert seen.headers.get("accept") == "text/event-stream", "the stream is read as SSE"
        prediction = self.predictions[seen.path.rsplit("/", 1)[1]]
        events = [f"event: output\nid: {index}\ndata: {piece}\n\n".encode() for index, piece in enumerate(PIECES)]
        if self.stream_end:
            return Reply.stream([events[0], self.stream_end])
        return Reply.stream([*events, b"event: done\ndata: {}\n\n"]) if prediction else Reply(404)

    @staticmethod
    def public(prediction: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in prediction.items() if key != "polls_left"}


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """The twin as a `replicate/` deployment whose predictions need one poll (fast, for the test)."""
    with ReplicateUpstream(polls=1) as twin:
        yield GatewayUpstream(server=twin, provider="replicate", provider_model=MODEL, api_base=twin.url,
                              paths={"chat": f"/v1/models/{MODEL}/predictions", "stream": f"/v1/models/{MODEL}/predictions"},
                              auth=("authorization", f"Bearer {API_TOKEN}"), text="".join(PIECES),
                              stream_text="".join(PIECES), tool_arguments={}, api_key=API_TOKEN,
                              litellm_params={"replicate_poll_interval": 0.01})
    assert twin.failures == []
    assert all(json.loads(seen.body)["input"]["prompt"] == "hello" for seen in twin.requests if seen.method == "POST")
