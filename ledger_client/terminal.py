"""Terminal output shared by every `provenance` command group: consoles and one-line errors
(the long-running commands' log format is `provenance.logs`)."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

# typer 0.29 parses with its own copy of click; its usage errors are these classes.
from typer._click.core import Context
from typer._click.exceptions import NoArgsIsHelpError, UsageError
from typer.core import TyperGroup

from ledger_client.config import settings_problem
from ledger_client.errors import ProvenanceError

console = Console()
errors = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., object])


def fail(problem: str) -> NoReturn:
    """Print `problem` as one red line on stderr and end the command with exit status 1."""
    line = " ".join(problem.split())
    errors.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True, emoji=False)
    raise typer.Exit(1)


def clear_errors(command: F) -> F:
    """Turn every refusal a command can meet into one line on stderr and exit status 1, no
    traceback: the packages' errors (`ProvenanceError`: each package's root), bad
    settings, and the infrastructure's (database, node, files). Anything else is a bug and
    keeps its traceback."""

    @functools.wraps(command)
    def wrapper(*args: object, **kwargs: object) -> object:
        try:
            return command(*args, **kwargs)
        except Exception as exc:
            problem = problem_of(exc)
            if problem is None:
                raise
            fail(problem)

    return wrapper  # type: ignore[return-value]


def problem_of(exc: BaseException) -> str | None:
    """What went wrong, in one line fit for an operator; None for an unexpected error (a bug)."""
    if isinstance(exc, ProvenanceError):
        return str(exc)
    # Imported here: only a failing command pays for them.
    from pydantic import ValidationError
    from sqlalchemy.exc import SQLAlchemyError
    from web3.exceptions import Web3Exception

    from ledger_client.chain import CHAIN_UNREACHABLE

    if isinstance(exc, ValidationError):
        return _invalid_input(exc)
    if isinstance(exc, SQLAlchemyError):
        return _database_problem(exc)
    if isinstance(exc, CHAIN_UNREACHABLE):
        return (
            f"the Ethereum node stopped answering ({type(exc).__name__}: {_first_line(exc)}); "
            "check that it runs at PROVENANCE_RPC_URL and try again"
        )
    if isinstance(exc, Web3Exception):
        return f"the Ethereum node refused a request: {_first_line(exc)}"
    if isinstance(exc, OSError):
        where = f" {exc.filename}" if exc.filename is not None else ""
        return f"cannot use{where}: {exc.strerror or exc}"
    return None


def _invalid_input(exc: Any) -> str:
    if str(exc.title).endswith("Settings"):
        return settings_problem(exc)
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{exc.title} {where}: {first['msg']}"


def _database_problem(exc: Any) -> str:
    from sqlalchemy.exc import ArgumentError, DBAPIError

    if isinstance(exc, ArgumentError):
        return (
            f"the database URL is not usable ({_first_line(exc)}); set it to sqlite:///path or "
            "postgresql://user@host/db"
        )
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    return (
        f"the database failed: {_first_line(cause)} ({type(cause).__name__}); check its URL "
        "(PROVENANCE_DATABASE_URL, PROVENANCE_BRIDGE_DATABASE_URL, "
        "PROVENANCE_CREDENTIAL_DATABASE_URL) and that it is up and intact"
    )


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


class OneLineUsageErrors(TyperGroup):
    """The root command group: a wrong option or argument is one line on stderr and exit
    status 1, like every other refusal, not a usage box."""

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: Context | None = None,
        **extra: Any,
    ) -> Context:
        with _one_line_usage_errors():
            return super().make_context(info_name, args, parent, **extra)

    def invoke(self, ctx: Context) -> Any:
        with _one_line_usage_errors():
            return super().invoke(ctx)


@contextlib.contextmanager
def _one_line_usage_errors() -> Iterator[None]:
    try:
        yield
    except NoArgsIsHelpError:
        raise
    except UsageError as exc:
        command = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
        fail(exc.format_message() + command)
