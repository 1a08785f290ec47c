"""Which models a caller may use: key and team lists of names, wildcards and access groups."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase

from apps.core.errors import AuthenticationFailed
from apps.teams.auth import Principal
from apps.teams.early_refusals import refused_model

ALL_MODELS = frozenset({"*", "all-proxy-models"})


def model_allowed(model: str, allowed: Iterable[str], access_groups: Mapping[str, frozenset[str]]) -> bool:
    """True when `allowed` is empty (no restriction) or names the model directly, by wildcard or by group."""
    rules = tuple(allowed)
    if not rules:
        return True
    for rule in rules:
        if rule in ALL_MODELS or rule == model:
            return True
        if "*" in rule and fnmatchcase(model, rule):
            return True
        if model in access_groups.get(rule, ()):
            return True
    return False


def check_model_access(principal: Principal, model: str, access_groups: Mapping[str, frozenset[str]], *,
                       requested: str = "") -> None:
    """Raise 401 naming the model when the key or its team may not call it.

    A call through one of the key's aliases (`requested` -> `model`) passes when either name is allowed, as
    LiteLLM allows an alias or the model behind it.
    """
    key = principal.key
    if principal.is_master or key is None:
        return
    for scope, rules in (("key", key.models), ("team", key.team_models)):
        if model_allowed(model, rules, access_groups):
            continue
        if requested and model_allowed(requested, rules, access_groups):
            continue
        refused_model(key, level=scope, model=requested or model)
        raise AuthenticationFailed(
            f"This {scope} is not allowed to access model={requested or model}. Allowed models: {', '.join(rules)}",
            param="model", code="model_not_allowed")
