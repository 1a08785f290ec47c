"""The management API's JSON parser: DRF's, on the gateway's bounded JSON (`apps.core.jsonutil`).

DRF's own parser uses the stdlib's `json`, whose RecursionError on deeply nested input is no ValueError,
so DRF let it through as a 500; here too deep, malformed and non-UTF-8 bodies are all a 400.
"""
from __future__ import annotations

from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from apps.core import jsonutil


class BoundedJSONParser(JSONParser):
    """Parses `application/json` with orjson, bounded in depth; any malformed body is a ParseError (400)."""

    def parse(self, stream: IO[bytes], media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return jsonutil.loads(stream.read())
        except jsonutil.JSONDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
