"""general_settings.team_settings (issue 14): load_config makes those teams, with those ids, budgets and models."""
from __future__ import annotations

import io
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from apps.teams.models import Team
from tests.conftest import MASTER_KEY, GatewayProcess
from tests.teams.conftest import MSG, client

# LiteLLM's introduction config, as the issue quotes it.
CONFIG = """\
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_key: os.environ/OPENAI_API_KEY}
  - model_name: claude-sonnet
    litellm_params: {model: anthropic/claude-sonnet-4-20250514, api_key: os.environ/ANTHROPIC_API_KEY}
  - model_name: gpt-4o
    litellm_params: {model: azure/gpt-4o-deployment, api_base: os.environ/AZURE_API_BASE, api_key: os.environ/AZURE_API_KEY}
router_settings:
  routing_strategy: "latency-based"
  retry_policy: {num_retries: 3}
  fallbacks: ["gpt-4o", "claude-sonnet"]
general_settings:
  master_key: "sk-master-key"
  team_settings:
    - {team_id: "engineering", max_budget: %(budget)s, models: ["gpt-4o", "claude-sonnet"]}
    - {team_id: "data-science", max_budget: 1000, models: ["gpt-4o", "claude-sonnet", "embedding-*"]}
"""


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "AZURE_API_KEY"):
        monkeypatch.setenv(name, "sk-upstream")
    monkeypatch.setenv("AZURE_API_BASE", "http://127.0.0.1:9")
    return tmp_path / "config.yaml"


def load(path: Path, budget: int = 500, extra: str = "") -> None:
    path.write_text(CONFIG % {"budget": budget} + extra)
    call_command("load_config", str(path))


def teams() -> dict[str, tuple[Decimal | None, list[str]]]:
    return {t.team_id: (t.max_budget, t.allowed_models) for t in Team.objects.order_by("team_id")}


def test_the_issue_config_makes_its_teams_with_their_ids_budgets_and_models(transactional_db: None,
                                                                          config_file: Path) -> None:
    load(config_file)
    assert teams() == {"data-science": (Decimal(1000), ["gpt-4o", "claude-sonnet", "embedding-*"]),
                       "engineering": (Decimal(500), ["gpt-4o", "claude-sonnet"])}


def test_loading_again_updates_and_keeps_the_budget_window(transactional_db: None, config_file: Path) -> None:
    load(config_file)
    Team.objects.filter(team_id="engineering").update(budget_duration="30d", spend=Decimal(7))
    window = Team.objects.get(team_id="engineering").budget_reset_at
    load(config_file, budget=600)
    team = Team.objects.get(team_id="engineering")
    assert (team.max_budget, team.spend, team.budget_reset_at, Team.objects.count()) == (600, 7, window, 2)


def test_an_entry_without_a_team_id_or_with_a_bad_field_names_it(transactional_db: None, config_file: Path) -> None:
    config_file.write_text(CONFIG.replace('team_id: "data-science", ', "") % {"budget": 1})
    with pytest.raises(CommandError, match=r"general_settings.team_settings\[1\] needs a team_id"):
        call_command("load_config", str(config_file))
    config_file.write_text(CONFIG.replace("max_budget: 1000", "max_budget: lots") % {"budget": 1})
    with pytest.raises(CommandError, match=r"team_settings\[1\].max_budget: "):
        call_command("load_config", str(config_file))
    assert not Team.objects.exists()  # nothing half-loaded


def test_a_team_from_the_config_holds_its_keys_to_its_models_wildcards_included(
        config_file: Path, priced: Callable[..., Any], gateway: GatewayProcess) -> None:
    load(config_file)
    priced("embedding-small")  # served by the mock provider, so the allowed call needs no upstream
    answers = {}
    with client(gateway, MASTER_KEY) as root:
        for team_id in ("engineering", "data-science"):
            key = root.post("/key/generate", json={"team_id": team_id}).json()["key"]
            with client(gateway, key) as http:
                answers[team_id] = http.post("/v1/chat/completions", json={"model": "embedding-small",
                                                                           "messages": MSG})
    assert answers["data-science"].status_code == 200
    assert (answers["engineering"].status_code, answers["engineering"].json()["error"]["message"]) == (
        401, "This team is not allowed to access model=embedding-small. Allowed models: gpt-4o, claude-sonnet")


def test_litellm_team_logging_callbacks_are_named_as_ignored(transactional_db: None, config_file: Path) -> None:
    config_file.write_text((CONFIG % {"budget": 5}).replace('max_budget: 1000,', 'max_budget: 1000, '
                                                           'success_callback: ["langfuse"],'))
    err = io.StringIO()
    call_command("load_config", str(config_file), stderr=err)
    warning = (f"warning: {config_file}: general_settings.team_settings[1].success_callback ignored "
               "(per-team logging callbacks are not supported)")
    assert [line for line in err.getvalue().splitlines() if "team_settings" in line] == [warning]
    assert Team.objects.get(team_id="data-science").max_budget == 1000
