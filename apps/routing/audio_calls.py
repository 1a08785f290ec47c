"""`/v1/audio/*` without HTTP: transcriptions and translations billed per second of audio (or per token where the
model bills tokens), speech per character (or on the tokens its stream reports) and streamed back as the upstream
sends it; all routed like chat."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace

from apps.providers.audio import SpeechCall, SpeechUsage, Transcript, TranscriptionCall, audio_adapter, file_seconds
from apps.providers.audio_send import open_speech, send_transcription, speech_pieces, speech_type
from apps.providers.base import ProviderAdapter, Usage
from apps.providers.registry import adapter_for
from apps.providers.transport import RawResponse
from apps.routing.calls import target_for
from apps.routing.media_calls import check_supported, media_call, reachable, settle
from apps.routing.media_costs import (seconds_bound, speech_cost, speech_usage_cost, speech_worst_case,
                                     transcription_cost, transcription_worst_case)
from apps.routing.parsing import CallOptions
from apps.routing.router import Served
from apps.routing.snapshot import DeploymentRecord, RoutingTable
from apps.teams.auth import Principal
from apps.teams.metering import Meter


def checker(feature: str) -> Callable[[RoutingTable, TranscriptionCall | SpeechCall], None]:
    def check(table: RoutingTable, call: TranscriptionCall | SpeechCall) -> None:
        check_supported(table, call.model, lambda adapter: adapter.supports(feature),  # type: ignore[arg-type]
                        lambda adapter: audio_adapter(adapter, call.model, feature))
    return check


async def transcription(principal: Principal, call: TranscriptionCall, options: CallOptions, *,
                        request_id: str = "") -> Served[Transcript]:
    """The upload transcribed (or translated) by the first deployment that answers."""
    seconds = seconds_bound(call)

    def worst_case(table: RoutingTable, call: TranscriptionCall) -> int:
        return max([transcription_worst_case(d, seconds) for d in reachable(table, call.model, options)], default=0)

    def attempt_for(call: TranscriptionCall) -> Callable[[DeploymentRecord], Awaitable[Transcript]]:
        async def attempt(deployment: DeploymentRecord) -> Transcript:
            target = target_for(deployment, options)
            return await send_transcription(adapter_for(target.provider), call, target)
        return attempt

    served, meter = await media_call(principal, call, options, call_type=f"audio_{call.task}",
                                     mode="audio_transcription", worst_case=worst_case, attempt=attempt_for,
                                     check=checker(call.task), params=single_values(call), request_id=request_id,
                                     upstream_user=False)
    settle(meter, served.deployment, transcription_cost(served.deployment, served.value, file_seconds(call.file)),
           served.value.usage)
    return served


def single_values(call: TranscriptionCall) -> dict[str, object]:
    return {name: values[-1] for name, values in call.params.items() if values}


@dataclass(slots=True)
class SpeechStream:
    """An open speech answer: `pieces()` yields the audio as it arrives, then settles the call (a hang-up too) on
    the usage the stream reported, else on `cost_nanos`, the estimate from the text."""

    adapter: ProviderAdapter
    response: RawResponse
    call: SpeechCall
    content_type: str
    meter: Meter | None = None
    deployment: DeploymentRecord | None = None
    cost_nanos: int = 0
    reported: SpeechUsage = field(default_factory=SpeechUsage)

    async def pieces(self) -> AsyncIterator[bytes]:
        status = "success"
        try:
            async for piece in speech_pieces(self.adapter, self.response, self.call, self.reported):
                yield piece
        except (asyncio.CancelledError, GeneratorExit):
            status = "cancelled"
            raise
        finally:
            await self.response.aclose()
            if self.meter is not None and self.deployment is not None:
                cost = speech_usage_cost(self.deployment, self.reported)
                self.meter.finish_soon(self.deployment, self.reported.usage or Usage(), price=None,
                                       cost_nanos=self.cost_nanos if cost is None else cost, status=status,
                                       error_type="" if status == "success" else "client_disconnected")


async def speech(principal: Principal, call: SpeechCall, options: CallOptions, *,
                 request_id: str = "") -> Served[SpeechStream]:
    """Speech from the first deployment whose answer starts; its audio is streamed on from there."""
    def worst_case(table: RoutingTable, call: SpeechCall) -> int:
        return max([speech_worst_case(d, call) for d in reachable(table, call.model, options)], default=0)

    def attempt_for(call: SpeechCall) -> Callable[[DeploymentRecord], Awaitable[SpeechStream]]:
        async def attempt(deployment: DeploymentRecord) -> SpeechStream:
            target = target_for(deployment, options)
            adapter = adapter_for(target.provider)
            response = await open_speech(adapter, call, target)
            return SpeechStream(adapter, response, call, speech_type(adapter, response, call))
        return attempt

    served, meter = await media_call(principal, call, options, call_type="audio_speech", mode="audio_speech",
                                     worst_case=worst_case, attempt=attempt_for, check=checker("speech"),
                                     params=call.params, request_id=request_id, upstream_user=False)
    stream = served.value
    stream.meter, stream.deployment = meter, served.deployment
    stream.cost_nanos = speech_cost(served.deployment, call)
    return replace(served, value=stream)
