"""`provenance serve`: one command runs a member node, on the embedded dev chain by default."""

from __future__ import annotations

import logging
import os
import socket
from typing import Annotated

import typer

from ledger_client.terminal import clear_errors, console
from provenance.logs import configure_logging

log = logging.getLogger("provenance.serve")


@clear_errors
def serve(
    host: Annotated[str, typer.Option(help="Address the API listens on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the API")] = 8000,
    bridge: Annotated[
        bool,
        typer.Option(
            "--bridge/--no-bridge",
            help="Run the oracle bridge: reading ingress (HTTP, MQTT) and anchoring",
        ),
    ] = True,
    mqtt: Annotated[
        bool | None,
        typer.Option(
            "--mqtt/--no-mqtt",
            show_default=False,
            help="Take readings from the MQTT broker, or not; by default when a broker "
            "answers (required once PROVENANCE_BRIDGE_MQTT_HOST or _PORT is set)",
        ),
    ] = None,
    mqtt_client_id: Annotated[
        str | None,
        typer.Option(
            help="This node's MQTT client id, stable across restarts "
            "(default: provenance-node-HOSTNAME)",
            envvar="PROVENANCE_BRIDGE_MQTT_CLIENT_ID",
        ),
    ] = None,
) -> None:
    """Run a member node: the API (OpenAPI at /docs, metrics at /metrics), the read model
    following the chain and, unless --no-bridge, the oracle bridge. Ctrl-C or SIGTERM stops
    it cleanly.

    With no PROVENANCE_RPC_URL set it runs an embedded dev chain (anvil, 1 s blocks) saved
    under the state directory (PROVENANCE_STATE_DIR, .provenance/), deploys the contracts on
    its first start, registers a dev consortium (operator, quality lab, auditor) and writes
    their API tokens to dev-tokens.json there; unless the state directory holds a deployment
    record (not a dev chain's) and a node answers at http://127.0.0.1:8545: then that one.

    Examples, the first on the embedded dev chain:

    \b
      provenance serve --port 8000
      TOKEN=$(jq -r .operator .provenance/dev-tokens.json)
      curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/api/v1/me
      PROVENANCE_RPC_URL=http://10.0.0.5:8545 provenance serve --host 0.0.0.0 --no-bridge
    """
    # Imported here: `provenance --help` and the other commands do not pay for the node.
    from provenance.node import interrupt_on_sigterm, listening_socket

    listening = listening_socket(host, port, option="--port")
    configure_logging()
    # A SIGTERM while the chain starts or deploys stops it too, its state saved.
    interrupt_on_sigterm()
    try:
        _run(host, port, listening, with_bridge=bridge, mqtt=mqtt, mqtt_client_id=mqtt_client_id)
    except KeyboardInterrupt:
        log.info("start interrupted")
    finally:
        listening.close()
    console.print("node stopped")


def _run(
    host: str,
    port: int,
    listening: socket.socket,
    *,
    with_bridge: bool,
    mqtt: bool | None,
    mqtt_client_id: str | None,
) -> None:
    from oracle_bridge.config import BridgeSettings
    from provenance import embedded
    from provenance.node import MemberNode

    settings = BridgeSettings()
    chain = None
    tokens_path = None
    if embedded.wants_embedded_chain(settings.ledger.state_dir):
        embedded.require_dev_keys(settings)
        log.info("no PROVENANCE_RPC_URL: starting the embedded dev chain")
        chain = embedded.start_dev_chain(settings.ledger.state_dir)
    try:
        if chain is not None:
            settings = embedded.set_up_dev_chain(settings, chain)
            tokens_path = settings.ledger.state_dir / embedded.DEV_TOKENS_FILE
        log.info("starting the node on %s…", settings.ledger.rpc_url)
        configured = {"PROVENANCE_BRIDGE_MQTT_HOST", "PROVENANCE_BRIDGE_MQTT_PORT"} & set(
            os.environ
        )
        node = MemberNode.build(
            settings,
            listening=listening,
            bind=f"{host}:{port}",
            mqtt_client_id=None
            if mqtt is False
            else mqtt_client_id or f"provenance-node-{socket.gethostname()}",
            mqtt_required=mqtt is True or (mqtt is None and bool(configured)),
            with_bridge=with_bridge,
            follow_chain=True,
            embedded_dev_chain=chain is not None,
        )

        def ready() -> None:
            url = f"http://{host}:{port}"
            ingress = "no bridge" if node.bridge is None else "readings over HTTP"
            if node.mqtt is not None:
                ingress += f" and MQTT {node.mqtt.subscription}"
            log.info(
                "node started: API %s (/docs, /metrics), chain %s; %s",
                url,
                settings.ledger.rpc_url,
                ingress,
            )
            console.print(
                f"node running: API {url} (OpenAPI at /docs, metrics at /metrics), {ingress}"
                + (f"; dev chain {chain.rpc_url}, API tokens in {tokens_path}" if chain else "")
                + "; Ctrl-C stops",
                highlight=False,
                soft_wrap=True,
            )

        node.serve(on_ready=ready)
    finally:
        if chain is not None:
            chain.stop()
            log.info(
                "dev chain stopped, its state saved to %s",
                settings.ledger.state_dir / embedded.CHAIN_STATE_FILE,
            )
