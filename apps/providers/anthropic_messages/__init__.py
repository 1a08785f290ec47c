"""Anthropic's Messages API spoken on top of any chat provider: requests to OpenAI chat, answers and streams back.

Pure translation (no IO): `request` turns a Messages body into a `ChatCall`, `response` turns a chat answer
into a Messages answer, `stream` turns chat chunks into Anthropic's SSE events, `errors` renders Anthropic's
error shape. Anthropic deployments do not come here: their calls pass through unchanged (the adapter's hooks).
"""
from __future__ import annotations
