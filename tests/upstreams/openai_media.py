"""OpenAI's images and audio APIs as a recording mock (also Azure's deployment paths and Groq's `/openai/v1`).

It answers by path suffix, so one server stands in for OpenAI, Azure and Groq (tests assert the path and auth
header each got). Multipart bodies are parsed with the standard library's MIME parser and checked as OpenAI
checks them: the declared length matches, `model` and the file are there, unknown fields are refused.
"""
from __future__ import annotations

import base64
import io
import threading
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from tests.upstreams.recording import Recorded, RecordingServer, Reply

GENERATION_FIELDS = {"model", "prompt", "n", "size", "quality", "response_format", "style", "user", "background",
                     "output_format", "output_compression", "moderation"}
TRANSCRIPTION_FIELDS = {"model", "language", "prompt", "response_format", "temperature", "timestamp_granularities[]",
                        "include[]", "chunking_strategy", "stream"}
TRANSLATION_FIELDS = {"model", "prompt", "response_format", "temperature"}  # no language: the output is English
RESPONSE_FORMATS = {"json", "text", "srt", "verbose_json", "vtt"}
SPEECH_FIELDS = {"model", "input", "voice", "response_format", "speed", "instructions", "stream_format"}
TOKEN_MODELS = ("gpt-image-1",)  # answered with token usage, as OpenAI does


@dataclass(frozen=True, slots=True)
class Part:
    name: str
    filename: str | None
    content_type: str
    data: bytes


def parts(request: Recorded) -> list[Part]:
    """The multipart body's parts, in order (asserting it is one)."""
    kind = request.headers.get("content-type", "")
    assert kind.startswith("multipart/form-data; boundary="), f"not a multipart upload: {kind!r}"
    message = BytesParser(policy=HTTP).parsebytes(f"Content-Type: {kind}\r\n\r\n".encode() + request.body)
    assert isinstance(message, EmailMessage) and message.is_multipart(), "the multipart body did not parse"
    found = []
    for part in message.iter_parts():
        assert isinstance(part, EmailMessage)
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True)
        assert isinstance(name, str) and isinstance(data, bytes)
        found.append(Part(name, part.get_filename(), part.get_content_type(), data))
    return found


def fields_of(found: list[Part]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for part in found:
        if part.filename is None:
            fields.setdefault(part.name, []).append(part.data.decode())
    return fields


def refused(name: str) -> Reply:
    return Reply.json(400, {"error": {"message": f"Unrecognized request argument supplied: {name}",
                                      "type": "invalid_request_error", "param": name, "code": None}})


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data), "rb") as audio:
        return audio.getnframes() / audio.getframerate()


def image_data(prompt: str, n: int, response_format: str) -> list[dict[str, Any]]:
    if response_format == "url":
        return [{"url": f"https://images.example/{i}.png", "revised_prompt": prompt} for i in range(n)]
    return [{"b64_json": base64.b64encode(f"png:{prompt}:{i}".encode()).decode()} for i in range(n)]


def images_answer(model: str, prompt: str, n: int, response_format: str) -> Reply:
    body: dict[str, Any] = {"created": 1_700_000_000, "data": image_data(prompt, n, response_format)}
    if model.startswith(TOKEN_MODELS):
        body["usage"] = {"input_tokens": 20, "output_tokens": 4160 * n, "total_tokens": 20 + 4160 * n,
                         "input_tokens_details": {"text_tokens": 20, "image_tokens": 0}}
    return Reply.json(200, body)


def generation(request: Recorded) -> Reply:
    body = request.json()
    unknown = sorted(set(body) - GENERATION_FIELDS)
    if unknown:
        return refused(unknown[0])
    return images_answer(body["model"], body["prompt"], body.get("n", 1), body.get("response_format", "url"))


def edit(request: Recorded) -> Reply:
    found = parts(request)
    fields = fields_of(found)
    unknown = sorted(set(fields) - GENERATION_FIELDS)
    if unknown:
        return refused(unknown[0])
    images = [part for part in found if part.name in ("image", "image[]")]
    assert images and fields.get("model") and fields.get("prompt"), "an edit needs model, prompt and image"
    assert all(part.content_type.startswith("image/") for part in images), [p.content_type for p in images]
    prompt = f"{fields['prompt'][0]}|{'+'.join(f'{p.filename}:{len(p.data)}' for p in images)}"
    masks = [part for part in found if part.name == "mask"]
    if masks:
        prompt += f"|mask:{len(masks[0].data)}"
    return images_answer(fields["model"][0], prompt, int(fields.get("n", ["1"])[0]),
                         fields.get("response_format", ["url"])[0])


def check_transcription_fields(fields: dict[str, list[str]]) -> None:
    """The field values as OpenAI checks them: one of each (but granularities), known formats, a temperature in
    [0, 1], an ISO-639-1 language, and timestamp granularities only with verbose_json."""
    assert fields.get("model"), "a transcription needs a model"
    assert all(len(values) == 1 for name, values in fields.items() if name != "timestamp_granularities[]"), fields
    response_format = fields.get("response_format", ["json"])[0]
    assert response_format in RESPONSE_FORMATS, response_format
    if "temperature" in fields:
        assert 0.0 <= float(fields["temperature"][0]) <= 1.0, fields["temperature"]
    if "language" in fields:
        assert len(fields["language"][0]) == 2 and fields["language"][0].isalpha(), fields["language"]
    granularities = fields.get("timestamp_granularities[]", [])
    assert set(granularities) <= {"word", "segment"}, granularities
    assert not granularities or response_format == "verbose_json", "timestamp_granularities need verbose_json"


def transcript(request: Recorded) -> Reply:
    found = parts(request)
    fields = fields_of(found)
    allowed = TRANSLATION_FIELDS if request.path.endswith("translations") else TRANSCRIPTION_FIELDS
    unknown = sorted(set(fields) - allowed)
    if unknown:
        return refused(unknown[0])
    [audio] = [part for part in found if part.name == "file"]
    check_transcription_fields(fields)
    seconds = wav_seconds(audio.data)
    text = f"{'translated' if request.path.endswith('translations') else 'heard'} {audio.filename} {len(audio.data)}"
    return transcript_reply(fields.get("response_format", ["json"])[0], text, seconds, fields["model"][0])


def stamp(seconds: float, separator: str) -> str:
    millis = round(seconds * 1000)
    return f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}{separator}{millis % 1000:03d}"


def transcript_reply(response_format: str, text: str, seconds: float, model: str) -> Reply:
    if response_format == "text":
        return Reply(200, {"Content-Type": "text/plain; charset=utf-8"}, f"{text}\n".encode())
    if response_format == "srt":
        cue = f"1\n{stamp(0, ',')} --> {stamp(seconds, ',')}\n{text}\n\n"
        return Reply(200, {"Content-Type": "text/plain; charset=utf-8"}, cue.encode())
    if response_format == "vtt":
        cue = f"WEBVTT\n\n{stamp(0, '.')} --> {stamp(seconds, '.')}\n{text}\n\n"
        return Reply(200, {"Content-Type": "text/plain; charset=utf-8"}, cue.encode())
    if response_format == "verbose_json":
        return Reply.json(200, {"task": "transcribe", "language": "english", "duration": seconds, "text": text,
                                "segments": [{"id": 0, "start": 0.0, "end": seconds, "text": text}]})
    if model.startswith("gpt-4o"):
        return Reply.json(200, {"text": text, "usage": {"type": "tokens", "input_tokens": 120, "output_tokens": 30,
                                                        "total_tokens": 150,
                                                        "input_token_details": {"audio_tokens": 100,
                                                                                "text_tokens": 20}}})
    return Reply.json(200, {"text": text, "usage": {"type": "duration", "seconds": round(seconds)}})


class Gate:
    """Holds a streamed answer after its first piece until the test opens it (or `timeout` seconds pass)."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.opened = threading.Event()
        self.timeout = timeout

    def pieces(self, audio: list[bytes]) -> Iterator[bytes]:
        yield audio[0]
        self.opened.wait(timeout=self.timeout)
        yield from audio[1:]


def speech_audio(text: str) -> list[bytes]:
    """The mock's 'audio' for `text`: three pieces the test can recognise."""
    return [b"ID3" + text.encode(), b"|frame-1|" * 100, b"|frame-2|" * 100]


class OpenAIMediaUpstream(RecordingServer):
    """Answers OpenAI's images and audio calls; `gate` holds speech after its first piece when set."""

    def __init__(self) -> None:
        super().__init__(self.respond)
        self.gate: Gate | None = None
        self.replies: list[Reply] = []
        self.by_path: dict[str, Reply] = {}

    def reset(self) -> None:
        super().reset()
        self.replies.clear()
        self.by_path.clear()

    def reply_with(self, *replies: Reply) -> None:
        """Answer the next requests with these, in order, then as the API would again."""
        self.replies.extend(replies)

    def always_for_path(self, path: str, reply: Reply) -> None:
        """Answer every request to `path` with `reply` until reset."""
        self.by_path[path] = reply

    def respond(self, request: Recorded) -> Reply:
        path = request.path
        if path in self.by_path:
            return self.by_path[path]
        if self.replies:
            return self.replies.pop(0)
        if path.endswith("/images/generations"):
            return generation(request)
        if path.endswith("/images/edits"):
            return edit(request)
        if path.endswith(("/audio/transcriptions", "/audio/translations")):
            return transcript(request)
        if path.endswith("/audio/speech"):
            return self.speech(request)
        return Reply.json(404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}})

    def speech(self, request: Recorded) -> Reply:
        body = request.json()
        unknown = sorted(set(body) - SPEECH_FIELDS)
        if unknown:
            return refused(unknown[0])
        audio = speech_audio(body["input"])
        gate = self.gate
        return Reply.stream(gate.pieces(audio) if gate else audio, "audio/mpeg")  # type: ignore[arg-type]
