"""Audio calls over the transport: an upload transcribed, or speech opened and read as it arrives."""
from __future__ import annotations

from collections.abc import AsyncIterator

from apps.providers import transport
from apps.providers.audio import (SpeechAdapter, SpeechCall, SpeechUsage, Transcript, TranscriptionAdapter,
                                  TranscriptionCall, audio_adapter)
from apps.providers.base import ProviderAdapter, Target
from apps.providers.transport import RawResponse
from apps.providers.upload_send import send_upload


async def send_transcription(adapter: ProviderAdapter, call: TranscriptionCall, target: Target) -> Transcript:
    """The upstream's transcript of the upload (streamed to it from the spool)."""
    transcriber: TranscriptionAdapter = audio_adapter(adapter, call.model, call.task)
    status, headers, body = await send_upload(adapter, transcriber.translate_transcription(call, target), target)
    return transcriber.parse_transcription(status, headers, body, call)


async def open_speech(adapter: ProviderAdapter, call: SpeechCall, target: Target) -> RawResponse:
    """The upstream's speech answer once its 2xx head is in; its body is read as it arrives."""
    speaker: SpeechAdapter = audio_adapter(adapter, call.model, "speech")
    return await transport.open_stream(adapter, speaker.translate_speech(call, target), target)


def speech_pieces(adapter: ProviderAdapter, response: RawResponse, call: SpeechCall,
                  usage: SpeechUsage) -> AsyncIterator[bytes]:
    """The audio bytes of a speech answer as they arrive (the adapter's `speech_pieces` when its stream is framed,
    which records the stream's reported usage in `usage`)."""
    framed = getattr(adapter, "speech_pieces", None)
    return framed(response, call, usage) if framed is not None else response.aiter_raw()


def speech_type(adapter: ProviderAdapter, response: RawResponse, call: SpeechCall) -> str:
    """The answer's content type: the adapter's for a framed stream, else the upstream's (or the format's)."""
    typed = getattr(adapter, "speech_type", None)
    if typed is not None:
        return str(typed(call))
    return response.headers.get("content-type") or call.content_type
