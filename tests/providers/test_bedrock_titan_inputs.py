"""Titan embeddings with several inputs: one signed InvokeModel call per input, sent concurrently, one answer in
input order with usage summed (Titan takes one `inputText` per call)."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from apps.providers import aembedding, embedding
from tests.upstreams.bedrock import ACCESS_KEY, SECRET_KEY, check_signed
from tests.upstreams.recording import Recorded, RecordingServer, Reply

TITAN = "amazon.titan-embed-text-v2:0"
INVOKE = "/model/amazon.titan-embed-text-v2%3A0/invoke"
AWS = {"aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY, "aws_region_name": "us-east-1"}
TEXTS = ["one", "two words", "and three words"]


def titan_twin(*, together: int, fail_on: str = "") -> RecordingServer:
    """A Titan twin answering [len(text), words] with one token per word, once `together` calls are in at once
    (calls sent one after another never all arrive, so the barrier breaks and the twin answers 599)."""
    barrier = threading.Barrier(together, timeout=10)
    server: RecordingServer

    def respond(seen: Recorded) -> Reply:
        check_signed(seen, server.url)
        assert seen.path == INVOKE, seen.path
        text = seen.json()["inputText"]
        assert set(seen.json()) <= {"inputText", "dimensions", "normalize"}
        barrier.wait()
        if text == fail_on:
            return Reply.json(429, {"message": "Too many requests"},
                              {"x-amzn-ErrorType": "ThrottlingException:http://internal.amazon.com/"})
        words = len(text.split())
        return Reply.json(200, {"embedding": [float(len(text)), float(words)], "inputTextTokenCount": words})

    server = RecordingServer(respond)
    return server


@pytest.fixture
def twin() -> Iterator[RecordingServer]:
    with titan_twin(together=len(TEXTS)) as server:
        yield server
    assert server.failures == []


def test_each_input_is_its_own_concurrent_call_and_one_answer_comes_back(twin: RecordingServer) -> None:
    result = embedding(model=f"bedrock/{TITAN}", input=TEXTS, dimensions=2, api_base=twin.url, **AWS)
    assert sorted(seen.json()["inputText"] for seen in twin.requests) == sorted(TEXTS)
    assert all(seen.json()["dimensions"] == 2 for seen in twin.requests)
    assert result.data == [{"object": "embedding", "index": 0, "embedding": [3.0, 1.0]},
                           {"object": "embedding", "index": 1, "embedding": [9.0, 2.0]},
                           {"object": "embedding", "index": 2, "embedding": [15.0, 3.0]}]
    assert result.usage == {"prompt_tokens": 6, "total_tokens": 6}
    assert (result.object, result.model) == ("list", TITAN)


async def test_async_embedding_of_several_inputs(twin: RecordingServer) -> None:
    result = await aembedding(model=f"bedrock/{TITAN}", input=TEXTS, api_base=twin.url, **AWS)
    assert [item.embedding[0] for item in result.data] == [3.0, 9.0, 15.0]
    assert len(twin.requests) == 3


def test_one_failing_input_fails_the_request() -> None:
    with titan_twin(together=len(TEXTS), fail_on="two words") as twin:
        with pytest.raises(openai.RateLimitError) as caught:
            embedding(model=f"bedrock/{TITAN}", input=TEXTS, api_base=twin.url, **AWS)
    assert str(caught.value) == "Too many requests"


def test_a_single_input_is_one_call() -> None:
    with titan_twin(together=1) as twin:
        result = embedding(model=f"bedrock/{TITAN}", input=["only"], api_base=twin.url, **AWS)
        [seen] = twin.requests
    assert seen.json() == {"inputText": "only"}
    assert (result.data[0].embedding, result.usage.prompt_tokens) == ([4.0, 1.0], 1)


def test_token_arrays_are_still_refused() -> None:
    params: dict[str, Any] = {"api_base": "http://127.0.0.1:9", **AWS}
    with pytest.raises(openai.BadRequestError) as caught:
        embedding(model=f"bedrock/{TITAN}", input=[[1, 2], [3]], **params)
    assert str(caught.value) == "Bedrock embeddings take text input, not token arrays"


def test_the_gateway_answers_several_titan_inputs(transactional_db: None, http: httpx.Client) -> None:
    from apps.routing.models import Deployment, RouterSettings

    RouterSettings.objects.update_or_create(pk=1, defaults={"num_retries": 0})
    with titan_twin(together=len(TEXTS)) as twin:
        Deployment.objects.create(model_name="titan-multi", provider="bedrock", provider_model=TITAN,
                                  api_base=twin.url, timeout=10, litellm_params=dict(AWS))
        reply = http.post("/v1/embeddings", json={"model": "titan-multi", "input": TEXTS})
        assert len(twin.requests) == 3
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert [item["embedding"] for item in body["data"]] == [[3.0, 1.0], [9.0, 2.0], [15.0, 3.0]]
    assert [item["index"] for item in body["data"]] == [0, 1, 2]
    assert body["usage"] == {"prompt_tokens": 6, "total_tokens": 6}
