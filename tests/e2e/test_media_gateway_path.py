"""Images and audio on the gateway path: bad input refused with a clear 4xx (and the process keeps serving), the
upload limit's 413, key permissions, budgets, retries and fallbacks, on the bare paths too."""
from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import openai
import pytest

from apps.routing.models import Deployment
from apps.teams.services import key_update
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.e2e.media_fixtures import media, media_server, wav  # noqa: F401 - fixtures
from tests.teams.conftest import client, make_key, wait_for_spend_rows
from tests.upstreams.openai_media import OpenAIMediaUpstream
from tests.upstreams.recording import Reply

AUDIO = ("a.wav", wav(1), "audio/wav")


def still_serving(http: httpx.Client) -> None:
    answer = http.post("/v1/images/generations", json={"model": "dalle", "prompt": "still here"})
    assert answer.status_code == 200, answer.text


BAD_UPLOADS = [
    pytest.param("/v1/audio/transcriptions", {"model": "whisper"}, {}, 400, "file", id="no_file_case"),
    pytest.param("/v1/audio/transcriptions", {}, {"file": AUDIO}, 400, "model", id="no_model_case"),
    pytest.param("/v1/audio/transcriptions", {"model": "whisper"}, {"file": ("notes.txt", b"hello", "text/plain")},
                 400, "file", id="text_file_case"),
    pytest.param("/v1/audio/transcriptions", {"model": "whisper"}, {"file": ("a.wav", b"", "audio/wav")}, 400,
                 "file", id="empty_file_case"),
    pytest.param("/v1/audio/transcriptions", {"model": "whisper", "response_format": "xml"}, {"file": AUDIO}, 400,
                 "response_format", id="unknown_format_case"),
    pytest.param("/v1/audio/transcriptions", {"model": "chat"}, {"file": AUDIO}, 400, "model",
                 id="chat_model_case"),
    pytest.param("/v1/audio/translations", {"model": "nope"}, {"file": AUDIO}, 404, "model",
                 id="unknown_model_case"),
    pytest.param("/v1/images/edits", {"model": "dalle"}, {"image": ("a.png", b"png", "image/png")}, 400, "prompt",
                 id="edit_without_prompt_case"),
    pytest.param("/v1/images/edits", {"model": "dalle", "prompt": "x"}, {}, 400, "image", id="edit_no_image_case"),
    pytest.param("/v1/images/edits", {"model": "dalle", "prompt": "x"}, {"image": AUDIO}, 400, "image",
                 id="edit_with_audio_case"),
    pytest.param("/v1/images/edits", {"model": "groq-whisper", "prompt": "x"},
                 {"image": ("a.png", b"png", "image/png")}, 400, "model", id="provider_without_edits_case"),
]


@pytest.mark.parametrize(("path", "data", "files", "status", "param"), BAD_UPLOADS)
def test_bad_uploads_are_refused_and_the_process_keeps_serving(media: OpenAIMediaUpstream, http: httpx.Client,
                                                               path: str, data: dict[str, str], files: dict[str, Any],
                                                               status: int, param: str | None) -> None:
    answer = http.post(path, data=data, files=files or {"other": ("x.bin", b"x", "application/octet-stream")})
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["param"] == param
    assert media.requests == []
    still_serving(http)


def test_a_model_without_the_audio_api_is_named(media: OpenAIMediaUpstream, http: httpx.Client) -> None:
    answer = http.post("/v1/audio/speech", json={"model": "groq-whisper", "input": "hi"})
    assert answer.status_code == 400
    assert answer.json()["error"]["message"] == ("The model `groq-whisper` is served by provider 'groq', which has "
                                                 "no audio speech API.")


def test_json_content_type_on_an_upload_path_is_refused(media: OpenAIMediaUpstream, http: httpx.Client) -> None:
    answer = http.post("/v1/audio/transcriptions", json={"model": "whisper", "file": "a.wav"})
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_content_type"
    still_serving(http)


def test_an_upload_over_the_limit_gets_413_naming_it(media: OpenAIMediaUpstream, tmp_path: Any,
                                                     django_db_blocker: Any) -> None:
    server = GatewayProcess(extra_env={"TOLLGATE_MAX_UPLOAD_BYTES": "100000"}, log_dir=tmp_path)
    try:
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {MASTER_KEY}"}, timeout=30) as http:
            answer = http.post("/v1/audio/transcriptions", data={"model": "whisper"},
                               files={"file": ("long.wav", wav(10), "audio/wav")})
            assert answer.status_code == 413
            assert answer.json()["error"]["message"] == ("The upload is larger than the limit of 100000 bytes "
                                                         "(TOLLGATE_MAX_UPLOAD_BYTES).")
            fits = http.post("/v1/audio/transcriptions", data={"model": "whisper"},
                             files={"file": ("short.wav", wav(1), "audio/wav")})
            assert fits.status_code == 200, fits.text
    finally:
        server.stop()
    assert len(media.requests) == 1


def test_bare_paths_serve_as_v1_does(media: OpenAIMediaUpstream, gateway: GatewayProcess) -> None:
    bare = openai.OpenAI(api_key=MASTER_KEY, base_url=gateway.url, max_retries=0, timeout=30)
    assert bare.images.generate(model="dalle", prompt="p").data[0].url == "https://images.example/0.png"
    assert bare.audio.transcriptions.create(model="whisper", file=AUDIO).text == "heard a.wav 16044"


def test_model_permissions_and_budgets_apply(media: OpenAIMediaUpstream, gateway: GatewayProcess) -> None:
    _, whisper_only = make_key(None, None, allowed_models=["whisper"])
    with client(gateway, whisper_only) as caller:
        forbidden = caller.post("/v1/images/generations", json={"model": "dalle", "prompt": "p"})
        assert forbidden.status_code == 401 and forbidden.json()["error"]["param"] == "model"
        assert caller.post("/v1/audio/transcriptions", data={"model": "whisper"}, files={"file": AUDIO}).status_code == 200
    key, poor = make_key(None, None, max_budget=0.05)
    key_update(key=key, fields={"spend": Decimal("0.05")})
    with client(gateway, poor) as caller:
        refused = caller.post("/v1/images/generations", json={"model": "dalle", "prompt": "p", "n": 2,
                                                               "quality": "hd"})
    assert refused.status_code == 400 and refused.json()["error"]["type"] == "budget_exceeded"
    assert [request.path for request in media.requests] == ["/v1/audio/transcriptions"]


def test_a_budget_spent_refuses_speech_and_transcription_before_the_upstream(media: OpenAIMediaUpstream,
                                                                             gateway: GatewayProcess) -> None:
    key, poor = make_key(None, None, max_budget=0.01)
    key_update(key=key, fields={"spend": Decimal("0.01")})
    with client(gateway, poor) as caller:
        speech = caller.post("/v1/audio/speech", json={"model": "tts", "input": "hello", "voice": "alloy"})
        heard = caller.post("/v1/audio/transcriptions", data={"model": "whisper"}, files={"file": AUDIO})
    for refused in (speech, heard):
        assert refused.status_code == 400, refused.text
        assert (refused.json()["error"]["type"], set(refused.json()["error"])) == (
            "budget_exceeded", {"message", "type", "param", "code"})
    assert media.requests == []
    rows = wait_for_spend_rows(2, key_id=key.id, status="refused")
    assert sorted(row.call_type for row in rows) == ["audio_speech", "audio_transcription"]


def test_a_failed_upload_is_retried_with_the_whole_file(media: OpenAIMediaUpstream, http: httpx.Client) -> None:
    media.reply_with(Reply.json(503, {"error": {"message": "overloaded", "type": "server_error"}}))
    answer = http.post("/v1/audio/transcriptions", data={"model": "whisper", "num_retries": "1"},
                       files={"file": AUDIO})
    assert answer.status_code == 200, answer.text
    assert answer.headers["x-tollgate-attempts"] == "2"
    first, second = media.requests
    assert AUDIO[1] in first.body and AUDIO[1] in second.body
    rows = wait_for_spend_rows(2, request_id=answer.headers["x-request-id"])
    assert [(row.attempt, row.status) for row in rows] == [(1, "failure"), (2, "success")]


def test_a_failing_group_falls_back_to_another(media: OpenAIMediaUpstream, http: httpx.Client) -> None:
    media.always_for_path("/v1/images/generations", Reply.json(500, {"error": {"message": "boom"}}))
    answer = http.post("/v1/images/generations", json={"model": "dalle", "prompt": "p",
                                                       "fallbacks": ["azure-dalle"]})
    assert answer.status_code == 200, answer.text
    assert (answer.headers["x-litellm-attempted-fallbacks"], answer.headers["x-litellm-model-group"]) == (
        "1", "azure-dalle")


def test_a_hang_up_during_generation_cancels_the_upstream_call(media: OpenAIMediaUpstream,
                                                               gateway: GatewayProcess) -> None:
    media.reply_with(Reply(stall=True))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{gateway.url}/v1/images/generations", headers={"Authorization": f"Bearer {MASTER_KEY}"},
                   timeout=1, json={"model": "dalle", "prompt": "p"})
    assert media.hangup_event.wait(10)


IMAGE = ("a.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "image/png")
UPLOAD_HANG_UPS = [
    pytest.param("/v1/images/edits", {"model": "dalle", "prompt": "p"}, {"image": IMAGE}, IMAGE[1], id="edits_case"),
    pytest.param("/v1/audio/transcriptions", {"model": "whisper"}, {"file": AUDIO}, AUDIO[1],
                 id="transcriptions_case"),
    pytest.param("/v1/audio/translations", {"model": "whisper"}, {"file": AUDIO}, AUDIO[1], id="translations_case"),
]


@pytest.mark.parametrize(("path", "data", "files", "sent"), UPLOAD_HANG_UPS)
def test_a_hang_up_after_the_upload_cancels_the_upstream_call_and_bills_nothing(
        media: OpenAIMediaUpstream, gateway: GatewayProcess, path: str, data: dict[str, str], files: dict[str, Any],
        sent: bytes) -> None:
    """The whole upload reached the upstream, which works on it; the client leaving then closes that call, no
    spend is booked for it (the next call's row is the key's only one) and its reservation is freed."""
    slow = Deployment.objects.get(model_name=data["model"])
    slow.timeout = 120  # the upstream call may end only by the client leaving, never by its own timeout
    slow.save()
    key, secret = make_key(None, None, max_budget=1.0)
    media.reply_with(Reply(stall=True))
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{gateway.url}{path}", headers={"Authorization": f"Bearer {secret}"}, timeout=1, data=data,
                   files=files)
    assert media.hangup_event.wait(10)
    [seen] = media.requests
    assert seen.path == path and sent in seen.body
    with client(gateway, secret) as caller:
        answer = caller.post(path, data=data, files=files)
    assert answer.status_code == 200, answer.text
    rows = wait_for_spend_rows(1, key_id=key.id)
    assert [(row.request_id, row.status) for row in rows] == [(answer.headers["x-request-id"], "success")]


def test_a_client_leaving_mid_upload_reaches_no_upstream_and_the_process_keeps_serving(
        media: OpenAIMediaUpstream, gateway: GatewayProcess, http: httpx.Client) -> None:
    import socket

    body = b"--b\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nwhisper\r\n--b\r\nContent-Disposition: " \
           b"form-data; name=\"file\"; filename=\"a.wav\"\r\nContent-Type: audio/wav\r\n\r\n" + b"\0" * 1000
    head = (f"POST /v1/audio/transcriptions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {MASTER_KEY}\r\n"
            f"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: {len(body) + 100_000}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
        sock.sendall(head.encode() + body)  # promised 100 kB more than it sends, then leaves
    still_serving(http)
    assert [request.path for request in media.requests] == ["/v1/images/generations"]


def test_200_concurrent_image_calls_never_spend_past_the_key_budget(media: OpenAIMediaUpstream,
                                                                    gateway: GatewayProcess) -> None:
    """Each call reserves its image's price before it is sent, so the calls admitted are those that fit while
    anything is left: spend passes the budget by less than one image, however many calls race."""
    import math
    from concurrent.futures import ThreadPoolExecutor

    price = (Decimal("3.81469e-08") * 1024 * 1024).quantize(Decimal("1e-9"), rounding="ROUND_UP")  # ~$0.04
    key, secret = make_key(None, None, max_budget=0.2)

    def call(_: int) -> httpx.Response:
        with client(gateway, secret) as caller:
            return caller.post("/v1/images/generations", json={"model": "dalle", "prompt": "p"})

    with ThreadPoolExecutor(max_workers=50) as pool:
        answers = list(pool.map(call, range(200)))
    served = [answer for answer in answers if answer.status_code == 200]
    refused = [answer for answer in answers if answer.status_code != 200]
    assert len(served) == math.ceil(Decimal("0.2") / price) == 6
    assert {(answer.status_code, answer.json()["error"]["type"]) for answer in refused} == {(400, "budget_exceeded")}
    rows = wait_for_spend_rows(6, key_id=key.id, status="success")
    assert sum(row.cost for row in rows) == 6 * price < Decimal("0.2") + price
    assert len(rows) == 6 and len(media.requests) == 6
