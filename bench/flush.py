"""`python -m bench.flush --events 10000`: what storing buffered spend events costs (one `spend_flush()`).

Fills the spend buffer (Redis with REDIS_URL, else this process's memory) with events shaped like the
gateway's: a few keys in two teams of one organization, one attempt in twenty retried after a failure.
Then it times one `spend_flush()`: wall time, this process's CPU, and PostgreSQL's CPU read from /proc
(the backend serving this connection, and all postgres processes, which adds WAL writer and checkpointer).
DATABASE_URL and REDIS_URL are used as they are; the database is created and migrated when missing.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from dataclasses import dataclass, replace

import django

from bench import procstat

KEYS = 6  # keys in the run; each belongs to one of two teams (of one organization) and one of three users


@dataclass(frozen=True)
class Owner:
    key_id: int
    key_hash: str
    team_id: str
    user_id: str
    organization_id: str


@dataclass(frozen=True)
class Cost:
    wall: float
    cpu: float
    pg_backend: float | None
    pg_all: float | None


def setup() -> None:
    """Django settings, database created and migrated."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gatewaysite.settings")
    django.setup()
    from django.core.management import call_command

    call_command("ensure_database")
    call_command("migrate", verbosity=0)


def owners() -> list[Owner]:
    """The bench's organization, teams, users and keys (created on the first run)."""
    from apps.teams.models import Organization, Team, TeamMembership, User, VirtualKey

    org, _ = Organization.objects.get_or_create(organization_alias="bench-flush-org")
    teams = [Team.objects.get_or_create(team_alias=f"bench-flush-team-{i}", organization=org)[0] for i in range(2)]
    users = [User.objects.get_or_create(username=f"bench-flush-user-{i}")[0] for i in range(3)]
    found = []
    for i in range(KEYS):
        team, user = teams[i % 2], users[i % 3]
        TeamMembership.objects.get_or_create(team=team, user=user)
        key, _ = VirtualKey.objects.get_or_create(token_hash=f"{i:064x}", defaults={"team": team, "user": user})
        found.append(Owner(key.pk, key.token_hash, team.team_id, user.username, org.organization_id))
    return found


def attempt_events(owner: Owner, rng: random.Random, now: float) -> list[bytes]:
    """The buffered events of one call: one attempt, or (one call in twenty) a failed one and its retry."""
    from apps.teams.metering import SpendEvent

    start = now - rng.uniform(0.2, 3.0)
    end = start + rng.uniform(0.1, 2.0)
    prompt, completion = rng.randint(20, 2000), rng.randint(5, 800)
    success = SpendEvent(
        request_id=f"req-{uuid.uuid4().hex}", attempt=1, key_id=owner.key_id, key_hash=owner.key_hash,
        team_id=owner.team_id, user_id=owner.user_id, organization_id=owner.organization_id,
        model_alias="gpt-4o-mini", deployment_id="gpt-4o-mini-us", provider="openai", call_type="chat",
        prompt_tokens=prompt, completion_tokens=completion, cached_tokens=prompt // 4,
        cost_nanos=prompt * 150 + completion * 600, latency_ms=int((end - start) * 1000),
        ttft_ms=rng.randint(50, 400), status="success", error_type="", start_time=start, end_time=end,
        tags=("bench", "flush") if rng.random() < 0.3 else ())
    if rng.random() >= 0.05:
        return [success.encode()]
    failure = replace(success, deployment_id="gpt-4o-mini-eu", prompt_tokens=0, completion_tokens=0,
                      cached_tokens=0, cost_nanos=0, latency_ms=120, ttft_ms=None, status="failure",
                      error_type="rate_limit_error", start_time=start - 0.12, end_time=start)
    return [failure.encode(), replace(success, attempt=2).encode()]


def fill(count: int, *, seed: int = 7) -> list[bytes]:
    """Push `count` events into the buffer (emptied first); returns them."""
    from apps.core.state import state

    backend, rng, now, people = state(), random.Random(seed), time.time(), owners()
    backend.spend_ack(backend.spend_pending())
    records: list[bytes] = []
    while len(records) < count:
        records.extend(attempt_events(people[len(records) % KEYS], rng, now))
    records = records[:count]
    asyncio.run(backend.settle_and_push([], records, reserved=0, actual=0, tokens=0, now=now))
    return records


def backend_pid() -> int | None:
    """The PostgreSQL backend serving this process's Django connection (None on SQLite)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def measure(count: int) -> Cost:
    """Fill the buffer with `count` events and time one flush."""
    from apps.teams.spend import spend_flush

    fill(count)
    pid = backend_pid()
    pg_before = (procstat.cpu_seconds(pid), postgres_cpu()) if pid else (0.0, 0.0)
    cpu, wall = time.process_time(), time.perf_counter()
    result = spend_flush()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    time.sleep(0.2)  # /proc's CPU counters of other processes trail by a clock tick or so
    assert result.stored + result.duplicates == count, result
    if pid is None:
        return Cost(wall, cpu, None, None)
    return Cost(wall, cpu, procstat.cpu_seconds(pid) - pg_before[0], postgres_cpu() - pg_before[1])


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL process, those that exited since included (procstat.group_cpu)."""
    return procstat.group_cpu(procstat.pids_named("postgres")).total


def per_thousand(seconds: float | None, count: int) -> str:
    return "-" if seconds is None else f"{seconds * 1000 * 1000 / count:8.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=10000)
    parser.add_argument("--rounds", type=int, default=3, help="flushes to time (each of --events events)")
    parser.add_argument("--batch", type=int, default=None, help="TOLLGATE_SPEND_FLUSH_BATCH for this run")
    args = parser.parse_args()
    setup()
    from django.conf import settings

    if args.batch:
        settings.TOLLGATE_SPEND_FLUSH_BATCH = args.batch
    print(f"{args.events} events, batch {settings.TOLLGATE_SPEND_FLUSH_BATCH}, "
          f"{settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
          f"{'redis' if settings.REDIS_URL else 'memory'} buffer; ms per 1000 events:")
    print(f"{'round':>5} {'wall':>8} {'flusher':>8} {'pg-conn':>8} {'pg-all':>8}")
    for round_no in range(1, args.rounds + 1):
        cost = measure(args.events)
        print(f"{round_no:>5} {per_thousand(cost.wall, args.events)} {per_thousand(cost.cpu, args.events)} "
              f"{per_thousand(cost.pg_backend, args.events)} {per_thousand(cost.pg_all, args.events)}")


if __name__ == "__main__":
    main()
