from __future__ import annotations

import pytest

from tests.providers.translation import check_translation

CASES = ["text", "multi_turn", "tool_call", "thinking", "stream", "stream_tool", "embedding", "error_auth",
         "error_invalid_token", "error_rate_limit", "error_context", "error_invalid", "error_server", "error_unavailable"]


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case}_case") for case in CASES])
def test_cohere_translation(case: str) -> None:
    check_translation("cohere", case)
