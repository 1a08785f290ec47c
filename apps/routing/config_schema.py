"""The keys LiteLLM's config.yaml defines, per section, in three kinds.

- acted on: Tollgate reads them and behaves as LiteLLM does (silent);
- unsupported: LiteLLM settings Tollgate does not act on. They load, with a warning naming the key and its
  line (so `TOLLGATE_CONFIG_STRICT=1` and `check_config` catch a setting the user believes is in force);
- internal: tuning of LiteLLM's own machinery (its logging verbosity, Prisma pool, batch writer, telemetry)
  with no meaning in Tollgate, which has its own for each; silent, and listed with that reason in
  docs/config-keys.md.
Anything else is reported by name as unknown.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SectionKeys:
    """One section's keys, by what Tollgate does with them."""

    acted: frozenset[str]
    unsupported: frozenset[str] = frozenset()
    internal: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()  # keys starting with one of these are acted on (LiteLLM's price families)

    @property
    def known(self) -> frozenset[str]:
        """Every key LiteLLM defines in this section."""
        return self.acted | self.unsupported | self.internal


def keys(text: str) -> frozenset[str]:
    """The whitespace-separated key names of `text`."""
    return frozenset(text.split())


TOP_LEVEL = SectionKeys(
    acted=keys("model_list router_settings litellm_settings general_settings environment_variables include "
               "search_tools agent_list"),
    unsupported=keys("credential_list mcp_servers guardrails callback_settings files_settings finetune_settings "
                     "vector_store_registry"))

MODEL_ENTRY = SectionKeys(acted=keys("model_name litellm_params model_info rpm tpm"))

LITELLM_PARAMS = SectionKeys(
    acted=keys(
        "model api_key api_base api_version timeout stream_timeout rpm tpm weight order num_retries "
        "input_cost_per_token output_cost_per_token input_cost_per_second output_cost_per_second drop_params "
        "extra_headers organization base_model mock_response keep_alive num_ctx azure_ad_token "
        "aws_access_key_id aws_secret_access_key aws_session_token aws_region_name aws_profile_name "
        "aws_bedrock_runtime_endpoint vertex_project vertex_location vertex_credentials "
        # read by one adapter each (SageMaker, Replicate, Bedrock, Gemini, Ollama)
        "sagemaker_base_url hf_model_name aws_sagemaker_allow_zero_temp replicate_wait replicate_poll_interval "
        "model_id safety_settings supports_system_prompt"),
    unsupported=keys(
        "max_retries additional_drop_params headers custom_llm_provider region_name aws_role_name aws_session_name "
        "aws_web_identity_token aws_sts_endpoint azure_ad_token_provider tenant_id client_id client_secret "
        "azure_username azure_password litellm_credential_name use_in_pass_through merge_reasoning_content_in_choices "
        "max_tokens max_completion_tokens temperature top_p stop seed tags configurable_clientside_auth_params "
        "deployment_id reasoning_effort thinking max_parallel_requests use_litellm_proxy auto_router_config "
        "auto_router_config_path auto_router_default_model auto_router_embedding_model litellm_trace_id "
        "max_file_size_mb max_budget budget_duration model_info watsonx_region_name realtime_protocol s3_bucket_name "
        "s3_encryption_key_id s3_region_name s3_access_key_id s3_secret_access_key aws_batch_role_arn "
        "gcs_bucket_name vector_store_id milvus_text_field mock_timeout"),
    # LiteLLM's custom pricing parameters (per token, character, image, audio or video second, tier...).
    prefixes=("input_cost_per_", "output_cost_per_", "cache_creation_input_", "cache_read_input_"))

MODEL_INFO = SectionKeys(
    acted=keys(
        "id mode base_model max_tokens max_input_tokens max_output_tokens input_cost_per_token output_cost_per_token "
        "cache_read_input_token_cost cache_creation_input_token_cost access_groups supported_openai_params "
        "disable_background_health_check disable_health_probe expensive "
        # descriptive: stored and shown as written by /model/info, as LiteLLM shows them
        "description metadata tags litellm_provider tier team_public_model_name db_model "
        "created_at updated_at created_by updated_by"),
    unsupported=keys("team_id health_check_timeout health_check_model"),
    prefixes=("supports_", "input_cost_", "output_cost_"))

_ROUTING = ("routing_strategy routing_strategy_args model_group_alias num_retries timeout request_timeout "
            "stream_timeout fallbacks context_window_fallbacks content_policy_fallbacks default_fallbacks "
            "allowed_fails cooldown_time disable_cooldowns retry_after enable_pre_call_checks drop_params "
            "stream_resume ")

ROUTER_SETTINGS = SectionKeys(
    acted=keys(_ROUTING + "max_fallbacks allowed_fails_policy retry_policy model_group_retry_policy search_tools "
               # Tollgate's own
               "retry_backoff_base retry_backoff_max max_retry_wait expected_completion_tokens"),
    unsupported=keys(
        "optional_pre_call_checks redis_host redis_port redis_password redis_url cache_responses cache_kwargs "
        "caching_groups default_litellm_params provider_budget_config enable_tag_filtering "
        "tag_filtering_match_any default_max_parallel_requests default_priority alerting_config assistants_config "
        "router_general_settings routing_groups ignore_invalid_deployments guardrail_list "
        "deployment_affinity_ttl_seconds"),
    internal=keys("set_verbose debug_level client_ttl polling_interval"))

LITELLM_SETTINGS = SectionKeys(
    acted=keys(_ROUTING + "success_callback failure_callback callbacks s3_callback_params max_budget budget_duration"),
    unsupported=keys(
        "modify_params service_callback callback_settings cache cache_params turn_off_message_logging "
        "redact_user_api_key_info redact_messages_in_exceptions langfuse_default_tags force_ipv4 "
        "default_team_settings default_internal_user_params default_key_generate_params "
        "upperbound_key_generate_params key_generation_settings max_internal_user_budget "
        "internal_user_budget_duration max_end_user_budget disable_end_user_cost_tracking "
        "enable_json_schema_validation check_provider_endpoint public_model_groups public_model_groups_links "
        "ssl_verify max_parallel_requests global_max_parallel_requests return_response_headers default_max_tokens "
        "upstream_timeout mcp_aliases guardrails default_fallbacks_on_error include_cost_in_streaming_usage "
        "websearch_interception_params enable_preview_features"),
    internal=keys("set_verbose json_logs telemetry prometheus_initialize_budget_metrics "
                  "disable_end_user_cost_tracking_prometheus_only"))

GENERAL_SETTINGS = SectionKeys(
    acted=keys("master_key team_settings "
               "search_tools"),  # LiteLLM reads search tools here when the top level has none
    unsupported=keys(
        "database_url store_prompts_in_spend_logs allowed_routes admin_only_routes alerting alerting_threshold "
        "alerting_args alert_types alert_to_webhook_url health_check_interval background_health_checks "
        "health_check_details disable_spend_logs disable_master_key_return "
        "disable_retry_on_max_parallel_request_limit_error disable_reset_budget disable_error_logs enable_jwt_auth "
        "litellm_jwtauth enforce_user_param allowed_ips public_routes max_parallel_requests "
        "global_max_parallel_requests max_request_size_mb max_response_size_mb custom_auth custom_key_generate "
        "key_management_system key_management_settings user_header_name forward_client_headers_to_llm_api "
        "pass_through_endpoints infer_model_from_keys ui_access_mode allow_requests_on_db_unavailable "
        "service_account_settings maximum_spend_logs_retention_period maximum_spend_logs_retention_interval "
        "spend_report_frequency moderation_model enable_oauth2_auth database_args otel default_team_disabled "
        "reject_clientside_metadata_tags ui_username ui_password store_audit_logs disable_responses_id_security "
        "embedding_model completion_model max_budget budget_duration cost_margin enable_public_model_hub"),
    internal=keys(
        "store_model_in_db database_connection_pool_limit database_connection_timeout proxy_batch_write_at "
        "proxy_budget_rescheduler_min_time proxy_budget_rescheduler_max_time disable_prisma_schema_update "
        "disable_adding_master_key_hash_to_db use_redis_transaction_buffer use_shared_health_check"))

SECTIONS = {"router_settings": ROUTER_SETTINGS, "litellm_settings": LITELLM_SETTINGS,
            "general_settings": GENERAL_SETTINGS}

# What Tollgate offers instead, named in the warning where there is one.
INSTEAD = {
    "redis_host": "Tollgate shares state through REDIS_URL", "redis_port": "Tollgate shares state through REDIS_URL",
    "redis_password": "Tollgate shares state through REDIS_URL", "redis_url": "Tollgate shares state through REDIS_URL",
    "database_url": "Tollgate's database is DATABASE_URL", "max_request_size_mb": "see TOLLGATE_MAX_REQUEST_BYTES",
    "maximum_spend_logs_retention_period": "see TOLLGATE_SPEND_RETENTION_DAYS",
    "otel": "litellm_settings.callbacks: [otel] or TOLLGATE_OTEL=1 turn tracing on",
}

# Settings whose values the router reads; they are validated when the file is loaded.
ROUTING_SETTINGS_SECTIONS = ("litellm_settings", "router_settings")  # later wins, as in LiteLLM's proxy
