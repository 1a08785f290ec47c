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

# Virtual and master keys (sk-...), provider keys of the usual shapes (AWS access and secret keys, Google API keys,
# Azure's 84-character keys, JWTs and Google access tokens), bearer and basic credentials, PEM private keys (as
# written or JSON-escaped inside a service-account file), and the value after a secret-named field in `k=v`,
# `k: v` and JSON form (`aws_secret_access_key`, `api-key`, `client_secret`, `private_key`, `session_token`...).
_CHARS = r"[A-Za-z0-9/+]"
SECRET = re.compile(
    r"(?P<pem>-----BEGIN [A-Z ]*PRIVATE KEY-----(?:(?!-----END).)*(?:-----END [A-Z ]*PRIVATE KEY-----)?)"
    r"|(?P<sk>\bsk-[A-Za-z0-9_\-]{8,})"
    r"|(?P<bearer>\b(?:[Bb]earer|[Bb]asic)\s+)[A-Za-z0-9._\-~+/]{8,}=*"
    r"|(?P<aws>\b(?:AKIA|ASIA)[0-9A-Z]{16}\b)"
    rf"|(?P<awssecret>(?<![A-Za-z0-9/+=])(?={_CHARS}{{0,39}}[A-Z])(?={_CHARS}{{0,39}}[a-z])"
    rf"(?={_CHARS}{{0,39}}[0-9/+]){_CHARS}{{40}}(?![A-Za-z0-9/+=]))"
    r"|(?P<azure>\b[A-Za-z0-9]{52}JQQJ9[A-Za-z0-9]{27}\b)"
    r"|(?P<jwt>\beyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})"
    r"|(?P<google>\bAIza[0-9A-Za-z_\-]{30,}|\bya29\.[0-9A-Za-z_\-]{20,})"
    r"|(?P<param>\b(?:api[_-]?key|key|token|password|secret)=)[^&\s\"']+",
    re.DOTALL,
)
# `name: value`, `name=value` and JSON pairs, the name taken whole (possessive: linear in the text) and judged by
# SECRET_NAME; run after SECRET, so a value holding a key of a known shape is already masked.
FIELD = re.compile(r"(?<![A-Za-z0-9_\-])(?P<name>[\"']?[A-Za-z][A-Za-z0-9_\-]*+[\"']?\s*[:=]\s*[\"']?)"
                   r"(?!\[redacted\]|os\.environ/)[^\"'\s,&}]{4,}")
SECRET_NAME = re.compile(r"secret|password|passwd|credentials|private[_-]?key|(?:api[_-]?|subscription-|access[_-])key\b"
                         r"|apikey|(?:session|access|refresh|id|auth|ad|bearer|security|api)[_-]token\b", re.IGNORECASE)


def redact(text: str) -> str:
    """`text` with every secret-shaped token, and every secret-named field's value, replaced by a mark."""
    def mask(match: re.Match[str]) -> str:
        if match.group("sk"):
            return match.group("sk")[:5] + "...[redacted]"
        for prefix in ("bearer", "param"):
            if match.group(prefix):
                return match.group(prefix) + "[redacted]"
        return "[redacted]"

    def mask_field(match: re.Match[str]) -> str:
        name = match.group("name")
        return name + "[redacted]" if SECRET_NAME.search(name) else match.group(0)

    return FIELD.sub(mask_field, SECRET.sub(mask, text))


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
