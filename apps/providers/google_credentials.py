"""Google Cloud access tokens for Vertex AI from service-account (or ADC) credentials.

The Vertex adapter's `sign` hook calls `access_token`; everything environmental (files, the
GOOGLE_APPLICATION_CREDENTIALS variable, the token endpoint) is reached from here, not from the adapter.
Minting does blocking HTTP through google-auth, so tokens are cached until shortly before they expire.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)
REFRESH_MARGIN_SECONDS = 300.0
ENV_VARIABLE = "GOOGLE_APPLICATION_CREDENTIALS"

Minter = Callable[[dict[str, Any] | None], tuple[str, float]]


class CredentialsError(ValueError):
    """The configured Google credentials cannot be read."""


def credentials_info(source: Any, *, environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The credentials JSON from a dict, an inline JSON string, a file path, or GOOGLE_APPLICATION_CREDENTIALS.

    None means "use Application Default Credentials" (e.g. the GCE metadata server).
    """
    if isinstance(source, Mapping):
        return dict(source)
    environ = os.environ if environ is None else environ
    text = str(source).strip() if source else ""
    if not text:
        path = environ.get(ENV_VARIABLE, "")
        if not path:
            return None
        text = path
    if not text.startswith("{"):
        try:
            text = Path(text).expanduser().read_text()
        except OSError as exc:
            raise CredentialsError(f"cannot read Google credentials file: {exc.strerror}") from None
    try:
        info = json.loads(text)
    except json.JSONDecodeError:
        raise CredentialsError("Google credentials are not valid JSON") from None
    if not isinstance(info, dict):
        raise CredentialsError("Google credentials must be a JSON object")
    return info


def project_id(source: Any, *, environ: Mapping[str, str] | None = None) -> str | None:
    """The project named by the credentials (or GOOGLE_CLOUD_PROJECT), if any."""
    environ = os.environ if environ is None else environ
    info = credentials_info(source, environ=environ)
    project = (info or {}).get("project_id") or (info or {}).get("quota_project_id")
    return str(project) if project else environ.get("GOOGLE_CLOUD_PROJECT") or None


def mint_with_google_auth(info: dict[str, Any] | None) -> tuple[str, float]:
    """A fresh access token and its expiry (epoch seconds), minted by google-auth."""
    # Imported here: only Vertex deployments without a static token need google-auth.
    import google.auth
    import urllib3
    from google.auth.transport.urllib3 import Request
    from google.oauth2 import credentials as user_credentials
    from google.oauth2 import service_account

    kind = (info or {}).get("type")
    if info is None:
        credentials, _ = google.auth.default(scopes=list(SCOPES))
    elif kind == "service_account":
        credentials = service_account.Credentials.from_service_account_info(info, scopes=list(SCOPES))
    elif kind == "authorized_user":
        credentials = user_credentials.Credentials.from_authorized_user_info(info, scopes=list(SCOPES))
    else:
        raise CredentialsError(f"unsupported Google credentials type {kind!r}")
    credentials.refresh(Request(urllib3.PoolManager()))
    expiry = credentials.expiry.timestamp() if credentials.expiry else time.time() + 3000
    return str(credentials.token), expiry


@dataclass
class TokenCache:
    """Access tokens by credential fingerprint; thread-safe, refreshed before expiry."""

    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, key: str, mint: Callable[[], tuple[str, float]], *, now: float) -> str:
        """The cached token for `key`, minting a new one when it is missing or about to expire."""
        with self.lock:
            cached = self.tokens.get(key)
            if cached is not None and cached[1] - REFRESH_MARGIN_SECONDS > now:
                return cached[0]
            token, expiry = mint()
            self.tokens[key] = (token, expiry)
            return token


# One cache per process: tokens live about an hour and minting costs an HTTP round trip.
_TOKENS = TokenCache()


def access_token(source: Any, *, environ: Mapping[str, str] | None = None, cache: TokenCache | None = None,
                 mint: Minter | None = None, now: float | None = None) -> str:
    """A valid bearer token for the credentials `source` (see `credentials_info`)."""
    info = credentials_info(source, environ=environ)
    key = hashlib.sha256(json.dumps(info, sort_keys=True).encode()).hexdigest() if info else "adc"
    minter = mint or mint_with_google_auth
    return (cache or _TOKENS).get(key, lambda: minter(info), now=time.time() if now is None else now)
