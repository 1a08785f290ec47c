"""A `response.done` event's usage by token kind, and its price."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest

from apps.providers.adapters.realtime_openai import AzureRealtime, OpenAIRealtime
from apps.providers.base import Target, Usage
from apps.providers.realtime import RealtimePrice, RealtimeUsage, TokenRates, done_usage, response_usage
from tests.upstreams.realtime import USAGE


def test_usage_is_split_into_text_and_audio_with_their_cached_parts() -> None:
    assert response_usage(USAGE) == RealtimeUsage(
        text=Usage(prompt_tokens=40, cached_tokens=10, completion_tokens=5),
        audio=Usage(prompt_tokens=60, cached_tokens=20, completion_tokens=100))
    assert response_usage(USAGE).usage == Usage(prompt_tokens=100, completion_tokens=105, cached_tokens=30)


def test_usage_without_a_breakdown_is_all_text() -> None:
    assert response_usage({"input_tokens": 7, "output_tokens": 3, "input_token_details": {"cached_tokens": 2}}) \
        == RealtimeUsage(text=Usage(prompt_tokens=7, completion_tokens=3, cached_tokens=2))


def test_only_response_done_frames_are_read() -> None:
    done = json.dumps({"type": "response.done", "event_id": "e1", "response": {"usage": USAGE}})
    assert done_usage(done) == response_usage(USAGE)
    assert done_usage(json.dumps({"type": "response.output_audio.delta", "delta": "AAAA"})) is None
    assert done_usage(json.dumps({"type": "conversation.item.created", "item": {"text": "response.done"}})) is None
    assert done_usage(json.dumps({"type": "response.done", "response": {"status": "cancelled"}})) == RealtimeUsage()


def test_each_kind_is_priced_at_its_rates() -> None:
    price = RealtimePrice(text=TokenRates(input=Decimal("4e-6"), cached=Decimal("4e-7"), output=Decimal("1.6e-5")),
                          audio=TokenRates(input=Decimal("3.2e-5"), cached=Decimal("4e-7"), output=Decimal("6.4e-5")))
    assert price.cost(response_usage(USAGE)) == Decimal("0.007892")
    assert price.dearest_output == Decimal("6.4e-5")


@pytest.mark.parametrize(("version", "url"), [
    pytest.param(None, "wss://res.openai.azure.com/openai/realtime?api-version=2024-10-01-preview&deployment=rt&"
                       "voice=alloy", id="dated_case"),
    pytest.param("v1", "wss://res.openai.azure.com/openai/v1/realtime?model=rt&voice=alloy", id="ga_case")])
def test_azure_sessions_open_on_the_resource_realtime_path(version: str | None, url: str) -> None:
    target = Target(provider="azure", model="rt", api_base="https://res.openai.azure.com/openai", api_key="az",
                    api_version=version)
    upstream = AzureRealtime().realtime_upstream(target, query={"deployment": "group", "api_key": "sk-gw",
                                                                "voice": "alloy"}, headers={"authorization": "x"})
    assert (upstream.url, dict(upstream.headers)) == (url, {"api-key": "az"})


def test_openai_sessions_carry_the_deployment_key_and_the_beta_header() -> None:
    target = Target(provider="openai", model="gpt-realtime", api_key="sk-up", extra={"organization": "org-1"})
    upstream = OpenAIRealtime().realtime_upstream(target, query={"model": "group"},
                                                  headers={"openai-beta": "realtime=v1", "authorization": "sk-gw"})
    assert upstream.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert dict(upstream.headers) == {"openai-beta": "realtime=v1", "Authorization": "Bearer sk-up",
                                      "OpenAI-Organization": "org-1"}
