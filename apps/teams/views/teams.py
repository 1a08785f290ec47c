"""/team/* views."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.teams import serializers as body
from apps.teams.permissions import IsAdminOrOrgAdmin, IsProxyAdmin
from apps.teams.selectors import Caller
from apps.teams.use_cases import teams
from apps.teams.views.base import Lookup, Post, Query


class TeamNew(Post):
    serializer_class = body.TeamNewSerializer
    permission_classes = [IsAdminOrOrgAdmin]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return teams.team_new(caller=caller, body=data)


class TeamUpdate(Post):
    serializer_class = body.TeamUpdateSerializer
    permission_classes = [IsProxyAdmin]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return teams.team_update(caller=caller, body=data)


class TeamDelete(Post):
    serializer_class = body.TeamDeleteSerializer
    permission_classes = [IsProxyAdmin]

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return teams.team_delete(caller=caller, body=data)


class TeamBlock(Post):
    serializer_class = body.TeamIdSerializer
    permission_classes = [IsProxyAdmin]
    blocked = True

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return teams.team_block(caller=caller, body=data, blocked=self.blocked)


class TeamUnblock(TeamBlock):
    blocked = False


class TeamModelAdd(Post):
    serializer_class = body.TeamModelsSerializer
    permission_classes = [IsProxyAdmin]
    add = True

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return teams.team_model_change(caller=caller, body=data, add=self.add)


class TeamModelDelete(TeamModelAdd):
    add = False


class TeamInfo(Lookup):
    param = "team_id"

    def run(self, caller: Caller, value: str | None) -> Any:
        return teams.team_info(caller=caller, team_id=value or "")


class TeamList(Query):
    serializer_class = body.TeamListSerializer

    def run(self, caller: Caller, query: Mapping[str, Any]) -> Any:
        return teams.team_list(caller=caller, query=query)


class TeamMemberAdd(Post):
    serializer_class = body.TeamMemberAddSerializer

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return teams.team_member_add(caller=caller, body=data)


class TeamMemberUpdate(Post):
    serializer_class = body.TeamMemberUpdateSerializer

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return teams.team_member_update(caller=caller, body=data)


class TeamMemberDelete(Post):
    serializer_class = body.TeamMemberDeleteSerializer

    def run(self, caller: Caller, data: Mapping[str, Any]) -> Any:
        return teams.team_member_delete(caller=caller, body=data)
