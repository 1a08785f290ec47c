"""SIGTERM drains: a stream in flight finishes before the process exits (LiteLLM #14334 cut them)."""
from __future__ import annotations

import signal
from pathlib import Path

import httpx

from tests.conftest import MASTER_KEY, GatewayProcess
from tests.upstreams.openai import OpenAIUpstream, paced


def test_sigterm_lets_an_open_stream_finish(upstream_model, upstream: OpenAIUpstream, tmp_path: Path) -> None:
    upstream_model(timeout=60)
    upstream.reply_with(paced(0.1))
    server = GatewayProcess(log_dir=tmp_path)
    try:
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", timeout=30,
                          headers={"Authorization": f"Bearer {MASTER_KEY}"},
                          json={"model": "upstream-gpt", "messages": [{"role": "user", "content": "drain me"}],
                                "stream": True}) as response:
            lines = response.iter_lines()
            assert next(line for line in lines if line).startswith("data: {")
            server.process.send_signal(signal.SIGTERM)
            rest = [line for line in lines if line]
        assert rest[-1] == "data: [DONE]"
        # uvicorn re-raises the captured SIGTERM once drained, so the exit is the conventional "terminated".
        assert server.process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        server.stop()
    assert upstream.hangups == 0
