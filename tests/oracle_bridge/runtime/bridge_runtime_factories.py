"""Builders for the bridge runtime tests: signed payloads, table snapshots, a cold-chain setup."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import count
from typing import TYPE_CHECKING

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine, select
from web3 import Web3

from ledger_client.deployment import Deployment
from ledger_client.hashing import keccak256
from ledger_client.identifiers import DigitalLink
from ledger_client.roles import Role
from oracle_bridge.bridge import Bridge
from oracle_bridge.config import ANVIL_ORACLE_KEY, BridgeSettings
from oracle_bridge.contracts import DeviceRegistryClient
from oracle_bridge.device import DeviceKey
from oracle_bridge.native import hot_path_from_environment
from oracle_bridge.policy.chain import ChainDevicePolicy, ChainRuleSource
from oracle_bridge.policy.port import CalibrationCheck
from oracle_bridge.readings import Reading, ReadingDomain, SignedReading, to_json
from oracle_bridge.rules import Rule
from oracle_bridge.store import BRIDGE_TABLES, DeadLetter, reading_session

if TYPE_CHECKING:
    from tests.factories import Consortium

# Device timestamps: a fixed past instant, so "now" in tests is T0 plus a little.
T0 = 1_790_000_000
DOMAIN = ReadingDomain(chain_id=31337, verifying_contract="0x" + "c0" * 20)
BATCH = keccak256(b"https://id.gs1.org/01/09506000134352/10/LOT-1")
OTHER_BATCH = keccak256(b"https://id.gs1.org/01/09506000134352/10/LOT-2")
# 2-8 °C, hard limits -5/25 °C, 10 min excursions, 1 h data gaps
RULE = Rule(
    min_milli_c=2000,
    max_milli_c=8000,
    hard_min_milli_c=-5000,
    hard_max_milli_c=25000,
    allowed_excursion_seconds=600,
    max_data_gap_seconds=3600,
)
ORACLE = Account.from_key(ANVIL_ORACLE_KEY)


def reading_of(
    device: DeviceKey,
    seq: int,
    *,
    timestamp: int | None = None,
    temp_milli_c: int = 5000,
    batch_id: bytes = BATCH,
) -> Reading:
    return Reading(
        device=device.address,
        batch_id=batch_id,
        seq=seq,
        timestamp=T0 + 60 * seq if timestamp is None else timestamp,
        temp_milli_c=temp_milli_c,
        humidity_permille=500,
    )


def signed_of(
    device: DeviceKey, seq: int, *, domain: ReadingDomain = DOMAIN, **fields: object
) -> SignedReading:
    return device.sign(reading_of(device, seq, **fields), domain=domain)  # type: ignore[arg-type]


def payload(signed: SignedReading) -> bytes:
    return to_json(signed).encode()


def with_fields(signed: SignedReading, **changes: object) -> bytes:
    """The signed reading's JSON with some keys replaced (or removed when the value is ...)."""
    obj = json.loads(to_json(signed))
    for key, value in changes.items():
        if value is ...:
            del obj[key]
        else:
            obj[key] = value
    return json.dumps(obj).encode()


def snapshot(engine: Engine) -> dict[str, list[tuple]]:
    """Every row of the bridge's tables but the dead letters, for "nothing else changed"."""
    with engine.connect() as connection:
        return {
            table.name: [
                tuple(row)
                for row in connection.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in BRIDGE_TABLES
            if table.name != DeadLetter.__tablename__
        }


def dead_letters(engine: Engine) -> list[DeadLetter]:
    with reading_session(engine) as session:
        return list(session.scalars(select(DeadLetter).order_by(DeadLetter.id)))


def bridge_settings(**overrides: object) -> BridgeSettings:
    """Settings for tests: windows close at once; backoff short."""
    values: dict[str, object] = {
        "window_max_age_s": 0,
        "window_max_readings": 1000,
        "poll_interval_s": 0.02,
        "chain_backoff_min_s": 0.05,
        "chain_backoff_max_s": 0.2,
        "policy_cache_s": 60,
    }
    values.update(overrides)
    return BridgeSettings(**values)  # type: ignore[arg-type]


_lots = count(1)


@dataclass
class ColdChain:
    """A consortium with an ORACLE account and helpers for lots, rules and devices."""

    consortium: Consortium
    oracle: LocalAccount

    def __post_init__(self) -> None:
        c = self.consortium
        d, w3 = c.deployment, c.w3
        self.compliance = d.contract(w3, "ColdChainCompliance")
        self.registry = d.contract(w3, "DeviceRegistry")
        self.domain = ReadingDomain(
            chain_id=d.chain_id, verifying_contract=d.address("ColdChainCompliance")
        )
        c.membership().grant_role(Role.ORACLE, self.oracle.address)

    def _devices(self) -> DeviceRegistryClient:
        c = self.consortium
        return DeviceRegistryClient(c.sender(c.operator), c.deployment)

    def lot(self, rule: Rule = RULE) -> bytes:
        """A new lot of a new product class whose rule is `rule`; its batch id."""
        n = next(_lots)
        product_class = keccak256(f"bridge-runtime-product-{n}-{id(self)}".encode())
        c = self.consortium
        c.set_rule(product_class, rule)
        lot = DigitalLink.lot("09506000134352", f"BR-{n}-{id(self) % 10_000}")
        c.writer().create_batch(lot.uri, product_class=product_class)
        return lot.batch_id

    def device(self, batch_id: bytes) -> DeviceKey:
        """A new device, registered by the operator and assigned to `batch_id`."""
        device = DeviceKey.generate()
        devices = self._devices()
        devices.register_device(
            device.sign_registration(
                organization=self.consortium.operator.address, domain=devices.domain
            )
        )
        self.assign(device, batch_id)
        return device

    def assign(self, device: DeviceKey, batch_id: bytes) -> None:
        self._devices().assign_device(device.address, batch_id)

    def set_active(self, device: DeviceKey, active: bool) -> None:
        self._devices().set_device_active(device.address, active)

    def bridge(
        self,
        engine: Engine,
        *,
        settings: BridgeSettings | None = None,
        w3: Web3 | None = None,
        deployment: Deployment | None = None,
        cache_s: float = 60,
        calibration: CalibrationCheck | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Bridge:
        """A bridge anchoring as this consortium's oracle, its device policy and rules read from
        the chain (through `w3` and `deployment` when given, e.g. a proxy in front of anvil)."""
        w3 = w3 or self.consortium.w3
        deployment = deployment or self.consortium.deployment
        rules = ChainRuleSource(w3, deployment, cache_s=cache_s)
        policy = ChainDevicePolicy(
            w3, deployment, rules=rules, calibration=calibration, cache_s=cache_s
        )
        return Bridge(
            engine=engine,
            w3=w3,
            deployment=deployment,
            oracle=self.oracle,
            policy=policy,
            rules=rules,
            settings=settings or bridge_settings(),
            hot_path=hot_path_from_environment(),
            clock=clock,
        )


class CountingPool(ProcessPoolExecutor):
    """A process pool that counts the tasks submitted to it."""

    submitted = 0

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)
