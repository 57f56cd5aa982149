"""`provenance events query` and `provenance event prove`: the indexed EPCIS events read
from the read model (PROVENANCE_DATABASE_URL) and proven against the chain directly, as
`GET /api/v1/events` and its proof answer over HTTP."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ledger_client.config import LedgerSettings
from ledger_client.errors import LedgerError
from ledger_client.terminal import clear_errors, console, fail
from provenance.cli.consortium import JsonOption, chain, print_rows

events_app = typer.Typer(help="Query the indexed EPCIS events.", no_args_is_help=True)
event_app = typer.Typer(help="One indexed EPCIS event: prove it.", no_args_is_help=True)


class MalformedParameter(LedgerError):
    """A --param is not NAME=VALUE."""


def _archive():  # noqa: ANN202 - internal
    from ledger_client.db import make_engine
    from ledger_client.epcis_query.archive import EventArchive
    from ledger_client.indexer.read_model import create_read_model

    settings = LedgerSettings()
    w3, deployment = chain(settings)
    engine = make_engine(settings.resolved_database_url)
    create_read_model(engine)
    return EventArchive(engine, w3, deployment)


def _parameters(given: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for text in given:
        name, equals, value = text.partition("=")
        if not equals or not name:
            raise MalformedParameter(
                f"--param {text!r} is not NAME=VALUE (e.g. --param EQ_bizStep=shipping)"
            )
        pairs.append((name, value))
    return pairs


@events_app.command("query")
@clear_errors
def query(
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            "-p",
            metavar="NAME=VALUE",
            help="An EPCIS query parameter (EQ_bizStep=shipping, MATCH_epc=…, perPage=…); "
            "repeat for several",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Print one page of the events the EPCIS 2.0 query parameters select (the read model
    is as fresh as `provenance index run` left it).

    Example:

    \b
      provenance events query -p MATCH_epc=https://id.gs1.org/01/09506000134352/10/LOT-A -p \\
          EQ_bizStep=shipping --json
    """
    from ledger_client.epcis_query.parameters import parse_query
    from ledger_client.epcis_query.query_document import query_document

    parsed = parse_query(_parameters(param or []))
    page = _archive().query(parsed)
    if json_output:
        document = query_document(page.payloads)
        if page.next_page_token is not None:
            document["nextPageToken"] = page.next_page_token
        typer.echo(json.dumps(document, indent=2))
        return
    for payload in page.payloads:
        event = json.loads(payload)
        fields = (event.get("eventTime"), event.get("type"), event.get("bizStep"))
        console.print(
            f"{event.get('eventID')}  " + "  ".join(str(f) for f in fields if f is not None),
            highlight=False,
            soft_wrap=True,
        )
    console.print(f"{len(page.payloads)} event(s)", highlight=False)
    if page.next_page_token is not None:
        console.print(
            f"more: --param nextPageToken={page.next_page_token}", highlight=False, soft_wrap=True
        )


@event_app.command("prove")
@clear_errors
def prove(
    event_id: Annotated[str, typer.Argument(metavar="EVENT_ID", help="The event's eventID")],
    json_output: JsonOption = False,
) -> None:
    """Re-read the event's anchoring transaction from the chain and check that it emitted
    keccak256 of the payload the read model holds; exit 1 when it did not.

    Example:

    \b
      provenance event prove 'ni:///sha-256;2bbf3f1…?ver=CBV2.0' --json
    """
    archive = _archive()
    event = archive.event(event_id)
    if event is None:
        fail(f"no indexed event has eventID {event_id!r}; run `provenance index run` first?")
    proof = archive.proof(event)
    if json_output:
        typer.echo(
            json.dumps(
                {
                    "eventID": event.event_id,
                    "verified": proof.verified,
                    "problem": proof.problem,
                    "batchId": event.batch_id,
                    "transactionHash": event.tx_hash,
                    "blockNumber": event.block_number,
                    "logIndex": event.log_index,
                    "sqlPayloadHash": proof.sql_hash,
                    "chainPayloadHash": proof.chain_hash,
                },
                indent=2,
            )
        )
    else:
        print_rows(
            [
                ("event", event.event_id),
                ("verified", "yes" if proof.verified else f"NO: {proof.problem}"),
                ("batch", event.batch_id),
                ("transaction", f"{event.tx_hash} (block {event.block_number})"),
                ("log index", str(event.log_index)),
                ("hash in SQL", proof.sql_hash),
                ("hash on chain", proof.chain_hash or "none"),
            ]
        )
    if not proof.verified:
        raise typer.Exit(1)
