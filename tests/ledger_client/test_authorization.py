"""Who may write what about whose goods (issue 13), through the client against a real anvil.

Four organizations and a governor: the governor assigned the brand owner its GS1 company
prefix and the brand delegated it to a contract manufacturer, so both (and nobody else) make
lots of the brand's GTIN. The brand made the lot, a carrier holds it (it accepted the brand's
transfer), a lab is authorized to record on it, and the contract manufacturer has no standing
on it. The brand registered a logger (with the logger's own signature), which only the brand
assigns and only the brand or the governor switches off; each other operator registered one of
its own, which it may put on the lot only if it writes the lot. Each write by each party is allowed
or refused exactly as the model says, and a refused write changes nothing. The governor
assigned the vaccine product class to the lab, so only the lab sets that class's cold-chain
rule (the carrier also holds QUALITY, and is refused).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from credentials.registry import CredentialRegistryClient
from ledger_client.deploy import deploy_contracts
from ledger_client.deployment import Deployment
from ledger_client.errors import ContractRevert
from ledger_client.identifiers import DigitalLink
from ledger_client.ledger import EventKind, LedgerWriter
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender
from oracle_bridge.contracts import ComplianceRulesClient, DeviceRegistryClient
from oracle_bridge.device import DeviceKey, DeviceRegistration, registration_digest
from oracle_bridge.rules import Rule
from tests.factories import ANVIL_KEYS

pytestmark = pytest.mark.integration

GTIN = "09506000134352"
BRAND_PREFIX = "9506000"
# GS1's other example prefix, nobody's until the governor assigns it.
SPARE_PREFIX = "0614141"
PARTIES = ("brand", "manufacturer", "carrier", "lab", "governor")
# The lab answers for the vaccine class's cold-chain rule; the carrier also holds QUALITY.
VACCINE_CLASS = b"\x0a" * 32
VACCINE_RULE = Rule(2000, 8000, -5000, 25000, 900, 3600)
LENIENT_RULE = Rule(-10000, 30000, -40000, 60000, 86400, 0)
_lots = itertools.count()


@dataclass
class Consortium4:
    w3: Web3
    deployment: Deployment
    accounts: dict[str, LocalAccount]

    def writer(self, party: str) -> LedgerWriter:
        return LedgerWriter(TransactionSender(self.w3, self.accounts[party]), self.deployment)

    def registry(self, party: str) -> CredentialRegistryClient:
        sender = TransactionSender(self.w3, self.accounts[party])
        return CredentialRegistryClient(sender, self.deployment)

    def devices(self, party: str) -> DeviceRegistryClient:
        sender = TransactionSender(self.w3, self.accounts[party])
        return DeviceRegistryClient(sender, self.deployment)

    def rules(self, party: str) -> ComplianceRulesClient:
        sender = TransactionSender(self.w3, self.accounts[party])
        return ComplianceRulesClient(sender, self.deployment)

    def address(self, party: str) -> str:
        return self.accounts[party].address

    def consent(self, device: DeviceKey, party: str) -> DeviceRegistration:
        """`device`'s signed consent to its registration by `party`."""
        return device.sign_registration(
            organization=self.address(party), domain=self.devices(party).domain
        )


@dataclass
class Lot:
    batch_id: bytes
    did: str
    unmade: DigitalLink
    """A lot of the brand's GTIN nobody has created yet."""
    logger: DeviceKey
    """The brand's logger: registered, active, not yet assigned."""
    unregistered: DeviceKey
    """A device nobody has registered yet."""
    own_loggers: dict[str, DeviceKey]
    """Each operator's own logger (the brand's is `logger`): registered, not yet assigned."""


@pytest.fixture
def four(w3: Web3) -> Consortium4:
    accounts = {
        name: Account.from_key(key) for name, key in zip(PARTIES[:4], ANVIL_KEYS[1:5], strict=True)
    }
    accounts["governor"] = Account.from_key(ANVIL_KEYS[0])
    deployment = deploy_contracts(w3, governor_key=ANVIL_KEYS[0])
    governor = MembershipClient(TransactionSender(w3, accounts["governor"]), deployment)
    for name in PARTIES[:4]:
        address = accounts[name].address
        governor.register_organization(address, did=f"did:pkh:eip155:31337:{address}", name=name)
        governor.grant_role(Role.OPERATOR, address)
    four = Consortium4(w3, deployment, accounts)
    four.writer("governor").assign_prefix(BRAND_PREFIX, four.address("brand"))
    four.writer("brand").delegate_prefix(BRAND_PREFIX, four.address("manufacturer"))
    for lab in ("lab", "carrier"):
        governor.grant_role(Role.QUALITY, four.address(lab))
    four.rules("governor").assign_class_authority(VACCINE_CLASS, four.address("lab"))
    four.rules("lab").set_rule(VACCINE_CLASS, VACCINE_RULE)
    return four


def lot_in_transit(four: Consortium4) -> Lot:
    """A brand's lot that the carrier holds, the lab may record on, and the carrier has
    offered on to the contract manufacturer."""
    n = next(_lots)
    link = DigitalLink.lot(GTIN, f"M-{n}")
    brand = four.writer("brand")
    batch_id = brand.create_batch(link.uri)
    brand.authorize_writer(batch_id, four.address("lab"))
    brand.offer_custody(batch_id, four.address("carrier"))
    four.writer("carrier").accept_custody(batch_id)
    four.writer("carrier").offer_custody(batch_id, four.address("manufacturer"))
    logger = DeviceKey.generate()
    four.devices("brand").register_device(four.consent(logger, "brand"))
    own_loggers = {"brand": logger}
    for party in ("manufacturer", "carrier", "lab"):
        own_loggers[party] = DeviceKey.generate()
        four.devices(party).register_device(four.consent(own_loggers[party], party))
    return Lot(
        batch_id,
        f"did:key:z6MkMatrixLot{n}",
        DigitalLink.lot(GTIN, f"U-{n}"),
        logger,
        DeviceKey.generate(),
        own_loggers,
    )


def forged_consent(four: Consortium4, device: DeviceKey, party: str) -> DeviceRegistration:
    """A registration of `device` by `party` signed by another key."""
    forged = four.consent(DeviceKey.generate(), party).signature
    return DeviceRegistration(device.address, four.address(party), device.did(31337), forged)


Write = Callable[[Consortium4, str, Lot], object]

WRITES: dict[str, Write] = {
    "record an event": lambda f, p, lot: f.writer(p).record_events(
        lot.batch_id, [(EventKind.OTHER, b'{"bizStep":"shipping"}')]
    ),
    "destroy": lambda f, p, lot: f.writer(p).record_events(
        lot.batch_id, [(EventKind.DESTRUCTION, b'{"bizStep":"destroying"}')]
    ),
    "authorize a writer": lambda f, p, lot: f.writer(p).authorize_writer(
        lot.batch_id, f.address("manufacturer")
    ),
    "offer custody": lambda f, p, lot: f.writer(p).offer_custody(lot.batch_id, f.address("lab")),
    "accept custody": lambda f, p, lot: f.writer(p).accept_custody(lot.batch_id),
    "bind the lot's DID": lambda f, p, lot: f.registry(p).bind_subject(lot.did, lot.batch_id),
    "correct the lot's DID binding": lambda f, p, lot: f.registry(p).correct_binding(
        lot.did, lot.batch_id
    ),
    "create a lot of the GTIN": lambda f, p, lot: f.writer(p).create_batch(lot.unmade.uri),
    "assign a prefix": lambda f, p, lot: f.writer(p).assign_prefix(SPARE_PREFIX, f.address(p)),
    "delegate the prefix": lambda f, p, lot: f.writer(p).delegate_prefix(
        BRAND_PREFIX, f.address("carrier")
    ),
    "register a device with its signature": lambda f, p, lot: f.devices(p).register_device(
        f.consent(lot.unregistered, p)
    ),
    "register a device it signed for the brand": lambda f, p, lot: f.devices(p).register_device(
        f.consent(lot.unregistered, "brand")
    ),
    "register a device signed by another key": lambda f, p, lot: f.devices(p).register_device(
        forged_consent(f, lot.unregistered, p)
    ),
    "assign the brand's logger": lambda f, p, lot: f.devices(p).assign_device(
        lot.logger.address, lot.batch_id
    ),
    # The governor, no operator, has no logger of its own: it tries the brand's.
    "assign its own logger to the lot": lambda f, p, lot: f.devices(p).assign_device(
        lot.own_loggers.get(p, lot.logger).address, lot.batch_id
    ),
    "retire the brand's logger": lambda f, p, lot: f.devices(p).set_device_active(
        lot.logger.address, False
    ),
    "set the vaccine class's rule": lambda f, p, lot: f.rules(p).set_rule(
        VACCINE_CLASS, LENIENT_RULE
    ),
    "assign the vaccine class's authority": lambda f, p, lot: f.rules(p).assign_class_authority(
        VACCINE_CLASS, f.address("carrier")
    ),
}

NOT_OPERATOR = NOT_GOVERNOR = NOT_QUALITY = "MembershipUnauthorizedAccount"
NOT_CLASS_AUTHORITY = "ColdChainComplianceNotClassAuthority"
NOT_SIGNED = "DeviceRegistryNotSignedByDevice"
NOT_DEVICE_OWNER = "DeviceRegistryNotOwner"
NOT_BATCH_WRITER = "DeviceRegistryNotBatchWriter"
# (write, party) -> None when allowed, else the custom error that refuses it.
MODEL: dict[tuple[str, str], str | None] = {
    ("record an event", "brand"): None,
    ("record an event", "carrier"): None,
    ("record an event", "lab"): None,
    ("record an event", "manufacturer"): "ProvenanceLedgerNotBatchWriter",
    ("record an event", "governor"): NOT_OPERATOR,
    ("destroy", "brand"): None,
    ("destroy", "carrier"): None,
    ("destroy", "lab"): "ProvenanceLedgerNotBatchHolder",
    ("destroy", "manufacturer"): "ProvenanceLedgerNotBatchWriter",
    ("destroy", "governor"): NOT_OPERATOR,
    ("authorize a writer", "brand"): None,
    ("authorize a writer", "carrier"): None,
    ("authorize a writer", "lab"): "ProvenanceLedgerNotBatchHolder",
    ("authorize a writer", "manufacturer"): "ProvenanceLedgerNotBatchHolder",
    ("authorize a writer", "governor"): NOT_OPERATOR,
    ("offer custody", "brand"): "ProvenanceLedgerNotCustodian",
    ("offer custody", "carrier"): None,
    ("offer custody", "lab"): "ProvenanceLedgerNotCustodian",
    ("offer custody", "manufacturer"): "ProvenanceLedgerNotCustodian",
    ("offer custody", "governor"): NOT_OPERATOR,
    ("accept custody", "brand"): "ProvenanceLedgerNoCustodyOffer",
    ("accept custody", "carrier"): "ProvenanceLedgerNoCustodyOffer",
    ("accept custody", "lab"): "ProvenanceLedgerNoCustodyOffer",
    ("accept custody", "manufacturer"): None,
    ("accept custody", "governor"): NOT_OPERATOR,
    ("bind the lot's DID", "brand"): None,
    ("bind the lot's DID", "carrier"): "CredentialRegistryNotEntityOwner",
    ("bind the lot's DID", "lab"): "CredentialRegistryNotEntityOwner",
    ("bind the lot's DID", "manufacturer"): "CredentialRegistryNotEntityOwner",
    ("bind the lot's DID", "governor"): NOT_OPERATOR,
    ("correct the lot's DID binding", "brand"): NOT_GOVERNOR,
    ("correct the lot's DID binding", "manufacturer"): NOT_GOVERNOR,
    ("correct the lot's DID binding", "carrier"): NOT_GOVERNOR,
    ("correct the lot's DID binding", "lab"): NOT_GOVERNOR,
    ("correct the lot's DID binding", "governor"): None,
    ("create a lot of the GTIN", "brand"): None,
    ("create a lot of the GTIN", "manufacturer"): None,
    ("create a lot of the GTIN", "carrier"): "ProvenanceLedgerNotPrefixHolder",
    ("create a lot of the GTIN", "lab"): "ProvenanceLedgerNotPrefixHolder",
    ("create a lot of the GTIN", "governor"): NOT_OPERATOR,
    ("assign a prefix", "brand"): NOT_GOVERNOR,
    ("assign a prefix", "manufacturer"): NOT_GOVERNOR,
    ("assign a prefix", "carrier"): NOT_GOVERNOR,
    ("assign a prefix", "lab"): NOT_GOVERNOR,
    ("assign a prefix", "governor"): None,
    ("delegate the prefix", "brand"): None,
    ("delegate the prefix", "manufacturer"): "ProvenanceLedgerNotPrefixOwner",
    ("delegate the prefix", "carrier"): "ProvenanceLedgerNotPrefixOwner",
    ("delegate the prefix", "lab"): "ProvenanceLedgerNotPrefixOwner",
    ("delegate the prefix", "governor"): NOT_OPERATOR,
    ("register a device with its signature", "brand"): None,
    ("register a device with its signature", "manufacturer"): None,
    ("register a device with its signature", "carrier"): None,
    ("register a device with its signature", "lab"): None,
    ("register a device with its signature", "governor"): NOT_OPERATOR,
    ("register a device it signed for the brand", "brand"): None,
    ("register a device it signed for the brand", "manufacturer"): NOT_SIGNED,
    ("register a device it signed for the brand", "carrier"): NOT_SIGNED,
    ("register a device it signed for the brand", "lab"): NOT_SIGNED,
    ("register a device it signed for the brand", "governor"): NOT_OPERATOR,
    ("register a device signed by another key", "brand"): NOT_SIGNED,
    ("register a device signed by another key", "manufacturer"): NOT_SIGNED,
    ("register a device signed by another key", "carrier"): NOT_SIGNED,
    ("register a device signed by another key", "lab"): NOT_SIGNED,
    ("register a device signed by another key", "governor"): NOT_OPERATOR,
    ("assign the brand's logger", "brand"): None,
    ("assign the brand's logger", "manufacturer"): NOT_DEVICE_OWNER,
    ("assign the brand's logger", "carrier"): NOT_DEVICE_OWNER,
    ("assign the brand's logger", "lab"): NOT_DEVICE_OWNER,
    ("assign the brand's logger", "governor"): NOT_OPERATOR,
    ("assign its own logger to the lot", "brand"): None,
    ("assign its own logger to the lot", "carrier"): None,
    ("assign its own logger to the lot", "lab"): None,
    ("assign its own logger to the lot", "manufacturer"): NOT_BATCH_WRITER,
    ("assign its own logger to the lot", "governor"): NOT_OPERATOR,
    ("retire the brand's logger", "brand"): None,
    ("retire the brand's logger", "manufacturer"): NOT_DEVICE_OWNER,
    ("retire the brand's logger", "carrier"): NOT_DEVICE_OWNER,
    ("retire the brand's logger", "lab"): NOT_DEVICE_OWNER,
    ("retire the brand's logger", "governor"): None,
    ("set the vaccine class's rule", "lab"): None,
    ("set the vaccine class's rule", "carrier"): NOT_CLASS_AUTHORITY,
    ("set the vaccine class's rule", "brand"): NOT_QUALITY,
    ("set the vaccine class's rule", "manufacturer"): NOT_QUALITY,
    ("set the vaccine class's rule", "governor"): NOT_QUALITY,
    ("assign the vaccine class's authority", "brand"): NOT_GOVERNOR,
    ("assign the vaccine class's authority", "manufacturer"): NOT_GOVERNOR,
    ("assign the vaccine class's authority", "carrier"): NOT_GOVERNOR,
    ("assign the vaccine class's authority", "lab"): NOT_GOVERNOR,
    ("assign the vaccine class's authority", "governor"): None,
}


def snapshot(four: Consortium4, lot: Lot) -> tuple[object, ...]:
    """Everything the contracts hold about the lot, the unmade lot, the prefixes, the
    devices and the vaccine class's rule."""
    reader = four.writer("governor")
    devices = four.devices("governor")
    return (
        reader.batch(lot.batch_id),
        reader.custody(lot.batch_id),
        tuple(reader.is_writer(lot.batch_id, four.address(p)) for p in PARTIES),
        four.registry("governor").bound_entity(lot.did),
        reader.batch(lot.unmade.batch_id),
        reader.custody(lot.unmade.batch_id),
        reader.prefix_owner(BRAND_PREFIX),
        reader.prefix_owner(SPARE_PREFIX),
        tuple(reader.is_prefix_holder(GTIN, four.address(p)) for p in PARTIES),
        tuple(devices.device(logger.address) for logger in lot.own_loggers.values()),
        devices.device(lot.unregistered.address),
        four.rules("governor").rule(VACCINE_CLASS),
        four.rules("governor").class_authority(VACCINE_CLASS),
    )


def test_the_model_covers_every_write_by_every_party():
    assert set(MODEL) == {(write, party) for write in WRITES for party in PARTIES}


@pytest.mark.parametrize(("write", "party"), list(MODEL))
def test_each_write_is_allowed_or_refused_as_the_model_says(four, write, party):
    lot = lot_in_transit(four)
    before = snapshot(four, lot)
    expected = MODEL[(write, party)]
    if expected is None:
        WRITES[write](four, party, lot)
        assert snapshot(four, lot) != before, f"{party} may {write}, and it took effect"
        return
    with pytest.raises(ContractRevert) as refusal:
        WRITES[write](four, party, lot)
    assert refusal.value.error == expected
    account = refusal.value.error_args.get("account")
    assert account is not None and account.lower() == four.address(party).lower()
    assert snapshot(four, lot) == before, f"{party}'s refused '{write}' changed nothing"


def test_custody_moves_by_an_accepted_transfer_and_is_on_record(four):
    lot = lot_in_transit(four)
    brand = four.writer("brand")
    custody = brand.custody(lot.batch_id)
    assert custody.owner == four.address("brand")
    assert custody.custodian == four.address("carrier")
    assert custody.offered_to == four.address("manufacturer")
    four.writer("manufacturer").accept_custody(lot.batch_id)
    after = brand.custody(lot.batch_id)
    assert (after.owner, after.custodian, after.offered_to) == (
        four.address("brand"),
        four.address("manufacturer"),
        None,
    )
    transfers = brand.contract.events.CustodyTransferred.get_logs(
        from_block=0, argument_filters={"batchId": lot.batch_id}
    )
    assert [(e.args["from"], e.args["to"]) for e in transfers] == [
        ("0x" + "00" * 20, four.address("brand")),
        (four.address("brand"), four.address("carrier")),
        (four.address("carrier"), four.address("manufacturer")),
    ]


def test_a_rival_operator_cannot_create_another_companys_lot_first(four):
    """Found 2, "first come, first owns": the carrier, an operator, tries to create the brand's
    next lot with a product class (and so a cold-chain rule) of its choosing."""
    lot = lot_in_transit(four)
    before = snapshot(four, lot)
    with pytest.raises(ContractRevert) as refusal:
        four.writer("carrier").create_batch(lot.unmade.uri, product_class=b"\x66" * 32)
    assert refusal.value.error == "ProvenanceLedgerNotPrefixHolder"
    assert refusal.value.error_args["gtin"] == int(GTIN)
    assert snapshot(four, lot) == before, "the refused creation changed nothing"

    four.writer("brand").create_batch(lot.unmade.uri, product_class=lot.unmade.product_class)
    made = four.writer("brand").batch(lot.unmade.batch_id)
    assert made.product_class == lot.unmade.product_class, "the brand's own rule applies"
    assert four.writer("brand").custody(lot.unmade.batch_id).owner == four.address("brand")


def test_a_revoked_delegate_no_longer_creates_lots(four):
    brand, manufacturer = four.writer("brand"), four.writer("manufacturer")
    made = manufacturer.create_batch(DigitalLink.lot(GTIN, "CMO-1").uri)
    assert manufacturer.custody(made).owner == four.address("manufacturer")
    brand.revoke_prefix_delegation(BRAND_PREFIX, four.address("manufacturer"))
    assert not brand.is_prefix_holder(GTIN, four.address("manufacturer"))
    with pytest.raises(ContractRevert) as refusal:
        manufacturer.create_batch(DigitalLink.lot(GTIN, "CMO-2").uri)
    assert refusal.value.error == "ProvenanceLedgerNotPrefixHolder"


def test_an_operator_cannot_put_its_logger_on_a_lot_it_does_not_write(four):
    """An operator assigned its own logger to another organization's lot and could then
    quarantine the lot through that logger's readings: the contract manufacturer, with no
    standing on the brand's lot, is refused until the brand authorizes it for that lot."""
    lot = lot_in_transit(four)
    logger = lot.own_loggers["manufacturer"]
    devices = four.devices("manufacturer")
    before = snapshot(four, lot)
    with pytest.raises(ContractRevert) as refusal:
        devices.assign_device(logger.address, lot.batch_id)
    assert refusal.value.error == NOT_BATCH_WRITER
    assert refusal.value.error_args == {
        "device": logger.address,
        "account": four.address("manufacturer"),
        "batchId": "0x" + lot.batch_id.hex(),
    }
    assert snapshot(four, lot) == before, "the refused assignment changed nothing"

    four.writer("brand").authorize_writer(lot.batch_id, four.address("manufacturer"))
    devices.assign_device(logger.address, lot.batch_id)
    assigned = devices.device(logger.address)
    assert assigned is not None and assigned.assigned_batch == lot.batch_id


def test_a_device_is_registered_only_with_its_own_signature(four):
    """Found 2, "registerDevice ... with no proof that the registrant holds the device's key":
    the carrier enrols a key it does not hold, once with no valid signature, once replaying the
    consent the device gave the brand; both are refused and the device stays unregistered."""
    lot = lot_in_transit(four)
    carrier = four.devices("carrier")
    attempts = (
        DeviceRegistration(
            lot.unregistered.address, four.address("carrier"), lot.unregistered.did(31337), b""
        ),
        four.consent(lot.unregistered, "brand"),
    )
    for attempt in attempts:
        with pytest.raises(ContractRevert) as refusal:
            carrier.register_device(attempt)
        assert refusal.value.error == NOT_SIGNED
        assert refusal.value.error_args["device"] == lot.unregistered.address
        assert carrier.device(lot.unregistered.address) is None

    four.devices("brand").register_device(four.consent(lot.unregistered, "brand"))
    registered = carrier.device(lot.unregistered.address)
    assert registered is not None and registered.owner == four.address("brand")


def test_the_registration_digest_signed_in_python_is_the_contracts(four):
    lot = lot_in_transit(four)
    devices = four.devices("brand")
    device, did = lot.unregistered.address, lot.unregistered.did(31337)
    for organization in (four.address("brand"), four.address("carrier")):
        on_chain = devices.contract.functions.hashRegistration(device, organization, did).call()
        assert on_chain == registration_digest(
            device=device, organization=organization, did=did, domain=devices.domain
        )


def test_a_quality_holder_cannot_change_another_labs_class_rule(four):
    """Found 2, "any QUALITY holder can change any product class's rule": the carrier holds
    QUALITY but the governor assigned the vaccine class to the lab; its lenient rule, which
    would let a warm lot pass, is refused and the lab's rule stays in force."""
    lot = lot_in_transit(four)
    before = snapshot(four, lot)
    with pytest.raises(ContractRevert) as refusal:
        four.rules("carrier").set_rule(VACCINE_CLASS, LENIENT_RULE)
    assert refusal.value.error == NOT_CLASS_AUTHORITY
    assert refusal.value.error_args["account"] == four.address("carrier")
    assert refusal.value.error_args["productClass"] == "0x" + VACCINE_CLASS.hex()
    assert snapshot(four, lot) == before, "the refused rule changed nothing"
    assert four.rules("carrier").rule(VACCINE_CLASS) == (VACCINE_RULE, 1)

    four.rules("governor").assign_class_authority(VACCINE_CLASS, four.address("carrier"))
    four.rules("carrier").set_rule(VACCINE_CLASS, LENIENT_RULE)
    assert four.rules("lab").rule(VACCINE_CLASS) == (LENIENT_RULE, 2)
    with pytest.raises(ContractRevert) as refusal:
        four.rules("lab").set_rule(VACCINE_CLASS, VACCINE_RULE)
    assert refusal.value.error == NOT_CLASS_AUTHORITY
