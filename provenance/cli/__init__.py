"""The `provenance` command line: chain, compile, deploy, index, serve, demo, prefix, lot,
class, device, bridge, credential, token, trail, qr, events, event, trace. Each group lives in
a module of its own; this one mounts them and hands the lower layers' commands the ports they
take (`credential issue --shipment`)."""

from __future__ import annotations

from importlib import metadata
from typing import Annotated

import typer

from ledger_client.config import LedgerSettings
from ledger_client.terminal import OneLineUsageErrors, clear_errors, console
from provenance.cli import credential
from provenance.cli.bridge import bridge_app
from provenance.cli.chain import chain, compile, deploy
from provenance.cli.device import device_app
from provenance.cli.events import event_app, events_app
from provenance.cli.index import index_app
from provenance.cli.lot import lot_app
from provenance.cli.prefix import prefix_app
from provenance.cli.product_class import class_app
from provenance.cli.qr import qr
from provenance.cli.serve import serve
from provenance.cli.token import token_app
from provenance.cli.trace import trace
from provenance.cli.trail import trail_app

app = typer.Typer(
    cls=OneLineUsageErrors,
    help="Provenance Ledger: lifecycle, compliance and credentials on a PoA chain.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # Click's own help: paragraphs rewrapped to the terminal, examples kept as written (`\b`);
    # typer's rich help keeps every line break of a docstring, ragged at any width.
    rich_markup_mode=None,
)


DISTRIBUTION = "provenance-ledger"


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"provenance {metadata.version(DISTRIBUTION)}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    ctx.obj = credential.PORTS


app.command()(chain)
app.command()(compile)
app.command()(deploy)
app.command()(trace)
app.add_typer(index_app, name="index")
app.command()(serve)


@app.command()
@clear_errors
def demo(
    serve: Annotated[
        bool,
        typer.Option("--serve/--no-serve", help="Keep the node serving after the story"),
    ] = True,
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port of the node's API")] = 8000,
) -> None:
    """Tell the whole story on the embedded node that `provenance serve` runs (local anvil
    with 1 s blocks, SQLite): five organizations, calibrated loggers, two vaccine lots, an
    excursion that quarantines one on chain, credentials, an auditor's queries; then a
    summary, the scan URLs, a QR code and a self-check (exit 1 when an outcome failed). The
    node then keeps serving until Ctrl-C. A second run resumes the saved chain and tells the
    story again with new lot numbers.

    Examples:

    \b
      provenance demo                   # then open the scan URLs it prints
      provenance demo --no-serve --port 8001
    """
    from provenance.demo import run

    if not run(LedgerSettings().state_dir, console, serve=serve, port=port):
        raise typer.Exit(1)


app.add_typer(prefix_app, name="prefix")
app.add_typer(lot_app, name="lot")
app.add_typer(class_app, name="class")
app.add_typer(device_app, name="device")
app.add_typer(bridge_app, name="bridge")
app.add_typer(credential.credential_app, name="credential")
app.add_typer(token_app, name="token")
app.add_typer(trail_app, name="trail")
app.command()(qr)
app.add_typer(events_app, name="events")
app.add_typer(event_app, name="event")

__all__ = ["app"]
