"""Behaviours every adapter must show, gated by its capability table (one fixture set per prefix)."""
from __future__ import annotations

import pytest

from apps.providers.registry import ADAPTERS, adapter_for
from tests.providers.translation import FIXTURES, check_translation

# case name -> the capability that requires it (None: every adapter)
CONTRACT_CASES = {
    "text": "chat",
    "stream": "stream",
    "tool_call": "tools",
    "embedding": "embeddings",
    "rerank": "rerank",
    "error_auth": None,
    "error_rate_limit": None,
}


def contract_params() -> list[object]:
    return [pytest.param(prefix, case, id=f"{prefix}-{case}_case")
            for prefix in sorted(ADAPTERS) for case in CONTRACT_CASES]


@pytest.mark.parametrize(("prefix", "case"), contract_params())
def test_adapter_meets_contract(prefix: str, case: str) -> None:
    feature = CONTRACT_CASES[case]
    adapter = adapter_for(prefix)
    if feature is not None and not adapter.supports(feature):  # type: ignore[arg-type]
        pytest.skip(f"{prefix} does not support {feature}")
    assert (FIXTURES / prefix).is_dir(), f"adapter {prefix} has no fixtures folder"
    check_translation(prefix, case)


def test_every_fixture_folder_names_a_registered_adapter() -> None:
    folders = {path.name for path in FIXTURES.iterdir() if path.is_dir()}
    assert folders <= set(ADAPTERS)
