"""Uploads over the transport: an `UploadRequest`'s body streamed to the upstream from the client's spool."""
from __future__ import annotations

import asyncio
from collections.abc import Mapping

from apps.providers import h1pool
from apps.providers.base import ProviderAdapter, Target
from apps.providers.transport import TRANSPORT_ERRORS, transport_error
from apps.providers.upload_body import UploadRequest


async def send_upload(adapter: ProviderAdapter, request: UploadRequest,
                      target: Target) -> tuple[int, Mapping[str, str], bytes]:
    """Send the upload and read the whole answer; a non-2xx status raises the adapter's mapped error."""
    try:
        async with asyncio.timeout(target.timeout):
            response = await h1pool.request_streamed(request.method, request.url, request.headers, request.body,
                                                     connect_timeout=min(target.timeout, 10.0), read_timeout=None)
            content = await response.read()
    except TRANSPORT_ERRORS as exc:
        raise transport_error(exc, target) from None
    if response.status_code >= 400:
        raise adapter.map_error(response.status_code, response.headers, content)
    return response.status_code, response.headers, content
