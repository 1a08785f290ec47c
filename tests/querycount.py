"""Count SQL queries on every connection in every thread (assertNumQueries sees only its own thread)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connections
from django.db.backends.signals import connection_created


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        self.statements.append(sql)
        return execute(sql, params, many, context)


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    """Yield a counter of every query run while the block is active, whatever thread runs it."""
    counter = QueryCounter()
    wrapped: list[Any] = []

    def install(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.execute_wrappers.append(counter)
        wrapped.append(connection)

    connection_created.connect(install)
    for connection in connections.all(initialized_only=True):
        install(None, connection)
    try:
        yield counter
    finally:
        connection_created.disconnect(install)
        for connection in wrapped:
            if counter in connection.execute_wrappers:
                connection.execute_wrappers.remove(counter)
