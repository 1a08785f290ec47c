from __future__ import annotations

import pytest

from tests.providers.translation import check_translation

CASES = ["text", "stream", "tool_call", "embedding", "error_auth", "error_rate_limit", "error_stream_list"]


@pytest.mark.parametrize("case", [pytest.param(case, id=f"{case}_case") for case in CASES])
def test_vertex_ai_translation(case: str) -> None:
    check_translation("vertex_ai", case)
