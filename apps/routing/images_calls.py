"""`/v1/images/generations` and `/v1/images/edits` without HTTP: billed per image by size and quality (or by
gpt-image's tokens), routed like chat."""
from __future__ import annotations

from collections.abc import Awaitable, Callable

from apps.providers.images import ImageCall, ImageResult, can_make_images, image_adapter
from apps.providers.images_send import send_images
from apps.providers.registry import adapter_for
from apps.routing.calls import target_for
from apps.routing.media_calls import check_supported, media_call, reachable, settle
from apps.routing.media_costs import image_cost, image_worst_case
from apps.routing.parsing import CallOptions
from apps.routing.router import Served
from apps.routing.snapshot import DeploymentRecord, RoutingTable
from apps.teams.auth import Principal


def worst_case(options: CallOptions) -> Callable[[RoutingTable, ImageCall], int]:
    """The dearest the call's images can be on any deployment it may reach."""
    def bound(table: RoutingTable, call: ImageCall) -> int:
        return max([image_worst_case(d, call) for d in reachable(table, call.model, options)], default=0)
    return bound


def check(table: RoutingTable, call: ImageCall) -> None:
    check_supported(table, call.model, lambda adapter: can_make_images(adapter, call),
                    lambda adapter: image_adapter(adapter, call))


async def images(principal: Principal, call: ImageCall, options: CallOptions, *,
                 request_id: str = "") -> Served[ImageResult]:
    """Images generated (or edited) by the first deployment that makes them."""
    def attempt_for(call: ImageCall) -> Callable[[DeploymentRecord], Awaitable[ImageResult]]:
        async def attempt(deployment: DeploymentRecord) -> ImageResult:
            target = target_for(deployment, options)
            return await send_images(adapter_for(target.provider), call, target)
        return attempt

    served, meter = await media_call(principal, call, options, call_type="image_edit" if call.edit else
                                     "image_generation", mode="image_generation", worst_case=worst_case(options),
                                     attempt=attempt_for, check=check, params=call.params, request_id=request_id)
    settle(meter, served.deployment, image_cost(served.deployment, call, served.value), served.value.usage)
    return served
