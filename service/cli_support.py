"""What every ``kawasan`` command group shares: the process's runtime, the error exit, and who is acting.

It lives apart from :mod:`service.cli`, which imports every feature's ``commands.py`` to assemble ``main``:
a feature group importing these from ``service.cli`` would be a circular import.
"""

from __future__ import annotations

import getpass
import sys
from typing import NoReturn

import click

from service.runtime import Runtime, get_runtime


def cli_runtime() -> Runtime:
    """The process's runtime (engine, Redis), starting the embedded servers on first use if configured so."""
    return get_runtime()


def fail(message: str, code: int = 2) -> NoReturn:
    """``error: MESSAGE`` on stderr and exit (2: bad input or unreadable file, by the commands' convention)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def cli_actor() -> str:
    """The audit log's actor for a command: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"[:100]
    except Exception:  # noqa: BLE001 - no user name in some containers
        return "cli"
