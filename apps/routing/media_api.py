"""The images and audio endpoints (`/v1/images/*`, `/v1/audio/*`, also without `/v1`), as LiteLLM serves them."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from apps.core.http import read_body, request_id
from apps.core.responses import json_response, set_headers
from apps.core.uploads import Form, request_form
from apps.routing.audio_calls import speech, transcription
from apps.routing.deployment_paths import PATH_MODEL, named_in_path
from apps.routing.headers import served_headers
from apps.routing.images_calls import images
from apps.routing.media_parsing import (
    parse_image_edit_form,
    parse_image_request,
    parse_speech_request,
    parse_transcription_form,
)
from apps.teams.auth import authenticate


async def image_generations(request: HttpRequest) -> HttpResponse:
    rid = request_id(request)
    principal = await authenticate(request.META)
    call, options = parse_image_request(read_body(request))
    served = await images(principal, call, options, request_id=rid)
    return json_response(served.value.body, headers=served_headers(rid, served))


async def uploaded(request: HttpRequest, parse: Callable[[Form], Any]) -> tuple[Form, Any]:
    """The request's form (read as it arrives, after the key is checked) and its parsed call; on Azure's paths the
    path's model group replaces the form's `model`."""
    form = await request_form(request, limit=settings.TOLLGATE_MAX_UPLOAD_BYTES)
    if (named := request.META.get(PATH_MODEL)) is not None:
        form.fields["model"] = [named]
    try:
        return form, parse(form)
    except BaseException:
        form.close()
        raise


async def image_edits(request: HttpRequest) -> HttpResponse:
    rid = request_id(request)
    principal = await authenticate(request.META)
    form, (call, options) = await uploaded(request, parse_image_edit_form)
    try:
        served = await images(principal, call, options, request_id=rid)
    finally:
        form.close()
    return json_response(served.value.body, headers=served_headers(rid, served))


async def audio_upload(request: HttpRequest, task: str) -> HttpResponse:
    rid = request_id(request)
    principal = await authenticate(request.META)
    form, (call, options) = await uploaded(request, lambda form: parse_transcription_form(form, task))  # type: ignore[arg-type]
    try:
        served = await transcription(principal, call, options, request_id=rid)
    finally:
        form.close()
    response = HttpResponse(served.value.body, content_type=served.value.content_type)
    set_headers(response, served_headers(rid, served))
    return response


async def audio_transcriptions(request: HttpRequest) -> HttpResponse:
    return await audio_upload(request, "transcription")


async def audio_translations(request: HttpRequest) -> HttpResponse:
    return await audio_upload(request, "translation")


async def audio_speech(request: HttpRequest) -> StreamingHttpResponse:
    rid = request_id(request)
    principal = await authenticate(request.META)
    call, options = parse_speech_request(read_body(request))
    served = await speech(principal, call, options, request_id=rid)
    response = StreamingHttpResponse(served.value.pieces(), content_type=served.value.content_type)
    set_headers(response, {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **served_headers(rid, served)})
    return response


def deployment_view(view: Callable[[HttpRequest], Any]) -> Callable[..., Any]:
    """`view` on Azure's `/openai/deployments/{model}/...` paths, where the path names the model group."""
    async def named(request: HttpRequest, model: str) -> Any:
        request.META[PATH_MODEL] = model
        named_in_path(request, model)
        return await view(request)
    named.__name__ = f"deployment_{view.__name__}"
    return named


# (path under /v1 and bare, method, view)
MEDIA_ROUTES = [
    ("/images/generations", "POST", image_generations),
    ("/images/edits", "POST", image_edits),
    ("/audio/transcriptions", "POST", audio_transcriptions),
    ("/audio/translations", "POST", audio_translations),
    ("/audio/speech", "POST", audio_speech),
]

# Azure OpenAI's paths under `/openai/deployments/{model}` (what `openai.AzureOpenAI` calls).
MEDIA_DEPLOYMENT_ROUTES = [(path, method, deployment_view(view)) for path, method, view in MEDIA_ROUTES]
