"""Router-wide settings (LiteLLM's `router_settings` and the routing part of `litellm_settings`) as one typed value."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

GENERIC = "*"  # the fallbacks entry every model group uses when it has none of its own
STRATEGIES = ("simple-shuffle", "least-busy", "latency-based", "cost-based", "usage-based")
STRATEGY_ALIASES = {
    "shuffle": "simple-shuffle", "simple-shuffle": "simple-shuffle", "least-busy": "least-busy",
    "latency-based": "latency-based", "latency-based-routing": "latency-based", "lowest-latency": "latency-based",
    "cost-based": "cost-based", "cost-based-routing": "cost-based", "lowest-cost": "cost-based",
    "usage-based": "usage-based", "usage-based-routing": "usage-based", "usage-based-routing-v2": "usage-based",
    "lowest-tpm-rpm": "usage-based",
}
Fallbacks = Mapping[str, tuple[str, ...]]
Counts = Mapping[str, int]  # LiteLLM exception class name (error_kinds.KINDS) -> retries or allowed fails
ERROR_KINDS = ("BadRequestError", "AuthenticationError", "TimeoutError", "RateLimitError",
               "ContentPolicyViolationError", "InternalServerError")
RETRIED_KINDS = ("TimeoutError", "RateLimitError", "InternalServerError")  # retried by default (408, 429, 5xx)


@dataclass(frozen=True, slots=True)
class RouterPolicy:
    """How the router picks, retries, cools down and falls back. Defaults follow LiteLLM's."""

    strategy: str = "simple-shuffle"
    num_retries: int = 2
    allowed_fails: int = 3  # failures within a minute that cool a deployment down
    cooldown_time: float = 5.0
    disable_cooldowns: bool = False
    retry_after: float = 0.0  # minimum wait before retrying the same deployment
    backoff_base: float = 0.5  # exponential backoff: base * 2**n seconds, jittered, capped at backoff_max
    backoff_max: float = 8.0
    max_retry_wait: float = 60.0  # an upstream Retry-After longer than this is not waited for
    max_fallbacks: int = 5
    fallbacks: Fallbacks = field(default_factory=dict)
    context_window_fallbacks: Fallbacks = field(default_factory=dict)
    content_policy_fallbacks: Fallbacks = field(default_factory=dict)
    model_group_alias: Mapping[str, str] = field(default_factory=dict)
    hidden_aliases: frozenset[str] = frozenset()
    enable_pre_call_checks: bool = False
    timeout: float | None = None
    stream_timeout: float | None = None
    latency_buffer: float = 0.1  # latency-based: pick at random among those within 10% of the fastest
    latency_weight: float = 0.3  # weight of a new sample in the moving average
    expected_completion_tokens: int = 256  # cost-based, when the call sets no max_tokens
    retry_policy: Counts = field(default_factory=dict)  # retries per error kind (LiteLLM's RetryPolicy)
    model_group_retry_policy: Mapping[str, Counts] = field(default_factory=dict)  # the same, per model group
    allowed_fails_policy: Counts = field(default_factory=dict)  # fails per error kind before a cooldown
    stream_resume: bool = False  # a stream cut after its first token continues on another deployment or fallback

    def retries_for(self, group: str, kind: str | None) -> int | None:
        """The retries the policies give this kind of error in this group, or None when they name none."""
        counts = self.model_group_retry_policy.get(group, self.retry_policy)
        return counts.get(kind) if kind is not None else None

    def fallbacks_for(self, kind: str, model: str) -> tuple[str, ...]:
        """The fallback groups of `kind` ("generic", "context_window", "content_policy") for `model`."""
        table = {"generic": self.fallbacks, "context_window": self.context_window_fallbacks,
                 "content_policy": self.content_policy_fallbacks}[kind]
        return table.get(model) or table.get(GENERIC) or ()


class PolicyError(ValueError):
    """A router setting has a value of the wrong kind; the message names the setting."""


def _number(kind: type, minimum: float = 0) -> Callable[[str, Any], Any]:
    def convert(name: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise PolicyError(f"{name} must be a number, got {value!r}")
        try:
            number = kind(value)
        except ValueError:
            raise PolicyError(f"{name} must be a number, got {value!r}") from None
        if number < minimum:
            raise PolicyError(f"{name} must be at least {minimum}, got {value!r}")
        return number
    return convert


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise PolicyError(f"{name} must be true or false, got {value!r}")


def _strategy(name: str, value: Any) -> str:
    found = STRATEGY_ALIASES.get(str(value))
    if found is None:
        raise PolicyError(f"{name} {value!r} is not one of {', '.join(sorted(STRATEGY_ALIASES))}")
    return found


def _names(name: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise PolicyError(f"{name} must list model names, got {value!r}")


def parse_fallbacks(name: str, value: Any) -> dict[str, tuple[str, ...]]:
    """`[{"gpt-4o": ["claude"]}]`, `{"gpt-4o": [...]}`, or the generic list form `["claude", ...]`."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, list):
        raise PolicyError(f"{name} must be a list like [{{'gpt-4o': ['claude-sonnet']}}], got {value!r}")
    table: dict[str, tuple[str, ...]] = {}
    generic = [entry for entry in value if isinstance(entry, str)]
    if generic:
        table[GENERIC] = tuple(generic)
    for entry in value:
        if isinstance(entry, Mapping):
            for model, targets in entry.items():
                table[str(model)] = _names(f"{name}.{model}", targets)
        elif not isinstance(entry, str):
            raise PolicyError(f"{name} entries must be model names or {{model: [fallbacks]}}, got {entry!r}")
    return table


def _aliases(name: str, value: Any) -> tuple[dict[str, str], frozenset[str]]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"{name} must map alias names to model groups, got {value!r}")
    aliases, hidden = {}, set()
    for alias, target in value.items():
        if isinstance(target, Mapping):
            if not isinstance(target.get("model"), str):
                raise PolicyError(f"{name}.{alias} needs a 'model' naming the group")
            aliases[str(alias)] = target["model"]
            if target.get("hidden"):
                hidden.add(str(alias))
        elif isinstance(target, str):
            aliases[str(alias)] = target
        else:
            raise PolicyError(f"{name}.{alias} must be a model group name, got {target!r}")
    return aliases, frozenset(hidden)


def _counts(name: str, value: Any, suffix: str) -> dict[str, int]:
    """`{RateLimitErrorRetries: 3, ...}` -> `{"RateLimitError": 3}`; any other key is named."""
    if not isinstance(value, Mapping):
        raise PolicyError(f"{name} must be a mapping like {{RateLimitError{suffix}: 3}}, got {value!r}")
    counts = {}
    for key, raw in value.items():
        kind = str(key).removesuffix(suffix)
        if kind not in ERROR_KINDS or not str(key).endswith(suffix):
            known = ", ".join(f"{k}{suffix}" for k in ERROR_KINDS)
            raise PolicyError(f"{name}.{key} is not one of {known}")
        if raw is not None:
            counts[kind] = _number(int)(f"{name}.{key}", raw)
    return counts


def _retry_policy(name: str, value: Any) -> tuple[dict[str, int], int | None]:
    """LiteLLM's per-error RetryPolicy, or `{num_retries: N}` (the same retries for every error)."""
    if isinstance(value, Mapping) and "num_retries" in value:
        rest = {k: v for k, v in value.items() if k != "num_retries"}
        return _counts(name, rest, "Retries"), _number(int)(f"{name}.num_retries", value["num_retries"])
    return _counts(name, value, "Retries"), None


def _group_retry_policy(name: str, value: Any) -> dict[str, dict[str, int]]:
    if not isinstance(value, Mapping):
        raise PolicyError(f"{name} must map model groups to retry policies, got {value!r}")
    table = {}
    for group, policy in value.items():
        counts, default = _retry_policy(f"{name}.{group}", policy)
        # `{num_retries: N}` for a group: N for the kinds retried by default, unless named
        table[str(group)] = counts if default is None else {**dict.fromkeys(RETRIED_KINDS, default), **counts}
    return table


def _allowed_fails_policy(name: str, value: Any) -> dict[str, int]:
    return _counts(name, value, "AllowedFails")


# setting name -> (policy field, converter)
CONVERTERS: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "routing_strategy": ("strategy", _strategy),
    "num_retries": ("num_retries", _number(int)),
    "allowed_fails": ("allowed_fails", _number(int, 1)),
    "cooldown_time": ("cooldown_time", _number(float)),
    "disable_cooldowns": ("disable_cooldowns", _flag),
    "retry_after": ("retry_after", _number(float)),
    "retry_backoff_base": ("backoff_base", _number(float)),
    "retry_backoff_max": ("backoff_max", _number(float)),
    "max_retry_wait": ("max_retry_wait", _number(float)),
    "max_fallbacks": ("max_fallbacks", _number(int)),
    "fallbacks": ("fallbacks", parse_fallbacks),
    "context_window_fallbacks": ("context_window_fallbacks", parse_fallbacks),
    "content_policy_fallbacks": ("content_policy_fallbacks", parse_fallbacks),
    "enable_pre_call_checks": ("enable_pre_call_checks", _flag),
    "stream_resume": ("stream_resume", _flag),
    "request_timeout": ("timeout", _number(float)),
    "timeout": ("timeout", _number(float)),
    "stream_timeout": ("stream_timeout", _number(float)),
    "expected_completion_tokens": ("expected_completion_tokens", _number(int, 1)),
    "model_group_retry_policy": ("model_group_retry_policy", _group_retry_policy),
    "allowed_fails_policy": ("allowed_fails_policy", _allowed_fails_policy),
}
STRATEGY_ARGS = {"lowest_latency_buffer": ("latency_buffer", _number(float)),
                 "latency_weight": ("latency_weight", _number(float))}


def _strategy_args(value: Any, values: dict[str, Any], errors: list[tuple[str, str]]) -> None:
    if not isinstance(value, Mapping):
        errors.append(("routing_strategy_args", f"routing_strategy_args must be a mapping, got {value!r}"))
        return
    for arg, raw in value.items():
        if arg in STRATEGY_ARGS:
            target, convert = STRATEGY_ARGS[arg]
            try:
                values[target] = convert(f"routing_strategy_args.{arg}", raw)
            except PolicyError as error:
                errors.append(("routing_strategy_args", str(error)))


def policy_from_settings(settings: Mapping[str, Any]) -> tuple[RouterPolicy, list[tuple[str, str]]]:
    """The policy for these settings, and (setting, message) for each setting ignored for a bad value."""
    values: dict[str, Any] = {}
    errors: list[tuple[str, str]] = []
    for name, raw in settings.items():
        if raw is None:
            continue
        try:
            if name in CONVERTERS:
                target, convert = CONVERTERS[name]
                values[target] = convert(name, raw)
            elif name == "default_fallbacks":
                values.setdefault("_default", _names(name, raw))
            elif name == "model_group_alias":
                values["model_group_alias"], values["hidden_aliases"] = _aliases(name, raw)
            elif name == "routing_strategy_args":
                _strategy_args(raw, values, errors)
            elif name == "retry_policy":
                values["retry_policy"], values["_retries"] = _retry_policy(name, raw)
        except PolicyError as error:
            errors.append((name, str(error)))
    default = values.pop("_default", None)
    if values.get("_retries") is not None:  # retry_policy.num_retries: the count for every error it does not name
        values["num_retries"] = values["_retries"]
    values.pop("_retries", None)
    if default and GENERIC not in values.get("fallbacks", {}):
        values["fallbacks"] = {**values.get("fallbacks", {}), GENERIC: default}
    known = {f.name for f in fields(RouterPolicy)}
    return RouterPolicy(**{k: v for k, v in values.items() if k in known}), errors
