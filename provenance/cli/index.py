"""`provenance index …`: the SQL read model built from chain logs."""

from __future__ import annotations

import dataclasses
import json
import signal
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from ledger_client.config import LedgerSettings
from ledger_client.errors import ConfigurationError
from ledger_client.terminal import clear_errors, console
from provenance.cli.consortium import JsonOption
from provenance.logs import configure_logging

if TYPE_CHECKING:
    from ledger_client.indexer.indexer import IndexProgress

index_app = typer.Typer(help="The SQL read model built from chain logs.", no_args_is_help=True)


def _indexer_context(settings: LedgerSettings):  # noqa: ANN202 - internal
    from ledger_client.chain import connect
    from ledger_client.db import make_engine
    from ledger_client.deployment import Deployment
    from ledger_client.indexer.read_model import create_read_model

    w3 = connect(settings.rpc_url, timeout_s=settings.rpc_timeout_s)
    deployment = Deployment.load(settings.deployment_path)
    deployment.check_chain(w3)
    engine = make_engine(settings.resolved_database_url)
    create_read_model(engine)
    return w3, deployment, engine


def _print_progress(progress: IndexProgress) -> None:
    """An indexing run's figures as one JSON document (`--json`)."""
    typer.echo(json.dumps(dataclasses.asdict(progress), indent=2))


@index_app.command("rebuild")
@clear_errors
def index_rebuild(
    json_output: JsonOption = False,
) -> None:
    """Drop the read model and rebuild it from the chain alone.

    Example:

    \b
      provenance index rebuild --json
    """
    from ledger_client.indexer.indexer import rebuild

    settings = LedgerSettings()
    w3, deployment, engine = _indexer_context(settings)
    with console.status(
        f"rebuilding {engine.url.render_as_string()} from block {deployment.deploy_block}…"
    ):
        progress = rebuild(
            w3,
            deployment,
            engine,
            confirmations=settings.confirmations,
            chunk_blocks=settings.log_chunk_blocks,
        )
    if json_output:
        _print_progress(progress)
        return
    console.print(
        f"rebuilt: {progress.logs:,} logs, {progress.events:,} events up to block "
        f"{progress.checkpoint} ({progress.events_per_second:,.0f} events/s)"
    )


@index_app.command("run")
@clear_errors
def index_run(
    follow: Annotated[bool, typer.Option(help="Keep indexing new blocks until Ctrl-C")] = False,
    poll: Annotated[
        float, typer.Option(min=0.01, max=3600, help="Seconds between polls with --follow")
    ] = 1.0,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print the run's figures as JSON (not with --follow)")
    ] = False,
) -> None:
    """Index new blocks into the read model, from its checkpoint.

    Example:

    \b
      provenance index run --follow --poll 0.5
    """
    from ledger_client.indexer.follower import ReadModelFollower
    from ledger_client.indexer.indexer import Indexer

    if follow and json_output:
        raise ConfigurationError(
            "--json prints one run's figures; --follow logs as it goes: choose one"
        )
    settings = LedgerSettings()
    w3, deployment, engine = _indexer_context(settings)
    indexer = Indexer(
        w3,
        deployment,
        engine,
        confirmations=settings.confirmations,
        chunk_blocks=settings.log_chunk_blocks,
    )
    if not follow:
        progress = indexer.run_once()
        if json_output:
            _print_progress(progress)
            return
        console.print(f"indexed {progress.logs:,} logs up to block {progress.checkpoint}")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    configure_logging()
    follower = ReadModelFollower(indexer, poll_s=poll)
    console.print("following the chain; Ctrl-C stops")
    follower.start()
    try:
        while follower.running and not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        follower.stop()
    if follower.failure is not None:
        raise follower.failure
