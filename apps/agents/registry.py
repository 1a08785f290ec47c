"""The agents every process serves: database rows (admin, /v1/agents, config.yaml) and in-code agents, as one
snapshot rebuilt when the `agents` generation moves; who may call which."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from apps.core.snapshots import SnapshotCache
from apps.teams.auth import Principal

if TYPE_CHECKING:
    from apps.agents.code import Agent as CodeAgent

GENERATION = "agents"


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """One agent as calls see it."""

    agent_id: str
    name: str
    kind: str  # remote | hosted | code
    description: str = ""
    version: str = "1.0.0"
    skills: tuple[dict[str, Any], ...] = ()
    card_params: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # litellm_params
    protocol_version: str = ""
    allowed_teams: frozenset[str] = frozenset()
    allowed_keys: frozenset[str] = frozenset()
    rpm_limit: int | None = None
    remote_card: dict[str, Any] | None = None
    code: CodeAgent | None = None

    @property
    def model(self) -> str:
        """The name it has on /v1/chat/completions."""
        return f"a2a/{self.name}"

    @property
    def push_notifications(self) -> bool:
        """Whether it takes push notification configs (`litellm_params.push_notifications: false` turns them off)."""
        return self.params.get("push_notifications") is not False

    @property
    def extended_card(self) -> bool:
        """Whether it serves the extended card (`litellm_params.extended_card: false` turns it off)."""
        return self.params.get("extended_card") is not False

    @property
    def cost_per_query(self) -> float:
        value = self.params.get("cost_per_query")
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


@dataclass(frozen=True, slots=True)
class AgentTable:
    by_id: dict[str, AgentRecord]
    by_name: dict[str, AgentRecord]

    def find(self, ref: str) -> AgentRecord | None:
        """An agent by id or by name."""
        return self.by_id.get(ref) or self.by_name.get(ref)

    def all(self) -> list[AgentRecord]:
        return sorted(self.by_id.values(), key=lambda a: a.name)


def record_of(row: Any) -> AgentRecord:
    card = dict(row.agent_card_params or {})
    return AgentRecord(
        agent_id=row.agent_id, name=row.agent_name, kind=row.kind,
        description=row.description or str(card.get("description") or ""),
        version=row.version or str(card.get("version") or "1.0.0"),
        skills=tuple(row.skills or card.get("skills") or ()), card_params=card, params=dict(row.litellm_params or {}),
        protocol_version=row.protocol_version, allowed_teams=frozenset(map(str, row.allowed_teams or ())),
        allowed_keys=frozenset(map(str, row.allowed_keys or ())), rpm_limit=row.rpm_limit,
        remote_card=row.remote_card)


def load_agents() -> AgentTable:
    """Enabled database agents, then in-code ones (a database row of the same name wins)."""
    from apps.agents.code import code_records
    from apps.agents.models import Agent

    records = [record_of(row) for row in Agent.objects.filter(enabled=True)]
    names = {record.name for record in records}
    records += [record for record in code_records() if record.name not in names]
    return AgentTable(by_id={r.agent_id: r for r in records}, by_name={r.name: r for r in records})


agent_table: SnapshotCache[AgentTable] = SnapshotCache(GENERATION, load_agents)


def allowed_by_key(principal: Principal, agent: AgentRecord) -> bool:
    """LiteLLM's rule for object_permission.agents: key and team both restricting means both must allow, one
    restricting decides alone, none means any agent; names or ids both match."""
    key = principal.key
    if key is None:
        return True
    names = {agent.agent_id, agent.name}
    for allowed in (key.agents, key.team_agents):
        if allowed is not None and not names & allowed:
            return False
    return True


def may_call(principal: Principal, agent: AgentRecord) -> bool:
    """Whether this caller may discover and call `agent` (the master key may call any)."""
    if principal.is_master:
        return True
    key = principal.key
    if key is None or not allowed_by_key(principal, agent):
        return False
    if agent.allowed_teams and key.team_id not in agent.allowed_teams:
        return False
    return not agent.allowed_keys or bool({key.key_alias, key.token_hash} & agent.allowed_keys)
