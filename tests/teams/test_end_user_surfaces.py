"""A call's end user (`user`) and request tags (`metadata.tags`) on every /v1 surface, not only chat: the spend row
carries both, the end user is charged, and a blocked end user is refused."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from apps.core.snapshots import snapshot_bump
from apps.teams.models import EndUser
from apps.teams.snapshot import GENERATION
from tests.conftest import GatewayProcess
from tests.e2e.media_fixtures import deploy, media, media_server, wav  # noqa: F401 - fixtures
from tests.teams.conftest import Cast, MSG, client, wait_for_spend_rows
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.openai_media import OpenAIMediaUpstream

def post(http: httpx.Client, surface: str, end_user: str) -> httpx.Response:
    """One call of the surface, naming the end user and a tag as LiteLLM clients do."""
    if surface == "transcription":
        return http.post("/v1/audio/transcriptions", data={"model": "whisper", "user": end_user,
                                                           "metadata": '{"tags": ["surface"]}'},
                         files={"file": ("speech.wav", wav(1.0), "audio/wav")})
    bodies: dict[str, tuple[str, dict[str, Any]]] = {
        "embeddings": ("/v1/embeddings", {"model": "embed", "input": "hi"}),
        "images": ("/v1/images/generations", {"model": "dalle", "prompt": "a fox"}),
        "speech": ("/v1/audio/speech", {"model": "tts", "input": "hello there", "voice": "alloy"}),
        "messages": ("/v1/messages", {"model": "priced", "max_tokens": 5, "messages": MSG}),
        "responses": ("/v1/responses", {"model": "priced", "input": "hello", "max_output_tokens": 16}),
        "moderations": ("/v1/moderations", {"model": "moderation", "input": "hello"}),
        "rerank": ("/v1/rerank", {"model": "vllm-rerank", "query": "fox", "documents": ["a fox", "a cat"]}),
    }
    path, body = bodies[surface]
    return http.post(path, json={**body, "user": end_user, "metadata": {"tags": ["surface"]}})


@pytest.fixture
def surfaces(media: OpenAIMediaUpstream, upstream: OpenAIUpstream, priced) -> Iterator[None]:
    """The media twin's models (dalle, tts, whisper), embeddings, moderation and rerank on the OpenAI twin, and the
    priced mock model for /v1/messages and /v1/responses."""
    priced()
    deploy("embed", "openai", "text-embedding-3-small", upstream.api_base)
    deploy("moderation", "openai", "omni-moderation-2024-09-26", upstream.api_base)
    deploy("vllm-rerank", "vllm", "BAAI/bge-reranker-v2-m3", upstream.api_base, model_info={"mode": "rerank"})
    yield


SURFACES = ["embeddings", "images", "speech", "transcription", "messages", "responses", "moderations", "rerank"]


@pytest.mark.parametrize("surface", SURFACES)
def test_the_end_user_and_tags_of_a_call_reach_its_spend_row(cast: Cast, surfaces: None, gateway: GatewayProcess,
                                                             surface: str) -> None:
    end_user = f"charged-{surface}"  # one per case: the embedded gateway may store a call after its test ended
    with client(gateway, cast.bob.secret) as http:
        answer = post(http, surface, end_user)
    assert answer.status_code == 200, answer.text
    [row] = wait_for_spend_rows(1, request_id=answer.headers["x-request-id"])
    assert (row.end_user, row.tags) == (end_user, ["surface"])
    if row.cost:  # moderations are free; every other surface charges its end user
        assert EndUser.objects.get(user_id=end_user).spend == row.cost


@pytest.mark.parametrize("surface", SURFACES)
def test_a_blocked_end_user_is_refused_on_every_surface(cast: Cast, surfaces: None, gateway: GatewayProcess,
                                                        surface: str) -> None:
    end_user = f"blocked-{surface}"
    EndUser.objects.create(user_id=end_user, blocked=True)
    snapshot_bump(GENERATION)
    with client(gateway, cast.bob.secret) as http:
        refused = post(http, surface, end_user)
    assert refused.status_code == 400
    assert refused.json()["error"]["message"] == f"User blocked from making LLM API Calls. User={end_user}"
    assert Decimal(EndUser.objects.get(user_id=end_user).spend) == 0
