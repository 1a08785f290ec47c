"""The admin's "reload config": read TOLLGATE_CONFIG again and make the database match it, as load_config does."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from apps.providers.registry import ADAPTERS
from apps.routing.config import load_config_file
from apps.routing.services import ConfigSyncResult, deployments_sync_from_config


@dataclass(frozen=True, slots=True)
class ConfigReload:
    path: str
    result: ConfigSyncResult
    warnings: tuple[str, ...]


def config_reload(*, path: str | None = None) -> ConfigReload:
    """Load the config file (ConfigError or TeamSettingsInvalid when it is bad; nothing changes then)."""
    path = str(path or settings.TOLLGATE_CONFIG)
    config = load_config_file(path, set(ADAPTERS))
    return ConfigReload(path=path, result=deployments_sync_from_config(config=config),
                        warnings=tuple(str(w) for w in config.warnings))
