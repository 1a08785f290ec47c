"""Property tests: duration parsing and reset times, and the budget arithmetic (Python and Redis Lua agree)."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from hypothesis import HealthCheck, example, given, settings as hsettings
from hypothesis import strategies as st

from apps.core.state import ledger
from apps.core.state.base import Admission, LedgerLimits
from apps.teams.durations import (
    Duration,
    InvalidDuration,
    add_months,
    first_reset,
    next_reset,
    parse_duration,
)

UNITS = ("s", "m", "h", "d", "w", "mo")
moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
durations = st.builds(Duration, st.integers(1, 400), st.sampled_from(UNITS))


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("30s", timedelta(seconds=30), id="seconds_case"), pytest.param("30m", timedelta(minutes=30),
                                                                              id="minutes_case"),
    pytest.param("1h", timedelta(hours=1), id="hour_case"), pytest.param("1d", timedelta(days=1), id="day_case"),
    pytest.param("7d", timedelta(days=7), id="week_case"), pytest.param("30d", timedelta(days=30), id="month_of_days_case"),
])
def test_fixed_durations_parse_to_their_length(text: str, expected: timedelta) -> None:
    assert parse_duration(text).seconds == expected.total_seconds()


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("hourly", Duration(1, "h"), id="hourly_case"), pytest.param("daily", Duration(1, "d"), id="daily_case"),
    pytest.param("weekly", Duration(1, "w"), id="weekly_case"), pytest.param("Monthly", Duration(1, "mo"), id="monthly_case"),
    pytest.param("yearly", Duration(12, "mo"), id="yearly_case"),
])
def test_litellm_words_are_durations(text: str, expected: Duration) -> None:
    assert parse_duration(text) == expected


def test_monthly_resets_on_the_first_of_the_next_calendar_month() -> None:
    assert first_reset(datetime(2026, 2, 14, 9, tzinfo=UTC), parse_duration("monthly")) == datetime(2026, 3, 1, tzinfo=UTC)


def test_a_month_is_a_calendar_month() -> None:
    month = parse_duration("1mo")
    assert first_reset(datetime(2026, 1, 31, 15, tzinfo=UTC), month) == datetime(2026, 2, 1, tzinfo=UTC)
    assert next_reset(datetime(2026, 2, 1, tzinfo=UTC), month, datetime(2026, 3, 10, tzinfo=UTC)) == \
        datetime(2026, 4, 1, tzinfo=UTC)
    assert add_months(datetime(2024, 1, 31, tzinfo=UTC), 1) == datetime(2024, 2, 29, tzinfo=UTC)


@given(durations)
def test_durations_round_trip_through_text(duration: Duration) -> None:
    assert parse_duration(str(duration)) == duration


@given(st.text(max_size=8))
def test_anything_else_is_rejected_or_a_duration(text: str) -> None:
    try:
        parsed = parse_duration(text)
    except InvalidDuration:
        return
    assert parsed.amount >= 1 and parsed.unit in UNITS


@given(moments, durations, moments)
def test_next_reset_is_the_first_boundary_after_now(start: datetime, duration: Duration, now: datetime) -> None:
    reset = next_reset(start, duration, now)
    assert reset > now and reset >= start
    if reset > start:  # the boundary before it is not after now: no window was skipped
        seconds = duration.seconds
        previous = reset - timedelta(seconds=seconds) if seconds else add_months(start, months_between(start, reset)
                                                                                 - duration.amount)
        assert previous <= now or previous < start


def months_between(start: datetime, end: datetime) -> int:
    return (end.year - start.year) * 12 + end.month - start.month


@given(moments, st.integers(1, 24))
def test_monthly_windows_start_on_the_first(now: datetime, months: int) -> None:
    reset = first_reset(now, Duration(months, "mo"))
    assert (reset.day, reset.hour, reset.minute) == (1, 0, 0) and reset > now


# --- budget arithmetic ---------------------------------------------------------------------------------

calls = st.lists(st.tuples(st.integers(0, 500), st.integers(0, 500), st.booleans()), min_size=1, max_size=40)


def run_calls(records: ledger.Records, levels: list[LedgerLimits], script: list[tuple[int, int, bool]],
              now: float) -> list[Admission]:
    """Admit each call (worst case w); settle at cost min(c, w) at once, or leave it in flight."""
    answers, in_flight = [], []
    for worst, cost, settle_now in script:
        admission = ledger.admit(records, levels, amount=worst, now=now)
        answers.append(admission)
        if admission.admitted:
            in_flight.append((admission.reserved, min(cost, worst), admission.clipped))
        if settle_now and in_flight:
            reserved, actual, clipped = in_flight.pop(0)
            ledger.settle(records, levels, reserved=reserved, actual=actual, tokens=1, now=now, clipped=clipped)
    for reserved, actual, clipped in in_flight:
        ledger.settle(records, levels, reserved=reserved, actual=actual, tokens=1, now=now, clipped=clipped)
    return answers


@given(st.integers(0, 2000), st.integers(0, 2000), calls)
@example(2, 2, [(1, 0, False), (3, 3, True), (3, 3, False)])  # two clipped calls in flight at once (fixed)
def test_spend_never_passes_the_budget_by_more_than_one_call(key_budget: int, team_budget: int,
                                                             script: list[tuple[int, int, bool]]) -> None:
    levels = [LedgerLimits("key", max_budget=key_budget), LedgerLimits("team", max_budget=team_budget)]
    records: ledger.Records = {}
    run_calls(records, levels, script, now=1000.0)
    biggest = max(worst for worst, _, _ in script)
    for level in levels:
        record = records[level.ledger]
        assert record["reserved"] == 0 and record["clipped"] == 0
        assert level.max_budget is not None and record["spent"] <= level.max_budget + biggest


@given(st.integers(1, 2000), calls)
def test_calls_that_fit_their_reservation_never_overspend(budget: int, script: list[tuple[int, int, bool]]) -> None:
    levels = [LedgerLimits("key", max_budget=budget)]
    records: ledger.Records = {}
    answers = run_calls(records, levels, script, now=1000.0)
    assert records["key"]["spent"] <= budget or any(
        a.admitted and a.reserved < worst for a, (worst, _, _) in zip(answers, script, strict=True))


@given(calls)
def test_a_refusal_changes_nothing(script: list[tuple[int, int, bool]]) -> None:
    levels = [LedgerLimits("key", max_budget=100, rpm_limit=5, max_parallel=3)]
    records: ledger.Records = {}
    run_calls(records, levels, script, now=1000.0)
    before = dict(records["key"])
    refused = ledger.admit(records, [LedgerLimits("key", max_budget=0)], amount=1, now=1000.0)
    assert not refused.admitted and records["key"] == before


@pytest.mark.skipif(not settings.REDIS_URL, reason="the Lua script needs Redis")
@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 1500), st.integers(0, 1500), calls, st.integers(0, 3))
def test_redis_script_and_python_agree(key_budget: int, team_budget: int, script: list[tuple[int, int, bool]],
                                       window: int) -> None:
    from apps.core.state.redis import RedisState, ledger_key

    names = [f"prop:key:{key_budget}:{len(script)}:{window}", f"prop:team:{team_budget}:{len(script)}:{window}"]
    levels = [LedgerLimits(names[0], max_budget=key_budget, seed_spend=window * 10, window_end=1010.0 * window,
                           rpm_limit=30, max_parallel=4),
              LedgerLimits(names[1], max_budget=team_budget, tpm_limit=20)]
    backend = RedisState()
    backend.sync.delete(*(ledger_key(n) for n in names))

    async def on_redis() -> list[Admission]:
        answers = []
        in_flight = []
        for worst, cost, settle_now in script:
            admission = await backend.admit(levels, amount=worst, now=1000.0)
            answers.append(admission)
            if admission.admitted:
                in_flight.append((admission.reserved, min(cost, worst), admission.clipped))
            if settle_now and in_flight:
                reserved, actual, clipped = in_flight.pop(0)
                await backend.settle(levels, reserved=reserved, actual=actual, tokens=1, now=1000.0, clipped=clipped)
        for reserved, actual, clipped in in_flight:
            await backend.settle(levels, reserved=reserved, actual=actual, tokens=1, now=1000.0, clipped=clipped)
        backend.client.close()
        return answers

    expected = run_calls({}, levels, script, now=1000.0)
    assert asyncio.run(on_redis()) == expected
