"""`provenance chain`, `compile` and `deploy`: a local chain, the contracts' artifacts and
their deployment."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Annotated

import typer

from ledger_client.config import LedgerSettings
from ledger_client.terminal import clear_errors, console
from provenance.cli.consortium import JsonOption


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
    """Run a local anvil chain in the foreground until Ctrl-C.

    Example:

    \b
      provenance chain --block-time 1 --state chain-state.json
    """
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


@clear_errors
def compile(
    force: Annotated[bool, typer.Option(help="Recompile even if unchanged")] = False,
) -> None:
    """Compile contracts/src into build/artifacts (skipped when the sources are unchanged).

    Example:

    \b
      provenance compile --force
    """
    from ledger_client.artifacts import compile_contracts

    console.print(f"artifacts in {compile_contracts(force=force)}")


@clear_errors
def deploy(
    json_output: JsonOption = False,
) -> None:
    """Deploy the contracts with PROVENANCE_PRIVATE_KEY as governor; write the deployment record.

    Example:

    \b
      PROVENANCE_RPC_URL=http://127.0.0.1:8545 provenance deploy --json
    """
    from ledger_client.chain import connect, node_is_anvil
    from ledger_client.deploy import deploy_contracts

    settings = LedgerSettings()
    w3 = connect(settings.rpc_url, timeout_s=settings.rpc_timeout_s)
    settings.require_real_key(local_anvil=node_is_anvil(w3))
    deployment = deploy_contracts(w3, governor_key=settings.private_key.get_secret_value())
    deployment.save(settings.deployment_path)
    if json_output:
        document = {
            "chainId": deployment.chain_id,
            "deployBlock": deployment.deploy_block,
            "addresses": deployment.addresses,
            "record": str(settings.deployment_path),
        }
        typer.echo(json.dumps(document, indent=2))
        return
    for name, address in deployment.addresses.items():
        console.print(f"{name:18} {address}")
    console.print(f"deployment record: {settings.deployment_path}")
