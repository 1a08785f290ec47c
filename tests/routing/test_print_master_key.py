"""`manage.py print_master_key` says where a generated key is kept: the real path, not a guess (the image keeps it in
/var/lib/tollgate, not var/)."""
from __future__ import annotations

from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.test import override_settings

from apps.teams.master_key import master_key


def test_a_generated_key_is_shown_with_the_file_that_keeps_it(tmp_path: Path) -> None:
    master_key.cache_clear()
    try:
        with override_settings(VAR_DIR=tmp_path, TOLLGATE_MASTER_KEY="", TOLLGATE_CONFIG=str(tmp_path / "none.yaml")):
            out = StringIO()
            call_command("print_master_key", stdout=out)
            kept = (tmp_path / "master_key").read_text().strip()
    finally:
        master_key.cache_clear()
    assert out.getvalue().strip() == f"Master key (generated, kept in {tmp_path / 'master_key'}): {kept}"
