"""Imagen on the Gemini API and on Vertex AI: `:predict` with `instances[].prompt` and `parameters.sampleCount`,
answered as OpenAI's ImagesResponse (`b64_json`; Imagen returns no URLs)."""
from __future__ import annotations

from typing import Any

from apps.core import jsonutil
from apps.providers.base import Target, UpstreamRequest
from apps.providers.images import ImageCall, ImageData, ImageResult, b64_only, images_body

# Imagen's aspect ratios, by width / height; an OpenAI `size` gets the nearest.
ASPECT_RATIOS = {"1:1": 1.0, "4:3": 4 / 3, "3:4": 3 / 4, "16:9": 16 / 9, "9:16": 9 / 16}
PARAMETER_NAMES = {"aspect_ratio": "aspectRatio", "negative_prompt": "negativePrompt",
                   "person_generation": "personGeneration", "safety_filter_level": "safetySetting",
                   "add_watermark": "addWatermark", "seed": "seed", "output_mime_type": "outputMimeType"}


def aspect_ratio(size: str) -> str | None:
    width, _, height = size.lower().partition("x")
    if not (width.isdigit() and height.isdigit()) or int(height) == 0:
        return None
    ratio = int(width) / int(height)
    return min(ASPECT_RATIOS, key=lambda name: abs(ASPECT_RATIOS[name] - ratio))


def predict_body(call: ImageCall) -> dict[str, Any]:
    parameters: dict[str, Any] = {"sampleCount": call.n}
    if call.size and (ratio := aspect_ratio(call.size)):
        parameters["aspectRatio"] = ratio
    for name, value in call.params.items():
        parameters[PARAMETER_NAMES.get(name, name)] = value
    return {"instances": [{"prompt": call.prompt}], "parameters": parameters}


class GoogleImagesMixin:
    """Image generation with Imagen models (`imagen-3.0-generate-002`, `imagen-4.0-generate-001`, ...)."""

    def translate_image_request(self, call: ImageCall, target: Target) -> UpstreamRequest:
        b64_only(call, target.provider)
        return UpstreamRequest(method="POST", url=f"{self.model_url(target)}:predict",  # type: ignore[attr-defined]
                               headers=self.headers(target), body=jsonutil.dumps(predict_body(call)))  # type: ignore[attr-defined]

    def parse_image_response(self, status: int, body: bytes, call: ImageCall, target: Target) -> ImageResult:
        predictions = jsonutil.loads(body).get("predictions") or []
        data: list[ImageData] = [{"b64_json": str(p["bytesBase64Encoded"])} for p in predictions
                                 if p.get("bytesBase64Encoded")]
        return ImageResult(body=images_body(data), images=len(data))
