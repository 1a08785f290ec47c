#!/usr/bin/env python
"""Django's command-line utility for Tollgate."""
from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gatewaysite.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # One line naming the variable and the problem, not a traceback.
        sys.stderr.write(f"tollgate: configuration error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
