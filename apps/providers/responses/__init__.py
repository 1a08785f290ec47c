"""OpenAI's Responses API spoken on top of any chat provider, and the ids the gateway gives responses.

Pure translation (no IO): `items` checks input items and turns them into chat messages, `request` builds the
chat call a Responses body stands for, `output` turns a chat answer into a Response object, `stream` turns chat
chunks into Responses' SSE events, `ids` encodes which deployment a response came from into its id.
Deployments whose provider has the Responses API (OpenAI, Azure) get the body itself
(`apps.providers.adapters.responses_api`).
"""
from __future__ import annotations
