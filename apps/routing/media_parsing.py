"""Request checks for the images and audio endpoints: JSON bodies (generations, speech) and multipart forms
(edits, transcriptions, translations), each with a clear 400 naming the field."""
from __future__ import annotations

from typing import Any

from apps.core.errors import InvalidRequest
from apps.core.uploads import Form, UploadedFile
from apps.providers.audio import RESPONSE_FORMATS, SPEECH_TYPES, AudioTask, SpeechCall, TranscriptionCall
from apps.providers.images import ImageCall
from apps.routing.parsing import GATEWAY_FIELDS, CallOptions, call_options, check_type, parse_json_object, require_model

IMAGE_FIELDS = frozenset({"model", "prompt", "n", "size", "quality", "response_format"})
IMAGE_FORMATS = ("url", "b64_json")
AUDIO_EXTENSIONS = ("flac", "m4a", "mp3", "mp4", "mpeg", "mpga", "oga", "ogg", "opus", "wav", "webm", "aac", "amr")
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "webp")
SPEECH_FIELDS = frozenset({"model", "input", "voice", "response_format"})
MAX_SPEECH_CHARS = 4096  # OpenAI's limit on `input`


def missing(name: str, what: str) -> InvalidRequest:
    return InvalidRequest(f"'{name}' is required: {what}.", param=name, code="missing_required_parameter")


def image_options(body: dict[str, Any]) -> dict[str, Any]:
    """n, size, quality and response_format, type-checked."""
    n = body.get("n", 1)
    check_type("n", n, (int,))
    if n is None or not 1 <= n <= 10:
        raise InvalidRequest("Invalid value for 'n': must be between 1 and 10.", param="n", code="invalid_value")
    for name in ("size", "quality", "response_format"):
        check_type(name, body.get(name), (str,))
    response_format = body.get("response_format") or ""
    if response_format and response_format not in IMAGE_FORMATS:
        raise InvalidRequest(f"Invalid value for 'response_format': {response_format!r}; use 'url' or 'b64_json'.",
                             param="response_format", code="invalid_value")
    return {"n": n, "size": body.get("size") or "", "quality": body.get("quality") or "",
            "response_format": response_format}


def parse_image_request(raw: bytes) -> tuple[ImageCall, CallOptions]:
    """A `/v1/images/generations` body as an ImageCall."""
    body = parse_json_object(raw)
    model = require_model(body)
    prompt = body.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise missing("prompt", "a text description of the image") if prompt is None else InvalidRequest(
            "'prompt' must be a non-empty string.", param="prompt", code="invalid_value")
    params = {k: v for k, v in body.items() if k not in IMAGE_FIELDS and k not in GATEWAY_FIELDS}
    return ImageCall(model=model, prompt=prompt, params=params, **image_options(body)), call_options(body)


def form_model(form: Form) -> str:
    model = form.value("model")
    if not model or not model.strip():
        raise InvalidRequest("you must provide a model parameter", param="model", code="missing_required_parameter")
    return model


def form_options(form: Form) -> CallOptions:
    """Routing options from form fields (`num_retries`, `timeout`; `fallbacks` as repeated fields)."""
    body: dict[str, Any] = {}
    if (retries := form.value("num_retries")) is not None:
        body["num_retries"] = int(retries) if retries.isdigit() else retries
    if (timeout := form.value("timeout")) is not None:
        try:
            body["timeout"] = float(timeout)
        except ValueError:
            body["timeout"] = timeout
    if form.fields.get("fallbacks"):
        body["fallbacks"] = form.fields["fallbacks"]
    return call_options(body)


def checked_file(upload: UploadedFile, *, name: str, kinds: tuple[str, ...], extensions: tuple[str, ...]) -> UploadedFile:
    """The upload when its type or extension is one the endpoint takes, else a 400 listing them."""
    extension = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    if upload.content_type.split(";")[0].strip().lower().startswith(kinds) or extension in extensions:
        if upload.size == 0:
            raise InvalidRequest(f"The file in '{name}' is empty.", param=name, code="invalid_value")
        return upload
    raise InvalidRequest(f"Invalid file format for '{name}' ({upload.content_type}, {upload.filename!r}). Supported "
                         f"formats: {list(extensions)}", param=name, code="invalid_file_format")


def text_params(form: Form, known: frozenset[str]) -> dict[str, list[str]]:
    return {name: values for name, values in form.fields.items() if name not in known and name not in GATEWAY_FIELDS}


def parse_transcription_form(form: Form, task: AudioTask) -> tuple[TranscriptionCall, CallOptions]:
    """A transcription or translation form as a TranscriptionCall (the file stays in its spool)."""
    model = form_model(form)
    files = form.files_named("file")
    if not files:
        raise missing("file", "the audio file to transcribe, as a multipart file part")
    upload = checked_file(files[0], name="file", kinds=("audio/", "video/"), extensions=AUDIO_EXTENSIONS)
    response_format = form.value("response_format") or "json"
    if response_format not in RESPONSE_FORMATS:
        raise InvalidRequest(f"Invalid value for 'response_format': {response_format!r}; supported: "
                             f"{list(RESPONSE_FORMATS)}", param="response_format", code="invalid_value")
    params = text_params(form, frozenset({"model", "fallbacks", "num_retries", "timeout"}))
    return TranscriptionCall(model=model, file=upload, task=task, response_format=response_format,
                             params=params), form_options(form)


def parse_image_edit_form(form: Form) -> tuple[ImageCall, CallOptions]:
    """An `/v1/images/edits` form as an ImageCall holding its images (and mask)."""
    model = form_model(form)
    prompt = form.value("prompt")
    if not prompt or not prompt.strip():
        raise missing("prompt", "a text description of the edit")
    images = [checked_file(upload, name="image", kinds=("image/",), extensions=IMAGE_EXTENSIONS)
              for upload in form.files_named("image", "image[]")]
    if not images:
        raise missing("image", "the image to edit, as a multipart file part")
    masks = form.files_named("mask")
    mask = checked_file(masks[0], name="mask", kinds=("image/",), extensions=IMAGE_EXTENSIONS) if masks else None
    body: dict[str, Any] = {name: form.value(name) for name in ("size", "quality", "response_format")}
    n = form.value("n")
    body["n"] = int(n) if n is not None and n.isdigit() else (1 if n is None else n)
    params = {name: values[-1] for name, values in
              text_params(form, IMAGE_FIELDS | {"fallbacks", "num_retries", "timeout"}).items()}
    return ImageCall(model=model, prompt=prompt, params=params, images=tuple(images), mask=mask,
                     **image_options(body)), form_options(form)


def parse_speech_request(raw: bytes) -> tuple[SpeechCall, CallOptions]:
    """A `/v1/audio/speech` body as a SpeechCall."""
    body = parse_json_object(raw)
    model = require_model(body)
    text = body.get("input")
    if not isinstance(text, str) or not text:
        raise missing("input", "the text to speak") if text is None else InvalidRequest(
            "'input' must be a non-empty string.", param="input", code="invalid_value")
    if len(text) > MAX_SPEECH_CHARS:
        raise InvalidRequest(f"'input' is longer than {MAX_SPEECH_CHARS} characters.", param="input",
                             code="string_above_max_length")
    response_format = body.get("response_format") or ""
    if response_format and response_format not in SPEECH_TYPES:
        raise InvalidRequest(f"Invalid value for 'response_format': {response_format!r}; supported: "
                             f"{list(SPEECH_TYPES)}", param="response_format", code="invalid_value")
    params = {k: v for k, v in body.items() if k not in SPEECH_FIELDS and k not in GATEWAY_FIELDS}
    return SpeechCall(model=model, input=text, voice=body.get("voice"), response_format=response_format,
                      params=params), call_options(body)
