"""deploy/slim-venv.sh, the image's trim: what it removes is gone, and what the gateway uses from those packages
still works (run on copies of the real packages, in a Python that sees only the trimmed ones)."""
from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.deploy.test_image import tool

SCRIPT = ROOT / "deploy" / "slim-venv.sh"
PACKAGES = ("django", "ninja", "botocore", "twisted", "uvloop", "dateutil", "jmespath", "urllib3", "asgiref", "sqlparse",
            "six.py")
STILL_WORKS = """
import botocore.session, django, uvloop
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
session = botocore.session.Session()
for service in ("sts", "sso", "sso-oidc"):
    session.create_client(service, region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")
request = AWSRequest(method="POST", url="https://bedrock-runtime.us-east-1.amazonaws.com/model/m/converse", data=b"{}")
SigV4Auth(Credentials("a", "b"), "bedrock", "us-east-1").add_auth(request)
assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256")
uvloop.new_event_loop().close()
import django.contrib.admin, django.test
print("works")
"""


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@pytest.fixture(scope="module")
def trimmed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv")
    site = venv / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    installed = Path(sysconfig.get_paths()["purelib"])
    for name in PACKAGES:
        source = installed / name
        if not source.exists():
            pytest.fail(f"{name} is installed with the gateway's dependencies")
        (shutil.copytree(source, site / name) if source.is_dir() else shutil.copy(source, site / name))
    before = size(site)
    subprocess.run(["sh", str(SCRIPT), str(venv)], check=True, capture_output=True, timeout=300)
    assert size(site) < before * 0.7, "the trim removes most of botocore's models and the translations"
    return site


def test_the_script_is_clean_shell() -> None:
    result = subprocess.run([tool("shellcheck"), str(SCRIPT)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_what_is_never_read_is_gone(trimmed: Path) -> None:
    assert not list(trimmed.rglob("__pycache__")) and not list(trimmed.rglob("*.pyi"))
    assert not list(trimmed.rglob("*.map")) and (trimmed / "ninja" / "static" / "ninja" / "swagger-ui-bundle.js").exists()
    assert not list(trimmed.rglob("*.mo")) and not list(trimmed.rglob("*.po")), "USE_I18N is off"
    assert not (trimmed / "django" / "contrib" / "gis").exists()
    assert not list((trimmed / "twisted").rglob("test"))
    assert sorted(p.name for p in (trimmed / "botocore" / "data").iterdir() if p.is_dir()) == ["sso", "sso-oidc", "sts"]


def test_what_the_gateway_uses_still_works(trimmed: Path) -> None:
    done = subprocess.run([sys.executable, "-S", "-c", STILL_WORKS], capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(trimmed), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0 and done.stdout.strip() == "works", done.stderr
