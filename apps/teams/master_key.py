"""The proxy master key: TOLLGATE_MASTER_KEY, else config.yaml's general_settings.master_key, else generated."""
from __future__ import annotations

import os
import secrets
from functools import cache
from pathlib import Path

import yaml
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ENV_PREFIX = "os.environ/"


def _from_config(path: str | None) -> str | None:
    if not path or not Path(path).exists():
        return None
    try:
        data = yaml.safe_load(Path(path).read_text()) or {}
    except yaml.YAMLError:
        return None  # load_config reports the malformed file with its line number
    value = (data.get("general_settings") or {}).get("master_key") if isinstance(data, dict) else None
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        value = os.environ.get(value[len(ENV_PREFIX):])
    return str(value) if value else None


def _generated() -> str:
    path = Path(settings.VAR_DIR) / "master_key"
    if not path.exists():
        path.write_text(f"sk-{secrets.token_urlsafe(32)}")
        path.chmod(0o600)
    return path.read_text().strip()


@cache
def master_key() -> str:
    """The master key this process accepts."""
    key = settings.TOLLGATE_MASTER_KEY or _from_config(settings.TOLLGATE_CONFIG) or _generated()
    if not key.startswith("sk-"):
        raise ImproperlyConfigured("TOLLGATE_MASTER_KEY (or general_settings.master_key) must start with 'sk-'")
    return key
