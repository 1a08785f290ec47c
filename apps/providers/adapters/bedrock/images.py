"""Image generation on Bedrock's InvokeModel: Stability (SDXL's `text_prompts`, SD3 and Stable Image's `prompt`)
and Amazon's Titan Image / Nova Canvas (`TEXT_IMAGE`), answered as OpenAI's ImagesResponse (`b64_json` only)."""
from __future__ import annotations

from typing import Any

from apps.core import jsonutil
from apps.providers.adapters.bedrock.convert import model_id
from apps.providers.base import ParamNotSupported, Target, UpstreamRequest
from apps.providers.images import ImageCall, ImageData, ImageResult, b64_only, images_body

DEFAULT_SIDE = 1024


def dimensions(size: str) -> tuple[int, int]:
    width, _, height = size.lower().partition("x")
    return (int(width), int(height)) if width.isdigit() and height.isdigit() else (DEFAULT_SIDE, DEFAULT_SIDE)


def family(model: str) -> str:
    """`sdxl`, `stability` (SD3, Stable Image) or `amazon` (Titan Image, Nova Canvas)."""
    if "stable-diffusion-xl" in model:
        return "sdxl"
    return "stability" if "stability." in model else "amazon"


def invoke_body(call: ImageCall, model: str) -> dict[str, Any]:
    width, height = dimensions(call.size)
    kind = family(model)
    if kind == "sdxl":
        return {"text_prompts": [{"text": call.prompt, "weight": 1}], "width": width, "height": height,
                "samples": call.n, **call.params}
    if kind == "stability":
        if call.n != 1:
            raise ParamNotSupported(f"bedrock model {model} makes one image per call: 'n' must be 1.", param="n")
        return {"prompt": call.prompt, "output_format": "png", **call.params}
    config = {"numberOfImages": call.n, "width": width, "height": height,
              "quality": "premium" if call.quality in ("hd", "high", "premium") else "standard"}
    return {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": call.prompt, **call.params},
            "imageGenerationConfig": config}


def images_of(data: dict[str, Any]) -> list[str]:
    """The base64 images of any of the families' answers (SDXL's `artifacts`, the others' `images`)."""
    if "artifacts" in data:
        return [str(item["base64"]) for item in data["artifacts"] if item.get("base64")]
    return [str(image) for image in data.get("images") or []]


class BedrockImagesMixin:
    def translate_image_request(self, call: ImageCall, target: Target) -> UpstreamRequest:
        b64_only(call, target.provider)
        return UpstreamRequest(method="POST", url=self.model_url(target, "invoke"),  # type: ignore[attr-defined]
                               headers=self.headers(target),  # type: ignore[attr-defined]
                               body=jsonutil.dumps(invoke_body(call, model_id(target.model))))

    def parse_image_response(self, status: int, body: bytes, call: ImageCall, target: Target) -> ImageResult:
        data: list[ImageData] = [{"b64_json": image} for image in images_of(jsonutil.loads(body))]
        return ImageResult(body=images_body(data), images=len(data))
