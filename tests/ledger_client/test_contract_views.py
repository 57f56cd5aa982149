"""The contracts' read-only views against a real anvil: they need no account, read what the
writing clients read, and their reads sent together in one request read the same."""

from __future__ import annotations

import pytest

from ledger_client.device_registry import DeviceRecord, DeviceRegistryView
from ledger_client.ledger import LedgerView
from ledger_client.lifecycle import BatchKind, BatchStatus
from ledger_client.membership import MembershipView, Organization
from ledger_client.reads import ReadBatch
from ledger_client.roles import Role
from oracle_bridge.contracts import DeviceRegistryClient
from oracle_bridge.device import DeviceKey
from tests.factories import Consortium

pytestmark = pytest.mark.integration

LOT = "https://id.gs1.org/01/09506000134352/10/LOT-VIEWS"
UNKNOWN_BATCH = b"\x07" * 32


@pytest.fixture
def enrolled(consortium: Consortium) -> tuple[Consortium, DeviceKey, bytes]:
    """The consortium with `operator` registered as an organization, one device it
    registered and assigned to a lot it created."""
    c = consortium
    c.membership().register_organization(
        c.operator.address, did=f"did:pkh:eip155:31337:{c.operator.address}", name="Brand"
    )
    lot = c.writer().create_batch(LOT)
    device = DeviceKey.generate()
    devices = DeviceRegistryClient(c.sender(c.operator), c.deployment)
    devices.register_device(
        device.sign_registration(organization=c.operator.address, domain=devices.domain)
    )
    devices.assign_device(device.address, lot)
    return c, device, lot


def test_views_read_without_an_account_what_the_clients_read(enrolled):
    c, device, lot = enrolled
    membership = MembershipView(c.w3, c.deployment)
    devices = DeviceRegistryView(c.w3, c.deployment)
    ledger = LedgerView(c.w3, c.deployment)

    assert membership.has_role(Role.OPERATOR, c.operator.address)
    assert membership.is_authorized(Role.OPERATOR, c.operator.address)
    assert not membership.is_authorized(Role.OPERATOR, c.outsider.address)
    assert not membership.is_paused()
    assert membership.organization(c.operator.address) == Organization(
        c.operator.address, f"did:pkh:eip155:31337:{c.operator.address}", "Brand", True
    )
    assert membership.organization(c.outsider.address) is None
    assert devices.device(device.address) == DeviceRecord(
        device.address, device.did(31337), c.operator.address, lot, True, 0
    )
    assert devices.device(DeviceKey.generate().address) is None
    assert ledger.batch(lot) == c.writer().batch(lot)
    assert ledger.batch(lot).kind is BatchKind.LOT
    assert ledger.batch(UNKNOWN_BATCH).status is BatchStatus.NONE


def test_reads_sent_together_go_in_one_request_and_read_as_one_at_a_time(enrolled, monkeypatch):
    c, device, lot = enrolled
    membership = MembershipView(c.w3, c.deployment)
    devices = DeviceRegistryView(c.w3, c.deployment)
    ledger = LedgerView(c.w3, c.deployment)
    stranger = DeviceKey.generate().address
    batch = ReadBatch()
    indexes = [
        batch.add(devices.device_read(device.address)),
        batch.add(devices.device_read(stranger)),
        batch.add(membership.organization_read(c.operator.address)),
        batch.add(membership.organization_read(c.outsider.address)),
        batch.add(ledger.batch_read(lot)),
        batch.add(ledger.batch_read(UNKNOWN_BATCH)),
    ]
    requests = []
    provider = c.w3.provider
    send = provider.make_batch_request  # type: ignore[attr-defined]
    monkeypatch.setattr(
        provider, "make_batch_request", lambda calls: requests.append(len(calls)) or send(calls)
    )

    results = batch.run(c.w3)

    assert requests == [6]
    assert indexes == list(range(6))
    assert results == [
        devices.device(device.address),
        None,
        membership.organization(c.operator.address),
        None,
        ledger.batch(lot),
        ledger.batch(UNKNOWN_BATCH),
    ]
