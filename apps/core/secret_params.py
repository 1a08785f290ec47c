"""Secret-named settings: one rule for which parameters hold credentials, sealed at rest and never shown back.

Every JSON column of provider or destination settings (deployments' and search tools' `litellm_params`, log
callbacks' `params`, agents' `litellm_params`, A2A push configs, router settings) is a `SealedJSONField`: in the
database each secret value is Fernet-encrypted (`apps.core.secrets`, as the `api_key` columns are), in Python it
is plain, so the code that calls a provider reads what was written. `os.environ/NAME` references are not secrets:
they are stored and shown as written and read from the environment when used.

A parameter is secret when its name is one of SECRET_PARAMS or says so (`..._secret`, `password`, `..._token`,
`..._api_key`, `credentials`, `private_key`); inside a headers mapping (`headers`, `extra_headers`, any
`..._headers`) a header is secret by SECRET_HEADER (`Authorization`, `x-api-key`, `api-key`, cookies, anything
naming a key, token, secret or signature). Admin forms, the audit log and `/model/info` show MASK instead.
"""
from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson
from django import forms
from django.db import models

from apps.core.secrets import decrypt, encrypt

ENV_PREFIX = "os.environ/"
SEALED_PREFIX = "tollgate-sealed:"  # then a Fernet token of the value's JSON
MASK = "********"

SECRET_PARAMS = frozenset({
    "api_key", "client_secret", "vertex_credentials", "aws_access_key_id", "aws_secret_access_key",
    "aws_session_token", "aws_web_identity_token", "azure_ad_token", "azure_client_secret", "password",
    "langfuse_public_key", "langfuse_secret_key", "langfuse_secret", "s3_access_key_id", "s3_secret_access_key",
    "s3_aws_access_key_id", "s3_aws_session_token", "credentials", "token", "private_key",
    "headers_env",  # the webhook's `Name=value,...` header list (GENERIC_LOGGER_HEADERS' format)
})
_SECRET_NAME = re.compile(r"(^|_)(secret|password|passwd|credentials?|private_key|api_key|apikey)(_|$)"
                          r"|(^|_)(session|access|refresh|id|auth|ad|bearer|security|api|web_identity)_token$")
SECRET_HEADER = re.compile(r"^(authorization|proxy-authorization|cookie|set-cookie)$"
                           r"|(^|-)(key|api-key|apikey|token|secret|password|signature|credentials?|auth)(-|$)")
_HEADERS = re.compile(r"^(extra_)?headers$|_headers$")


def secret_param(name: object) -> bool:
    """Whether a parameter of this name holds a credential (`aws_secret_access_key`, `azure_ad_token`, ...)."""
    normal = str(name).lower().replace("-", "_")
    return normal in SECRET_PARAMS or bool(_SECRET_NAME.search(normal))


def secret_header(name: object) -> bool:
    """Whether an HTTP header of this name carries a credential (`Authorization`, `x-api-key`, `api-key`, ...)."""
    return bool(SECRET_HEADER.search(str(name).lower().replace("_", "-")))


def _walk(value: Any, change: Callable[[Any], Any], *, secret: bool = False, headers: bool = False) -> Any:
    """`value` with `change` applied to each secret value at any depth (a secret mapping is changed whole)."""
    if secret:
        return change(value)
    if isinstance(value, Mapping):
        return {key: _walk(item, change, secret=secret_header(key) if headers else secret_param(key),
                           headers=bool(_HEADERS.search(str(key).lower())))
                for key, item in value.items()}
    if isinstance(value, list):
        return [_walk(item, change, headers=headers) for item in value]
    return value


def _plain(value: Any) -> bool:
    """Nothing to hide: empty, a number or flag, or an `os.environ/NAME` reference."""
    return (value is None or value == "" or isinstance(value, (bool, int, float))
            or (isinstance(value, str) and value.startswith(ENV_PREFIX)))


def _seal_one(value: Any) -> Any:
    if _plain(value) or (isinstance(value, str) and value.startswith(SEALED_PREFIX)):
        return value
    return SEALED_PREFIX + encrypt(orjson.dumps(value).decode())


def _open_one(value: Any) -> Any:
    if not (isinstance(value, str) and value.startswith(SEALED_PREFIX)):
        return value
    text = decrypt(value[len(SEALED_PREFIX):])
    return value if text is None else orjson.loads(text)  # under another key: kept sealed, so a save loses nothing


def sealed(value: Any) -> Any:
    """`value` with each secret encrypted (already sealed ones and env references left as they are)."""
    return _walk(value, _seal_one)


def opened(value: Any) -> Any:
    """`value` with each sealed secret decrypted (one sealed under another key stays sealed: `still_sealed`)."""
    return _open_one(value) if isinstance(value, str) else _walk(value, _open_one)


def still_sealed(value: Any) -> bool:
    """A secret that could not be decrypted (TOLLGATE_ENCRYPTION_KEY changed): never sent anywhere."""
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)


def redacted(value: Any) -> Any:
    """`value` with each secret shown as MASK (env references shown: they name a variable, not its value)."""
    return _walk(value, lambda one: one if _plain(one) else MASK)


CHANGED = "(changed)"


def redacted_against(value: Any, before: Any, *, secret: bool = False, headers: bool = False) -> Any:
    """`value` redacted, each secret that differs from the one at the same place in `before` shown as CHANGED."""
    if secret:
        return value if _plain(value) else (MASK if value == before else CHANGED)
    if isinstance(value, Mapping):
        earlier = before if isinstance(before, Mapping) else {}
        return {key: redacted_against(item, earlier.get(key),
                                      secret=secret_header(key) if headers else secret_param(key),
                                      headers=bool(_HEADERS.search(str(key).lower())))
                for key, item in value.items()}
    if isinstance(value, list):
        earlier_items = before if isinstance(before, list) else []
        return [redacted_against(item, earlier_items[i] if i < len(earlier_items) else None, headers=headers)
                for i, item in enumerate(value)]
    return value


def in_use(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """`value` as a provider call needs it: each secret `os.environ/NAME` read now (None when unset), and a secret
    still sealed under another key left out (None) rather than sent."""
    environ = os.environ if environ is None else environ

    def use(one: Any) -> Any:
        if isinstance(one, str) and one.startswith(ENV_PREFIX):
            return environ.get(one[len(ENV_PREFIX):])
        return None if still_sealed(one) else one
    return _walk(value, use)


def kept(given: Any, stored: Any) -> Any:
    """A submitted settings mapping with each secret left as MASK (or emptied) replaced by the stored value."""
    if not isinstance(given, Mapping) or not isinstance(stored, Mapping):
        return given
    merged = dict(given)
    for key, value in given.items():
        if key not in stored:
            continue
        if value in (MASK, "") and redacted({key: stored[key]}).get(key) == MASK:
            merged[key] = stored[key]
        elif isinstance(value, Mapping):
            merged[key] = _kept_headers(value, stored[key]) if _HEADERS.search(str(key).lower()) else kept(
                value, stored[key])
    return merged


def _kept_headers(given: Mapping[str, Any], stored: Any) -> Any:
    if not isinstance(stored, Mapping):
        return given
    return {name: stored[name] if value in (MASK, "") and name in stored and secret_header(name) else value
            for name, value in given.items()}


WRITE_ONLY_HELP = (f"Secret values (keys, tokens, passwords, Authorization headers) are never shown: they read {MASK}, "
                   "and one left so, or emptied, keeps its stored value. Type a new value to replace one, remove the "
                   "entry to delete it; os.environ/NAME stores only the variable's name.")


class SecretsJSONFormField(forms.JSONField):
    """A JSON form field that renders every secret as MASK, whether from the stored row or a re-shown form."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return super().prepare_value(redacted(value))


class SealedJSONField(models.JSONField):  # type: ignore[type-arg]
    """A JSONField whose secret-named values are encrypted in the database and plain in Python; in a ModelForm
    they are write-only (rendered as MASK, and MASK or empty keeps the stored value)."""

    def formfield(self, **kwargs: Any) -> Any:
        help_text = " ".join(filter(None, [str(self.help_text), WRITE_ONLY_HELP]))
        return super().formfield(**{"form_class": SecretsJSONFormField, "help_text": help_text, **kwargs})

    def save_form_data(self, instance: models.Model, data: Any) -> None:
        setattr(instance, self.attname, kept(data, getattr(instance, self.attname, None)))

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return opened(super().from_db_value(value, expression, connection))

    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(sealed(value))


def reseal_migration(*fields: tuple[str, str, str]) -> Any:
    """A RunPython operation sealing the secrets already stored in (app, model, field) columns; reversed, it
    writes them back in plain text (the schema before it had no sealing)."""
    from django.db import migrations

    def rewrite(apps: Any, schema_editor: Any, *, plain: bool) -> None:
        for app, model_name, field in fields:
            model = apps.get_model(app, model_name)
            for pk, value in model.objects.values_list("pk", field).iterator():  # opened by the field as read
                stored = models.Value(value, output_field=models.JSONField()) if plain else value
                model.objects.filter(pk=pk).update(**{field: stored})

    def seal(apps: Any, schema_editor: Any) -> None:
        rewrite(apps, schema_editor, plain=False)

    def unseal(apps: Any, schema_editor: Any) -> None:
        rewrite(apps, schema_editor, plain=True)

    return migrations.RunPython(seal, unseal, elidable=False)
