"""Structured logs: one JSON object per line with the request id, and no secret in any of it.

`TOLLGATE_LOG_FORMAT=json` (the default in production mode) selects `JsonFormatter`; every handler also gets
`RedactSecrets`, so a key that reaches a log message (an upstream echoing it in an error, an exception's repr)
is masked before it is written, in either format.
"""
from __future__ import annotations

import logging
import re
import time
from contextvars import ContextVar

import orjson

from apps.core import tracing

# The request being served, set by `apps.core.http.request_id` (the views call it once per request).
CURRENT_REQUEST_ID: ContextVar[str] = ContextVar("tollgate_request_id", default="")

# Virtual and master keys (sk-...), provider keys of the usual shapes, bearer tokens and `key=` query values.
SECRET = re.compile(
    r"(?P<sk>\bsk-[A-Za-z0-9_\-]{8,})"
    r"|(?P<bearer>\b[Bb]earer\s+)[A-Za-z0-9._\-~+/]{8,}=*"
    r"|(?P<aws>\bAKIA[0-9A-Z]{16}\b)"
    r"|(?P<google>\bAIza[0-9A-Za-z_\-]{30,})"
    r"|(?P<param>\b(?:api[_-]?key|key|token|password|secret)=)[^&\s\"']+",
)


def redact(text: str) -> str:
    """`text` with every secret-shaped token replaced by its first few characters and a mark."""
    def mask(match: re.Match[str]) -> str:
        if match.group("sk"):
            return match.group("sk")[:5] + "...[redacted]"
        for prefix in ("bearer", "param"):
            if match.group(prefix):
                return match.group(prefix) + "[redacted]"
        return "[redacted]"

    return SECRET.sub(mask, text)


class RedactSecrets(logging.Filter):
    """Masks secrets in the message and the formatted traceback; adds `request_id` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = getattr(record, "request_id", "") or CURRENT_REQUEST_ID.get()
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "request_id", "exception"?, "trace_id"?, "span_id"?}` on one line
    (the trace ids when tracing is on and the record was logged inside a span)."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry = {"time": f"{stamp}.{int(record.msecs):03d}Z",
                 "level": record.levelname, "logger": record.name, "message": record.getMessage(),
                 "request_id": getattr(record, "request_id", "")}
        if record.exc_text:
            entry["exception"] = record.exc_text
        if tracing.ENABLED and (ids := tracing.current_ids()) is not None:
            entry["trace_id"], entry["span_id"] = ids  # the log line joins its trace in the tracing backend
        return orjson.dumps(entry).decode()
