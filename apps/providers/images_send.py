"""Image calls over the transport: generations as JSON, edits as uploads streamed from their spools."""
from __future__ import annotations

from apps.providers import transport
from apps.providers.base import ProviderAdapter, Target
from apps.providers.images import ImageCall, ImageResult, image_adapter
from apps.providers.upload_send import send_upload


async def send_images(adapter: ProviderAdapter, call: ImageCall, target: Target) -> ImageResult:
    """Images from the upstream: generated from JSON, or edited from the uploads (streamed from their spools)."""
    maker = image_adapter(adapter, call)
    if call.edit:
        status, _, body = await send_upload(adapter, maker.translate_image_edit(call, target), target)
    else:
        status, body = await transport.send(adapter, maker.translate_image_request(call, target), target)
    return maker.parse_image_response(status, body, call, target)
