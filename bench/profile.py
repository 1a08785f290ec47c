"""py-spy profiles of the gateway under load, and a summary of where the samples go.

`record()` runs `py-spy record` against the serve process tree; `summarise()` reads py-spy's raw
(collapsed) output: one line per distinct stack, `frame;frame;... count`, leaf last, where a frame is
`function (path:line)`. Idle threads are not sampled, so samples approximate CPU time.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

PROCESS_FRAMES = re.compile(r'^(process \d+:"(?:[^"\\]|\\.)*";?)+')
FRAME = re.compile(r"^(?P<func>.*?) \((?P<path>[^():]*)(?::(?P<line>\d+))?\)$")

NATIVE = "<native>"

# Self time by where the leaf frame lives: first match wins, most specific first.
SELF_BUCKETS: list[tuple[str, str]] = [
    ("apps/teams/auth", "tollgate auth"),
    ("apps/core/snapshots", "tollgate snapshot checks"),
    ("apps/core/state", "tollgate state backend"),
    ("apps/core/middleware", "tollgate middleware"),
    ("apps/routing/parsing", "tollgate request parsing"),
    ("apps/core/responses", "tollgate response building"),
    ("apps/routing/", "tollgate routing (other)"),
    ("apps/providers/adapters", "tollgate provider adapter"),
    ("apps/providers/transport", "tollgate transport"),
    ("apps/", "tollgate (other)"),
    ("django/middleware", "django middleware"),
    ("django/contrib/sessions", "django middleware"),
    ("django/contrib/auth", "django middleware"),
    ("django/contrib/messages", "django middleware"),
    ("django/core/handlers", "django handler"),
    ("django/http", "django request/response objects"),
    ("django/urls", "django url resolving"),
    ("django/utils/functional", "django lazy objects"),
    ("django/dispatch", "django signals"),
    ("django/db", "django db (connection signals)"),
    ("django/", "django (other)"),
    ("channels/", "channels"),
    ("ninja/", "ninja"),
    ("pydantic", "pydantic"),
    ("asgiref/", "asgiref (sync_to_async, local)"),
    ("httpx/", "httpx"),
    ("httpcore/", "httpcore"),
    ("h11/", "h11"),
    ("anyio/", "anyio"),
    ("sniffio/", "anyio"),
    ("redis/", "redis client"),
    ("uvicorn/", "uvicorn"),
    ("asyncio/runners", "event loop run (uvloop in C, below asyncio.run)"),
    ("asyncio/", "asyncio"),
    ("uvloop", "uvloop"),
    ("logging/", "logging"),
    ("email/", "stdlib email/headers"),
    ("urllib/", "stdlib urllib"),
    ("http/", "stdlib http"),
    ("json/", "stdlib json"),
    ("uuid", "uuid"),
    ("contextvars", "contextvars"),
    ("threading", "thread pool (sync_to_async hops)"),
    ("concurrent/", "thread pool (sync_to_async hops)"),
    ("celery/", "celery"),
    ("kombu/", "celery"),
    ("typing", "typing"),
]

# Inclusive time: a sample counts once when any frame matches (function name or path fragment).
def _in(func: str, path: str) -> str:
    """A pattern for frame `func (...path...)` anywhere on a `;`-joined stack."""
    return rf"(^|;){func} \([^;]*{path}"


INCLUSIVE: list[tuple[str, str]] = [
    ("ASGI handler (Django, whole request)", "django/core/handlers/asgi"),
    ("django middleware chain", "django/middleware/|django/contrib/(sessions|auth|messages)/middleware"),
    ("ninja operation dispatch", "ninja/"),
    ("tollgate view chat_completions", _in("chat_completions", "apps/routing/api")),
    ("authenticate", _in("authenticate", "apps/teams/auth")),
    ("snapshot get (routing table / keys)", _in("get", "apps/core/snapshots")),
    ("request parsing", "apps/routing/parsing"),
    ("upstream send (httpx + adapter)", _in("send_chat", "apps/providers/transport")),
    ("httpx client", "httpx/"),
    ("httpcore connection pool", "httpcore/"),
    ("response building", "apps/core/responses"),
    ("redis client", "redis/"),
    ("uvicorn protocol", "uvicorn/"),
    ("asgiref sync_to_async / Local", "asgiref/"),
    ("logging", "logging/"),
    ("sse streaming", "apps/routing/streaming|StreamingHttpResponse|aiter_raw"),
]


@dataclass(frozen=True, slots=True)
class Summary:
    total: int
    self_by_bucket: list[tuple[str, int]]
    inclusive: list[tuple[str, int]]
    top_self: list[tuple[str, int]]


def parse_collapsed(text: str) -> list[tuple[list[str], int]]:
    """(Python frames root-first, count) for every line of py-spy raw output.

    With --subprocesses each stack starts with `process <pid>:"<cmdline>"` frames, and a command line can
    hold `;`, so those are cut off first. A stack left empty was sampled in native code (the uvloop loop).
    """
    stacks = []
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        stack = PROCESS_FRAMES.sub("", stack)
        stacks.append((stack.split(";") if stack else [NATIVE], int(count)))
    return stacks


def bucket_of(frame: str) -> str:
    if frame == NATIVE:
        return "native, no Python frame (uvloop/httptools in C)"
    match = FRAME.match(frame)
    path = match.group("path") if match else frame
    for fragment, name in SELF_BUCKETS:
        if fragment in path:
            return name
    if match and path.startswith("<"):
        return "interpreter glue"
    return "other"


def short_frame(frame: str) -> str:
    if frame == NATIVE:
        return "(native: no Python frame)"
    match = FRAME.match(frame)
    if not match:
        return frame
    path = match.group("path")
    for anchor in ("site-packages/", "/apps/", "/lib/python3"):
        if anchor in path:
            path = path.split(anchor, 1)[1] if anchor != "/apps/" else "apps/" + path.split(anchor, 1)[1]
            break
    return f"{match.group('func')} ({path})"


def summarise(text: str, *, top: int = 25) -> Summary:
    """Self time per bucket, inclusive time per hot-path stage, and the top self-time functions."""
    stacks = parse_collapsed(text)
    total = sum(count for _, count in stacks)
    buckets: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    patterns = [(name, re.compile(pattern)) for name, pattern in INCLUSIVE]
    for frames, count in stacks:
        # py-spy's raw output puts the thread/process name first; the leaf is last.
        buckets[bucket_of(frames[-1])] += count
        functions[short_frame(frames[-1])] += count
        joined = ";".join(frames)
        for name, pattern in patterns:
            if pattern.search(joined):
                inclusive[name] += count
    return Summary(total=total, self_by_bucket=buckets.most_common(), inclusive=inclusive.most_common(),
                   top_self=functions.most_common(top))


def to_markdown(summary: Summary, *, title: str, calls: int | None = None, cpu_ms_per_call: float | None = None) -> str:
    """A Markdown report of one profile."""
    def pct(n: int) -> str:
        return f"{100 * n / summary.total:.1f}%" if summary.total else "-"

    def ms(n: int) -> str:
        if cpu_ms_per_call is None or not summary.total:
            return ""
        return f" | {cpu_ms_per_call * n / summary.total:.3f}"

    unit = " | ms/call" if cpu_ms_per_call is not None else ""
    sep = " | ---:" if cpu_ms_per_call is not None else ""
    lines = [f"# {title}", "", f"{summary.total} samples" + (f" over {calls} calls" if calls else "")
             + (f"; {cpu_ms_per_call:.3f} ms CPU per call in the serve processes" if cpu_ms_per_call else ""), "",
             "ms/call = share x CPU per call: an estimate, since samples stand in for CPU time "
             "(and GIL-only samples leave out kernel and GIL-free native time).", "",
             "## Self time by component (leaf frame)", "", f"| component | share{unit} |", f"| --- | ---:{sep} |"]
    lines += [f"| {name} | {pct(n)}{ms(n)} |" for name, n in summary.self_by_bucket]
    lines += ["", "## Inclusive time by stage (a sample counts once when the stage is on its stack)", "",
              f"| stage | share{unit} |", f"| --- | ---:{sep} |"]
    lines += [f"| {name} | {pct(n)}{ms(n)} |" for name, n in summary.inclusive]
    lines += ["", "## Top functions by self time", "", "| function | share |", "| --- | ---: |"]
    lines += [f"| `{name}` | {pct(n)} |" for name, n in summary.top_self]
    return "\n".join(lines) + "\n"


def py_spy() -> str | None:
    found = shutil.which("py-spy")
    beside = Path(sys.executable).parent / "py-spy"
    return found or (str(beside) if beside.exists() else None)


def record(*, pid: int, seconds: float, output: Path, fmt: str, rate: int = 250,
           gil_only: bool = False) -> subprocess.Popen[bytes]:
    """Start `py-spy record` on `pid` and its subprocesses; the caller waits for it."""
    tool = py_spy()
    if tool is None:
        raise RuntimeError(f"py-spy is not installed: {sys.executable} -m pip install py-spy")
    return subprocess.Popen([tool, "record", "--pid", str(pid), "--subprocesses", "--nonblocking",
                             "--rate", str(rate), "--duration", str(max(1, round(seconds))), "--format", fmt,
                             "--output", str(output), *(["--gil"] if gil_only else [])],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def main(argv: list[str] | None = None) -> None:
    """Re-summarise a saved raw profile: python -m bench.profile RAW --title T [--calls N --cpu-ms X]."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=main.__doc__)
    parser.add_argument("raw", type=Path)
    parser.add_argument("--title", default="Profile")
    parser.add_argument("--calls", type=int, default=None)
    parser.add_argument("--cpu-ms", type=float, default=None, help="CPU ms per call measured over the profile")
    args = parser.parse_args(argv)
    summary = summarise(args.raw.read_text())
    args.raw.with_suffix(".md").write_text(to_markdown(summary, title=args.title, calls=args.calls,
                                                       cpu_ms_per_call=args.cpu_ms))


if __name__ == "__main__":
    main()
