"""The images and audio phases: `/v1/images/generations`, `/v1/audio/transcriptions` (a multipart upload of a
one-second WAV) and `/v1/audio/speech`, each at a fixed k6 rate against the mock upstream's canned answers."""
from __future__ import annotations

import io
import json
import wave
from collections.abc import Callable
from functools import partial
from typing import Any

from bench import loadgen
from bench.gateway import MODEL

BOUNDARY = "tollgate-bench-boundary"


def one_second_wav() -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\0\0" * 8000)
    return out.getvalue()


def multipart(fields: dict[str, str], filename: str, data: bytes, kind: str) -> bytes:
    parts = [f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    parts.append(f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 f"Content-Type: {kind}\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


IMAGE_BODY = json.dumps({"model": MODEL, "prompt": "a lighthouse at dusk", "response_format": "b64_json"}).encode()
TRANSCRIPTION_BODY = multipart({"model": MODEL}, "speech.wav", one_second_wav(), "audio/wav")
SPEECH_BODY = json.dumps({"model": MODEL, "input": "Hello from the benchmark.", "voice": "alloy"}).encode()
# kind -> (path, body, content type)
MEDIA_PHASES = {
    "images": ("/v1/images/generations", IMAGE_BODY, "application/json"),
    "transcription": ("/v1/audio/transcriptions", TRANSCRIPTION_BODY, f"multipart/form-data; boundary={BOUNDARY}"),
    "speech": ("/v1/audio/speech", SPEECH_BODY, "application/json"),
}


def media_runs(*, base_url: str, headers: dict[str, str], rates: list[int],
               duration: float) -> list[tuple[str, Callable[[], loadgen.LoadResult]]]:
    """(kind, run) for every media endpoint at every rate, with the body's own content type."""
    runs: list[tuple[str, Callable[[], Any]]] = []
    for kind, (path, body, content_type) in MEDIA_PHASES.items():
        for rate in rates:
            runs.append((kind, partial(loadgen.run_k6, url=base_url + path, body=body, rate=rate, duration=duration,
                                       headers={**headers, "Content-Type": content_type})))
    return runs
