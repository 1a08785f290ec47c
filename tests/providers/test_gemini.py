from __future__ import annotations

import pytest

from tests.providers.translation import check_translation

CASES = ["text", "multi_turn", "tool_call", "tool_result", "thinking", "blocked", "finish_reasons", "stream", "stream_tool",
         "embedding", "error_auth", "error_unauthenticated", "error_rate_limit", "error_rate_limit_header", "error_context",
         "error_invalid", "error_permission", "error_not_found", "error_server", "error_deadline", "error_html"]


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case}_case") for case in CASES])
def test_gemini_translation(case: str) -> None:
    check_translation("gemini", case)
