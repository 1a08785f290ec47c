"""The bench's images and audio phases: bodies the gateway accepts, the mock's canned answers, the report's rows."""
from __future__ import annotations

import json

from apps.core.uploads import read_form
from bench import mock_upstream, report
from bench.media import MEDIA_PHASES, TRANSCRIPTION_BODY, media_runs
from bench.run import parse_args, plan_for


async def test_the_transcription_body_is_a_form_with_model_and_a_wav() -> None:
    _, body, content_type = MEDIA_PHASES["transcription"]

    async def pieces():  # type: ignore[no-untyped-def]
        yield body

    form = await read_form(pieces(), content_type, limit=1_000_000)
    [upload] = form.files
    assert (form.fields, upload.filename, upload.content_type, upload.head(4)) == (
        {"model": ["bench-gpt"]}, "speech.wav", "audio/wav", b"RIFF")
    assert len(TRANSCRIPTION_BODY) < 20_000


def test_the_mock_answers_each_media_path() -> None:
    for path, answer in (("/v1/images/generations", mock_upstream.IMAGES),
                         ("/v1/audio/transcriptions", mock_upstream.TRANSCRIPT),
                         ("/v1/audio/speech", mock_upstream.SPEECH)):
        assert mock_upstream.answer(f"POST {path} HTTP/1.1\r\nhost: x".encode(), b"{}") is answer
    head, _, body = mock_upstream.TRANSCRIPT.partition(b"\r\n\r\n")
    assert json.loads(body)["usage"] == {"type": "duration", "seconds": 1}


def test_every_media_endpoint_runs_at_the_planned_rates_with_its_content_type() -> None:
    plan = plan_for(parse_args(["--quick"]))
    runs = media_runs(base_url="http://gw", headers={"Authorization": "Bearer k", "Content-Type": "application/json"},
                      rates=plan.media_rates, duration=1)
    assert [kind for kind, _ in runs] == ["images", "transcription", "speech"]
    assert [run.keywords["url"] for _, run in runs] == [  # type: ignore[attr-defined]
        "http://gw/v1/images/generations", "http://gw/v1/audio/transcriptions", "http://gw/v1/audio/speech"]
    assert runs[1][1].keywords["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")  # type: ignore[attr-defined]
    assert plan.media_rates == [500]


def test_media_rows_are_compared_with_chat_at_the_same_rate() -> None:
    def row(kind: str, cpu: float) -> dict[str, object]:
        return {"target": "gateway-key", "kind": kind, "tool": "k6", "target_rate": 500, "achieved_rate": 499.0,
                "p50_ms": 1.0, "p99_ms": 3.0, "errors": 0, "cpu_ms_per_call": {"gateway": cpu}}

    table = report.media_table([row("chat", 0.5), row("images", 0.6), row("transcription", 1.0)])
    assert table[:2] == ["/v1/images/generations:", ""]
    assert table[4] == "| gateway-key | k6 | 500/s fixed | 499 | 1.00 / 3.00 | 0 | 0.600 | 0.500 | 1.20x |"
    assert table[6:8] == ["/v1/audio/transcriptions (a 1 s WAV upload):", ""]
    assert table[10] == "| gateway-key | k6 | 500/s fixed | 499 | 1.00 / 3.00 | 0 | 1.000 | 0.500 | 2.00x |"
