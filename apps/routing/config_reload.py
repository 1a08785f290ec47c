"""Loading TOLLGATE_CONFIG into the database: `load_config` and the admin's "reload config" both come here, so
TOLLGATE_CONFIG_STRICT holds on every path that applies a file."""
from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from apps.providers.registry import ADAPTERS
from apps.routing.config import GatewayConfig, load_config_file
from apps.routing.services import ConfigSyncResult, deployments_sync_from_config


@dataclass(frozen=True, slots=True)
class ConfigReload:
    path: str
    result: ConfigSyncResult
    warnings: tuple[str, ...]


class ConfigRefused(Exception):
    """TOLLGATE_CONFIG_STRICT is set and the file has warnings: nothing was applied."""

    def __init__(self, path: str, warnings: tuple[str, ...]) -> None:
        super().__init__(f"{path}: {len(warnings)} warning(s) and TOLLGATE_CONFIG_STRICT is set; nothing was loaded")
        self.warnings = warnings


def config_read(path: str) -> GatewayConfig:
    """The parsed file, refused (ConfigRefused) when strict mode is on and it has warnings; ConfigError when bad."""
    config = load_config_file(path, set(ADAPTERS))
    if config.warnings and settings.TOLLGATE_CONFIG_STRICT:
        raise ConfigRefused(path, config.warnings)
    return config


def config_reload(*, path: str | None = None) -> ConfigReload:
    """Load the config file (ConfigError, ConfigRefused or TeamSettingsInvalid when it cannot be; nothing changes
    then)."""
    path = str(path or settings.TOLLGATE_CONFIG)
    config = config_read(path)
    return ConfigReload(path=path, result=deployments_sync_from_config(config=config),
                        warnings=tuple(str(w) for w in config.warnings))
