"""config.yaml parsing: unknown keys warned by name and line, malformed files named by line and problem."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from apps.providers.registry import ADAPTERS
from apps.routing.config import ConfigError, load_config_file
from apps.routing.policy import policy_from_settings
from tests.conftest import EXAMPLE_CONFIG


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def load(tmp_path: Path, text: str):
    return load_config_file(write(tmp_path, text), set(ADAPTERS))


def test_the_example_config_loads_without_warnings() -> None:
    config = load_config_file(EXAMPLE_CONFIG, set(ADAPTERS))
    assert config.warnings == ()
    assert [d.config_id for d in config.deployments] == ["mock-gpt-4o-mini-a", "mock-gpt-4o-mini-b", "mock-embedding"]


def test_unknown_keys_in_every_section_are_warned_by_name_and_line(tmp_path: Path) -> None:
    config = load(tmp_path, """
        model_list:
          - model_name: a
            litellm_params:
              model: mock/a
              rpn: 5
            model_info:
              idd: x
              supports_vision: true
              access_groups: [beta]
            extra_thing: 1
        router_settings:
          routing_strategy: latency-based-routing
          cooldown_tme: 3
        litellm_settings:
          num_retries: 2
          bogus: 1
        general_settings:
          master_key: sk-1
          master_keyy: sk-2
        colour: blue
    """)
    assert config.warnings == (
        "line 20: unknown top-level key 'colour' ignored",
        "line 10: unknown key 'extra_thing' in model_list[0] ignored",
        "line 5: unknown key 'rpn' in model_list[0].litellm_params passed to the provider as is",
        "line 7: unknown key 'idd' in model_list[0].model_info ignored",
        "line 13: unknown key 'cooldown_tme' in router_settings ignored",
        "line 16: unknown key 'bogus' in litellm_settings ignored",
        "line 19: unknown key 'master_keyy' in general_settings ignored",
    )


@pytest.mark.parametrize(("text", "message"), [
    pytest.param("model_list:\n  - model_name: a\n   litellm_params: {}\n",
                 "line 3, column 4: expected <block end>, but found '<block mapping start>'", id="yaml_syntax_case"),
    pytest.param("model_list:\n  - model_name: a\n    litellm_params:\n      model: mock/a\n"
                 "  - model_name: b\n    litellm_params:\n      api_base: http://x\n",
                 "line 6: model_list[1]: needs litellm_params.model (e.g. openai/gpt-4o)", id="missing_model_case"),
    pytest.param("model_list:\n  - model_name: a\n    litellm_params:\n      model: mock/a\n      rpm: lots\n",
                 "line 5: model_list[0]: litellm_params.rpm must be a number, got 'lots'", id="bad_number_case"),
    pytest.param("router_settings:\n  num_retries: 2\n  routing_strategy: fastest\n",
                 "line 3: router_settings.routing_strategy 'fastest' is not one of", id="bad_strategy_case"),
    pytest.param("litellm_settings:\n  fallbacks: 3\n",
                 "line 2: litellm_settings.fallbacks must be a list", id="bad_fallbacks_case"),
    pytest.param("router_settings:\n  allowed_fails: -1\n",
                 "line 2: router_settings.allowed_fails must be at least 1, got -1", id="bad_allowed_fails_case"),
    pytest.param("router_settings: [1, 2]\n", "line 1: router_settings must be a mapping", id="bad_section_case"),
    pytest.param("- just\n- a list\n", "line 1: the top level must be a mapping of sections", id="not_mapping_case"),
])
def test_malformed_files_name_the_line_and_problem(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config_file(path, set(ADAPTERS))
    assert str(caught.value).startswith(f"{path}: {message}")


def test_env_references_resolve_from_the_process_then_the_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TG_TEST_BASE", "http://from-process/v1")
    monkeypatch.delenv("TG_TEST_RETRIES", raising=False)
    config = load(tmp_path, """
        model_list:
          - model_name: a
            litellm_params:
              model: openai/gpt-4o
              api_base: os.environ/TG_TEST_BASE
              api_key: os.environ/TG_TEST_KEY
        router_settings:
          num_retries: os.environ/TG_TEST_RETRIES
        environment_variables:
          TG_TEST_RETRIES: "4"
    """)
    spec = config.deployments[0]
    assert (spec.api_base, spec.api_key_env, spec.api_key_literal) == ("http://from-process/v1", "TG_TEST_KEY", "")
    assert config.router_settings == {"num_retries": "4"}
    assert policy_from_settings(config.router_settings)[0].num_retries == 4


def test_every_routing_setting_reaches_the_policy(tmp_path: Path) -> None:
    config = load(tmp_path, """
        router_settings:
          routing_strategy: usage-based-routing-v2
          routing_strategy_args: {lowest_latency_buffer: 0.2}
          model_group_alias: {gpt4: gpt-4o, hidden-one: {model: gpt-4o, hidden: true}}
          allowed_fails: 2
          cooldown_time: 30
          enable_pre_call_checks: true
          stream_timeout: 15
          context_window_fallbacks: [{gpt-4o: [gpt-4o-long]}]
        litellm_settings:
          num_retries: 4
          request_timeout: 90
          fallbacks: [{gpt-4o: [claude]}, spare]
          content_policy_fallbacks: [{gpt-4o: [safe]}]
    """)
    policy, problems = policy_from_settings({**config.litellm_settings, **config.router_settings})
    assert problems == []
    assert (policy.strategy, policy.latency_buffer, policy.allowed_fails, policy.cooldown_time) == \
        ("usage-based", 0.2, 2, 30.0)
    assert (policy.num_retries, policy.timeout, policy.stream_timeout, policy.enable_pre_call_checks) == \
        (4, 90.0, 15.0, True)
    assert policy.fallbacks == {"gpt-4o": ("claude",), "*": ("spare",)}
    assert policy.fallbacks_for("generic", "other") == ("spare",)
    assert policy.fallbacks_for("context_window", "gpt-4o") == ("gpt-4o-long",)
    assert policy.fallbacks_for("content_policy", "gpt-4o") == ("safe",)
    assert policy.model_group_alias == {"gpt4": "gpt-4o", "hidden-one": "gpt-4o"}
    assert policy.hidden_aliases == frozenset({"hidden-one"})


def test_strategy_aliases_follow_litellm_names() -> None:
    for name, expected in [("simple-shuffle", "simple-shuffle"), ("least-busy", "least-busy"),
                           ("latency-based-routing", "latency-based"), ("cost-based-routing", "cost-based"),
                           ("usage-based-routing", "usage-based")]:
        assert policy_from_settings({"routing_strategy": name})[0].strategy == expected


# The audit's file: security, budget and credential settings a LiteLLM user believes are in force.
UNSUPPORTED_KEYS = """
    model_list:
      - model_name: a
        litellm_params:
          model: azure/gpt-4o
          api_base: https://x.openai.azure.com
          tenant_id: t
          client_id: c
          client_secret: s
          aws_role_name: arn:aws:iam::1:role/r
        model_info:
          team_id: engineering
    router_settings:
      provider_budget_config: {openai: {budget_limit: 10, time_period: 1d}}
      redis_host: redis.internal
    litellm_settings:
      max_end_user_budget: 5
    general_settings:
      master_key: sk-1
      allowed_ips: [10.0.0.1]
      enable_jwt_auth: true
    credential_list: []
"""


def test_litellm_keys_tollgate_does_not_act_on_are_warned_by_name_and_line(tmp_path: Path) -> None:
    config = load(tmp_path, UNSUPPORTED_KEYS)
    params = "LiteLLM's model_list[0].litellm_params"
    assert config.warnings == (
        "line 21: LiteLLM's top-level credential_list is not supported by Tollgate; ignored",
        f"line 6: {params}.tenant_id is not supported by Tollgate; ignored",
        f"line 7: {params}.client_id is not supported by Tollgate; ignored",
        f"line 8: {params}.client_secret is not supported by Tollgate; ignored",
        f"line 9: {params}.aws_role_name is not supported by Tollgate; ignored",
        "line 11: LiteLLM's model_list[0].model_info.team_id is not supported by Tollgate; ignored",
        "line 13: LiteLLM's router_settings.provider_budget_config is not supported by Tollgate; ignored",
        "line 14: LiteLLM's router_settings.redis_host is not supported by Tollgate; ignored "
        "(Tollgate shares state through REDIS_URL)",
        "line 16: LiteLLM's litellm_settings.max_end_user_budget is not supported by Tollgate; ignored",
        "line 19: LiteLLM's general_settings.allowed_ips is not supported by Tollgate; ignored",
        "line 20: LiteLLM's general_settings.enable_jwt_auth is not supported by Tollgate; ignored",
    )


def test_check_config_fails_on_an_unsupported_litellm_key(tmp_path: Path, capsys) -> None:
    from django.core.management import CommandError, call_command

    path = write(tmp_path, UNSUPPORTED_KEYS)
    with pytest.raises(CommandError) as caught:
        call_command("check_config", str(path))
    assert str(caught.value) == f"{path}: 11 warning(s)"
    assert f"warning: {path}: line 19: LiteLLM's general_settings.allowed_ips is not supported" in capsys.readouterr().err


def test_keys_tollgate_acts_on_and_litellm_internals_load_without_a_warning(tmp_path: Path) -> None:
    config = load(tmp_path, """
        model_list:
          - model_name: a
            rpm: 10
            litellm_params:
              model: openai/gpt-4o
              api_key: os.environ/OPENAI_API_KEY
              api_base: http://x/v1
              organization: org-1
              timeout: 30
              stream_timeout: 10
              tpm: 1000
              weight: 2
              order: 1
              num_retries: 2
              input_cost_per_token: 0.000001
              output_cost_per_token: 0.000002
              input_cost_per_second: 0.0001
              output_cost_per_second: 0.0002
              drop_params: true
              extra_headers: {x-team: a}
              base_model: gpt-4o
              mock_response: hi
            model_info:
              id: a-1
              mode: chat
              base_model: gpt-4o
              max_tokens: 100
              max_input_tokens: 1000
              cache_read_input_token_cost: 0.0000001
              cache_creation_input_token_cost: 0.0000003
              access_groups: [beta]
              supports_vision: true
              description: shown by /model/info
          - model_name: b
            litellm_params:
              model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
              aws_access_key_id: os.environ/AWS_ACCESS_KEY_ID
              aws_secret_access_key: os.environ/AWS_SECRET_ACCESS_KEY
              aws_session_token: os.environ/AWS_SESSION_TOKEN
              aws_region_name: us-east-1
              aws_profile_name: dev
        router_settings:
          routing_strategy: latency-based-routing
          num_retries: 3
          retry_policy: {RateLimitErrorRetries: 2, AuthenticationErrorRetries: 0}
          allowed_fails_policy: {TimeoutErrorAllowedFails: 2}
          model_group_retry_policy: {a: {TimeoutErrorRetries: 1}}
          fallbacks: [{a: [b]}]
          cooldown_time: 30
          set_verbose: true
        litellm_settings:
          drop_params: true
          request_timeout: 600
          max_budget: 100
          budget_duration: 30d
          success_callback: [generic_api]
          telemetry: false
          json_logs: true
        general_settings:
          master_key: sk-1
          team_settings: [{team_id: t1, max_budget: 5}]
          store_model_in_db: true
          proxy_batch_write_at: 60
          database_connection_pool_limit: 10
    """)
    assert config.warnings == ()


def test_the_three_kinds_of_key_do_not_overlap() -> None:
    from apps.routing import config_schema as schema

    sections = (schema.TOP_LEVEL, schema.MODEL_ENTRY, schema.LITELLM_PARAMS, schema.MODEL_INFO,
                *schema.SECTIONS.values())
    for section in sections:
        assert not section.acted & section.unsupported
        assert not section.acted & section.internal
        assert not section.unsupported & section.internal
