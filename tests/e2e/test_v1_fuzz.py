"""Fuzz the OpenAI-compatible API with schemathesis: from the gateway's own schema (/openapi.json) and from
OpenAI's published spec (openai/openai-openapi at f85dbe2, trimmed to the operations Tollgate serves and the
schemas they reference: fixtures/openai-openapi-v1.json.gz). No generated request may get a 5xx. Bounded so
it runs in well under a minute; `TOLLGATE_FUZZ_EXAMPLES=100` for a deeper run.
"""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import MASTER_KEY, GatewayProcess

OPENAI_SPEC = Path(__file__).parent / "fixtures" / "openai-openapi-v1.json.gz"
EXAMPLES = os.environ.get("TOLLGATE_FUZZ_EXAMPLES", "10")
SEED = os.environ.get("TOLLGATE_FUZZ_SEED", "20")


def schemathesis(workdir: Path, location: str, *args: str) -> subprocess.CompletedProcess[str]:
    st = Path(sys.executable).with_name("st")
    return subprocess.run(
        [str(st), "run", location, "--header", f"Authorization: Bearer {MASTER_KEY}", "--checks", "not_a_server_error",
         "--phases", "fuzzing", "--max-examples", EXAMPLES, "--seed", SEED, "--workers", "1", "--no-color",
         "--request-timeout", "30", *args], cwd=workdir, capture_output=True, text=True, timeout=600, check=False)


def no_server_error_logged(gateway: GatewayProcess, since: int) -> bool:
    with gateway.log_path.open("rb") as log:
        log.seek(since)
        return b"Internal Server Error" not in log.read()


@pytest.mark.usefixtures("example_models")
def test_the_gateways_own_schema_finds_no_server_error(gateway: GatewayProcess, tmp_path: Path) -> None:
    since = gateway.log_path.stat().st_size
    run = schemathesis(tmp_path, f"{gateway.url}/openapi.json", "--wait-for-schema", "30")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert no_server_error_logged(gateway, since)


@pytest.mark.usefixtures("example_models")
def test_openais_published_spec_finds_no_server_error(gateway: GatewayProcess, tmp_path: Path) -> None:
    spec = tmp_path / "openai.json"
    spec.write_bytes(gzip.decompress(OPENAI_SPEC.read_bytes()))
    since = gateway.log_path.stat().st_size
    run = schemathesis(tmp_path, str(spec), "--url", f"{gateway.url}/v1")
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    assert "generated" in run.stdout, run.stdout[-5000:]
    assert no_server_error_logged(gateway, since)
