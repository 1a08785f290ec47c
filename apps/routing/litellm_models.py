"""LiteLLM's database models (LiteLLM_ProxyModelTable) brought over as Deployments, idempotently.

LiteLLM encrypts each string of a stored model's `litellm_params` on its own: NaCl SecretBox keyed with the
SHA-256 of LITELLM_SALT_KEY (else of the proxy's master key), written as URL-safe base64. A value that does
not decrypt is used as written, as LiteLLM does. Without the key, a value that has the shape of such a
ciphertext cannot be told from a real one, so its model is skipped with the reason rather than guessed at.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models, transaction

from apps.core.secrets import decrypt, encrypt
from apps.core.snapshots import snapshot_bump
from apps.providers.registry import ADAPTERS
from apps.routing.config import ConfigError, DeploymentSpec, parse_deployment
from apps.routing.models import Deployment
from apps.routing.snapshot import GENERATION
from apps.teams.litellm_import.mappers import json_object
from apps.teams.litellm_import.report import Outcome, TableReport

TABLE = "LiteLLM_ProxyModelTable"
URLSAFE_B64 = re.compile(r"^[A-Za-z0-9_-]+={0,2}$")
SECRETBOX_OVERHEAD = 40  # 24-byte nonce + 16-byte MAC
SPEC_COLUMNS = ("model_name", "provider", "provider_model", "api_base", "api_version", "api_key_env", "timeout",
                "rpm", "tpm", "weight", "input_cost_per_token", "output_cost_per_token", "litellm_params", "model_info")


class Undecryptable(Exception):
    """Some of a model's params are encrypted under a key we do not have; args name them."""


def _ciphertext(value: str) -> bytes | None:
    """The bytes of `value` if it has the shape of LiteLLM's encrypted value, else None."""
    if len(value) % 4 or not URLSAFE_B64.match(value):
        return None
    try:
        raw = base64.urlsafe_b64decode(value)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) > SECRETBOX_OVERHEAD else None


def litellm_decrypt(value: str, salt_key: str) -> str | None:
    """`value` decrypted as LiteLLM's decrypt_value_helper does, or None when it is not encrypted under this key."""
    raw = _ciphertext(value)
    if raw is None:
        return None
    import nacl.exceptions
    import nacl.secret

    try:
        return nacl.secret.SecretBox(hashlib.sha256(salt_key.encode()).digest()).decrypt(raw).decode()
    except (nacl.exceptions.CryptoError, UnicodeDecodeError):
        return None


def decrypt_params(params: Mapping[str, Any], salt_key: str | None) -> dict[str, Any]:
    """Every string value decrypted (or kept as written); Undecryptable names the ones that look encrypted but are not."""
    plain: dict[str, Any] = {}
    locked = []
    for name, value in params.items():
        decrypted = litellm_decrypt(value, salt_key) if isinstance(value, str) and salt_key else None
        if decrypted is None and isinstance(value, str) and _ciphertext(value) is not None:
            locked.append(name)
        plain[name] = value if decrypted is None else decrypted
    if locked:
        raise Undecryptable(*locked)
    return plain


@dataclass(frozen=True, slots=True)
class ProxyModel:
    """One LiteLLM database model, decrypted and parsed."""

    model_id: str
    spec: DeploymentSpec


def map_proxy_model(row: Mapping[str, Any], salt_key: str | None) -> ProxyModel:
    """A LiteLLM_ProxyModelTable row as a deployment spec; ValueError says why it cannot be one."""
    model_id = str(row["model_id"])
    try:
        params = decrypt_params(json_object(row.get("litellm_params")), salt_key)
    except Undecryptable as exc:
        names = ", ".join(f"litellm_params.{name}" for name in exc.args)
        how = "do not decrypt with the salt key given" if salt_key else \
            "are encrypted: pass --salt-key (LiteLLM's LITELLM_SALT_KEY, else its master key)"
        raise ValueError(f"{names} {how}") from None
    info = {**json_object(row.get("model_info")), "id": model_id}
    entry = {"model_name": row.get("model_name"), "litellm_params": params, "model_info": info}
    try:
        spec = parse_deployment(0, entry, set(ADAPTERS))
    except ConfigError as exc:
        raise ValueError(str(exc).removeprefix("model_list[0]: ")) from None
    if spec.provider not in ADAPTERS:  # a config file keeps such an entry; an import, like /model/new, says so
        raise ValueError(f"unknown provider {spec.provider!r} in {params.get('model')!r}")
    return ProxyModel(model_id=model_id, spec=spec)


def _stored(name: str, value: Any) -> Any:
    """`value` as column `name` stores it (a float price becomes its Decimal at the column's scale)."""
    column = Deployment._meta.get_field(name)
    if isinstance(column, models.DecimalField) and value is not None:
        return Decimal(repr(value)).quantize(Decimal(1).scaleb(-column.decimal_places))
    return value


def _fields(spec: DeploymentSpec) -> dict[str, Any]:
    return {name: _stored(name, getattr(spec, name)) for name in SPEC_COLUMNS}


def _same_key(row: Deployment, literal: str) -> bool:
    return (decrypt(row.api_key_encrypted) if row.api_key_encrypted else "") == literal


def deployment_upsert_from_litellm(*, model: ProxyModel) -> Outcome:
    """Create or update the Deployment of one LiteLLM model (found again by its model_id); say which."""
    fields = _fields(model.spec)
    row = Deployment.objects.select_for_update().filter(config_id=model.model_id).first()
    if row is None:
        Deployment.objects.create(config_id=model.model_id, source=Deployment.Source.ADMIN,
                                  api_key_encrypted=encrypt(model.spec.api_key_literal) if model.spec.api_key_literal else "",
                                  **fields)
        return "created"
    changed = [name for name, value in fields.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, fields[name])
    if not _same_key(row, model.spec.api_key_literal):
        row.api_key_encrypted = encrypt(model.spec.api_key_literal) if model.spec.api_key_literal else ""
        changed.append("api_key_encrypted")
    if not changed:
        return "unchanged"
    row.save()
    return "updated"


def proxy_models_import(*, rows: Iterable[Mapping[str, Any]], salt_key: str | None, report: TableReport) -> None:
    """Bring every LiteLLM database model over (skipping, with the reason, those that cannot be served)."""
    with transaction.atomic():
        for row in rows:
            try:
                model = map_proxy_model(row, salt_key)
            except ValueError as exc:
                report.skip(str(row.get("model_id")), str(exc))
                continue
            report.count(deployment_upsert_from_litellm(model=model))
        if report.changed:
            transaction.on_commit(lambda: snapshot_bump(GENERATION))
