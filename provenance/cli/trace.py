"""`provenance trace ID`: where a lot or item came from or went, from the read model (the
CLI twin of `GET /api/v1/trace/{id}`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ledger_client.terminal import clear_errors, console
from provenance.cli.consortium import JsonOption


@clear_errors
def trace(
    identifier: Annotated[
        str, typer.Argument(metavar="ID", help="Batch id (0x…), EPC URN or GS1 Digital Link URI")
    ],
    direction: Annotated[
        str, typer.Option(help="backward (where it came from) or forward (where it went)")
    ] = "backward",
    depth: Annotated[int, typer.Option(help="Edges to follow, 1..64")] = 16,
    json_output: JsonOption = False,
) -> None:
    """Trace a lot or item through createBatch parents and EPCIS aggregation, association
    and transformation events, as indexed in the read model (PROVENANCE_DATABASE_URL).

    Example:

    \b
      provenance trace https://id.gs1.org/01/09506000134352/10/LOT-A --direction forward --json
    """
    from api.lot_bodies import trace_out
    from ledger_client.config import LedgerSettings
    from ledger_client.db import make_engine
    from ledger_client.indexer.lots import READ_CACHE_MIB, ReadModelLots
    from ledger_client.indexer.read_model import create_read_model

    engine = make_engine(LedgerSettings().resolved_database_url, sqlite_cache_mib=READ_CACHE_MIB)
    try:
        create_read_model(engine)
        graph = trace_out(ReadModelLots(engine).trace(identifier, direction=direction, depth=depth))
    finally:
        engine.dispose()
    if json_output:
        print(json.dumps(graph.model_dump(mode="json"), sort_keys=True))
        return
    uris = {node.id: node.uri or node.id for node in graph.nodes}
    console.print(
        f"{graph.direction} trace of {uris[graph.root.id]}, depth {graph.depth}:", soft_wrap=True
    )
    for node in graph.nodes[1:]:
        console.print(f"  {node.depth:>3}  {uris[node.id]}", highlight=False, soft_wrap=True)
    console.print(f"{len(graph.nodes) - 1} objects, {len(graph.edges)} links:")
    for edge in graph.edges:
        made_by = (
            f"event {edge.event.eventIndex} of {edge.event.batchId}"
            if edge.event
            else "createBatch"
        )
        console.print(
            f"  {uris[edge.source]} -> {uris[edge.target]}  ({edge.relation}, {made_by})",
            highlight=False,
            soft_wrap=True,
        )
