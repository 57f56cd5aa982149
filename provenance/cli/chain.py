"""The `provenance` command line: chain, compile, deploy, index, demo, device, bridge,
credential."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from credentials.cli import credential_app
from ledger_client.config import LedgerSettings
from ledger_client.terminal import OneLineUsageErrors, clear_errors, console, log_to_stderr
from oracle_bridge.cli import bridge_app, device_app

app = typer.Typer(
    cls=OneLineUsageErrors,
    help="Provenance Ledger: lifecycle, compliance and credentials on a PoA chain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
index_app = typer.Typer(help="The SQL read model built from chain logs.", no_args_is_help=True)
app.add_typer(index_app, name="index")
app.add_typer(device_app, name="device")
app.add_typer(bridge_app, name="bridge")
app.add_typer(credential_app, name="credential")


@app.command()
@clear_errors
def chain(
    port: Annotated[int, typer.Option(min=1, max=65535, help="JSON-RPC port")] = 8545,
    block_time: Annotated[
        float, typer.Option(min=0, max=3600, help="Seconds per block (0: one block per tx)")
    ] = 0,
    state: Annotated[
        Path | None, typer.Option(help="Load the chain from / dump it to this file")
    ] = None,
) -> None:
    """Run a local anvil chain in the foreground until Ctrl-C."""
    from ledger_client.local_chain import start_anvil

    load = state if state and state.exists() else None
    local = start_anvil(port=port, block_time=block_time or None, dump_state=state, load_state=load)
    console.print(
        f"anvil running at [bold]{local.rpc_url}[/bold] (chain id 31337); Ctrl-C stops it"
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(0.5) and local.process.poll() is None:
            pass
    except KeyboardInterrupt:
        pass
    finally:
        local.stop()


@app.command()
@clear_errors
def compile(
    force: Annotated[bool, typer.Option(help="Recompile even if unchanged")] = False,
) -> None:
    """Compile contracts/src into build/artifacts (skipped when the sources are unchanged)."""
    from ledger_client.artifacts import compile_contracts

    console.print(f"artifacts in {compile_contracts(force=force)}")


@app.command()
@clear_errors
def deploy() -> None:
    """Deploy the contracts with PROVENANCE_PRIVATE_KEY as governor; write the deployment record."""
    from ledger_client.chain import connect, node_is_anvil
    from ledger_client.deploy import deploy_contracts

    settings = LedgerSettings()
    w3 = connect(settings.rpc_url, timeout_s=settings.rpc_timeout_s)
    settings.require_real_key(local_anvil=node_is_anvil(w3))
    deployment = deploy_contracts(w3, governor_key=settings.private_key.get_secret_value())
    deployment.save(settings.deployment_path)
    for name, address in deployment.addresses.items():
        console.print(f"{name:18} {address}")
    console.print(f"deployment record: {settings.deployment_path}")


@app.command()
@clear_errors
def demo() -> None:
    """Run the main job end to end on a throw-away local anvil and SQLite."""
    from credentials.demo import credentials_story
    from ledger_client.demo import run_demo
    from oracle_bridge.demo import cold_chain_story

    run_demo(LedgerSettings().state_dir, console, chapters=[cold_chain_story, credentials_story])


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


@index_app.command("rebuild")
@clear_errors
def index_rebuild() -> None:
    """Drop the read model and rebuild it from the chain alone."""
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
) -> None:
    """Index new blocks into the read model, from its checkpoint."""
    from ledger_client.indexer.indexer import Indexer

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
        console.print(f"indexed {progress.logs:,} logs up to block {progress.checkpoint}")
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log_to_stderr()
    console.print("following the chain; Ctrl-C stops")
    try:
        indexer.follow(poll_s=poll, stop_event=stop)
    except KeyboardInterrupt:
        stop.set()
