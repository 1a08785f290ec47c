"""The OpenAI API as a recording mock: the deterministic mock answers unless a test plans others (fail, stall, pace)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import TypeAlias

from apps.core import jsonutil
from apps.providers import mock_upstream
from tests.upstreams.gateway import PROMPT, GatewayUpstream
from tests.upstreams.recording import Recorded, RecordingServer, Reply, Responder

Planned: TypeAlias = Reply | Responder  # a fixed reply, or one built from the request


def mock_answer(request: Recorded, *, delay: float = 0.0) -> Reply:
    """`apps.providers.mock_upstream`'s answer to `request`, streamed event by event when it asks to stream."""
    status, answer = mock_upstream.respond(request.path, request.body)
    if isinstance(answer, bytes):
        return Reply(status, {"Content-Type": "application/json"}, answer)
    return Reply.stream(list(answer), delay=delay)


MODERATION_FIELDS = {"model", "input"}
RERANK_FIELDS = {"model", "query", "documents", "top_n", "return_documents"}  # vLLM's / Infinity's `/rerank`


def moderation_answer(request: Recorded) -> Reply:
    """OpenAI's `/v1/moderations`: input flagged when it says "kill"; unknown fields refused as OpenAI does."""
    body = request.json()
    unknown = sorted(set(body) - MODERATION_FIELDS)
    if unknown:
        return Reply.json(400, {"error": {"message": f"Unrecognized request argument supplied: {unknown[0]}",
                                          "type": "invalid_request_error", "param": unknown[0], "code": None}})
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    results = [{"flagged": "kill" in str(text), "categories": {"violence": "kill" in str(text), "hate": False},
                "category_scores": {"violence": 0.9 if "kill" in str(text) else 0.01, "hate": 0.001}}
               for text in texts]
    return Reply.json(200, {"id": "modr-wire", "model": body.get("model"), "results": results})


def rerank_answer(request: Recorded) -> Reply:
    """vLLM's `/rerank` (Jina's shape): documents ranked by how many query words they hold, usage in tokens."""
    body = request.json()
    unknown = sorted(set(body) - RERANK_FIELDS)
    assert not unknown, f"vLLM rerank got unknown fields {unknown}"
    documents: list[str] = body["documents"]
    words = body["query"].lower().split()
    scores = [sum(word in doc.lower() for word in words) / len(words) for doc in documents]
    order = sorted(range(len(documents)), key=lambda i: (-scores[i], i))[:body.get("top_n") or len(documents)]
    results = [{"index": i, "relevance_score": scores[i], "document": {"text": documents[i]}} for i in order]
    tokens = len(words) * len(documents) + sum(len(doc.split()) for doc in documents)
    return Reply.json(200, {"id": "rerank-wire", "model": body["model"], "usage": {"total_tokens": tokens},
                            "results": results})


def paced(delay: float) -> Responder:
    """The mock answer, with `delay` seconds before each streamed event."""
    return partial(mock_answer, delay=delay)


class OpenAIUpstream(RecordingServer):
    """Start it, point a deployment at `api_base` (ending in /v1); plan answers with `reply_with` / `always_for`."""

    def __init__(self) -> None:
        super().__init__(self.respond)
        self.replies: list[Planned] = []
        self.by_model: dict[str, Planned] = {}

    @property
    def api_base(self) -> str:
        return f"{self.url}/v1"

    def reply_with(self, *replies: Planned) -> None:
        """Answer the next requests with these, in order, then with the mock answer again."""
        self.replies.extend(replies)

    def always_for(self, model: str, reply: Planned) -> None:
        """Answer every request naming `model` with `reply` until reset (per-deployment failures)."""
        self.by_model[model] = reply

    def models_called(self) -> list[str]:
        """The `model` of each recorded JSON request, in order."""
        return [request.json().get("model") for request in self.requests if request.body]

    def reset(self) -> None:
        super().reset()
        self.replies.clear()
        self.by_model.clear()

    def respond(self, request: Recorded) -> Reply:
        planned = self.by_model.get(requested_model(request)) if self.by_model else None
        if planned is None and self.replies:
            planned = self.replies.pop(0)
        if planned is None:
            if request.path.endswith("/moderations"):
                return moderation_answer(request)
            if request.path.endswith("/rerank"):
                return rerank_answer(request)
            return mock_answer(request)
        return planned if isinstance(planned, Reply) else planned(request)


def requested_model(request: Recorded) -> str:
    """The body's `model`, or "" when there is none."""
    try:
        model = request.json().get("model")
    except (jsonutil.JSONDecodeError, AttributeError):
        return ""
    return model if isinstance(model, str) else ""


@contextmanager
def gateway_upstream() -> Iterator[GatewayUpstream]:
    """A fresh OpenAI mock, deployable through the gateway (the deterministic mock answers)."""
    with OpenAIUpstream() as upstream:
        yield GatewayUpstream(
            server=upstream, provider="openai", provider_model="gpt-4o-2024-08-06", api_base=upstream.api_base,
            api_key="sk-upstream-e2e",
            paths={"chat": "/v1/chat/completions", "stream": "/v1/chat/completions", "embeddings": "/v1/embeddings"},
            auth=("authorization", "Bearer sk-upstream-e2e"), text=f"{mock_upstream.REPLY_PREFIX} {PROMPT}",
            stream_text=f"{mock_upstream.REPLY_PREFIX} {PROMPT}", tool_arguments={"city": "mock"},
            embedding_model="text-embedding-3-small")
