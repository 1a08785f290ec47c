"""Celery tasks: thin wrappers over the spend services (beat runs both on a schedule)."""
from __future__ import annotations

from celery import shared_task

from apps.teams.budgets import budgets_reset
from apps.teams.spend import spend_flush


@shared_task(ignore_result=True)
def spend_flush_task() -> int:
    """Store buffered spend events; a database failure leaves them buffered for the next run."""
    return spend_flush().stored


@shared_task(ignore_result=True)
def budget_reset_task() -> int:
    """Reset every budget whose window has ended."""
    return budgets_reset()
