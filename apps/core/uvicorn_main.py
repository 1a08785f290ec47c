"""`python -m apps.core.uvicorn_main ARGS`: uvicorn's command line, exiting 0 once a SIGTERM or SIGINT has drained.

uvicorn handles the signal (stops accepting, lets open calls finish, runs lifespan shutdown), then raises it
again with the default handler restored, so a single-worker server always ended "killed by SIGTERM" (143) after
a clean drain, which orchestrators and supervisors read as a crash. Here the handler that uvicorn restores and
re-raises into is one that exits 0. With several workers uvicorn's supervisor already exits 0.

Nothing here imports Django: with several workers this process is only the supervisor, and stays small.
"""
from __future__ import annotations

import signal
from types import FrameType


def exit_cleanly(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def main() -> None:
    for drained in (signal.SIGTERM, signal.SIGINT):
        signal.signal(drained, exit_cleanly)
    from uvicorn.main import main as uvicorn_main

    uvicorn_main(prog_name="uvicorn")


if __name__ == "__main__":
    main()
