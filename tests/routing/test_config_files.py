"""Config files as LiteLLM users write them: providers we do not serve, `include:`, strict mode, check_config."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from apps.providers.registry import ADAPTERS
from apps.routing.config import ConfigError, load_config_file
from apps.routing.models import Deployment

UNSUPPORTED = """
    model_list:
      - model_name: served
        litellm_params: {model: mock/served}
      - model_name: elsewhere
        litellm_params:
          model: madeupcloud/some-model
          api_key: os.environ/MADEUP_KEY
"""
PROVIDER_WARNING = ("line 6: model_list[1]: provider 'madeupcloud' in 'madeupcloud/some-model' is not supported by "
                    "Tollgate (LiteLLM: LLM Provider NOT provided); for an OpenAI-compatible server write "
                    "openai/madeupcloud/some-model; the deployment is kept and calls to it get 400")


def write(directory: Path, text: str, name: str = "config.yaml") -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_an_unsupported_provider_is_a_warning_naming_it_and_its_line(tmp_path: Path) -> None:
    config = load_config_file(write(tmp_path, UNSUPPORTED), set(ADAPTERS))
    assert config.warnings == (PROVIDER_WARNING,)
    assert [(d.model_name, d.provider, d.provider_model) for d in config.deployments] == [
        ("served", "mock", "served"), ("elsewhere", "madeupcloud", "some-model")]


@pytest.mark.django_db
def test_load_config_keeps_a_deployment_of_an_unsupported_provider(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, UNSUPPORTED)
    call_command("load_config", str(path))
    assert sorted(Deployment.objects.values_list("model_name", "provider")) == [
        ("elsewhere", "madeupcloud"), ("served", "mock")]
    assert capsys.readouterr().err == f"warning: {path}: {PROVIDER_WARNING}\n"


@pytest.mark.django_db
def test_strict_mode_makes_a_warning_fatal_and_loads_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, UNSUPPORTED)
    with override_settings(TOLLGATE_CONFIG_STRICT=True), pytest.raises(CommandError) as caught:
        call_command("load_config", str(path))
    assert str(caught.value) == f"{path}: 1 warning(s) and TOLLGATE_CONFIG_STRICT is set; nothing was loaded"
    assert Deployment.objects.count() == 0


def test_check_config_prints_warnings_with_lines_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, UNSUPPORTED + "    router_settings: {num_retrys: 2}\n")
    with pytest.raises(CommandError) as caught:
        call_command("check_config", str(path))
    assert str(caught.value) == f"{path}: 2 warning(s)"
    assert capsys.readouterr().err.splitlines() == [
        f"warning: {path}: {PROVIDER_WARNING}",
        f"warning: {path}: line 8: unknown key 'num_retrys' in router_settings ignored"]


def test_check_config_reports_an_error_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "model_list:\n  - model_name: a\n    litellm_params: {model: mock/a, rpm: many}\n")
    with pytest.raises(CommandError) as caught:
        call_command("check_config", str(path))
    assert str(caught.value) == (f"error: {path}: line 3: model_list[0]: litellm_params.rpm must be a number, "
                                 f"got 'many'")


def test_check_config_passes_a_clean_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "model_list:\n  - model_name: a\n    litellm_params: {model: mock/a}\n")
    call_command("check_config", str(path))
    assert capsys.readouterr().out == f"{path}: OK, 1 deployment(s), no warnings\n"


def test_included_files_are_relative_to_the_including_file_and_extend_model_list(tmp_path: Path) -> None:
    write(tmp_path / "models", """
        model_list:
          - model_name: included
            litellm_params: {model: mock/included}
        include: [more/extra.yaml]
    """, name="models.yaml")
    write(tmp_path / "models" / "more", """
        model_list:
          - model_name: nested
            litellm_params: {model: mock/nested, rpn: 1}
        router_settings: {num_retries: 7}
    """, name="extra.yaml")
    path = write(tmp_path, """
        include:
          - models/models.yaml
        model_list:
          - model_name: main
            litellm_params: {model: mock/main}
        router_settings: {num_retries: 1, cooldown_time: 9}
    """)
    config = load_config_file(path, set(ADAPTERS))
    assert [d.model_name for d in config.deployments] == ["main", "included", "nested"]
    assert config.router_settings == {"num_retries": 7}  # a mapping in an included file replaces, as in LiteLLM
    assert config.warnings == (
        "models/models.yaml: more/extra.yaml: line 3: unknown key 'rpn' in model_list[2].litellm_params "
        "passed to the provider as is",)


@pytest.mark.parametrize(("files", "where", "message"), [
    pytest.param({"config.yaml": "include: [nothere.yaml]\nmodel_list: []\n"}, "config.yaml",
                 "line 1: included file 'nothere.yaml' not found (looked for {dir}/nothere.yaml)", id="missing_case"),
    pytest.param({"other.yaml": "include: [config.yaml]\n", "config.yaml": "include: [other.yaml]\n"}, "other.yaml",
                 "line 1: 'config.yaml' is already being included (a cycle)", id="cycle_case"),
    pytest.param({"inc.yaml": "model_list:\n  - model_name: x\n    litellm_params: {model: mock/x, tpm: lots}\n",
                  "config.yaml": "include: [inc.yaml]\n"}, "config.yaml",
                 "inc.yaml: line 3: model_list[0]: litellm_params.tpm must be a number, got 'lots'",
                 id="error_inside_case"),
])
def test_include_problems_name_the_file_and_line(tmp_path: Path, files: dict[str, str], where: str,
                                                 message: str) -> None:
    for name, text in files.items():
        write(tmp_path, text, name=name)
    with pytest.raises(ConfigError) as caught:
        load_config_file(tmp_path / "config.yaml", set(ADAPTERS))
    assert str(caught.value) == f"{tmp_path / where}: {message.format(dir=tmp_path)}"


@pytest.mark.parametrize(("settings", "message"), [
    pytest.param("  max_budget: lots\n", "line 3: litellm_settings.max_budget must be a number of USD, got 'lots'",
                 id="bad_amount_case"),
    pytest.param("  max_budget: -1\n", "line 3: litellm_settings.max_budget must be a number of USD, got -1",
                 id="negative_case"),
    pytest.param("  max_budget: 5\n  budget_duration: fortnightly\n", "line 4: litellm_settings.budget_duration: "
                 "'fortnightly' is not a duration", id="bad_duration_case"),
])
def test_a_bad_proxy_budget_is_an_error_naming_the_line(tmp_path: Path, settings: str, message: str) -> None:
    path = write(tmp_path, f"model_list: []\nlitellm_settings:\n{settings}")
    with pytest.raises(ConfigError) as caught:
        load_config_file(path, set(ADAPTERS))
    assert str(caught.value).startswith(f"{path}: {message}")


def test_a_budget_duration_without_a_max_budget_is_a_warning(tmp_path: Path) -> None:
    config = load_config_file(write(tmp_path, "litellm_settings:\n  budget_duration: monthly\n"), set(ADAPTERS))
    assert (config.proxy_budget, config.warnings) == (
        None, ("line 2: litellm_settings.budget_duration has no effect without litellm_settings.max_budget",))


@pytest.mark.django_db
def test_the_system_check_warns_about_a_stored_unsupported_provider_without_failing() -> None:
    from django.core.checks import Warning as CheckWarning

    from apps.routing.checks import deployments_have_known_providers

    Deployment.objects.create(model_name="elsewhere", provider="madeupcloud", provider_model="x")
    assert deployments_have_known_providers(None) == [CheckWarning(
        "deployments use provider 'madeupcloud', which no adapter serves: their calls get 400", id="routing.W001")]


def test_litellm_deployment_params_of_its_sample_configs_load_acted_on_silently_and_the_rest_named(
        tmp_path: Path) -> None:
    config = load_config_file(write(tmp_path, """
        model_list:
          - model_name: files
            litellm_params:
              model: openai/gpt-4o
              num_retries: 2
              order: 1
              input_cost_per_second: 0.0001
              cache_read_input_token_cost: 0.0000001
              s3_bucket_name: my-bucket
              s3_region_name: us-west-2
              max_file_size_mb: 20
        litellm_settings: {include_cost_in_streaming_usage: true}
        general_settings: {disable_prisma_schema_update: true}
    """), set(ADAPTERS))
    assert config.warnings == (
        "line 9: LiteLLM's model_list[0].litellm_params.s3_bucket_name is not supported by Tollgate; ignored",
        "line 10: LiteLLM's model_list[0].litellm_params.s3_region_name is not supported by Tollgate; ignored",
        "line 11: LiteLLM's model_list[0].litellm_params.max_file_size_mb is not supported by Tollgate; ignored",
        "line 12: LiteLLM's litellm_settings.include_cost_in_streaming_usage is not supported by Tollgate; ignored")
    assert config.deployments[0].litellm_params["num_retries"] == 2
