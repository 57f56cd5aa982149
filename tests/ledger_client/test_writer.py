"""LedgerWriter and MembershipClient against a real anvil: happy paths and every refusal."""

from __future__ import annotations

import pytest
from eth_utils import keccak

from ledger_client.chain import connect
from ledger_client.deployment import Deployment
from ledger_client.errors import ChainUnavailable, ContractRevert, DeploymentError
from ledger_client.ledger import BatchKind, BatchStatus, EventKind
from ledger_client.local_chain import free_port
from ledger_client.roles import Role

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/LOT-42"
ITEM = "https://id.gs1.org/01/09506000134352/21/SN-1"


def payload(n: int) -> bytes:
    return b'{"eventTime":"2026-11-21T10:00:00Z","n":%d,"type":"ObjectEvent"}' % n


def test_create_batch_and_record_events_in_many_transactions(consortium):
    writer = consortium.writer()
    writer.max_tx_bytes = 8_192  # force several transactions
    lot = writer.create_batch(LOT, product_class=keccak(text="vaccine"))
    anchored = writer.record_events(lot, [(EventKind.OTHER, payload(i) * 20) for i in range(60)])
    assert len(anchored.receipts) > 1
    state = writer.batch(lot)
    assert state.status is BatchStatus.ACTIVE
    assert state.event_count == 60
    assert state.kind is BatchKind.LOT


def test_item_with_parent_records_genealogy(consortium):
    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    item = writer.create_batch(ITEM, kind=BatchKind.ITEM, parents=[lot])
    assert writer.batch(item).kind is BatchKind.ITEM


def test_unknown_parent_is_refused(consortium):
    with pytest.raises(ContractRevert, match="ProvenanceLedgerUnknownParent"):
        consortium.writer().create_batch(ITEM, kind=BatchKind.ITEM, parents=[keccak(text="nope")])


def test_unknown_lot_is_refused_with_its_id(consortium):
    unknown = keccak(text="https://id.gs1.org/01/09506000134352/10/NOPE")
    with pytest.raises(ContractRevert) as info:
        consortium.writer().record_events(unknown, [(EventKind.OTHER, payload(1))])
    assert info.value.error == "ProvenanceLedgerUnknownBatch"
    assert info.value.error_args["batchId"] == "0x" + unknown.hex()


def test_quarantined_lot_accepts_only_inspection_and_destruction(consortium):
    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    consortium.writer(consortium.quality).quarantine(lot, "excursion")
    with pytest.raises(ContractRevert) as info:
        writer.record_events(lot, [(EventKind.OTHER, payload(1))])
    assert info.value.error == "ProvenanceLedgerBatchQuarantined"
    assert writer.batch(lot).event_count == 0
    writer.record_events(lot, [(EventKind.INSPECTION, payload(2))])
    consortium.writer(consortium.quality).release(lot, "inspected, fine")
    writer.record_events(lot, [(EventKind.OTHER, payload(3))])
    assert writer.batch(lot).status is BatchStatus.RELEASED
    assert writer.batch(lot).event_count == 2


@pytest.mark.parametrize(
    ("function", "role"),
    [
        ("create", "OPERATOR_ROLE"),
        ("record", "OPERATOR_ROLE"),
        ("quarantine", "QUARANTINE_ROLE"),
        ("release", "QUALITY_ROLE"),
        ("recall", "QUALITY_ROLE"),
    ],
)
def test_every_ledger_write_names_the_missing_role(consortium, function, role):
    lot = consortium.writer().create_batch(LOT)
    outsider = consortium.writer(consortium.outsider)
    calls = {
        "create": lambda: outsider.create_batch(ITEM),
        "record": lambda: outsider.record_events(lot, [(EventKind.OTHER, payload(1))]),
        "quarantine": lambda: outsider.quarantine(lot, "x"),
        "release": lambda: outsider.release(lot, "x"),
        "recall": lambda: outsider.recall(lot, "x"),
    }
    with pytest.raises(ContractRevert) as info:
        calls[function]()
    assert info.value.error == "MembershipUnauthorizedAccount"
    assert info.value.error_args["role"] == role
    assert role in str(info.value) and consortium.outsider.address in str(info.value)
    assert consortium.writer().batch(lot).status is BatchStatus.ACTIVE


@pytest.mark.parametrize("function", ["grant", "revoke", "register", "deactivate", "pause"])
def test_every_membership_write_names_the_missing_role(consortium, function):
    outsider = consortium.membership(consortium.outsider)
    target = consortium.operator.address
    calls = {
        "grant": lambda: outsider.grant_role(Role.OPERATOR, target),
        "revoke": lambda: outsider.revoke_role(Role.OPERATOR, target),
        "register": lambda: outsider.register_organization(target, did="did:x:y", name="X"),
        "deactivate": lambda: outsider.set_organization_active(target, False),
        "pause": lambda: outsider.pause(),
    }
    with pytest.raises(ContractRevert, match="GOVERNOR_ROLE"):
        calls[function]()
    assert consortium.membership().has_role(Role.OPERATOR, target)
    assert not consortium.membership().is_paused()


def test_pause_stops_writers_and_deactivation_strips_roles(consortium):
    governor = consortium.membership()
    governor.pause()
    with pytest.raises(ContractRevert, match="MembershipPaused"):
        consortium.writer().create_batch(LOT)
    governor.unpause()
    operator = consortium.operator.address
    governor.register_organization(operator, did=f"did:pkh:eip155:31337:{operator}", name="Acme")
    governor.set_organization_active(operator, False)
    with pytest.raises(ContractRevert, match="OPERATOR_ROLE"):
        consortium.writer().create_batch(LOT)
    assert governor.organization(operator).active is False


def test_unreachable_rpc_is_one_clear_error():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainUnavailable, match=url):
        connect(url, timeout_s=2)


def test_deployment_record_of_another_chain_is_refused(consortium, tmp_path):
    record = tmp_path / "deployment.json"
    wrong = Deployment(**{**consortium.deployment.__dict__, "chain_id": 1})
    wrong.save(record)
    with pytest.raises(DeploymentError, match="chain 1 but the node .* is chain 31337"):
        Deployment.load(record).check_chain(consortium.w3)


def test_a_deployment_hands_out_its_contracts_and_refuses_one_it_lacks(consortium):
    deployment = consortium.deployment
    membership = deployment.contract(consortium.w3, "Membership")

    assert membership.address == deployment.address("Membership")
    assert membership.functions.hasRole(Role.GOVERNOR.id, deployment.deployer).call()
    without = Deployment(**{**deployment.__dict__, "addresses": {}})
    with pytest.raises(DeploymentError, match="no Membership; run `provenance deploy` again"):
        without.contract(consortium.w3, "Membership")


def test_malformed_epcis_document_lists_paths_and_sends_nothing(consortium):
    from ledger_client.anchoring import anchor_document
    from ledger_client.epcis.validation import InvalidEpcisEvent

    writer = consortium.writer()
    lot = writer.create_batch(LOT)
    nonce_before = consortium.w3.eth.get_transaction_count(consortium.operator.address)
    document = {
        "@context": ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2026-11-21T10:00:00Z",
        "epcisBody": {
            "eventList": [
                {
                    "type": "ObjectEvent",
                    "eventTime": "yesterday",
                    "eventTimeZoneOffset": "+00:00",
                    "action": "ADD",
                    "epcList": [],
                },
                {
                    "type": "ObjectEvent",
                    "eventTime": "2026-11-21T10:00:00Z",
                    "action": "ADD",
                    "epcList": [],
                },
            ]
        },
    }
    with pytest.raises(InvalidEpcisEvent) as info:
        anchor_document(writer, document, batch_id=lot)
    paths = [path for path, _ in info.value.problems]
    assert "$.epcisBody.eventList[0].eventTime" in paths
    assert "$.epcisBody.eventList[1].eventTimeZoneOffset" in paths
    assert "$.epcisBody.eventList[0].eventTime" in str(info.value)
    assert consortium.w3.eth.get_transaction_count(consortium.operator.address) == nonce_before
    assert writer.batch(lot).event_count == 0
