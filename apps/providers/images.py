"""Image generation and edits (OpenAI's `/v1/images/*` shapes): the calls, the answer, and sending them.

Adapters that make images have `translate_image_request` / `parse_image_response` (generation) and
`translate_image_edit` (edits, a multipart upload); the answer is always OpenAI's ImagesResponse,
`{"created", "data": [{"b64_json" | "url", "revised_prompt"?}], "usage"?}`.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypedDict

from apps.core.errors import InvalidRequest
from apps.core.uploads import UploadedFile
from apps.providers.base import ProviderAdapter, Target, UpstreamRequest, Usage
from apps.providers.upload_body import UploadRequest


class ImageData(TypedDict, total=False):
    b64_json: str
    url: str
    revised_prompt: str


class ImagesBody(TypedDict, total=False):
    created: int
    data: list[ImageData]
    usage: dict[str, Any]
    background: str
    output_format: str
    quality: str
    size: str


@dataclass(frozen=True, slots=True)
class ImageCall:
    """One generation or edit request. `params` holds the fields the gateway does not read itself (style,
    background, output_format, user, ...); an edit's `images` (and `mask`) are the uploaded files."""

    model: str
    prompt: str
    n: int = 1
    size: str = ""
    quality: str = ""
    response_format: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    images: tuple[UploadedFile, ...] = ()
    mask: UploadedFile | None = None

    @property
    def edit(self) -> bool:
        return bool(self.images)


@dataclass(frozen=True, slots=True)
class ImageResult:
    """The ImagesResponse, how many images it holds, and the token usage when the provider bills tokens."""

    body: ImagesBody
    images: int
    usage: Usage | None = None


class ImageAdapter(ProviderAdapter, Protocol):
    def translate_image_request(self, call: ImageCall, target: Target) -> UpstreamRequest: ...

    def parse_image_response(self, status: int, body: bytes, call: ImageCall, target: Target) -> ImageResult: ...


class ImageEditAdapter(ImageAdapter, Protocol):
    def translate_image_edit(self, call: ImageCall, target: Target) -> UploadRequest: ...


class ImagesNotSupported(InvalidRequest):
    code = "unsupported_operation"


def feature_of(call: ImageCall) -> str:
    return "image_edits" if call.edit else "images"


def can_make_images(adapter: ProviderAdapter, call: ImageCall) -> bool:
    return adapter.supports(feature_of(call))  # type: ignore[arg-type]


def image_adapter(adapter: ProviderAdapter, call: ImageCall) -> ImageEditAdapter:
    """The adapter as an image one, or a 400 naming the model and what it lacks."""
    if not can_make_images(adapter, call):
        what = "image edits" if call.edit else "image generation"
        raise ImagesNotSupported(f"The model `{call.model}` is served by provider {adapter.prefix!r}, which has no "
                                 f"{what} API.", param="model")
    return adapter  # type: ignore[return-value]


def images_body(data: list[ImageData], **extra: Any) -> ImagesBody:
    """An ImagesResponse created now."""
    body: ImagesBody = {"created": int(time.time()), "data": data}
    body.update(extra)  # type: ignore[typeddict-item]
    return body


def b64_only(call: ImageCall, provider: str) -> None:
    """A 400 for `response_format: url` where the provider only returns the image bytes."""
    if call.response_format == "url":
        raise InvalidRequest(f"Provider {provider!r} returns images as data only: use response_format `b64_json`.",
                             param="response_format", code="unsupported_parameter")
