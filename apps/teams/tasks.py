"""Celery tasks: thin wrappers over the spend services (beat runs both on a schedule)."""
from __future__ import annotations

from celery import shared_task

from apps.teams.alerts import soft_budget_alerts_quietly
from apps.teams.budgets import budgets_reset
from apps.teams.log_callbacks import deliver_due_quietly
from apps.teams.spend import spend_flush


@shared_task(ignore_result=True)
def spend_flush_task() -> int:
    """Store buffered spend events (then alert soft budgets they crossed, and send the logging callbacks their
    calls); a database failure leaves them buffered for the next run."""
    stored = spend_flush().stored
    if stored:
        soft_budget_alerts_quietly()
    deliver_due_quietly()  # also when nothing new came: a destination that was down gets its backlog
    return stored


@shared_task(ignore_result=True)
def budget_reset_task() -> int:
    """Reset every budget whose window has ended."""
    return budgets_reset()
