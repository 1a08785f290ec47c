"""Python function calls per /v1 chat call, in-process: a measure of the hot path that a busy machine cannot blur.

The load benchmark's CPU per call moves with the machine and whatever else runs on it; the number of Python
calls a request makes does not. This drives the ASGI application directly (no sockets, no server) with the
offline `mock` provider, on the database and Redis the environment names, and counts with cProfile.

    python -m bench.callcount                  # master key and a virtual key, this tree
    python -m bench.callcount --tree /tmp/old  # the same against another checkout (git worktree add /tmp/old <rev>)
    python -m bench.callcount --a2a            # also an A2A SendMessage to a hosted agent on the same model

Run it from this checkout either way: with --tree, that tree's `apps` and `gatewaysite` are imported instead.
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

MASTER_KEY = "sk-callcount-master-" + "0" * 24
MODEL = "bench-gpt"
CONFIG = f"model_list:\n  - model_name: {MODEL}\n    litellm_params: {{model: mock/gpt-4o-mini}}\n"
AGENT = "bench-agent"
AGENT_CONFIG = (f"agent_list:\n  - agent_name: {AGENT}\n    agent_card_params: {{name: {AGENT}, description: bench}}\n"
                f"    litellm_params: {{model: {MODEL}, system_prompt: You are a helpful assistant.}}\n")
A2A_BODY = {"jsonrpc": "2.0", "id": 1, "method": "SendMessage", "params": {"message": {
    "messageId": "bench", "role": "ROLE_USER", "parts": [{"text": "hello there"}]}}}
CHAT_BODY = {"model": MODEL, "messages": [{"role": "user", "content": "hello there"}], "max_tokens": 16}
App = Callable[[dict[str, Any], Callable[[], Awaitable[dict[str, Any]]], Callable[[dict[str, Any]], Awaitable[None]]],
               Awaitable[None]]


def http_scope(method: str, path: str, key: str, length: int,
               extra: tuple[tuple[bytes, bytes], ...] = ()) -> dict[str, Any]:
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
            "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {key}".encode()),
                        (b"content-type", b"application/json"), (b"content-length", str(length).encode()), *extra],
            "client": ("127.0.0.1", 5555), "server": ("127.0.0.1", 4000)}


async def call(app: App, method: str, path: str, key: str, raw: bytes = b"",
               extra: tuple[tuple[bytes, bytes], ...] = ()) -> tuple[int, bytes]:
    """One request through the ASGI app: its status and body."""
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": raw, "more_body": False}
        await asyncio.Event().wait()  # the client never hangs up
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(http_scope(method, path, key, len(raw), extra), receive, send)
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:])


async def start_lifespan(app: App) -> None:
    """Run the app's startup (spend flusher and the rest), as a server would."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    started = asyncio.Event()
    await inbox.put({"type": "lifespan.startup"})

    async def send(message: dict[str, Any]) -> None:
        started.set()

    asyncio.ensure_future(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, send))
    await asyncio.wait_for(started.wait(), 30)


CHAT = ("/v1/chat/completions", CHAT_BODY, ())
A2A = (f"/a2a/{AGENT}", A2A_BODY, ((b"a2a-version", b"1.0"),))


async def measure(app: App, key: str, calls: int, dump: str = "",
                  kind: tuple[str, dict[str, Any], tuple[tuple[bytes, bytes], ...]] = CHAT) -> dict[str, float]:
    import orjson

    path, payload, extra = kind
    body = orjson.dumps(payload)
    for _ in range(200):  # warm: snapshots, pools, leases
        status, answer = await call(app, "POST", path, key, body, extra)
        assert status == 200 and b'"error"' not in answer, answer
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(calls):
        await call(app, "POST", path, key, body, extra)
    profile.disable()
    await asyncio.sleep(0.5)  # background work the calls left (settling, logs) is not the next loop's
    started = time.process_time()
    for _ in range(calls):
        await call(app, "POST", path, key, body, extra)
    cpu = time.process_time() - started
    stats = pstats.Stats(profile)
    if dump:
        stats.dump_stats(dump)
    return {"python_calls": stats.total_calls / calls, "cpu_ms": 1000 * cpu / calls}  # type: ignore[attr-defined]


def prepare(a2a: bool = False) -> None:
    """The database migrated and holding the one mock deployment (before the event loop: the ORM is sync)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    config = os.path.join(os.environ.get("TMPDIR", "/tmp"), "tollgate-callcount.yaml")
    with open(config, "w") as handle:
        handle.write(CONFIG + (AGENT_CONFIG if a2a else ""))
    call_command("load_config", config, verbosity=0)


async def run(calls: int, dump: str, a2a: bool = False) -> None:
    import orjson
    from gatewaysite.asgi import application

    await start_lifespan(application)
    status, answer = await call(application, "POST", "/key/generate", MASTER_KEY,
                                orjson.dumps({"models": [MODEL], "max_budget": 1e9}))
    assert status == 200, answer
    for name, key in (("master key", MASTER_KEY), ("virtual key", orjson.loads(answer)["key"])):
        figures = await measure(application, key, calls,
                                dump=os.path.join(dump, name.replace(" ", "-") + ".prof") if dump else "")
        print(f"{name}: {figures['python_calls']:.1f} Python calls per chat call, "
              f"{figures['cpu_ms']:.3f} ms CPU per call in-process (unprofiled; this one moves with the machine)")
        if a2a:
            figures = await measure(application, key, calls, kind=A2A,
                                    dump=os.path.join(dump, name.replace(" ", "-") + "-a2a.prof") if dump else "")
            print(f"{name}: {figures['python_calls']:.1f} Python calls per A2A SendMessage, "
                  f"{figures['cpu_ms']:.3f} ms CPU per call in-process")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", help="another checkout to measure instead of this one")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--a2a", action="store_true", help="also measure A2A SendMessage to a hosted agent")
    parser.add_argument("--dump", default="", help="a directory to write the cProfile stats to (for pstats)")
    args = parser.parse_args()
    if args.tree:
        sys.path.insert(0, os.path.abspath(args.tree))
        os.chdir(args.tree)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gatewaysite.settings")
    os.environ["TOLLGATE_MASTER_KEY"] = MASTER_KEY
    import django

    django.setup()
    import apps

    print(f"measuring {os.path.dirname(os.path.dirname(apps.__file__ or ''))}")
    prepare(args.a2a)
    asyncio.run(run(args.calls, os.path.abspath(args.dump) if args.dump else "", args.a2a))
    os._exit(0)  # the spend flusher and pools are left running: nothing here needs them stopped


if __name__ == "__main__":
    main()
