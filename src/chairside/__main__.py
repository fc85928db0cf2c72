"""The `chairside` command: Django's management commands with our settings."""

from __future__ import annotations

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chairside.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv)
    # `chairside serve` is the friendly name for the development server.
    if len(argv) > 1 and argv[1] == "serve":
        argv[1] = "runserver"
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
