"""The beat's budget reset: every level whose window ended gets spend 0 and its next reset time."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from apps.teams import services
from apps.teams.budgets import budgets_reset
from apps.teams.models import Budget, EndUser, Organization, Team, TeamMembership, User, VirtualKey
from apps.teams.tasks import budget_reset_task
from tests.teams.conftest import Cast

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


def test_ended_windows_reset_and_running_ones_do_not(cast: Cast) -> None:
    key = cast.bob.key
    services.key_update(key=key, fields={"budget_duration": "1mo"})  # type: ignore[arg-type]
    services.team_update(team=cast.team_a, fields={"budget_duration": "7d"})
    services.organization_update(organization=cast.org, fields={"budget_duration": "30d"})
    VirtualKey.objects.filter(pk=key.pk).update(spend=Decimal(5), budget_reset_at=MARCH)  # type: ignore[union-attr]
    Team.objects.filter(pk=cast.team_a.pk).update(spend=Decimal(7), budget_reset_at=datetime(2026, 3, 20, tzinfo=UTC))
    Organization.objects.filter(pk=cast.org.pk).update(spend=Decimal(9), budget_reset_at=None)
    TeamMembership.objects.filter(team=cast.team_a).update(spend=Decimal(2), budget_reset_at=MARCH)
    User.objects.filter(pk=cast.bob.user.pk).update(spend=Decimal(3))  # type: ignore[union-attr]

    changed = budgets_reset(now=datetime(2026, 3, 15, 8, tzinfo=UTC))

    key_row = VirtualKey.objects.get(pk=key.pk)  # type: ignore[union-attr]
    assert (key_row.spend, key_row.budget_reset_at) == (0, datetime(2026, 4, 1, tzinfo=UTC))
    team = Team.objects.get(pk=cast.team_a.pk)
    assert (team.spend, team.budget_reset_at) == (7, datetime(2026, 3, 20, tzinfo=UTC))
    org = Organization.objects.get(pk=cast.org.pk)
    assert org.spend == 9 and org.budget_reset_at == datetime(2026, 4, 14, 8, tzinfo=UTC)
    members = TeamMembership.objects.filter(team=cast.team_a)
    assert {(m.spend, m.budget_reset_at) for m in members} == {(0, datetime(2026, 3, 22, tzinfo=UTC))}
    assert User.objects.get(pk=cast.bob.user.pk).spend == 3  # type: ignore[union-attr]
    assert changed == 4  # key, org (first window), two members


def test_the_celery_task_runs_the_reset(cast: Cast) -> None:
    services.key_update(key=cast.bob.key, fields={"budget_duration": "30s"})  # type: ignore[arg-type]
    VirtualKey.objects.filter(pk=cast.bob.key.pk).update(spend=Decimal(1), budget_reset_at=MARCH)  # type: ignore[union-attr]
    assert budget_reset_task.apply().get() >= 1
    assert VirtualKey.objects.get(pk=cast.bob.key.pk).spend == 0  # type: ignore[union-attr]


def test_end_users_of_a_budget_whose_window_ended_reset(transactional_db: None) -> None:
    daily = Budget.objects.create(max_budget=Decimal(1), budget_duration="1d", budget_reset_at=MARCH)
    fresh = Budget.objects.create(max_budget=Decimal(1), budget_duration="7d")
    running = Budget.objects.create(max_budget=Decimal(1), budget_duration="1d",
                                    budget_reset_at=datetime(2026, 3, 16, tzinfo=UTC))
    for user_id, budget in (("due", daily), ("first", fresh), ("running", running), ("none", None)):
        EndUser.objects.create(user_id=user_id, budget=budget, spend=Decimal(2))

    changed = budgets_reset(now=datetime(2026, 3, 15, 8, tzinfo=UTC))

    assert dict(EndUser.objects.values_list("user_id", "spend")) == {"due": 0, "first": 2, "running": 2, "none": 2}
    assert Budget.objects.get(pk=daily.pk).budget_reset_at == datetime(2026, 3, 16, tzinfo=UTC)
    assert Budget.objects.get(pk=fresh.pk).budget_reset_at == datetime(2026, 3, 22, 8, tzinfo=UTC)
    assert changed == 2  # the ended window, and the first window of the new budget


def test_spend_stored_after_a_window_ended_but_before_the_reset_ran_is_the_new_windows(cast: Cast) -> None:
    """The beat resets after the window's end; the calls in between belong to the new window and stay counted."""
    from datetime import timedelta

    from apps.teams.models import SpendLog

    key, ended = cast.bob.key, datetime(2026, 3, 15, 8, tzinfo=UTC)
    services.key_update(key=key, fields={"budget_duration": "1d"})  # type: ignore[arg-type]
    services.team_update(team=cast.team_a, fields={"budget_duration": "1d"})
    member = TeamMembership.objects.get(team=cast.team_a, user=cast.bob.user)
    for n, (moment, cost) in enumerate(((ended - timedelta(hours=1), "3"), (ended + timedelta(minutes=10), "0.25"))):
        SpendLog.objects.create(request_id=f"r{n}", key_id=key.pk, team_id=cast.team_a.team_id,  # type: ignore[union-attr]
                                user_id=member.user_id, cost=Decimal(cost), start_time=moment, end_time=moment)
    for model, pk in ((VirtualKey, key.pk), (Team, cast.team_a.pk), (TeamMembership, member.pk)):  # type: ignore[union-attr]
        model.objects.filter(pk=pk).update(spend=Decimal("3.25"), budget_reset_at=ended)  # type: ignore[attr-defined]

    budgets_reset(now=ended + timedelta(minutes=30))

    for model, pk in ((VirtualKey, key.pk), (Team, cast.team_a.pk), (TeamMembership, member.pk)):  # type: ignore[union-attr]
        row = model.objects.get(pk=pk)  # type: ignore[attr-defined]
        assert (row.spend, row.budget_reset_at) == (Decimal("0.25"), ended + timedelta(days=1)), model


def test_users_keys_on_a_budget_id_and_members_with_their_own_window_reset(cast: Cast) -> None:
    """A user's window; a key's window taken from its Budget (`budget_id`); a member's `team_member_budget_duration`
    window, not the team's."""
    now = datetime(2026, 3, 15, 8, tzinfo=UTC)
    daily = Budget.objects.create(budget_id="daily", max_budget=Decimal(1), budget_duration="1d")
    User.objects.filter(pk=cast.bob.user.pk).update(spend=Decimal(3), budget_duration="7d",  # type: ignore[union-attr]
                                                    budget_reset_at=MARCH)
    VirtualKey.objects.filter(pk=cast.bob.key.pk).update(budget=daily, spend=Decimal(4),  # type: ignore[union-attr]
                                                         budget_reset_at=MARCH)
    Team.objects.filter(pk=cast.team_a.pk).update(budget_duration="30d", team_member_budget_duration="1d",
                                                  budget_reset_at=datetime(2026, 3, 20, tzinfo=UTC))
    TeamMembership.objects.filter(team=cast.team_a).update(spend=Decimal(2), budget_reset_at=MARCH)

    budgets_reset(now=now)

    bob = User.objects.get(pk=cast.bob.user.pk)  # type: ignore[union-attr]
    assert (bob.spend, bob.budget_reset_at) == (0, datetime(2026, 3, 22, tzinfo=UTC))
    key = VirtualKey.objects.get(pk=cast.bob.key.pk)  # type: ignore[union-attr]
    assert (key.spend, key.budget_reset_at) == (0, datetime(2026, 3, 16, tzinfo=UTC))
    members = TeamMembership.objects.filter(team=cast.team_a)
    assert {(m.spend, m.budget_reset_at) for m in members} == {(0, datetime(2026, 3, 16, tzinfo=UTC))}
    assert Team.objects.get(pk=cast.team_a.pk).budget_reset_at == datetime(2026, 3, 20, tzinfo=UTC)
