"""The cold-chain part of `provenance demo`: an excursion quarantines a lot, no one in the loop.

Runs after the ledger story (`provenance.demo.story`) on the same throw-away chain.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger_client.db import make_engine
from ledger_client.deployment import Deployment
from ledger_client.identifiers import DigitalLink
from ledger_client.ledger import LedgerWriter
from ledger_client.lifecycle import BatchStatus
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender
from oracle_bridge.bridge import Bridge
from oracle_bridge.config import ANVIL_ORACLE_KEY, BridgeSettings
from oracle_bridge.contracts import ComplianceRulesClient, DeviceRegistryClient
from oracle_bridge.device import DeviceKey, ReadingProfile
from oracle_bridge.mkt import mean_kinetic_temperature
from oracle_bridge.native import hot_path_from_environment
from oracle_bridge.policy.chain import ChainDevicePolicy, ChainRuleSource
from oracle_bridge.proofs import reading_proof, verify_against_chain
from oracle_bridge.readings import to_json
from oracle_bridge.rules import Rule
from oracle_bridge.store import BRIDGE_SQLITE_CACHE_MIB

SHIPPED_LOT = DigitalLink.lot("09506000134352", "VAX-2026-11B")
# 2-8 °C, hard limits -5 / 25 °C, 15 minutes out of range allowed, at most 1 h of silence.
VACCINE_RULE = Rule(2_000, 8_000, -5_000, 25_000, 15 * 60, 3_600)
READING_INTERVAL_S = 300


def cold_chain_story(
    *,
    w3: Web3,
    deployment: Deployment,
    accounts: dict[str, LocalAccount],
    demo_dir: Path,
    step: Callable[[str], None],
) -> None:
    def sender(name: str) -> TransactionSender:
        return TransactionSender(w3, accounts[name])

    oracle = Account.from_key(ANVIL_ORACLE_KEY)
    MembershipClient(sender("governor"), deployment).grant_role(Role.ORACLE, oracle.address)
    ComplianceRulesClient(sender("governor"), deployment).assign_class_authority(
        SHIPPED_LOT.product_class, accounts["quality"].address
    )
    step("governor made the quality lab the authority of the vaccine product class")
    rules = ComplianceRulesClient(sender("quality"), deployment)
    rules.set_rule(SHIPPED_LOT.product_class, VACCINE_RULE)
    step("quality lab set the vaccine rule: 2-8 °C, 15 min excursions, hard limits -5/25 °C")

    manufacturer = LedgerWriter(sender("manufacturer"), deployment)
    manufacturer.create_batch(SHIPPED_LOT.uri, product_class=SHIPPED_LOT.product_class)
    # A logger reports only on a lot its organization writes: the manufacturer lets the carrier.
    manufacturer.authorize_writer(SHIPPED_LOT.batch_id, accounts["logistics"].address)
    logger = DeviceKey.generate()
    registry = DeviceRegistryClient(sender("logistics"), deployment)
    # The logger signs its own registration: no organization can enrol a key it does not hold.
    registry.register_device(
        logger.sign_registration(
            organization=registry.sender.account.address, domain=registry.domain
        )
    )
    registry.assign_device(logger.address, SHIPPED_LOT.batch_id)
    step(f"logger {logger.did(deployment.chain_id)} travels with lot {SHIPPED_LOT.value}")

    settings = BridgeSettings(window_max_age_s=0)
    chain_rules = ChainRuleSource(w3, deployment, cache_s=60)
    bridge = Bridge(
        engine=make_engine(
            f"sqlite:///{demo_dir / 'bridge.db'}", sqlite_cache_mib=BRIDGE_SQLITE_CACHE_MIB
        ),
        w3=w3,
        deployment=deployment,
        oracle=oracle,
        policy=ChainDevicePolicy(w3, deployment, rules=chain_rules, cache_s=60),
        rules=chain_rules,
        settings=settings,
        hot_path=hot_path_from_environment(),
    )
    readings = list(
        ReadingProfile(
            device=logger.address,
            batch_id=SHIPPED_LOT.batch_id,
            start_timestamp=int(time.time()) - 12 * READING_INTERVAL_S,
            interval_seconds=READING_INTERVAL_S,
        ).excursion(temp_milli_c=11_500, duration_seconds=25 * 60, before=4, after=2)
    )
    # Someone rewrites the hottest reading to 5 °C before the genuine one arrives.
    hottest = logger.sign(readings[6], domain=bridge.domain)
    tampered = json.loads(to_json(hottest)) | {"tempMilliC": 5_000}
    refused = bridge.ingestor.accept(json.dumps(tampered).encode(), source="demo")
    step(f"a reading rewritten to 5 °C was dead-lettered: {refused.reason}")
    for reading in readings:
        signed = logger.sign(reading, domain=bridge.domain)
        bridge.ingestor.accept(to_json(signed).encode(), source="demo")
    bridge.run_once()

    status = LedgerWriter(sender("manufacturer"), deployment).batch(SHIPPED_LOT.batch_id).status
    verdict = "[red]QUARANTINED[/red]" if status is BatchStatus.QUARANTINED else status.name
    mkt = mean_kinetic_temperature(readings)
    step(
        f"{len(readings)} signed readings, 25 min at 11.5 °C (MKT {mkt:.1f} °C): lot "
        f"{SHIPPED_LOT.value} is {verdict} on chain by ColdChainCompliance, no one in the loop"
    )
    proof = reading_proof(bridge.engine, device=logger.address, seq=readings[5].seq)
    confirmed = verify_against_chain(w3, deployment, proof)
    step(
        f"reading #{readings[5].seq} proven against the chain alone: Merkle root "
        f"0x{confirmed.merkle_root.hex()[:16]}… anchored in block {confirmed.anchor_block}"
    )
