"""What the tests share apart from fixtures: the repository's root, the services' addresses,
a fresh consortium on a chain, scratch databases. Fixtures that hand them out live in
tests/conftest.py; a test imports builders from here, never from a conftest."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Self

import psycopg
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine
from web3 import Web3

from ledger_client.db import make_engine
from ledger_client.deploy import deploy_contracts
from ledger_client.deployment import Deployment
from ledger_client.keys import ANVIL_DEV_KEYS
from ledger_client.ledger import LedgerWriter, batch_id_of
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender
from oracle_bridge.contracts import ComplianceRulesClient, DeviceRegistryClient
from oracle_bridge.device import DeviceKey
from oracle_bridge.readings import Reading, ReadingDomain
from oracle_bridge.rules import Rule
from oracle_bridge.store import create_bridge_tables

REPO_ROOT = Path(__file__).resolve().parents[1]
# The shared conformance material (GS1's EPCIS schema, contexts, examples), beside the repo.
SHARED = REPO_ROOT.parent / "shared"
REQUIRE_SERVICES = os.environ.get("PROVENANCE_REQUIRE_SERVICES") == "1"
PG_HOST, PG_PORT, PG_DATABASE = "127.0.0.1", 5432, "test"
PG_USERS = ("postgres", "root")
MQTT_HOST, MQTT_PORT = "127.0.0.1", 1883

# anvil's deterministic development accounts (mnemonic "test test ... junk"): the first six.
ANVIL_KEYS = list(ANVIL_DEV_KEYS[:6])


# GS1's example company prefix: that of GTIN 09506000134352 and every GTIN the tests use.
BRAND_PREFIX = "9506000"


@dataclass
class Consortium:
    """Fresh contracts with one account per role; `outsider` holds none; `operator` owns
    the company prefix `BRAND_PREFIX`."""

    w3: Web3
    deployment: Deployment
    governor: LocalAccount
    operator: LocalAccount
    quality: LocalAccount
    outsider: LocalAccount

    def sender(self, account: LocalAccount) -> TransactionSender:
        return TransactionSender(self.w3, account, receipt_timeout_s=30)

    def writer(self, account: LocalAccount | None = None) -> LedgerWriter:
        return LedgerWriter(self.sender(account or self.operator), self.deployment)

    def membership(self, account: LocalAccount | None = None) -> MembershipClient:
        return MembershipClient(self.sender(account or self.governor), self.deployment)

    def set_rule(self, product_class: bytes, rule: Rule) -> None:
        """The governor makes `quality` the class's authority, which then sets its rule."""
        ComplianceRulesClient(self.sender(self.governor), self.deployment).assign_class_authority(
            product_class, self.quality.address
        )
        ComplianceRulesClient(self.sender(self.quality), self.deployment).set_rule(
            product_class, rule
        )


def make_consortium(w3: Web3) -> Consortium:
    """Deploy fresh contracts and grant the roles of `Consortium`."""
    governor = Account.from_key(ANVIL_KEYS[0])
    deployment = deploy_contracts(w3, governor_key="0x" + governor.key.hex().removeprefix("0x"))
    operator, quality, outsider = (Account.from_key(k) for k in ANVIL_KEYS[1:4])
    membership = MembershipClient(TransactionSender(w3, governor), deployment)
    membership.grant_role(Role.OPERATOR, operator.address)
    membership.grant_role(Role.QUALITY, quality.address)
    membership.grant_role(Role.QUARANTINE, quality.address)
    LedgerWriter(TransactionSender(w3, governor), deployment).assign_prefix(
        BRAND_PREFIX, operator.address
    )
    return Consortium(w3, deployment, governor, operator, quality, outsider)


# 2-8 °C, 15 min excursions, hard limits -5 / 25 °C, at most an hour between readings.
VACCINE_RULE = Rule(2_000, 8_000, -5_000, 25_000, 15 * 60, 3_600)
VACCINE_CLASS = Web3.keccak(text="vaccine-2-8C")


def quarantine_by_rule(consortium: Consortium, uri: str) -> bytes:
    """Create the lot `uri` (the operator's), and have ColdChainCompliance quarantine it: a
    registered logger on the lot signs one reading past the vaccine rule's hard limit, which
    an ORACLE account submits. Returns the lot's id."""
    lot = batch_id_of(uri)
    consortium.writer().create_batch(uri, product_class=VACCINE_CLASS)
    consortium.set_rule(VACCINE_CLASS, VACCINE_RULE)
    oracle = Account.from_key(ANVIL_KEYS[4])
    consortium.membership().grant_role(Role.ORACLE, oracle.address)
    logger = DeviceKey.generate()
    registry = DeviceRegistryClient(consortium.sender(consortium.operator), consortium.deployment)
    registry.register_device(
        logger.sign_registration(organization=consortium.operator.address, domain=registry.domain)
    )
    registry.assign_device(logger.address, lot)
    compliance = consortium.deployment.contract(consortium.w3, "ColdChainCompliance")
    reading = Reading(
        device=logger.address,
        batch_id=lot,
        seq=1,
        timestamp=int(time.time()),
        temp_milli_c=VACCINE_RULE.hard_max_milli_c + 5_000,
        humidity_permille=500,
    )
    chain_id = consortium.w3.eth.chain_id
    signed = logger.sign(
        reading, domain=ReadingDomain(chain_id=chain_id, verifying_contract=compliance.address)
    )
    item = (
        (reading.device, lot, reading.seq, reading.timestamp, reading.temp_milli_c, 500),
        signed.signature,
    )
    data = compliance.encode_abi("submitReadings", args=[[item]])
    consortium.sender(oracle).transact(compliance.address, data, context="submitReadings")
    return lot


def unavailable(reason: str) -> NoReturn:
    if REQUIRE_SERVICES:
        pytest.fail(reason)
    pytest.skip(reason)  # only without PROVENANCE_REQUIRE_SERVICES=1


# The parameters of a fixture that runs its tests on each backend, PostgreSQL's as a service.
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.services)]


class ScratchDatabases:
    """Fresh databases of one backend (a SQLite file or a PostgreSQL schema) holding the
    tables `create_tables` makes, all removed after the test."""

    prefix = "test"

    @classmethod
    @contextmanager
    def of_backend(cls, request: pytest.FixtureRequest, directory: Path) -> Iterator[Self]:
        """The databases of a fixture parametrized over BACKENDS, closed when it ends."""
        postgres = request.getfixturevalue("postgres_url") if request.param != "sqlite" else None
        databases = cls(request.param, directory, postgres)
        try:
            yield databases
        finally:
            databases.close()

    def __init__(self, backend: str, directory: Path, postgres_url: str | None) -> None:
        self.backend = backend
        self._directory = directory
        self._postgres_url = postgres_url
        self._schemas: list[str] = []
        self._engines: list[Engine] = []

    def create_tables(self, engine: Engine) -> None:
        raise NotImplementedError

    def url(self) -> str:
        """The URL of a new, empty database."""
        if self.backend == "sqlite":
            return f"sqlite:///{self._directory / f'{self.prefix}_{uuid.uuid4().hex[:8]}.db'}"
        schema = f"{self.prefix}_test_{uuid.uuid4().hex[:12]}"
        self._admin(f"CREATE SCHEMA {schema}")
        self._schemas.append(schema)
        return f"{self._postgres_url}?options=-csearch_path%3D{schema}"

    def engine(self, url: str | None = None) -> Engine:
        """An engine on `url` (a new database by default) with the tables created."""
        engine = make_engine(url or self.url())
        self.create_tables(engine)
        self._engines.append(engine)
        return engine

    def delete(self, engine: Engine) -> None:
        """Delete the database behind `engine` entirely and leave an empty one in its place."""
        engine.dispose()
        if self.backend == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(str(engine.url.database) + suffix).unlink(missing_ok=True)
        else:
            schema = engine.url.query["options"].split("=", 1)[1]
            self._admin(f"DROP SCHEMA {schema} CASCADE")
            self._admin(f"CREATE SCHEMA {schema}")

    def close(self) -> None:
        for engine in self._engines:
            engine.dispose()
        for schema in self._schemas:
            self._admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def _admin(self, sql: str) -> None:
        assert self._postgres_url is not None
        with psycopg.connect(self._postgres_url, autocommit=True) as connection:
            connection.execute(sql)


class BridgeDatabases(ScratchDatabases):
    prefix = "bridge"

    def create_tables(self, engine: Engine) -> None:
        create_bridge_tables(engine)


@dataclass(frozen=True)
class Broker:
    host: str
    port: int
