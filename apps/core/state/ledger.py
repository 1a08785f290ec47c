"""The budget and rate-limit arithmetic, in Python: the memory backend runs it, the Redis Lua script mirrors it.

Each level keeps one record: settled `spent` and outstanding `reserved` nanodollars in the budget
window ending at `wend`, request and token counts for the current minute, and in-flight calls.
"""
from __future__ import annotations

import math
from collections.abc import MutableMapping, Sequence

from apps.core.state.base import PARALLEL_STALE_SECONDS, Admission, LedgerLimits

Record = dict[str, float]
Records = MutableMapping[str, Record]


def refresh(records: Records, level: LedgerLimits, now: float) -> Record:
    """The level's record, created from its seed, or emptied when its budget window has ended."""
    record = records.get(level.ledger)
    if record is None:
        record = {"spent": level.seed_spend, "reserved": 0, "wend": level.window_end, "rpm_win": 0, "rpm_n": 0,
                  "tpm_win": 0, "tpm_n": 0, "par": 0, "par_ts": now, "clipped": 0}
        records[level.ledger] = record
    elif record["wend"] and record["wend"] <= now:
        record["spent"], record["wend"] = 0, level.window_end
    elif record["wend"] != level.window_end:
        record["wend"] = level.window_end
    if now - record["par_ts"] > PARALLEL_STALE_SECONDS:
        # Nothing touched this level for a long time: what is still counted in flight (and reserved)
        # belongs to processes that died mid-call.
        record["par"], record["reserved"], record["clipped"] = 0, 0, 0
    return record


def retry_after(now: float) -> int:
    """Seconds until the current minute window ends (at least 1)."""
    return max(1, math.ceil(60 - now % 60))


def refusal(index: int, level: LedgerLimits, record: Record, minute: int, now: float) -> Admission | None:
    """Why this level refuses a call now, or None."""
    if level.max_budget is not None and (record["spent"] + record["reserved"] >= level.max_budget
                                         or record["clipped"] > 0):
        return Admission(False, index=index, reason="budget", spend=int(record["spent"] + record["reserved"]),
                         limit=level.max_budget)
    if level.rpm_limit is not None and record["rpm_win"] == minute and record["rpm_n"] >= level.rpm_limit:
        return Admission(False, index=index, reason="rpm", spend=int(record["rpm_n"]), limit=level.rpm_limit,
                         retry_after=retry_after(now))
    if level.tpm_limit is not None and record["tpm_win"] == minute and record["tpm_n"] >= level.tpm_limit:
        return Admission(False, index=index, reason="tpm", spend=int(record["tpm_n"]), limit=level.tpm_limit,
                         retry_after=retry_after(now))
    if level.max_parallel is not None and record["par"] >= level.max_parallel:
        return Admission(False, index=index, reason="parallel", spend=int(record["par"]), limit=level.max_parallel,
                         retry_after=1)
    return None


def admit(records: Records, levels: Sequence[LedgerLimits], *, amount: int, now: float) -> Admission:
    """Check every level, then reserve min(amount, tightest remaining budget) and count the request.

    A level that cannot cover the whole amount is marked "clipped" until this call settles, and refuses
    every other call meanwhile: so at most one call per level ever runs past what it reserved.
    """
    minute = int(now // 60)
    reserve = amount
    clipped = ""
    current = [refresh(records, level, now) for level in levels]
    for index, (level, record) in enumerate(zip(levels, current, strict=True)):
        refused = refusal(index, level, record, minute, now)
        if refused is not None:
            return refused
        remaining = amount if level.max_budget is None else int(level.max_budget - record["spent"] - record["reserved"])
        reserve = min(reserve, remaining)
        clipped += "1" if remaining < amount else "0"
    for record, mark in zip(current, clipped, strict=True):
        record["reserved"] += reserve
        record["clipped"] += mark == "1"
        if record["rpm_win"] != minute:
            record["rpm_win"], record["rpm_n"] = minute, 0
        record["rpm_n"] += 1
        record["par"] += 1
        record["par_ts"] = now
    return Admission(True, reserved=reserve, clipped=clipped)


def settle(records: Records, levels: Sequence[LedgerLimits], *, reserved: int, actual: int, tokens: int,
           now: float, clipped: str = "") -> None:
    """Release the reservation (and clipped marks), add the real cost and tokens, free the parallel slot."""
    minute = int(now // 60)
    for index, level in enumerate(levels):
        record = refresh(records, level, now)
        record["reserved"] = max(0, record["reserved"] - reserved)
        if clipped[index:index + 1] == "1":
            record["clipped"] = max(0, record["clipped"] - 1)
        record["spent"] += actual
        if record["tpm_win"] != minute:
            record["tpm_win"], record["tpm_n"] = minute, 0
        record["tpm_n"] += tokens
        record["par"] = max(0, record["par"] - 1)
        record["par_ts"] = now
