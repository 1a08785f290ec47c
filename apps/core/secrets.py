"""Encryption at rest for provider credentials (Fernet, keyed from TOLLGATE_ENCRYPTION_KEY or SECRET_KEY)."""
from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@cache
def _fernet() -> Fernet:
    material = settings.TOLLGATE_ENCRYPTION_KEY or settings.SECRET_KEY
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest()))


def encrypt(plaintext: str) -> str:
    """Encrypt a secret for storage."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str | None:
    """Decrypt a stored secret; None if it was encrypted under another key."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def mask(secret: str) -> str:
    """A preview that is safe to show: `sk-...abcd`."""
    return f"{secret[:3]}...{secret[-4:]}" if len(secret) > 8 else "***"
