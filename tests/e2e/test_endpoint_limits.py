"""The gateway path's shared admission and routing on every non-chat surface: a key's `rpm_limit` answers the
call past it 429 with `Retry-After`, in the endpoint's error shape (Anthropic's on /v1/messages); a deployment an
upstream 429s or 500s is cooled down and its group's other one serves (images and audio)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from apps.core.secrets import encrypt
from apps.routing.models import Deployment, SearchTool
from tests.conftest import GatewayProcess
from tests.e2e.media_fixtures import deploy, media, media_server, wav  # noqa: F401 - fixtures
from tests.e2e.test_routing import router
from tests.teams.conftest import client, make_key
from tests.upstreams import text_completion_openai
from tests.upstreams.openai import OpenAIUpstream
from tests.upstreams.openai_media import OpenAIMediaUpstream
from tests.upstreams.recording import RecordingServer, Reply
from tests.upstreams.search import tavily

AUDIO = ("a.wav", wav(1), "audio/wav")
HELLO = [{"role": "user", "content": "hello"}]


@dataclass(frozen=True, slots=True)
class Surface:
    path: str
    json: dict[str, Any] | None = None
    data: dict[str, str] | None = None
    anthropic: bool = False

    def call(self, http: httpx.Client) -> httpx.Response:
        if self.data is not None:
            return http.post(self.path, data=self.data, files={"file": AUDIO})
        return http.post(self.path, json=self.json)


SURFACES = [
    pytest.param(Surface("/v1/images/generations", {"model": "dalle", "prompt": "p"}), id="images_case"),
    pytest.param(Surface("/v1/audio/transcriptions", data={"model": "whisper"}), id="transcription_case"),
    pytest.param(Surface("/v1/audio/speech", {"model": "tts", "input": "hi", "voice": "alloy"}), id="speech_case"),
    pytest.param(Surface("/v1/messages", {"model": "gpt", "max_tokens": 10, "messages": HELLO}, anthropic=True),
                 id="messages_case"),
    pytest.param(Surface("/v1/completions", {"model": "instruct", "prompt": "hello"}), id="completions_case"),
    pytest.param(Surface("/v1/embeddings", {"model": "embed", "input": "hello"}), id="embeddings_case"),
    pytest.param(Surface("/v1/rerank", {"model": "rerank", "query": "q", "documents": ["a", "b"]}), id="rerank_case"),
    pytest.param(Surface("/v1/search/tavily-search", {"query": "q"}), id="search_case"),
    pytest.param(Surface("/v1/moderations", {"model": "omni-moderation-latest", "input": "hello"}),
                 id="moderations_case"),
]


def add(name: str, provider: str, model: str, api_base: str, api_key: str, **fields: Any) -> None:
    Deployment.objects.create(model_name=name, provider=provider, provider_model=model, api_base=api_base,
                              api_key_encrypted=encrypt(api_key), timeout=10, **fields)


@pytest.fixture
def surfaces(media: OpenAIMediaUpstream, upstream: OpenAIUpstream) -> Iterator[None]:
    """The media twin's models (see `media`), chat, embeddings, rerank and moderations on the OpenAI mock, the
    legacy completions twin as `instruct`, and a Tavily search tool."""
    with RecordingServer(text_completion_openai.respond) as legacy, tavily.TavilyTwin() as search:
        add("gpt", "openai", "gpt-4o", upstream.api_base, "sk-test")
        add("embed", "openai", "text-embedding-3-small", upstream.api_base, "sk-test")
        add("rerank", "vllm", "BAAI/bge-reranker-v2-m3", upstream.api_base, "sk-test", model_info={"mode": "rerank"})
        add("omni-moderation-latest", "openai", "omni-moderation-2024-09-26", upstream.api_base, "sk-test")
        add("instruct", "openai", text_completion_openai.MODEL, f"{legacy.url}/v1", text_completion_openai.API_KEY)
        SearchTool.objects.create(search_tool_name="tavily-search", search_provider="tavily", api_base=search.url,
                                  api_key_encrypted=encrypt(tavily.API_KEY), litellm_params={})
        yield
        assert legacy.failures == search.failures == upstream.failures == []


@pytest.mark.parametrize("surface", SURFACES)
def test_a_key_past_its_rpm_limit_gets_429_with_retry_after_in_the_endpoints_shape(
        surfaces: None, gateway: GatewayProcess, surface: Surface) -> None:
    _, secret = make_key(None, None, rpm_limit=1)
    with client(gateway, secret) as caller:
        first = surface.call(caller)
        assert first.status_code == 200, first.text
        limited = surface.call(caller)
    assert limited.status_code == 429, limited.text
    assert int(limited.headers["retry-after"]) >= 1
    body = limited.json()
    if surface.anthropic:
        assert (set(body), body["type"], set(body["error"]), body["error"]["type"]) == (
            {"type", "error", "request_id"}, "error", {"type", "message"}, "rate_limit_error")
    else:
        assert set(body["error"]) == {"message", "type", "param", "code"}
        assert (body["error"]["type"], body["error"]["code"]) == ("rate_limit_error", "rate_limit_exceeded"), body


FAULTS = [pytest.param(Reply.json(429, {"error": {"message": "slow down", "type": "rate_limit_error"}},
                                  {"retry-after": "1"}), id="rate_limited_case"),
          pytest.param(Reply.json(500, {"error": {"message": "boom", "type": "server_error"}}), id="server_error_case")]
MEDIA_CALLS = [
    pytest.param("/v1/images/generations", "dall-e-3", {"prompt": "p"}, False, id="images_case"),
    pytest.param("/v1/audio/transcriptions", "whisper-1", {}, True, id="transcription_case"),
    pytest.param("/v1/audio/speech", "tts-1", {"input": "hi", "voice": "alloy"}, False, id="speech_case"),
]


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize(("path", "model", "body", "upload"), MEDIA_CALLS)
def test_a_failing_media_deployment_is_cooled_down_and_its_group_served_by_the_other(
        media: OpenAIMediaUpstream, http: httpx.Client, path: str, model: str, body: dict[str, str], upload: bool,
        fault: Reply) -> None:
    router(strategy="simple-shuffle", num_retries=1, allowed_fails=1, cooldown_time=60)  # a 429 cools at once
    with OpenAIMediaUpstream() as healthy:
        deploy("pool", "openai", model, f"{media.url}/v1", litellm_params={"order": 1})
        deploy("pool", "openai", model, f"{healthy.url}/v1", litellm_params={"order": 2})
        media.always_for_path(path, fault)
        answers = [http.post(path, data={"model": "pool", **body}, files={"file": AUDIO}) if upload
                   else http.post(path, json={"model": "pool", **body}) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [200, 200, 200], answers[0].text
        assert [seen.path for seen in media.requests] == [path]  # tried once, then cooled down
        assert [seen.path for seen in healthy.requests] == [path] * 3
        assert healthy.failures == []
