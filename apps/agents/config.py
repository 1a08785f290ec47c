"""config.yaml's `agent_list` (LiteLLM's: agent_name, agent_card_params, litellm_params), loaded with the rest of
the file: a bad entry stops the load, naming it."""
from __future__ import annotations

from apps.agents.management import agents_sync_from_config
from apps.core.errors import GatewayError
from apps.routing.config import ConfigError, GatewayConfig


def agents_config_sync(config: GatewayConfig) -> None:
    """Make the config-sourced agents match the file's agent_list."""
    try:
        agents_sync_from_config(config.agent_list)
    except GatewayError as error:
        raise ConfigError(f"agent_list: {error.message}", path=("agent_list",)) from None
