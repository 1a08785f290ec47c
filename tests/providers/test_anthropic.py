from __future__ import annotations

import pytest

from tests.providers.translation import check_translation

CASES = ["text", "prompt_cache", "cache_write", "tool_call", "tool_choice_named", "tool_choice_none", "tool_results",
         "images", "thinking", "refusal", "stream", "stream_tools", "error_auth", "error_rate_limit",
         "error_overloaded", "error_context", "error_invalid", "error_not_found", "error_permission", "error_server",
         "error_gateway_html"]


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case}_case") for case in CASES])
def test_anthropic_translation(case: str) -> None:
    check_translation("anthropic", case)
