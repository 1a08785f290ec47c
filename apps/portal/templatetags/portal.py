"""Template helpers of the web side: money, and spend against a budget as a bar."""
from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def usd(value: Decimal | float | None) -> str:
    """Dollars to four places, as spend is small per call."""
    return f"{Decimal(str(value or 0)):.4f}"


def bar_html(spent: Decimal | float | None, limit: Decimal | float | None) -> SafeString:
    """`$spent / $limit` with a bar filled to the share used (green, amber past 80 %, red at 100 %)."""
    used = Decimal(str(spent or 0))
    if limit is None:
        return format_html('<span class="tg-spend">${}</span> <span class="tg-muted">no budget</span>', usd(used))
    cap = Decimal(str(limit))
    share = min(Decimal(100), used / cap * 100) if cap > 0 else Decimal(100)
    level = "over" if share >= 100 else "warn" if share >= 80 else ""
    return format_html('<span class="tg-bar {}" title="{}%"><span style="width:{}%"></span></span> '
                       '<span class="tg-spend">${} / ${}</span>', level, f"{share:.0f}", f"{share:.1f}", usd(used),
                       usd(cap))


@register.simple_tag
def spend_bar(spent: Decimal | float | None, limit: Decimal | float | None) -> SafeString:
    return bar_html(spent, limit)
