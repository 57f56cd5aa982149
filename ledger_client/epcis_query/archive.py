"""The indexed EPCIS events of one ledger, as the API and the command line read them:
queried (`GET /events`), one by `eventID`, and proven against the chain."""

from __future__ import annotations

from sqlalchemy import Engine
from web3 import Web3

from ledger_client.deployment import Deployment
from ledger_client.epcis_query.events import EventPage, query_events
from ledger_client.epcis_query.parameters import EventQuery
from ledger_client.epcis_query.proofs import EventProof, IndexedEvent, find_event, prove_event


class EventArchive:
    """The read model at `engine` of the ledger `deployment` on the node `w3`."""

    def __init__(self, engine: Engine, w3: Web3, deployment: Deployment) -> None:
        self.engine = engine
        self.w3 = w3
        self.deployment = deployment

    def query(self, query: EventQuery) -> EventPage:
        """One page of the events `query` selects (see `query_events` for its errors)."""
        return query_events(self.engine, query)

    def event(self, event_id: str) -> IndexedEvent | None:
        """The indexed event `event_id`, None when there is none."""
        return find_event(self.engine, event_id)

    def proof(self, event: IndexedEvent) -> EventProof:
        """`event` against the chain now (see `prove_event`)."""
        return prove_event(self.w3, self.deployment, event)
