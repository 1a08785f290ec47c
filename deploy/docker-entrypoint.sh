#!/bin/sh
# One image, four roles, chosen by the command (and the command of its HEALTHCHECK):
#   web      the gateway (manage.py serve) on $PORT; embedded (no DATABASE_URL), it migrates its SQLite first
#   worker   a Celery worker (spend flushing, roll-ups, probes)
#   beat     the Celery scheduler (exactly one per installation)
#   migrate  wait for the database (fails loudly past $TOLLGATE_DB_WAIT_SECONDS), migrate, load $TOLLGATE_CONFIG
#   healthcheck  the image's HEALTHCHECK: web answers /health/liveliness on $PORT; the other roles pass
# Anything else runs as given (docker run tollgate python manage.py check_config).
set -eu

case "${1:-web}" in
  web)
    shift || true
    case "${DATABASE_URL:-}" in
      "" | sqlite:*)
        # Embedded (SQLite, under $TOLLGATE_VAR_DIR unless DATABASE_URL names a file): no migration job serves
        # this container, so it migrates its own database and loads the config first, as `make run` does.
        python manage.py migrate --noinput -v0
        python manage.py load_config
        python manage.py print_master_key
        ;;
    esac
    exec python manage.py serve "$@"
    ;;
  worker)
    shift
    exec celery -A gatewaysite worker --loglevel "${LOG_LEVEL:-INFO}" \
      --concurrency "${CELERY_CONCURRENCY:-2}" --without-mingle --without-gossip "$@"
    ;;
  beat)
    shift
    exec celery -A gatewaysite beat --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule "${TOLLGATE_VAR_DIR:-/tmp}/celerybeat-schedule" "$@"
    ;;
  migrate)
    shift
    python manage.py wait_for_database --timeout "${TOLLGATE_DB_WAIT_SECONDS:-60}"
    python manage.py migrate --noinput "$@"
    exec python manage.py load_config
    ;;
  healthcheck)
    # The image's one HEALTHCHECK runs in every role. Worker, beat and the migration serve no HTTP: their health is
    # their process (PID 1, or the command under `docker run --init`), which Docker already watches.
    case " $(tr '\0' ' ' < /proc/1/cmdline)" in
      *" worker "* | *" beat "* | *" migrate "*) exit 0 ;;
    esac
    exec python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health/liveliness' % os.environ.get('PORT', '4000'), timeout=2)"
    ;;
  *)
    exec "$@"
    ;;
esac
