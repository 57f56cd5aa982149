"""`provenance credential …`: the credential layer's commands, handed the shipment records
of the bridge (for `credential issue --shipment`), which that layer never imports."""

from __future__ import annotations

from typing import Any

from credentials.cli import CredentialPorts, credential_app


def bridge_shipment_claims(lot: str) -> dict[str, Any]:
    """The claims of a ColdChainComplianceCredential about `lot` (a Digital Link URI), from
    the readings and anchorings in the bridge database (`PROVENANCE_BRIDGE_DATABASE_URL`).

    Raises:
        InvalidIdentifier: `lot` is not a lot's Digital Link URI.
        BridgeError: the bridge recorded no shipment of that lot.
    """
    from ledger_client.db import make_engine
    from ledger_client.identifiers import DigitalLink
    from oracle_bridge.config import BridgeSettings
    from oracle_bridge.shipment import compliance_claims, shipment_summary
    from oracle_bridge.store import create_bridge_tables

    engine = make_engine(
        BridgeSettings().resolved_database_url, variable="PROVENANCE_BRIDGE_DATABASE_URL"
    )
    try:
        create_bridge_tables(engine)  # a bridge that never ran: no readings, said clearly
        return compliance_claims(shipment_summary(engine, DigitalLink.parse(lot)))
    finally:
        engine.dispose()


PORTS = CredentialPorts(shipment_claims=bridge_shipment_claims)

__all__ = ["PORTS", "credential_app"]
