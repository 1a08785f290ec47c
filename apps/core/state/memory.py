"""In-process state for the embedded default; generations live in files so local processes agree."""
from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings


class MemoryState:
    """State kept in this process; snapshot generations kept as file mtimes under var/."""

    def __init__(self) -> None:
        self._generation_dir = Path(settings.VAR_DIR) / "generations"
        self._generation_dir.mkdir(parents=True, exist_ok=True)

    def _generation_path(self, name: str) -> Path:
        return self._generation_dir / name

    async def generation(self, name: str) -> int:
        try:
            return os.stat(self._generation_path(name)).st_mtime_ns
        except FileNotFoundError:
            return 0

    def bump_generation(self, name: str) -> int:
        path = self._generation_path(name)
        previous = path.read_text() if path.exists() else "0"
        path.write_text(str(int(previous or 0) + 1))
        stamp = os.stat(path).st_mtime_ns
        # Two bumps inside one mtime tick must still differ.
        os.utime(path, ns=(stamp, stamp + 1))
        return stamp + 1

    async def ping(self) -> None:
        return None
