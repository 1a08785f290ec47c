"""Writes to search tools: config.yaml's `search_tools` made the stored config-sourced tools."""
from __future__ import annotations

from apps.core.secrets import encrypt
from apps.routing.models import SearchTool
from apps.routing.search_config import SearchToolSpec


def _tool_fields(spec: SearchToolSpec) -> dict[str, object]:
    return {"search_tool_name": spec.search_tool_name, "search_provider": spec.search_provider,
            "api_base": spec.api_base, "api_key_env": spec.api_key_env,
            "api_key_encrypted": encrypt(spec.api_key_literal) if spec.api_key_literal else "",
            "litellm_params": spec.litellm_params, "search_tool_info": spec.search_tool_info,
            "source": SearchTool.Source.CONFIG}


def search_tools_sync_from_config(*, specs: tuple[SearchToolSpec, ...]) -> tuple[int, int, int]:
    """Make config-sourced search tools match the file (created, updated, removed); run inside the config load's
    transaction, whose snapshot bump also reaches them."""
    existing = {tool.config_id: tool for tool in SearchTool.objects.select_for_update().filter(source="config")}
    created = updated = 0
    for spec in specs:
        row = existing.pop(spec.config_id, None)
        if row is None:
            SearchTool.objects.create(config_id=spec.config_id, **_tool_fields(spec))
            created += 1
            continue
        for name, value in _tool_fields(spec).items():
            setattr(row, name, value)
        row.save()
        updated += 1
    removed = SearchTool.objects.filter(pk__in=[tool.pk for tool in existing.values()]).delete()[0]
    return created, updated, removed
