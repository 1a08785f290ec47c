"""The "why" view: for a request id, allowed, refused (level, limit, spent against it), retried or moved to a fallback."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from apps.routing.models import Deployment
from tests.dashboard.conftest import logged_in, row
from tests.teams.conftest import Cast

AT = datetime(2026, 3, 5, 12, tzinfo=UTC)


def why(cast: Cast, request_id: str) -> tuple[int, object]:
    response = logged_in(cast.alice.user).get("/dashboard/why/", {"request_id": request_id})
    return response.status_code, response.context["why"]


def test_a_refused_call_names_the_level_limit_and_spend(cast: Cast) -> None:
    row(cast.bob, "req-refused", AT, "0", deployment="", status="refused", latency=0, limit_level="team",
        limit_kind="budget", limit_current=Decimal("5.5"), limit_max=Decimal("5"))
    row(cast.bob, "req-rpm", AT, "0", deployment="", status="refused", latency=0, limit_level="key",
        limit_kind="rpm", limit_current=Decimal("60"), limit_max=Decimal("60"))
    status, found = why(cast, "req-refused")
    assert (status, found.verdict, found.summary) == (
        200, "refused", "Refused: the team budget was spent ($5.500000 of $5.000000).")
    assert why(cast, "req-rpm")[1].summary == "Refused: the key limit on requests per minute was reached (60 of 60)."


def test_retries_and_fallbacks_are_told_apart(cast: Cast) -> None:
    primary = Deployment.objects.create(model_name="gpt-a", provider="openai", provider_model="gpt-4o")
    backup = Deployment.objects.create(model_name="backup", provider="openai", provider_model="gpt-4o-mini",
                                       config_id="backup-1")
    row(cast.bob, "req-retry", AT, "0", deployment=str(primary.pk), status="failure", attempt=1)
    row(cast.bob, "req-retry", AT, "0.01", deployment=str(primary.pk), attempt=2)
    row(cast.bob, "req-fb", AT, "0", deployment=str(primary.pk), status="failure", attempt=1)
    row(cast.bob, "req-fb", AT, "0.02", deployment="backup-1", attempt=2)
    _, retried = why(cast, "req-retry")
    assert retried.verdict == "allowed after retries"
    assert [s.meaning for s in retried.steps] == [f"Failed; retried: deployment {primary.pk} answered rate_limit.",
                                                  f"Served by deployment {primary.pk}."]
    _, moved = why(cast, "req-fb")
    assert moved.verdict == "allowed after fallback"
    assert [s.group for s in moved.steps] == ["gpt-a", "backup"]
    assert moved.steps[0].meaning.startswith("Failed; moved to a fallback group")
    assert moved.summary == "Served by deployment backup-1 in fallback group 'backup'."
    assert backup.pk  # the fallback deployment is named by its config id, as spend rows name it


def test_another_teams_request_is_not_found(cast: Cast) -> None:
    row(cast.mallory, "req-b", AT, "1")
    status, found = why(cast, "req-b")
    assert (status, found) == (404, None)
    assert why(cast, "req-unknown")[0] == 404
