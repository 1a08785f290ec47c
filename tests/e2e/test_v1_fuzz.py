"""Fuzz the OpenAI-compatible API with schemathesis: from the gateway's own schema (/openapi.json) and from
OpenAI's published spec (openai/openai-openapi at f85dbe2, trimmed to the operations Tollgate serves and the
schemas they reference: fixtures/openai-openapi-v1.json.gz). No generated request may get a 5xx, and every
error must be in the documented shape (`v1_fuzz_checks.py`).

Generated model names are random strings, so a catch-all `*` group sends them to real adapters (Anthropic and
Gemini, each on its wire-format mock) besides the built-in mock: their translation is what malformed messages
used to crash. Bounded so each run stays under a minute; `TOLLGATE_FUZZ_EXAMPLES=200` for a deeper run.
"""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import MASTER_KEY, ROOT, GatewayProcess
from tests.e2e.test_providers_through_gateway import deploy
from tests.e2e.v1_fuzz_checks import error_problem
from tests.upstreams import anthropic, gemini

OPENAI_SPEC = Path(__file__).parent / "fixtures" / "openai-openapi-v1.json.gz"
EXAMPLES = os.environ.get("TOLLGATE_FUZZ_EXAMPLES", "40")
SEED = os.environ.get("TOLLGATE_FUZZ_SEED", "20")
CHECKS = "not_a_server_error,error_in_the_documented_shape"


def schemathesis(workdir: Path, location: str, *args: str) -> subprocess.CompletedProcess[str]:
    st = Path(sys.executable).with_name("st")
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.v1_fuzz_checks", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [str(st), "run", location, "--header", f"Authorization: Bearer {MASTER_KEY}", "--checks", CHECKS,
         "--phases", "fuzzing", "--max-examples", EXAMPLES, "--seed", SEED, "--workers", "1", "--no-color",
         "--request-timeout", "30", *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=600,
        check=False)


def no_server_error_logged(gateway: GatewayProcess, since: int) -> bool:
    with gateway.log_path.open("rb") as log:
        log.seek(since)
        return b"Internal Server Error" not in log.read()


@pytest.fixture
def adapters(example_models: None) -> Iterator[None]:
    """Every model name the fuzz makes up lands on Anthropic's or Gemini's adapter (each on its mock)."""
    with anthropic.gateway_upstream() as claude, gemini.gateway_upstream() as google:
        for upstream in (claude, google):
            deploy(name="*", provider=upstream.provider, model=upstream.provider_model, api_base=upstream.api_base,
                   api_key=upstream.api_key)
        yield


@pytest.mark.usefixtures("adapters")
def test_the_gateways_own_schema_finds_no_server_error(gateway: GatewayProcess, tmp_path: Path) -> None:
    since = gateway.log_path.stat().st_size
    run = schemathesis(tmp_path, f"{gateway.url}/openapi.json", "--wait-for-schema", "30")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert no_server_error_logged(gateway, since)


@pytest.mark.usefixtures("adapters")
def test_openais_published_spec_finds_no_server_error(gateway: GatewayProcess, tmp_path: Path) -> None:
    spec = tmp_path / "openai.json"
    spec.write_bytes(gzip.decompress(OPENAI_SPEC.read_bytes()))
    since = gateway.log_path.stat().st_size
    run = schemathesis(tmp_path, str(spec), "--url", f"{gateway.url}/v1")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "generated" in run.stdout, run.stdout[-5000:]
    assert no_server_error_logged(gateway, since)


@pytest.mark.parametrize(("path", "body", "problem"), [
    pytest.param("/v1/chat/completions", {"error": {"message": "m", "type": "t", "param": None, "code": None}}, None,
                 id="openai_shape_case"),
    pytest.param("/v1/chat/completions", {"detail": "Not found"}, "not an object", id="django_shape_case"),
    pytest.param("/v1/chat/completions", {"error": {"message": "m", "type": "t"}}, "keys", id="missing_keys_case"),
    pytest.param("/v1/messages", {"type": "error", "error": {"type": "invalid_request_error", "message": "m"}}, None,
                 id="anthropic_shape_case"),
    pytest.param("/v1/messages", {"error": {"message": "m", "type": "t", "param": None, "code": None}},
                 "Anthropic", id="openai_shape_on_messages_case"),
])
def test_the_shape_check_tells_documented_errors_from_others(path: str, body: object, problem: str | None) -> None:
    found = error_problem(path, body)
    assert (found is None) if problem is None else (found is not None and problem in found)
