"""The trace route's JSON, written straight with orjson, says what `TraceOut` says."""

from __future__ import annotations

import json

from api.lot_bodies import TraceOut, trace_json, trace_out
from ledger_client.indexer.queries import Direction
from ledger_client.indexer.trace import Trace, TraceEdge, TraceNode

ROOT = TraceNode("0x" + "01" * 32, "https://id.gs1.org/00/095060000000000018", 0)
LOT = TraceNode("0x" + "02" * 32, "https://id.gs1.org/01/09506000134352/10/L1", 1)
UNNAMED = TraceNode("0x" + "03" * 32, None, 2)
TRACE = Trace(
    root=ROOT,
    direction=Direction.BACKWARD,
    depth=4,
    nodes=[ROOT, LOT, UNNAMED],
    edges=[
        TraceEdge(LOT.id, ROOT.id, "aggregation", 1, ("0x" + "aa" * 32, 3)),
        TraceEdge(UNNAMED.id, LOT.id, "createBatch", 2),
        TraceEdge(UNNAMED.id, LOT.id, "transformation", 2, ("0x" + "bb" * 32, 0), "urn:uuid:t1"),
    ],
)


def test_trace_json_says_what_trace_out_says_in_the_walks_order():
    written = json.loads(trace_json(TRACE))
    modelled = trace_out(TRACE).model_dump(mode="json")
    assert TraceOut.model_validate(written)
    assert {k: written[k] for k in ("root", "direction", "depth")} == {
        "root": {"id": ROOT.id, "uri": ROOT.uri, "depth": 0},
        "direction": "backward",
        "depth": 4,
    }
    assert [n["id"] for n in written["nodes"]] == [ROOT.id, LOT.id, UNNAMED.id]
    assert [(e["relation"], e["event"], e["transformationId"]) for e in written["edges"]] == [
        ("aggregation", {"batchId": "0x" + "aa" * 32, "eventIndex": 3}, None),
        ("createBatch", None, None),
        ("transformation", {"batchId": "0x" + "bb" * 32, "eventIndex": 0}, "urn:uuid:t1"),
    ]
    for part in ("nodes", "edges"):
        assert sorted(map(repr, written[part])) == sorted(map(repr, modelled[part])), part
