"""Who may see the dashboard, and which teams: staff and proxy admins (and viewers) everything, a team admin
only the teams it runs. Anyone else gets 403."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from apps.teams.models import TeamMembership, User
from apps.teams.selectors import READ_ALL_ROLES


@dataclass(frozen=True, slots=True)
class Viewer:
    """A dashboard reader: `team_ids` None sees every team (and rows of no team), else only these teams'."""

    username: str
    team_ids: frozenset[str] | None

    @property
    def sees_all(self) -> bool:
        return self.team_ids is None

    def team_filter(self, column: str = "team_id") -> Q:
        """The rows of the teams this viewer may see (every row for staff)."""
        return Q() if self.team_ids is None else Q(**{f"{column}__in": sorted(self.team_ids)})

    def sees_team(self, team_id: str | None) -> bool:
        return self.team_ids is None or (team_id is not None and team_id in self.team_ids)


def viewer_for(user: User) -> Viewer | None:
    """The dashboard view of a logged-in user, None when it may not see the dashboard."""
    if not user.is_active:
        return None
    if user.is_staff or user.is_superuser or user.user_role in READ_ALL_ROLES:
        return Viewer(username=user.username, team_ids=None)
    admin_of = TeamMembership.objects.filter(user_id=user.username, role=TeamMembership.Role.ADMIN)
    teams = frozenset(str(team) for team in admin_of.values_list("team_id", flat=True))
    return Viewer(username=user.username, team_ids=teams) if teams else None
