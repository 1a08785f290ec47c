"""`python -m bench.ab REV [REV ...]`: chat through the gateway at several commits, side by side, interleaved.

Two runs of `bench.run` on one machine differ by 10-20% from one to the next, so a step between two commits is
only seen when both are measured in the same minutes. This starts one gateway per commit (its own git worktree,
PostgreSQL database and Redis database, a Celery worker each, as `bench.run` runs them), all on the same mock
upstream, and measures them in turn for `--rounds` rounds: a closed loop (wrk) and a constant rate (k6), master
key or virtual key. Each row gives calls per second, the gateway's CPU per call split into user and kernel time,
and the Redis commands per call. Only one gateway is under load at a time; the others idle.

    python -m bench.ab b7071a1 HEAD --rounds 3
    python -m bench.ab 5a3f76c 1481922 --key --rate 1000 --duration 10

Use it to bisect: the commit where CPU per call steps up is the one to profile (`--profile` records py-spy's raw
samples of the closed loop per commit into bench/profiles/ab-<rev>.txt, summarised as bench.profile does).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import redis

from bench import loadgen, procstat, profile
from bench.gateway import MASTER_KEY, ROOT, Gateway, generate_key, spend_backlog, wait_until_stored
from bench.run import CHAT_BODY, Upstream

WORKTREES = Path(tempfile.gettempdir()) / "tollgate-ab"
FIRST_REDIS_DB = 8  # the bench itself uses 5 and 6; one database per commit from here


@dataclass
class Candidate:
    """One commit's gateway and what was measured on it."""

    rev: str
    sha: str
    gateway: Gateway
    key: str = MASTER_KEY
    rows: dict[str, list[dict[str, float]]] = field(default_factory=dict)


def resolve(rev: str) -> str:
    return subprocess.run(["git", "rev-parse", "--verify", f"{rev}^{{commit}}"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()


def worktree(sha: str) -> Path:
    """A detached worktree of `sha` (made once, reused by later runs)."""
    path = WORKTREES / sha[:12]
    if not (path / "manage.py").exists():
        WORKTREES.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "worktree", "add", "--force", "--detach", str(path), sha], cwd=ROOT,
                       capture_output=True, check=True)
    return path


def redis_commands(url: str) -> Counter[str]:
    """Commands the Redis server has run so far, by name (every database: one gateway is under load at a time)."""
    with redis.Redis.from_url(url, socket_timeout=5) as client:
        stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(entry["calls"]) for name, entry in stats.items()})


def measure(candidate: Candidate, *, kind: str, run: partial[loadgen.LoadResult]) -> dict[str, float]:
    gateway = candidate.gateway
    before_cpu = procstat.group_cpu(gateway.pids())
    redis_url = gateway.service_url("REDIS_URL")
    before_redis = redis_commands(redis_url)
    result = run()
    used = procstat.group_cpu(gateway.pids()) - before_cpu
    commands = redis_commands(redis_url) - before_redis
    wait_until_stored(partial(spend_backlog, gateway), timeout=90)
    calls = max(result.requests, 1)
    row = {"rate": result.achieved_rate, "p50_ms": result.p50_ms, "p99_ms": result.p99_ms,
           "user_ms": 1000 * used.user / calls, "kernel_ms": 1000 * used.system / calls,
           "cpu_ms": 1000 * used.total / calls, "redis_per_call": commands.total() / calls,
           "errors": float(result.errors)}
    candidate.rows.setdefault(kind, []).append(row)
    print(f"{candidate.rev:>10} {kind:<12} {row['rate']:>8.0f}/s  cpu {row['cpu_ms']:.3f} ms "
          f"(user {row['user_ms']:.3f}, kernel {row['kernel_ms']:.3f})  p50 {row['p50_ms']:.2f} "
          f"p99 {row['p99_ms']:.2f} ms  redis {row['redis_per_call']:.2f}/call  errors {row['errors']:.0f}",
          flush=True)
    print(" " * 11 + "redis per call: " + ", ".join(f"{name} {count / calls:.3f}"
                                                   for name, count in commands.most_common(8)), flush=True)
    return row


def summary(candidates: list[Candidate]) -> str:
    lines = ["| commit | load | calls/s | CPU ms/call (user + kernel) | p50 / p99 ms | Redis cmds/call |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for candidate in candidates:
        for kind, rows in candidate.rows.items():
            def med(name: str, rows: list[dict[str, float]] = rows) -> float:
                return statistics.median(r[name] for r in rows)
            lines.append(f"| `{candidate.sha[:7]}` ({candidate.rev}) | {kind} | {med('rate'):,.0f} | "
                         f"{med('cpu_ms'):.3f} ({med('user_ms'):.3f} + {med('kernel_ms'):.3f}) | "
                         f"{med('p50_ms'):.2f} / {med('p99_ms'):.2f} | {med('redis_per_call'):.2f} |")
    return "\n".join(lines)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.ab", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("revs", nargs="+", help="commits to compare (anything git rev-parse takes)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per load")
    parser.add_argument("--rate", type=int, default=1000, help="k6's constant rate (0: no constant-rate row)")
    parser.add_argument("--connections", type=int, default=64, help="wrk connections for the closed loop")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--key", action="store_true", help="a virtual key from /key/generate, not the master key")
    parser.add_argument("--profile", action="store_true", help="py-spy raw samples of one more closed loop each")
    parser.add_argument("--database-host", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--redis-host", default="redis://127.0.0.1:6379")
    return parser.parse_args(argv)


def start(args: argparse.Namespace, upstream: Upstream, workdir: Path) -> list[Candidate]:
    candidates = []
    for index, rev in enumerate(args.revs):
        sha = resolve(rev)
        tree = ROOT if rev == "HEAD" else worktree(sha)  # HEAD: this checkout as it is, uncommitted changes too
        redis_url = f"{args.redis_host}/{FIRST_REDIS_DB + index}"
        with redis.Redis.from_url(redis_url) as client:
            client.flushdb()
        home = workdir / f"{index}-{sha[:12]}"
        home.mkdir()
        gateway = Gateway(workdir=home, upstream_port=upstream.port, workers=args.workers, embedded=False, tree=tree,
                          extra_env={"DATABASE_URL": f"{args.database_host}/tollgate_ab_{sha[:12]}",
                                     "REDIS_URL": redis_url})
        print(f"{rev}: {sha[:12]} in {tree}", flush=True)
        gateway.prepare()
        gateway.start()
        candidate = Candidate(rev=rev, sha=sha, gateway=gateway)
        candidates.append(candidate)
        if args.key:
            key, how = generate_key(gateway.url)
            if key is None:
                raise RuntimeError(f"{rev}: {how}")
            candidate.key = key
    return candidates


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problems = loadgen.missing_tools()
    if problems:
        print("bench.ab cannot run:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    upstream = Upstream.start()
    candidates: list[Candidate] = []
    try:
        with tempfile.TemporaryDirectory(prefix="tollgate-ab-") as workdir:
            candidates = start(args, upstream, Path(workdir))
            for candidate in candidates:  # warm up every worker before anything is measured
                url = f"{candidate.gateway.url}/v1/chat/completions"
                loadgen.run_wrk(url=url, body=CHAT_BODY, headers=headers(candidate), duration=3,
                                connections=args.connections)
            for _ in range(args.rounds):
                for candidate in candidates:
                    run_round(candidate, args)
            if args.profile:
                for candidate in candidates:
                    profiled(candidate, args)
            print("\n" + summary(candidates))
    finally:
        for candidate in candidates:
            candidate.gateway.stop()
        upstream.stop()
    return 0


def headers(candidate: Candidate) -> dict[str, str]:
    return {"Content-Type": "application/json", "Authorization": f"Bearer {candidate.key}"}


def run_round(candidate: Candidate, args: argparse.Namespace) -> None:
    url = f"{candidate.gateway.url}/v1/chat/completions"
    measure(candidate, kind="closed-loop", run=partial(
        loadgen.run_wrk, url=url, body=CHAT_BODY, headers=headers(candidate), duration=args.duration,
        connections=args.connections))
    if args.rate:
        measure(candidate, kind=f"k6 {args.rate}/s", run=partial(
            loadgen.run_k6, url=url, body=CHAT_BODY, headers=headers(candidate), rate=args.rate,
            duration=args.duration))


def profiled(candidate: Candidate, args: argparse.Namespace) -> None:
    """py-spy's raw samples of every serve process over one closed loop, summarised next to them."""
    assert candidate.gateway.serve is not None
    out = ROOT / "bench" / "profiles" / f"ab-{candidate.sha[:12]}.txt"
    out.parent.mkdir(exist_ok=True)
    seconds = args.duration + 3
    spy = profile.record(pid=candidate.gateway.serve.pid, seconds=seconds, output=out, fmt="raw", gil_only=False)
    time.sleep(2)  # py-spy attaches before the load starts
    url = f"{candidate.gateway.url}/v1/chat/completions"
    row = measure(candidate, kind="profiled", run=partial(
        loadgen.run_wrk, url=url, body=CHAT_BODY, headers=headers(candidate), duration=args.duration,
        connections=args.connections))
    spy.communicate(timeout=seconds + 60)
    if out.exists():
        calls = int(row["rate"] * args.duration)
        out.with_suffix(".md").write_text(profile.to_markdown(
            profile.summarise(out.read_text()), title=f"Profile: {candidate.rev} ({candidate.sha[:12]}), closed loop",
            calls=calls, cpu_ms_per_call=row["cpu_ms"]))


if __name__ == "__main__":
    sys.exit(main())
