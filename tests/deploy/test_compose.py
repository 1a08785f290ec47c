"""docker-compose.yml: valid against the Compose Specification's schema, and wired as the README says."""
from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import yaml

from tests.conftest import ROOT

SCHEMA = ROOT / "tests" / "deploy" / "schemas" / "compose-spec.json"  # compose-spec/compose-spec, Apache-2.0


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_valid_against_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text()))
    assert [error.message for error in validator.iter_errors(compose())] == []
    broken = compose()
    broken["services"]["web-1"]["replicas_typo"] = 2
    assert list(validator.iter_errors(broken)), "the schema check is a real gate"


def test_two_web_replicas_a_worker_a_beat_and_a_migration_behind_a_load_balancer() -> None:
    services = compose()["services"]
    roles = {name: service.get("command") for name, service in services.items()}
    assert roles["web-1"] == roles["web-2"] == ["web"]
    assert roles["worker"] == ["worker"] and roles["beat"] == ["beat"] and roles["migrate"] == ["migrate"]
    for name in ("web-1", "web-2", "worker", "beat"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert services[name]["environment"]["TOLLGATE_RUN_CELERY"] == "0"
        assert services[name]["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert services["migrate"]["depends_on"]["postgres"] == {"condition": "service_healthy"}
    assert services["lb"]["ports"] == ["4000:4000"]
    nginx = (ROOT / "deploy" / "compose" / "nginx.conf").read_text()
    assert set(re.findall(r"server (web-\d):4000", nginx)) == {"web-1", "web-2"}
    assert "proxy_buffering off" in nginx, "streams pass through the load balancer as they come"


def test_redis_keeps_the_spend_buffer_across_a_restart() -> None:
    """Spend events wait in Redis until the flush stores them: Redis writes an append-only file to a volume."""
    redis = compose()["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])
