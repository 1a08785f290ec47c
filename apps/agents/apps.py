from __future__ import annotations

import importlib

from django.apps import AppConfig
from django.conf import settings


class AgentsConfig(AppConfig):
    name = "apps.agents"
    label = "agents"

    def ready(self) -> None:
        from apps.agents import orphans, signals  # noqa: F401 - registration on import; orphans.STARTED: this start
        from apps.agents.bridge import AgentChatBridge
        from apps.agents.config import agents_config_sync
        from apps.routing.bridges import register_chat_bridge
        from apps.routing.services import register_config_sync

        register_chat_bridge("a2a", AgentChatBridge())
        register_config_sync(agents_config_sync)
        for module in settings.TOLLGATE_AGENT_MODULES:  # in-code agents register themselves on import
            importlib.import_module(module)
