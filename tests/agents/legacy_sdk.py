"""A venv with the last 0.3 release of a2a-sdk, for tests/agents/legacy_client.py: deployed 0.3 clients run that
SDK, which cannot share a venv with the 1.x one the suite imports (both are the `a2a` package). Built once under
var/ (keyed by the version, so a new pin builds a new one), under a file lock so parallel test processes build it
once; a failed install fails the test that needs it."""
from __future__ import annotations

import fcntl
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LEGACY_SDK = "a2a-sdk==0.3.26"  # the latest 0.3 on PyPI
INSTALL_SECONDS = 600


def legacy_python() -> Path:
    """The python of the 0.3 SDK's venv, built on first use."""
    home = ROOT / "var" / LEGACY_SDK.replace("==", "-")
    python, done = home / "bin" / "python", home / ".installed"
    home.parent.mkdir(parents=True, exist_ok=True)
    with (home.parent / f"{home.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(home, ignore_errors=True)  # a build cut short before
            run([sys.executable, "-m", "venv", str(home)])
            run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", LEGACY_SDK])
            done.write_text(LEGACY_SDK)
    return python


def run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_SECONDS)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
