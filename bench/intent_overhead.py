"""`python -m bench.intent_overhead --calls 20000`: what recording in-flight calls' intents adds per call (Redis).

Each simulated call is what the /v1 hot path does around an upstream call, minus the call: build its intent
(`CallIntent.record(meter)`), `intent_open`, then settle with its spend event through
`settle_and_push_many` (where the settle script deletes the intent). It runs once with intents and once without (no
`intent_open`, no HDEL), in batches of `--batch` concurrent calls per loop turn as a busy worker settles them, and
prints this process's CPU per call for each and the difference. Needs REDIS_URL (a scratch db: it leaves events
in the buffer, trimmed at the end).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gatewaysite.settings")
    django.setup()
    from apps.core.state import state
    from apps.core.state.base import LedgerLimits, Settlement
    from apps.core.state.redis import RedisState
    from apps.teams.auth import Principal
    from apps.teams.metering import CallIntent, Meter, SpendEvent

    backend = state()
    assert isinstance(backend, RedisState), "needs REDIS_URL"
    levels = (LedgerLimits(ledger="bench-intent", max_budget=10**15),)

    def meter(n: int) -> Meter:
        return Meter(principal=Principal(is_master=True), request_id=f"req-bench-{n}", call_type="chat",
                     model="gpt-4o-mini", levels=levels, reserved=1000, tags=("bench",))

    def event(m: Meter) -> bytes:
        return SpendEvent(request_id=m.request_id, attempt=1, key_id=None, key_hash="", team_id=None, user_id=None,
                          organization_id=None, model_alias=m.model, deployment_id="1", provider="mock",
                          call_type="chat", prompt_tokens=10, completion_tokens=20, cached_tokens=0, cost_nanos=900,
                          latency_ms=3, ttft_ms=None, status="success", error_type="", start_time=time.time(),
                          end_time=time.time()).encode()

    async def run(intents: bool) -> float:
        start = time.process_time()
        for first in range(0, args.calls, args.batch):
            meters = [meter(n) for n in range(first, first + args.batch)]
            if intents:
                for m in meters:
                    backend.intent_open(m.request_id, CallIntent.record(m))
            await asyncio.sleep(0)  # the upstream calls: the intents leave in this loop turn
            await backend.settle_and_push_many([
                Settlement(m.levels, [event(m)], reserved=1000, actual=900, tokens=30, now=time.time(),
                           intent=m.request_id if intents else "") for m in meters])
        return (time.process_time() - start) / args.calls * 1e6

    async def both() -> tuple[float, float]:
        await run(True)  # warm up (scripts loaded, connection open)
        without = min([await run(False) for _ in range(3)])
        with_intents = min([await run(True) for _ in range(3)])
        return without, with_intents

    without, with_intents = asyncio.run(both())
    backend.spend_ack(backend.spend_pending())
    print(f"per call, this process's CPU: {without:.1f} us without intents, {with_intents:.1f} us with "
          f"(+{with_intents - without:.1f} us); Redis: one HSET per loop turn's intents, deleted by the settle script")


if __name__ == "__main__":
    main()
