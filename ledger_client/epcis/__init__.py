"""GS1 EPCIS 2.0 events for anchoring: validation, canonical payloads, event kinds.

- `canonical`: RFC 8785 bytes of an event and their keccak256 (what the chain emits).
- `validation`: schema checks with the JSON path of every problem.
- `kinds`: the ledger's `EventKind` of an event, from its CBV business step.
- `document`: an EPCISDocument split into anchorable events and rebuilt from them.
- `identifiers`: EPC URNs and Digital Links read into one canonical Digital Link
  (with `epc_urns` and `gs1_keys`).
- `named_objects`: every lot and item an event names, with the field that names it.
- `event_hash`: the CBV 2.0 event hash id, as GS1's reference computes it (with
  `hash_identifiers` and `hash_vocabulary`).
"""
