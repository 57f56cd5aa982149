"""GS1 EPCIS 2.0 events for anchoring: validation, canonical payloads, event kinds.

- `canonical`: RFC 8785 bytes of an event and their keccak256 (what the chain emits).
- `validation`: schema checks with the JSON path of every problem.
- `kinds`: the ledger's `EventKind` of an event, from its CBV business step.
- `document`: an EPCISDocument split into anchorable events and rebuilt from them.
"""
