"""Dates as search providers write them (ISO, Unix seconds or milliseconds, `May 1, 2024`) as `YYYY-MM-DD`."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

WRITTEN = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y", "%Y/%m/%d")


def as_day(value: Any) -> str | None:
    """The day of a date or timestamp, or None when it is missing or not a date (`2 days ago`)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        number = None
    if number is not None:
        seconds = number / 1000 if abs(number) > 1e11 else number  # milliseconds past year 5138 in seconds
        return datetime.fromtimestamp(seconds, UTC).date().isoformat()
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        pass
    for layout in WRITTEN:
        try:
            return datetime.strptime(text, layout).date().isoformat()
        except ValueError:
            continue
    return None
