"""The Python rule engine and EIP-712 hashing agree with the deployed ColdChainCompliance.

Every case of the shared table (contracts/test/fixtures/rule_cases.json) is played through
the real contract on anvil, reading by reading, and through `rules.evaluate`; the decisions
(and refusals) must be the same. The forge suite checks the same table on its side.
"""

from __future__ import annotations

import json

import pytest
from eth_abi import decode
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_client.deploy import deploy_contracts
from ledger_client.errors import ContractRevert
from ledger_client.hashing import keccak256
from ledger_client.identifiers import DigitalLink
from ledger_client.roles import Role
from oracle_bridge.contracts import ComplianceRulesClient, DeviceRegistryClient
from oracle_bridge.device import DeviceKey
from oracle_bridge.errors import RuleViolation
from oracle_bridge.readings import Reading, ReadingDomain, digest
from oracle_bridge.rules import QUARANTINE_REASONS, ComplianceState, Decision, Rule, evaluate
from tests.factories import REPO_ROOT, make_consortium

pytestmark = pytest.mark.integration

CASES = json.loads((REPO_ROOT / "contracts/test/fixtures/rule_cases.json").read_text())["cases"]
GOVERNOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ORACLE_KEY = "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba"
DECISION_TOPIC = "0x" + keccak256(b"ComplianceDecision(bytes32,address,uint64,uint32,uint8)").hex()
STATUS_TOPIC = "0x" + keccak256(b"BatchStatusChanged(bytes32,uint8,uint8,address,string)").hex()


class Compliance:
    """Just enough of the contracts to play the table: rule, device, signed submissions."""

    def __init__(self, consortium) -> None:
        self.c = consortium
        d = consortium.deployment
        w3 = consortium.w3
        self.address = d.address("ColdChainCompliance")
        self.contract = d.contract(w3, "ColdChainCompliance")
        self.domain = ReadingDomain(chain_id=w3.eth.chain_id, verifying_contract=self.address)
        self.oracle = Account.from_key(ORACLE_KEY)
        consortium.membership().grant_role(Role.ORACLE, self.oracle.address)
        consortium.membership().grant_role(Role.QUALITY, consortium.quality.address)

    def send(self, account, contract, function: str, *args):
        data = contract.encode_abi(function, args=list(args))
        return self.c.sender(account).transact(contract.address, data, context=function)

    def prepare(self, index: int, rule: dict) -> tuple[bytes, DeviceKey]:
        lot = DigitalLink.lot("09506000134352", f"RULE-{index}")
        product = keccak256(f"https://id.gs1.org/01/0950600013{index:04d}".encode())
        self.c.writer().create_batch(lot.uri, product_class=product)
        self.c.set_rule(product, Rule.from_json_object(rule))
        rules = ComplianceRulesClient(self.c.sender(self.c.quality), self.c.deployment)
        assert rules.rule(product) == (Rule.from_json_object(rule), 1)
        device = DeviceKey.generate()
        registry = DeviceRegistryClient(self.c.sender(self.c.operator), self.c.deployment)
        registry.register_device(
            device.sign_registration(organization=self.c.operator.address, domain=registry.domain)
        )
        registry.assign_device(device.address, lot.batch_id)
        enrolled = registry.device(device.address)
        assert enrolled is not None and enrolled.assigned_batch == lot.batch_id and enrolled.active
        return lot.batch_id, device

    def submit(self, signed) -> tuple[Decision, str | None]:
        """The reading's decision, and the reason of the quarantine it caused (None: none)."""
        r = signed.reading
        item = (
            (r.device, r.batch_id, r.seq, r.timestamp, r.temp_milli_c, r.humidity_permille),
            signed.signature,
        )
        receipt = self.send(self.oracle, self.contract, "submitReadings", [item])
        decisions = [
            int(log["data"][-64:], 16) for log in receipt.logs if log["topics"][0] == DECISION_TOPIC
        ]
        reasons = [
            decode(["uint8", "uint8", "string"], bytes.fromhex(log["data"].removeprefix("0x")))[2]
            for log in receipt.logs
            if log["topics"][0] == STATUS_TOPIC
        ]
        return (
            Decision(decisions[0]) if decisions else Decision.NONE,
            reasons[0] if reasons else None,
        )


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c["name"] for c in CASES])
def test_engine_and_contract_decide_alike(index, chain):
    case = CASES[index]
    batch_id, device = chain.prepare(index, case["rule"])
    rule = Rule.from_json_object(case["rule"])
    state = ComplianceState()
    error = case["error"] or {}
    quarantined = False
    for position, raw in enumerate(case["readings"]):
        reading = Reading(
            device=device.address,
            batch_id=batch_id,
            seq=raw["seq"],
            timestamp=raw["timestamp"],
            temp_milli_c=raw["tempMilliC"],
            humidity_permille=raw["humidityPermille"],
        )
        signed = device.sign(reading, domain=chain.domain)
        if error.get("at") == position:
            with pytest.raises(RuleViolation) as python_error:
                evaluate(rule=rule, state=state, reading=reading)
            with pytest.raises(ContractRevert) as chain_error:
                chain.submit(signed)
            assert type(python_error.value).__name__ == error["name"]
            assert chain_error.value.error == "ColdChainCompliance" + error["name"]
            break
        state, decision = evaluate(rule=rule, state=state, reading=reading)
        assert decision == Decision(case["decisions"][position])
        chain_decision, reason = chain.submit(signed)
        assert chain_decision == decision, f"reading {position}"
        # only the first quarantine of a case meets a live batch; its reason is the engine's
        expected = (
            QUARANTINE_REASONS[decision] if decision.quarantines and not quarantined else None
        )
        assert reason == expected, f"reading {position}"
        quarantined = quarantined or decision.quarantines


@pytest.fixture(scope="module")
def chain(w3) -> Compliance:
    """One deployment for the whole table: each case has its own lot, rule and device."""
    return Compliance(make_consortium(w3))


@settings(max_examples=25, deadline=None)
@given(
    seq=st.integers(0, 2**64 - 1),
    timestamp=st.integers(0, 2**64 - 1),
    temp=st.integers(-(2**31), 2**31 - 1),
    humidity=st.integers(0, 2**16 - 1),
    batch=st.binary(min_size=32, max_size=32),
)
def test_python_digest_equals_hash_typed_data_v4(
    consortium_once, seq, timestamp, temp, humidity, batch
):
    contract, domain, device = consortium_once
    reading = Reading(
        device=device,
        batch_id=batch,
        seq=seq,
        timestamp=timestamp,
        temp_milli_c=temp,
        humidity_permille=humidity,
    )
    on_chain = contract.functions.hashReading(
        (device, batch, seq, timestamp, temp, humidity)
    ).call()
    assert digest(reading, domain=domain) == on_chain


@pytest.fixture(scope="module")
def consortium_once(w3):
    deployment = deploy_contracts(w3, governor_key=GOVERNOR_KEY)
    contract = deployment.contract(w3, "ColdChainCompliance")
    address = contract.address
    return (
        contract,
        ReadingDomain(chain_id=w3.eth.chain_id, verifying_contract=address),
        (DeviceKey.generate().address),
    )
