"""Tollgate settings: everything comes from the environment, validated at start-up."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse_lazy

from apps.core.state import topology as redis_topology

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("TOLLGATE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


# --- env helpers: a bad value stops start-up with one line naming the variable -------------------

def env_str(name: str, default: str | None = None) -> str | None:
    """Return a non-empty string variable, or the default."""
    value = os.environ.get(name, "").strip()
    return value or default


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    """Return an integer variable no smaller than `minimum`."""
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_float(name: str, default: float, *, minimum: float = 0.0) -> float:
    """Return a float variable no smaller than `minimum`."""
    raw = env_str(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_bool(name: str, default: bool) -> bool:
    """Return a boolean variable written as 1/0, true/false, yes/no or on/off."""
    raw = env_str(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_choice(name: str, choices: tuple[str, ...], default: str) -> str:
    """Return a variable that must be one of `choices` (case-insensitive)."""
    raw = env_str(name)
    if raw is None:
        return default
    if raw.lower() not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
    return raw.lower()


def env_url(name: str, schemes: tuple[str, ...]) -> str | None:
    """Return a URL variable whose scheme is one of `schemes`."""
    raw = env_str(name)
    if raw is None:
        return None
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in schemes:
        raise ImproperlyConfigured(f"{name} must start with one of {', '.join(s + '://' for s in schemes)}")
    return raw


def _secret_key(production: bool) -> str:
    """SECRET_KEY from the env, else one generated once and kept under var/."""
    given = env_str("SECRET_KEY")
    if given:
        if production and len(given) < 32:
            raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters in production mode")
        return given
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


# --- core -----------------------------------------------------------------------------------------

DEBUG = env_bool("DEBUG", False)
PRODUCTION = env_bool("TOLLGATE_PRODUCTION", False)
SECRET_KEY = _secret_key(PRODUCTION)
ALLOWED_HOSTS = [h.strip() for h in (env_str("ALLOWED_HOSTS", "*") or "*").split(",") if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in (env_str("CSRF_TRUSTED_ORIGINS", "") or "").split(",") if o.strip()]

DATABASE_URL = env_url("DATABASE_URL", ("postgres", "postgresql", "sqlite"))
REDIS_URL = env_url("REDIS_URL", redis_topology.SCHEMES)


def _topology(name: str, url: str) -> redis_topology.Topology:
    try:
        return redis_topology.parse_topology(url)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


# One server, a Sentinel-watched master or a Cluster (apps/core/state/topology.py has the URL forms).
REDIS_TOPOLOGY = _topology("REDIS_URL", REDIS_URL) if REDIS_URL else None
PORT = env_int("PORT", 4000, minimum=1)
WORKERS = env_int("WORKERS", (os.cpu_count() or 1) if DATABASE_URL and not DATABASE_URL.startswith("sqlite") else 1,
                  minimum=1)
if not REDIS_URL:
    # Budgets, limits and the spend buffer live in process memory without Redis: one process keeps them exact.
    WORKERS = 1
# The ASGI server `manage.py serve` runs (bench/PROFILE.md, "Server: uvicorn vs granian", has the numbers).
TOLLGATE_SERVER = env_choice("TOLLGATE_SERVER", ("uvicorn", "granian"), "uvicorn")

TOLLGATE_MASTER_KEY = env_str("TOLLGATE_MASTER_KEY")
TOLLGATE_CONFIG = env_str("TOLLGATE_CONFIG", str(BASE_DIR / "examples" / "config.yaml"))
# Every config warning (an unknown key, a provider no adapter serves) stops load_config, for CI.
TOLLGATE_CONFIG_STRICT = env_bool("TOLLGATE_CONFIG_STRICT", False)
# In-code agents (apps.agents.Agent subclasses): modules imported at start-up, which register them to be served.
TOLLGATE_AGENT_MODULES = tuple(name.strip() for name in (env_str("TOLLGATE_AGENT_MODULES") or "").split(",")
                               if name.strip())
# SIGTERM: the server stops accepting, gives open calls and streams this long to finish (then cancels them, and
# they are billed for what they streamed), flushes spend and exits 0.
TOLLGATE_SHUTDOWN_GRACE = env_int("TOLLGATE_SHUTDOWN_GRACE", 30, minimum=1)
TOLLGATE_MAX_REQUEST_BYTES = env_int("TOLLGATE_MAX_REQUEST_BYTES", 8 * 1024 * 1024, minimum=1024)
# Bounds on what a client may send (apps/core/bounded_http.py under uvicorn, granian's own settings under granian):
# a request head's bytes (431 past it), seconds for a head to arrive (408), and seconds for a body to arrive,
# extended by one second per TOLLGATE_BODY_MIN_RATE bytes received (408; the slow client holds no slot).
TOLLGATE_MAX_HEADER_BYTES = env_int("TOLLGATE_MAX_HEADER_BYTES", 32 * 1024, minimum=8192)
TOLLGATE_HEADER_TIMEOUT = env_float("TOLLGATE_HEADER_TIMEOUT", 10.0, minimum=0.1)
TOLLGATE_BODY_TIMEOUT = env_float("TOLLGATE_BODY_TIMEOUT", 30.0, minimum=0.1)
TOLLGATE_BODY_MIN_RATE = env_float("TOLLGATE_BODY_MIN_RATE", 64 * 1024, minimum=1.0)
# Audio and image uploads (multipart): read as they arrive and spooled, so they may be larger (OpenAI's 25 MB).
TOLLGATE_MAX_UPLOAD_BYTES = env_int("TOLLGATE_MAX_UPLOAD_BYTES", 25 * 1024 * 1024, minimum=1024)
# How long a process trusts its cached snapshots before re-reading the generation counter.
TOLLGATE_SNAPSHOT_TTL = env_float("TOLLGATE_SNAPSHOT_TTL", 1.0)
TOLLGATE_DEFAULT_TIMEOUT = env_float("TOLLGATE_REQUEST_TIMEOUT", 600.0, minimum=0.001)
# Seconds between a process's polls of a background /v1/responses call it admitted (the provider's status for a
# passed-through one, the stored status, which a cancel on any replica sets, for one served over chat).
TOLLGATE_RESPONSES_POLL_SECONDS = env_float("TOLLGATE_RESPONSES_POLL_SECONDS", 2.0, minimum=0.01)
# A background /v1/responses call served over chat holds a lease (seconds, renewed by its process): one whose lease
# ran out (its process died) is stored failed by whoever reads it, or by beat's reaper every REAP_EVERY seconds.
TOLLGATE_RESPONSES_LEASE = env_float("TOLLGATE_RESPONSES_LEASE", 15.0, minimum=0.5)
TOLLGATE_RESPONSES_REAP_EVERY = env_float("TOLLGATE_RESPONSES_REAP_EVERY", 30.0, minimum=0.1)
TOLLGATE_ENCRYPTION_KEY = env_str("TOLLGATE_ENCRYPTION_KEY")
# Completion tokens reserved for a call that sends no max_tokens (when the model's own cap is unknown).
TOLLGATE_RESERVE_MAX_TOKENS = env_int("TOLLGATE_RESERVE_MAX_TOKENS", 4096, minimum=1)
# Seconds a process may admit calls of a level far from its limits under a lease, without a round trip to
# Redis per call (apps/teams/leases.py); 0 = every limited call is admitted by Redis on its own.
TOLLGATE_LEASE_SECONDS = env_float("TOLLGATE_LEASE_SECONDS", 2.0)
# Seconds between in-process spend flushes in `serve` (0 = leave it to Celery beat, the default with Redis,
# which keeps database work off the event loops; events wait in Redis meanwhile); rows per flush batch.
TOLLGATE_SPEND_FLUSH_INTERVAL = env_float("TOLLGATE_SPEND_FLUSH_INTERVAL", 0.0 if REDIS_URL else 2.0)
TOLLGATE_SPEND_FLUSH_BATCH = env_int("TOLLGATE_SPEND_FLUSH_BATCH", 1000, minimum=1)
# Seconds between Celery beat runs of spend_flush_task and budget_reset_task.
TOLLGATE_SPEND_FLUSH_EVERY = env_float("TOLLGATE_SPEND_FLUSH_EVERY", 10.0, minimum=0.1)
# How long a flusher that died mid-flush (a killed Celery worker) keeps others from flushing.
TOLLGATE_SPEND_FLUSH_LOCK_SECONDS = env_float("TOLLGATE_SPEND_FLUSH_LOCK_SECONDS", 300.0, minimum=1)
# Spend events an event loop keeps after pushing them to Redis, until the flusher has stored them, to push them
# again if Redis loses its buffer (apps/core/state/journal.py); past it the oldest are forgotten (0: off). A flush
# period (10 s) at 2,000 calls/s is 20,000 events, about 18 MB held as compact copies (jsonutil.kept).
TOLLGATE_SPEND_JOURNAL_MAX = env_int("TOLLGATE_SPEND_JOURNAL_MAX", 20_000, minimum=0)
TOLLGATE_BUDGET_RESET_EVERY = env_float("TOLLGATE_BUDGET_RESET_EVERY", 60.0, minimum=0.1)
# Where soft budget alerts are POSTed (LiteLLM's WebhookEvent body); LiteLLM's WEBHOOK_URL works too.
TOLLGATE_ALERT_WEBHOOK_URL = env_url("TOLLGATE_ALERT_WEBHOOK_URL", ("http", "https")) or \
    env_url("WEBHOOK_URL", ("http", "https")) or ""

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "ninja",
    "channels",
    "apps.core",
    "apps.providers",
    "apps.routing",
    "apps.teams",
    "apps.agents",
    "apps.portal",
    "mozilla_django_oidc",
]

MIDDLEWARE = [
    "apps.core.middleware.JsonErrorsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "apps.core.audit_context.AuditActorMiddleware",
]

# The OpenAI-compatible API runs on a lean handler (apps/core/asgi_lean.py) with only these middleware.
TOLLGATE_API_MIDDLEWARE = ["apps.core.middleware.JsonErrorsMiddleware"]
# Pages for people (their error pages stay HTML); every other path answers errors in OpenAI's JSON shape.
TOLLGATE_HTML_PATH_PREFIXES = ("/admin/", "/dashboard/", "/portal/", "/accounts/")
TOLLGATE_API_PATH_PREFIXES = ("/v1/", "/chat/", "/embeddings", "/models", "/health/", "/openai/", "/engines/", "/a2a/",
                              "/images/", "/audio/")
# API calls one worker process serves at once; beyond it a call gets 503 + Retry-After at once instead of
# queueing (0: no limit). Real upstreams take seconds, so this counts calls waiting on them too: size it as
# calls/s per worker x upstream latency, with headroom.
TOLLGATE_MAX_IN_FLIGHT = env_int("TOLLGATE_MAX_IN_FLIGHT", 1000)
# Once half of those slots are taken, a key may hold at most max_in_flight / (keys holding slots + 1) of them;
# past its share a call gets 429 + Retry-After, so one key flooding the gateway leaves room for the others.
TOLLGATE_FAIR_SHARE = env_bool("TOLLGATE_FAIR_SHARE", True)
# A key with the allow_client_side_credentials permission may name its own api_base; it must resolve to public
# addresses only (no loopback, link-local incl. cloud metadata, private or unique-local ones) unless this is on.
TOLLGATE_CLIENT_API_BASE_ALLOW_INTERNAL = env_bool("TOLLGATE_CLIENT_API_BASE_ALLOW_INTERNAL", False)
# /metrics: each worker's numbers are written here every TOLLGATE_METRICS_WRITE_EVERY seconds and merged per scrape.
TOLLGATE_METRICS_DIR: str = env_str("TOLLGATE_METRICS_DIR") or str(VAR_DIR / "metrics")
TOLLGATE_METRICS_WRITE_EVERY = env_float("TOLLGATE_METRICS_WRITE_EVERY", 1.0)
TOLLGATE_METRICS_AUTH = env_bool("TOLLGATE_METRICS_AUTH", True)  # the master key is needed to scrape
TOLLGATE_METRICS_MAX_KEYS = env_int("TOLLGATE_METRICS_MAX_KEYS", 500)  # more keys are counted as key="other"
# OpenTelemetry traces (the `otel` extra), also turned on by config.yaml's `litellm_settings.callbacks: ["otel"]`;
# where they go and how many are sampled is the standard OTEL_* variables' business (apps/core/tracing.py).
TOLLGATE_OTEL = env_bool("TOLLGATE_OTEL", False)

ROOT_URLCONF = "gatewaysite.urls"
ASGI_APPLICATION = "gatewaysite.asgi.application"
AUTH_USER_MODEL = "teams.User"
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Seconds a process keeps its database connection across requests and Celery tasks (0 = a new one for each);
# a kept connection is health-checked before its first query of each (CONN_HEALTH_CHECKS), so one the server
# dropped is replaced instead of failing the call.
TOLLGATE_DB_CONN_MAX_AGE = env_int("TOLLGATE_DB_CONN_MAX_AGE", 60)
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=TOLLGATE_DB_CONN_MAX_AGE,
                                                  conn_health_checks=True)}
else:
    DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "tollgate.sqlite3")}}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # IMMEDIATE: a write transaction takes the lock when it begins, so a second writer (the spend flush, a racing
    # /key/generate) waits out `timeout` instead of failing at once with "database is locked" when it upgrades a
    # read lock. The default file and a `sqlite:///` DATABASE_URL alike.
    DATABASES["default"].setdefault("OPTIONS", {}).update({"timeout": 20, "transaction_mode": "IMMEDIATE"})
# Behind PgBouncer in transaction pooling mode (`?pgbouncer=true` in DATABASE_URL, Prisma's and so LiteLLM's spelling,
# or TOLLGATE_DB_PGBOUNCER=1) consecutive transactions may run on different server connections: no prepared
# statements (psycopg prepares a query it has run 5 times) and no server-side cursors, which live in a session.
_db_options = DATABASES["default"].setdefault("OPTIONS", {})
TOLLGATE_DB_PGBOUNCER = env_bool("TOLLGATE_DB_PGBOUNCER", False) or \
    str(_db_options.pop("pgbouncer", "")).lower() in ("true", "1", "yes")
if TOLLGATE_DB_PGBOUNCER and "postgresql" in DATABASES["default"]["ENGINE"]:
    _db_options["prepare_threshold"] = None
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory, so gateway processes started by the tests share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test_{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Celery's broker: REDIS_URL's Redis (kombu's sentinel:// transport for Sentinel) unless this names another. A
# Cluster cannot carry Celery's queues, so with redis+cluster:// this is required (a single Redis, a Sentinel set
# or any broker kombu speaks, amqp:// too).
TOLLGATE_CELERY_BROKER_URL = env_str("TOLLGATE_CELERY_BROKER_URL")
_BROKER_TOPOLOGY = (_topology("TOLLGATE_CELERY_BROKER_URL", TOLLGATE_CELERY_BROKER_URL)
                    if TOLLGATE_CELERY_BROKER_URL and TOLLGATE_CELERY_BROKER_URL.split("://")[0] in redis_topology.SCHEMES
                    else None)
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if TOLLGATE_CELERY_BROKER_URL and _BROKER_TOPOLOGY is None:
    CELERY_BROKER_URL = TOLLGATE_CELERY_BROKER_URL
elif _BROKER_TOPOLOGY or REDIS_TOPOLOGY:
    try:
        CELERY_BROKER_URL, CELERY_BROKER_TRANSPORT_OPTIONS = redis_topology.celery_broker(
            _BROKER_TOPOLOGY or REDIS_TOPOLOGY)  # type: ignore[arg-type]
    except ValueError as exc:
        raise ImproperlyConfigured(str(exc)) from None
else:
    CELERY_BROKER_URL = "memory://"

if REDIS_TOPOLOGY:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
    if REDIS_TOPOLOGY.kind != "single":  # a list, so Django does not split the URL at its commas
        CACHES = {"default": {"BACKEND": "apps.core.state.django_cache.TopologyRedisCache",
                              "LOCATION": [REDIS_URL]}}  # type: ignore[dict-item]
    # channels_redis speaks to one server or a Sentinel set; with a Cluster the layer uses the broker's Redis.
    _LAYER_TOPOLOGY = REDIS_TOPOLOGY if REDIS_TOPOLOGY.kind != "cluster" else _BROKER_TOPOLOGY
    if _LAYER_TOPOLOGY and _LAYER_TOPOLOGY.kind != "cluster":
        CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                                      "CONFIG": {"hosts": [redis_topology.channels_host(_LAYER_TOPOLOGY)]}}}
    else:  # no consumer needs a cross-process layer today (realtime sessions go straight upstream)
        CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The /v1 Redis client (apps/core/state/resp.py): seconds to connect (TLS, AUTH and SELECT included); seconds a
# reply may be owed with nothing received before the connection is dropped (its waiting commands fail); and
# seconds of idleness after which the next command waits for a PING first, so a connection that died silently
# (a NAT forgetting an idle flow) is replaced before a command is lost on it (0 = no such check).
TOLLGATE_REDIS_CONNECT_TIMEOUT = env_float("TOLLGATE_REDIS_CONNECT_TIMEOUT", 10.0, minimum=0.001)
TOLLGATE_REDIS_COMMAND_TIMEOUT = env_float("TOLLGATE_REDIS_COMMAND_TIMEOUT", 10.0, minimum=0.001)
TOLLGATE_REDIS_HEALTH_CHECK_INTERVAL = env_float("TOLLGATE_REDIS_HEALTH_CHECK_INTERVAL", 30.0)

# Counters, limits, cooldowns and snapshot generations: one interface, two backends.
TOLLGATE_STATE_BACKEND = "apps.core.state.redis.RedisState" if REDIS_URL else "apps.core.state.memory.MemoryState"

# `manage.py serve` starts a Celery worker with beat beside itself when Redis is configured.
TOLLGATE_RUN_CELERY = env_bool("TOLLGATE_RUN_CELERY", True)
# The nice value Celery workers and beat run at (0 = as started), so spend flushes yield the CPU to serving.
TOLLGATE_CELERY_NICE = env_int("TOLLGATE_CELERY_NICE", 10)
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fixup closes the database connection after every task unless this is set: a new PostgreSQL
# backend (a fork) for every spend flush. The worker treats a task as Django treats a request instead
# (gatewaysite/celery.py), so TOLLGATE_DB_CONN_MAX_AGE and the health check decide; this only caps the
# tasks one connection serves.
CELERY_DB_REUSE_MAX = 1000
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "spend-flush": {"task": "apps.teams.tasks.spend_flush_task", "schedule": TOLLGATE_SPEND_FLUSH_EVERY},
    "budget-reset": {"task": "apps.teams.tasks.budget_reset_task", "schedule": TOLLGATE_BUDGET_RESET_EVERY},
}
# Seconds between roll-ups of new spend rows into the hourly SpendRollup the dashboard reads, and between
# retention runs; spend rows older than TOLLGATE_SPEND_RETENTION_DAYS (0 = keep them all) are pruned once
# the roll-up holds them and every enabled logging callback has taken them. 90 days by default, so the table
# does not grow without bound: the roll-up keeps every cent for the dashboard and the keys', users' and teams'
# spend columns keep theirs; only the per-request rows go (the "why" view, /spend/logs, the admin's rows).
TOLLGATE_SPEND_ROLLUP_EVERY = env_float("TOLLGATE_SPEND_ROLLUP_EVERY", 60.0, minimum=1.0)
TOLLGATE_SPEND_RETENTION_DAYS = env_int("TOLLGATE_SPEND_RETENTION_DAYS", 90)
TOLLGATE_SPEND_RETENTION_EVERY = env_float("TOLLGATE_SPEND_RETENTION_EVERY", 3600.0, minimum=1.0)
CELERY_BEAT_SCHEDULE["spend-rollup"] = {"task": "apps.teams.tasks.spend_rollup_task",
                                        "schedule": TOLLGATE_SPEND_ROLLUP_EVERY}
if TOLLGATE_SPEND_RETENTION_DAYS > 0:
    CELERY_BEAT_SCHEDULE["spend-retention"] = {"task": "apps.teams.tasks.spend_retention_task",
                                               "schedule": TOLLGATE_SPEND_RETENTION_EVERY}
# A2A push notifications: attempts per delivery, the first retry's delay in seconds (doubling, at most 300), and
# how often beat retries the deliveries that are due (those whose process went away as well).
TOLLGATE_A2A_PUSH_ATTEMPTS = env_int("TOLLGATE_A2A_PUSH_ATTEMPTS", 6, minimum=1)
TOLLGATE_A2A_PUSH_BACKOFF = env_float("TOLLGATE_A2A_PUSH_BACKOFF", 1.0, minimum=0.01)
TOLLGATE_A2A_PUSH_RETRY_EVERY = env_float("TOLLGATE_A2A_PUSH_RETRY_EVERY", 15.0, minimum=0.1)
# A running A2A task's lease (seconds), renewed by its process a few times per period: a task whose lease ran out
# (its replica died) is ended as failed by the reaper (beat) or by whoever reads, cancels or follows it.
TOLLGATE_A2A_TASK_LEASE = env_float("TOLLGATE_A2A_TASK_LEASE", 15.0, minimum=0.5)
TOLLGATE_A2A_REAP_EVERY = env_float("TOLLGATE_A2A_REAP_EVERY", 30.0, minimum=0.1)
CELERY_BEAT_SCHEDULE["a2a-task-reap"] = {"task": "apps.agents.tasks.task_reap_task",
                                         "schedule": TOLLGATE_A2A_REAP_EVERY}
# Push URLs are caller-supplied: loopback, link-local and private addresses are refused unless this is on.
TOLLGATE_A2A_PUSH_ALLOW_INTERNAL = env_bool("TOLLGATE_A2A_PUSH_ALLOW_INTERNAL", False)
CELERY_BEAT_SCHEDULE["a2a-push-retry"] = {"task": "apps.agents.tasks.push_deliver_due_task",
                                          "schedule": TOLLGATE_A2A_PUSH_RETRY_EVERY}
# Settled push deliveries (delivered or given up; their credentials already cleared) are kept this many days.
TOLLGATE_A2A_PUSH_KEEP_DAYS = env_float("TOLLGATE_A2A_PUSH_KEEP_DAYS", 7.0, minimum=0.0)
CELERY_BEAT_SCHEDULE["responses-reap"] = {"task": "apps.routing.tasks.responses_reap_task",
                                          "schedule": TOLLGATE_RESPONSES_REAP_EVERY}
CELERY_BEAT_SCHEDULE["a2a-push-prune"] = {"task": "apps.agents.tasks.push_prune_task", "schedule": 3600.0}
# Latency probe of every deployment (0 turns it off); feeds latency-based routing, cooldowns and GET /health.
TOLLGATE_HEALTH_PROBE_INTERVAL = env_float("TOLLGATE_HEALTH_PROBE_INTERVAL", 300.0)
TOLLGATE_HEALTH_PROBE_TIMEOUT = env_float("TOLLGATE_HEALTH_PROBE_TIMEOUT", 30.0, minimum=0.1)
if TOLLGATE_HEALTH_PROBE_INTERVAL > 0:
    CELERY_BEAT_SCHEDULE["deployment-health-probe"] = {
        "task": "apps.routing.tasks.deployment_health_probe_task", "schedule": TOLLGATE_HEALTH_PROBE_INTERVAL}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"  # relative: Django puts FORCE_SCRIPT_NAME in front
STATIC_ROOT = VAR_DIR / "static"
# Our own assets (the theme, the dashboard's vendored Chart.js): served from the package, never from a CDN.
STATICFILES_DIRS = [BASE_DIR / "static"]


def _script_name() -> str | None:
    """FORCE_SCRIPT_NAME (`/gateway`) with one leading and no trailing slash, or None to serve at the root."""
    raw = env_str("FORCE_SCRIPT_NAME")
    if raw is None or raw.strip("/") == "":
        return None
    return "/" + raw.strip("/")


# Every page and link under a path prefix (a proxy serving Tollgate at https://host/gateway/), whether the proxy
# strips the prefix or passes it on.
FORCE_SCRIPT_NAME = _script_name()

# One login for /admin/, /dashboard/ and /portal/ (Django's sessions; the admin's own login page shares them).
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:home"
LOGOUT_REDIRECT_URL = "login"
# Password reset mails: printed to the console unless an SMTP host is set.
EMAIL_HOST = env_str("EMAIL_HOST", "") or ""
EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or ("django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST
                                             else "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "tollgate@localhost")

# Single sign-on with OpenID Connect (mozilla-django-oidc), on when a client id and the provider's endpoints are
# set; groups in the `TOLLGATE_OIDC_GROUPS_CLAIM` claim map to teams and roles (apps/portal/oidc.py).
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID", "") or ""
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET", "") or ""
OIDC_OP_AUTHORIZATION_ENDPOINT = env_url("OIDC_OP_AUTHORIZATION_ENDPOINT", ("http", "https")) or ""
OIDC_OP_TOKEN_ENDPOINT = env_url("OIDC_OP_TOKEN_ENDPOINT", ("http", "https")) or ""
OIDC_OP_USER_ENDPOINT = env_url("OIDC_OP_USER_ENDPOINT", ("http", "https")) or ""
OIDC_OP_JWKS_ENDPOINT = env_url("OIDC_OP_JWKS_ENDPOINT", ("http", "https")) or ""
OIDC_RP_SIGN_ALGO = env_choice("OIDC_RP_SIGN_ALGO", ("rs256", "es256", "hs256"), "rs256").upper()
OIDC_RP_SCOPES = env_str("OIDC_RP_SCOPES", "openid email profile") or "openid email profile"
OIDC_OP_LOGOUT_URL_METHOD = ""
TOLLGATE_OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID and OIDC_OP_AUTHORIZATION_ENDPOINT and OIDC_OP_TOKEN_ENDPOINT)
if OIDC_RP_CLIENT_ID and not TOLLGATE_OIDC_ENABLED:
    raise ImproperlyConfigured("OIDC_RP_CLIENT_ID is set: OIDC_OP_AUTHORIZATION_ENDPOINT and OIDC_OP_TOKEN_ENDPOINT "
                               "are required too")
if TOLLGATE_OIDC_ENABLED and OIDC_RP_SIGN_ALGO != "HS256" and not OIDC_OP_JWKS_ENDPOINT:
    raise ImproperlyConfigured(f"OIDC_RP_SIGN_ALGO={OIDC_RP_SIGN_ALGO} needs OIDC_OP_JWKS_ENDPOINT")
TOLLGATE_OIDC_GROUPS_CLAIM = env_str("TOLLGATE_OIDC_GROUPS_CLAIM", "groups") or "groups"
# Groups whose members are proxy admins (staff in the admin) and proxy admin viewers.
TOLLGATE_OIDC_ADMIN_GROUPS = frozenset(
    g.strip() for g in (env_str("TOLLGATE_OIDC_ADMIN_GROUPS", "tollgate-admins") or "").split(",") if g.strip())
TOLLGATE_OIDC_VIEWER_GROUPS = frozenset(
    g.strip() for g in (env_str("TOLLGATE_OIDC_VIEWER_GROUPS", "tollgate-viewers") or "").split(",") if g.strip())
# A group `<prefix><team_id>` makes its members members of that team; `<prefix><team_id>:admin` team admins.
TOLLGATE_OIDC_TEAM_PREFIX = env_str("TOLLGATE_OIDC_TEAM_PREFIX", "team:") or ""
LOGIN_REDIRECT_URL_FAILURE = reverse_lazy("login")  # mozilla-django-oidc redirects to it as is: a path, not a name
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
if TOLLGATE_OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.append("apps.portal.oidc.GroupMappingBackend")

DATA_UPLOAD_MAX_MEMORY_SIZE = TOLLGATE_MAX_REQUEST_BYTES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
# HSTS on answers to HTTPS requests (SecurityMiddleware sends none over plain HTTP, so probes are unaffected).
SECURE_HSTS_SECONDS = env_int("TOLLGATE_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("TOLLGATE_HSTS_INCLUDE_SUBDOMAINS", PRODUCTION)
SECURE_HSTS_PRELOAD = env_bool("TOLLGATE_HSTS_PRELOAD", PRODUCTION)
# In production the pages people sign in to (admin, dashboard, portal, accounts; behind a path prefix too)
# redirect plain HTTP to HTTPS, where their session cookies are sent. A load balancer that ends TLS says so in
# TOLLGATE_PROXY_SSL_HEADER (X-Forwarded-Proto: https; it must set or strip that header itself). Nothing an API
# client or a probe calls is redirected: a POST to /key/generate from an in-cluster script over plain HTTP, a
# Kubernetes probe or a scrape would not follow a 301 (the /v1 API is served by the lean handler, which redirects
# nothing anyway). TOLLGATE_SSL_REDIRECT=0 turns the redirect off where the pages are reached over plain HTTP on
# purpose (docker-compose's nginx).
SECURE_SSL_REDIRECT = env_bool("TOLLGATE_SSL_REDIRECT", PRODUCTION)
_WEB_PAGES = ("admin", "dashboard", "portal", "accounts")
SECURE_REDIRECT_EXEMPT = [rf"^(?!(?:[^/]+/)?(?:{'|'.join(_WEB_PAGES)})(?:/|$))"]  # all but the pages, one prefix allowed
_PROXY_SSL_HEADER = (env_str("TOLLGATE_PROXY_SSL_HEADER", "X-Forwarded-Proto" if PRODUCTION else "") or "").strip()
SECURE_PROXY_SSL_HEADER = (("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
                           if _PROXY_SSL_HEADER else None)

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.teams.parsers.BoundedJSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": ["apps.teams.permissions.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apps.teams.permissions.IsCaller"],
    "DEFAULT_SCHEMA_CLASS": "apps.teams.openapi.ManagementSchema",
    "EXCEPTION_HANDLER": "apps.teams.permissions.exception_handler",
    "URL_FORMAT_OVERRIDE": None,  # `?format=csv` is the spend report's own parameter
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {"TITLE": "Tollgate management API", "VERSION": "1",
                        "DESCRIPTION": "LiteLLM-compatible /key, /team, /user, /organization and /spend endpoints.",
                        # PATCH bodies are validated whole, as the other verbs' are: no "Patched" copies
                        "COMPONENT_SPLIT_PATCH": False,
                        # one name per choice set, so `check` (and `check --deploy`) has no schema warning
                        "ENUM_NAME_OVERRIDES": {"LimitTypeEnum": "apps.teams.serializers.fields.LIMIT_TYPES",
                                                "TeamRoleEnum": "apps.teams.serializers.teams.TEAM_ROLES",
                                                "OrganizationRoleEnum": "apps.teams.serializers.users.ORG_ROLES",
                                                "UserRoleEnum": "apps.teams.serializers.users.USER_ROLES"},
                        "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums",
                                                 "apps.teams.openapi.postprocess"]}

# JSON lines (time, level, logger, message, request_id) by default in production mode; secrets masked in both formats.
TOLLGATE_LOG_FORMAT = env_choice("TOLLGATE_LOG_FORMAT", ("plain", "json"), "json" if PRODUCTION else "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "apps.core.logs.RedactSecrets"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
                   "json": {"()": "apps.core.logs.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": TOLLGATE_LOG_FORMAT,
                             "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "httpx": {"level": "WARNING"}},
}
