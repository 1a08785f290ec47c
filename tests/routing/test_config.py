"""config.yaml parsing and loading: typed specs, os.environ/ references, warnings, line-numbered errors."""
from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.core.secrets import decrypt
from apps.providers.registry import ADAPTERS
from apps.routing.config import ConfigError, load_config_file, parse_config
from apps.routing.models import Deployment, RouterSettings

REGISTRY = set(ADAPTERS)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_model_list_entries_become_specs() -> None:
    config = parse_config({"model_list": [{"model_name": "gpt", "litellm_params": {
        "model": "openai/gpt-4o", "api_key": "os.environ/OPENAI_KEY", "rpm": "60", "api_base": "http://h/v1",
        "organization": "org-1", "input_cost_per_token": 0.000002}, "model_info": {"id": "dep-a"}}]}, REGISTRY)
    spec = config.deployments[0]
    assert (spec.config_id, spec.model_name, spec.provider, spec.provider_model) == ("dep-a", "gpt", "openai", "gpt-4o")
    assert (spec.api_key_env, spec.api_key_literal, spec.rpm, spec.api_base) == ("OPENAI_KEY", "", 60, "http://h/v1")
    assert spec.litellm_params == {"organization": "org-1"}
    assert spec.input_cost_per_token == 0.000002


def test_bare_model_names_default_to_openai() -> None:
    spec = parse_config({"model_list": [{"model_name": "m", "litellm_params": {"model": "gpt-4o"}}]},
                        REGISTRY).deployments[0]
    assert (spec.provider, spec.provider_model) == ("openai", "gpt-4o")


def test_unknown_top_level_keys_warn_by_name() -> None:
    config = parse_config({"model_list": [], "modle_list": [], "router_settings": {}}, REGISTRY)
    assert config.warnings == ("unknown top-level key 'modle_list' ignored",)


def test_malformed_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "model_list:\n  - model_name: a\n    litellm_params: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_config_file(path, REGISTRY)
    assert "line 4" in str(caught.value) or "line 3" in str(caught.value)
    assert str(path) in str(caught.value)


@pytest.mark.parametrize(("entry", "message"), [
    pytest.param({"litellm_params": {"model": "openai/x"}}, "needs a string model_name", id="no_name_case"),
    pytest.param({"model_name": "a"}, "needs litellm_params.model", id="no_params_case"),
    pytest.param({"model_name": "a", "litellm_params": {"model": "openai/x", "rpm": "many"}},
                 "litellm_params.rpm must be a number", id="bad_number_case"),
])
def test_bad_entries_name_the_problem(entry: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"model_list": [entry]}, REGISTRY)
    assert message in str(caught.value)
    assert "model_list[0]" in str(caught.value)


CONFIG = """
model_list:
  - model_name: alpha
    litellm_params: {model: mock/alpha, api_key: sk-literal-secret}
  - model_name: beta
    litellm_params: {model: openai/beta, api_key: os.environ/BETA_KEY}
router_settings: {routing_strategy: least-busy, num_retries: 4}
litellm_settings: {request_timeout: 30, drop_params: true}
"""


@pytest.mark.django_db
def test_load_config_is_idempotent_and_removes_dropped_entries(tmp_path: Path) -> None:
    path = write(tmp_path, CONFIG)
    call_command("load_config", str(path))
    call_command("load_config", str(path))
    assert sorted(Deployment.objects.values_list("model_name", flat=True)) == ["alpha", "beta"]
    alpha = Deployment.objects.get(model_name="alpha")
    assert decrypt(alpha.api_key_encrypted) == "sk-literal-secret"
    assert "sk-literal-secret" not in str(alpha.litellm_params)
    router = RouterSettings.objects.get()
    assert (router.routing_strategy, router.num_retries, router.request_timeout) == ("least-busy", 4, 30.0)
    assert router.settings == {"drop_params": True}
    write(tmp_path, CONFIG.split("  - model_name: beta")[0])
    call_command("load_config", str(path))
    assert list(Deployment.objects.values_list("model_name", flat=True)) == ["alpha"]


@pytest.mark.django_db
def test_load_config_failure_is_a_command_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError) as caught:
        call_command("load_config", str(write(tmp_path, "model_list: 5\n")))
    assert "model_list must be a list" in str(caught.value)
