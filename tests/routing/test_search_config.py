"""config.yaml's `search_tools`: parsed as LiteLLM writes them, loaded into SearchTool rows, served from the search
table with `os.environ/` keys and the providers' variables resolved."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from apps.core.secrets import decrypt
from apps.providers.registry import ADAPTERS
from apps.routing.config import ConfigError, load_config_file, parse_config
from apps.routing.models import SearchTool
from apps.routing.search_table import load_search_table

REGISTRY = set(ADAPTERS)
CONFIG = """\
model_list: []
search_tools:
  - search_tool_name: web
    litellm_params:
      search_provider: tavily
      api_key: os.environ/TEST_TAVILY_KEY
  - search_tool_name: web
    litellm_params:
      search_provider: exa_ai
      api_key: exa-literal-secret
      api_base: http://exa.internal
      timeout: 7
    search_tool_info:
      description: Exa behind the same name
  - search_tool_name: google
    litellm_params:
      search_provider: google_pse
      api_key: os.environ/TEST_PSE_KEY
      search_engine_id: engine-1
      input_cost_per_query: 0.002
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_search_tools_become_specs_with_keys_kept_as_variable_names(tmp_path: Path) -> None:
    config = load_config_file(write(tmp_path, CONFIG), REGISTRY)
    assert config.warnings == ()
    tavily, exa, google = config.search_tools
    assert (tavily.search_tool_name, tavily.search_provider, tavily.api_key_env, tavily.api_key_literal) == (
        "web", "tavily", "TEST_TAVILY_KEY", "")
    assert (exa.api_key_literal, exa.api_base, exa.litellm_params, exa.search_tool_info) == (
        "exa-literal-secret", "http://exa.internal", {"timeout": 7}, {"description": "Exa behind the same name"})
    assert google.litellm_params == {"search_engine_id": "engine-1", "input_cost_per_query": 0.002}
    assert len({tavily.config_id, exa.config_id, google.config_id}) == 3


def test_search_tools_under_general_settings_are_read_as_litellm_does() -> None:
    config = parse_config({"general_settings": {"search_tools": [
        {"search_tool_name": "s", "litellm_params": {"search_provider": "searxng", "api_base": "http://searx"}}]}},
        REGISTRY)
    assert [(t.search_tool_name, t.search_provider, t.api_base) for t in config.search_tools] == [
        ("s", "searxng", "http://searx")]
    assert config.warnings == ()


def test_a_provider_tollgate_lacks_and_unknown_keys_are_warnings_with_lines(tmp_path: Path) -> None:
    text = ("search_tools:\n  - search_tool_name: crawl\n    litellm_params:\n      search_provider: firecrawl\n"
            "      colour: blue\n")
    config = load_config_file(write(tmp_path, text), REGISTRY)
    assert [t.search_provider for t in config.search_tools] == ["firecrawl"]
    assert len(config.warnings) == 2
    assert "line 4" in config.warnings[0] and "'firecrawl' is not supported" in config.warnings[0]
    assert "line 5" in config.warnings[1] and "'colour'" in config.warnings[1]


@pytest.mark.parametrize(("entry", "message"), [
    pytest.param({"litellm_params": {"search_provider": "tavily"}}, "needs a string search_tool_name",
                 id="no_name_case"),
    pytest.param({"search_tool_name": "s"}, "needs litellm_params.search_provider", id="no_provider_case"),
    pytest.param({"search_tool_name": "s", "litellm_params": {"search_provider": "tavily", "timeout": "slow"}},
                 "litellm_params.timeout must be a number", id="bad_timeout_case"),
])
def test_bad_entries_name_the_problem(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"search_tools": [entry]}, REGISTRY)
    assert message in str(caught.value)


def test_search_tools_must_be_a_list() -> None:
    with pytest.raises(ConfigError, match="search_tools must be a list"):
        parse_config({"search_tools": {"search_tool_name": "s"}}, REGISTRY)


@pytest.mark.django_db
def test_load_config_stores_tools_and_the_table_serves_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_TAVILY_KEY", "tvly-from-env")
    monkeypatch.setenv("GOOGLE_PSE_API_KEY", "unused: the tool names its own variable")
    monkeypatch.setenv("TEST_PSE_KEY", "pse-from-env")
    path = write(tmp_path, CONFIG)
    call_command("load_config", str(path))
    call_command("load_config", str(path))
    assert SearchTool.objects.count() == 3
    exa = SearchTool.objects.get(search_provider="exa_ai")
    assert decrypt(exa.api_key_encrypted) == "exa-literal-secret" and "exa-literal" not in str(exa.litellm_params)
    table = load_search_table()
    web = table.deployments("web")
    assert [(d.target.provider, d.target.api_key, d.target.timeout) for d in web][:1] == [
        ("tavily", "tvly-from-env", 600.0)]
    assert (web[1].target.api_key, web[1].target.api_base, web[1].target.timeout) == (
        "exa-literal-secret", "http://exa.internal", 7.0)
    [google] = table.deployments("google")
    assert (google.target.api_key, google.target.extra["search_engine_id"], google.model_info) == (
        "pse-from-env", "engine-1", {"input_cost_per_query": "0.002"})
    write(tmp_path, CONFIG.split("  - search_tool_name: google")[0])
    call_command("load_config", str(path))
    assert sorted(SearchTool.objects.values_list("search_provider", flat=True)) == ["exa_ai", "tavily"]
