"""Template helpers of the web side: money, and spend against a budget as a bar (the admin's own)."""
from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.safestring import SafeString

from apps.teams import admin_display

register = template.Library()


@register.filter
def usd(value: Decimal | float | None) -> str:
    """Dollars to four places, as spend is small per call."""
    return admin_display.usd(value)


@register.simple_tag
def spend_bar(spent: Decimal | float | None, limit: Decimal | float | None) -> SafeString:
    return admin_display.spend_bar(spent, limit)
