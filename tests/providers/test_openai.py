from __future__ import annotations

import pytest

from tests.providers.translation import check_translation


@pytest.mark.parametrize("case", ["text", "stream", "tool_call", "embedding", "error_auth", "error_rate_limit",
                                  "error_context", "error_server"])
def test_openai_translation(case: str) -> None:
    check_translation("openai", case)
