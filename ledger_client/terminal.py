"""Terminal output shared by every `provenance` command group: consoles and one-line errors."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console

from ledger_client.errors import LedgerError
from oracle_bridge.errors import BridgeError

console = Console()
errors = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., object])


def clear_errors(command: F) -> F:
    """Turn every LedgerError or BridgeError into one red line on stderr and exit status 1,
    no traceback."""

    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return command(*args, **kwargs)
        except (LedgerError, BridgeError) as exc:
            errors.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]
