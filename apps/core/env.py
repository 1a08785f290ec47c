"""Environment values read outside settings (first-admin credentials)."""
from __future__ import annotations

import os


def admin_credentials() -> tuple[str | None, str | None]:
    """TOLLGATE_ADMIN_USER and TOLLGATE_ADMIN_PASSWORD, None where unset."""
    user = os.environ.get("TOLLGATE_ADMIN_USER", "").strip() or None
    password = os.environ.get("TOLLGATE_ADMIN_PASSWORD", "").strip() or None
    return user, password
