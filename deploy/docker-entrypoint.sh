#!/bin/sh
# One image, four roles, chosen by the command:
#   web      the gateway (manage.py serve) on $PORT
#   worker   a Celery worker (spend flushing, roll-ups, probes)
#   beat     the Celery scheduler (exactly one per installation)
#   migrate  wait for the database (fails loudly past $TOLLGATE_DB_WAIT_SECONDS), migrate, load $TOLLGATE_CONFIG
# Anything else runs as given (docker run tollgate python manage.py check_config).
set -eu

case "${1:-web}" in
  web)
    shift || true
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
  *)
    exec "$@"
    ;;
esac
