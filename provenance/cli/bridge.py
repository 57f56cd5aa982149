"""`provenance bridge run`: the bridge, its ingress and the API, as one process."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from ledger_client.terminal import clear_errors, console
from provenance.logs import configure_logging

bridge_app = typer.Typer(help="The oracle bridge: readings in, anchors out.", no_args_is_help=True)


@bridge_app.command("run")
@clear_errors
def run(
    http_host: Annotated[str, typer.Option(help="Address the HTTP API listens on")] = "127.0.0.1",
    http_port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the HTTP API")] = 8000,
    mqtt: Annotated[bool, typer.Option(help="Also take readings from the MQTT broker")] = True,
    mqtt_client_id: Annotated[
        str | None,
        typer.Option(
            help="This instance's MQTT client id, stable across restarts "
            "(default: provenance-bridge-HOSTNAME)",
            envvar="PROVENANCE_BRIDGE_MQTT_CLIENT_ID",
        ),
    ] = None,
) -> None:
    """Run the bridge: HTTP ingress and API, MQTT ingress, anchoring; Ctrl-C or SIGTERM stops.

    Example:

    \b
      provenance bridge run --http-port 8000 --no-mqtt
    """
    # Imported here: `provenance --help` and the other commands do not pay for the node.
    from provenance.node import MemberNode, listening_socket

    listening = listening_socket(http_host, http_port)
    from oracle_bridge.config import BridgeSettings

    configure_logging()
    node = MemberNode.build(
        BridgeSettings(),
        listening=listening,
        bind=f"{http_host}:{http_port}",
        mqtt_client_id=(mqtt_client_id or f"provenance-bridge-{socket.gethostname()}")
        if mqtt
        else None,
    )

    def ready() -> None:
        console.print(
            f"bridge running: HTTP http://{http_host}:{http_port} (OpenAPI at /docs)"
            + (f", MQTT {node.mqtt.subscription}" if node.mqtt else "")
            + "; Ctrl-C stops",
            highlight=False,
            soft_wrap=True,
        )

    node.serve(on_ready=ready)
    console.print("bridge stopped")
