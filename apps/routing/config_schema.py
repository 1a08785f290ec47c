"""The keys LiteLLM's config.yaml defines, per section; anything else is reported by name as unknown.

Keys we accept but do not act on are listed too (LiteLLM callbacks, its own Redis settings...), so a
LiteLLM config loads without noise; the warning is for typos and keys neither project knows.
"""
from __future__ import annotations

TOP_LEVEL = frozenset({"model_list", "router_settings", "litellm_settings", "general_settings",
                       "environment_variables", "include", "credential_list", "mcp_servers", "guardrails",
                       "callback_settings", "files_settings", "finetune_settings", "search_tools", "vector_store_registry",
                       "agent_list"})

MODEL_ENTRY = frozenset({"model_name", "litellm_params", "model_info", "rpm", "tpm"})

LITELLM_PARAMS = frozenset({
    "model", "api_key", "api_base", "api_version", "timeout", "stream_timeout", "max_retries", "rpm", "tpm",
    "weight", "order", "input_cost_per_token", "output_cost_per_token", "input_cost_per_second",
    "output_cost_per_second", "drop_params", "additional_drop_params", "extra_headers", "headers", "organization",
    "custom_llm_provider", "region_name", "aws_access_key_id", "aws_secret_access_key", "aws_session_token",
    "aws_region_name", "aws_role_name", "aws_session_name", "aws_profile_name", "aws_web_identity_token",
    "aws_bedrock_runtime_endpoint", "aws_sts_endpoint", "vertex_project", "vertex_location", "vertex_credentials",
    "azure_ad_token", "azure_ad_token_provider", "tenant_id", "client_id", "client_secret", "azure_username",
    "azure_password", "litellm_credential_name", "use_in_pass_through", "merge_reasoning_content_in_choices",
    "max_tokens", "max_completion_tokens", "temperature", "top_p", "stop", "seed", "tags", "mock_response",
    "configurable_clientside_auth_params", "deployment_id", "base_model", "reasoning_effort", "thinking",
    "max_parallel_requests", "use_litellm_proxy", "keep_alive", "num_ctx", "auto_router_config",
    "auto_router_config_path", "auto_router_default_model", "auto_router_embedding_model", "litellm_trace_id",
    "max_file_size_mb", "max_budget", "budget_duration", "model_info", "watsonx_region_name", "realtime_protocol",
    "s3_bucket_name", "s3_encryption_key_id", "s3_region_name", "s3_access_key_id", "s3_secret_access_key",
    "aws_batch_role_arn", "gcs_bucket_name", "vector_store_id", "milvus_text_field", "mock_timeout", "num_retries",
})
# LiteLLM's custom pricing parameters (per token, character, image, audio or video second, tier...).
LITELLM_PARAMS_PREFIXES = ("input_cost_per_", "output_cost_per_", "cache_creation_input_", "cache_read_input_")

MODEL_INFO = frozenset({
    "id", "mode", "base_model", "max_tokens", "max_input_tokens", "max_output_tokens", "input_cost_per_token",
    "output_cost_per_token", "cache_read_input_token_cost", "cache_creation_input_token_cost", "access_groups",
    "team_id", "team_public_model_name", "description", "tier", "db_model", "health_check_timeout",
    "health_check_model", "disable_background_health_check", "disable_health_probe", "expensive", "litellm_provider",
    "metadata", "tags", "supported_openai_params", "created_at", "updated_at", "created_by", "updated_by",
})
MODEL_INFO_PREFIXES = ("supports_", "input_cost_", "output_cost_")

ROUTER_SETTINGS = frozenset({
    "routing_strategy", "routing_strategy_args", "model_group_alias", "num_retries", "timeout", "stream_timeout",
    "fallbacks", "context_window_fallbacks", "content_policy_fallbacks", "default_fallbacks", "max_fallbacks",
    "allowed_fails", "allowed_fails_policy", "cooldown_time", "disable_cooldowns", "retry_after", "retry_policy",
    "model_group_retry_policy", "enable_pre_call_checks", "optional_pre_call_checks", "redis_host", "redis_port",
    "redis_password", "redis_url", "cache_responses", "cache_kwargs", "caching_groups", "client_ttl",
    "default_litellm_params", "set_verbose", "debug_level", "polling_interval", "provider_budget_config",
    "enable_tag_filtering", "tag_filtering_match_any", "default_max_parallel_requests", "default_priority",
    "alerting_config", "assistants_config", "router_general_settings", "routing_groups",
    "ignore_invalid_deployments", "search_tools", "guardrail_list", "deployment_affinity_ttl_seconds",
    # Tollgate's own
    "retry_backoff_base", "retry_backoff_max", "max_retry_wait", "expected_completion_tokens", "request_timeout",
    "drop_params", "stream_resume",
})

LITELLM_SETTINGS = frozenset({
    "num_retries", "request_timeout", "timeout", "stream_timeout", "fallbacks", "context_window_fallbacks",
    "content_policy_fallbacks", "default_fallbacks", "allowed_fails", "cooldown_time", "retry_after",
    "drop_params", "modify_params", "set_verbose", "json_logs", "success_callback", "failure_callback",
    "callbacks", "service_callback", "callback_settings", "cache", "cache_params", "turn_off_message_logging",
    "redact_user_api_key_info", "redact_messages_in_exceptions", "langfuse_default_tags", "enable_preview_features",
    "force_ipv4", "max_budget", "budget_duration", "default_team_settings", "default_internal_user_params",
    "default_key_generate_params", "upperbound_key_generate_params", "key_generation_settings",
    "max_internal_user_budget", "internal_user_budget_duration", "max_end_user_budget",
    "disable_end_user_cost_tracking", "enable_json_schema_validation", "check_provider_endpoint",
    "public_model_groups", "public_model_groups_links", "ssl_verify", "max_parallel_requests",
    "global_max_parallel_requests", "telemetry", "return_response_headers", "default_max_tokens",
    "enable_pre_call_checks", "routing_strategy", "model_group_alias", "disable_cooldowns", "upstream_timeout",
    "mcp_aliases", "guardrails", "default_fallbacks_on_error", "prometheus_initialize_budget_metrics",
    "include_cost_in_streaming_usage", "disable_end_user_cost_tracking_prometheus_only",
    "websearch_interception_params", "s3_callback_params",
    "stream_resume",  # Tollgate's own
})

GENERAL_SETTINGS = frozenset({
    "team_settings",  # teams created or updated by load_config (apps/teams/team_settings.py)
    "master_key", "database_url", "database_connection_pool_limit", "database_connection_timeout",
    "store_model_in_db", "store_prompts_in_spend_logs", "allowed_routes", "admin_only_routes", "alerting",
    "alerting_threshold", "alerting_args", "alert_types", "alert_to_webhook_url", "health_check_interval",
    "background_health_checks", "health_check_details", "disable_spend_logs", "disable_master_key_return",
    "disable_retry_on_max_parallel_request_limit_error", "disable_reset_budget", "disable_error_logs",
    "disable_adding_master_key_hash_to_db", "enable_jwt_auth", "litellm_jwtauth", "enforce_user_param",
    "allowed_ips", "public_routes", "max_parallel_requests", "global_max_parallel_requests",
    "max_request_size_mb", "max_response_size_mb", "proxy_batch_write_at", "proxy_budget_rescheduler_min_time",
    "proxy_budget_rescheduler_max_time", "custom_auth", "custom_key_generate", "key_management_system",
    "key_management_settings", "use_redis_transaction_buffer", "use_shared_health_check", "user_header_name",
    "forward_client_headers_to_llm_api", "pass_through_endpoints", "infer_model_from_keys", "ui_access_mode",
    "allow_requests_on_db_unavailable", "service_account_settings", "maximum_spend_logs_retention_period",
    "maximum_spend_logs_retention_interval", "spend_report_frequency", "moderation_model", "enable_oauth2_auth",
    "database_args", "otel", "default_team_disabled", "reject_clientside_metadata_tags", "ui_username",
    "ui_password", "store_audit_logs", "disable_responses_id_security", "embedding_model", "completion_model",
    "max_budget", "budget_duration", "cost_margin", "enable_public_model_hub", "disable_prisma_schema_update",
    "search_tools",  # LiteLLM reads search tools here when the top level has none
})

# Settings whose values the router reads; they are validated when the file is loaded.
ROUTING_SETTINGS_SECTIONS = ("litellm_settings", "router_settings")  # later wins, as in LiteLLM's proxy
