"""Shared fixtures: a real anvil per test session, fresh contracts per test, funded actors."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from ledger_client.artifacts import compile_contracts
from ledger_client.chain import connect
from ledger_client.deploy import deploy_contracts
from ledger_client.deployment import Deployment
from ledger_client.ledger import LedgerWriter
from ledger_client.local_chain import LocalChain, start_anvil
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender

REPO_ROOT = Path(__file__).resolve().parents[1]
REQUIRE_SERVICES = os.environ.get("PROVENANCE_REQUIRE_SERVICES") == "1"

# anvil's deterministic development accounts (mnemonic "test test ... junk").
ANVIL_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
]


@dataclass
class Consortium:
    """Fresh contracts with one account per role; `outsider` holds none."""

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


@pytest.fixture(scope="session")
def compiled() -> None:
    compile_contracts()


@pytest.fixture(scope="session")
def anvil(compiled: None) -> Iterator[LocalChain]:
    chain = start_anvil()
    try:
        yield chain
    finally:
        chain.stop()


@pytest.fixture(scope="session")
def w3(anvil: LocalChain) -> Web3:
    return connect(anvil.rpc_url)


@pytest.fixture
def consortium(w3: Web3) -> Consortium:
    return make_consortium(w3)


def make_consortium(w3: Web3) -> Consortium:
    """Deploy fresh contracts and grant the roles of `Consortium`."""
    governor = Account.from_key(ANVIL_KEYS[0])
    deployment = deploy_contracts(w3, governor_key="0x" + governor.key.hex().removeprefix("0x"))
    operator, quality, outsider = (Account.from_key(k) for k in ANVIL_KEYS[1:4])
    membership = MembershipClient(TransactionSender(w3, governor), deployment)
    membership.grant_role(Role.OPERATOR, operator.address)
    membership.grant_role(Role.QUALITY, quality.address)
    membership.grant_role(Role.QUARANTINE, quality.address)
    return Consortium(w3, deployment, governor, operator, quality, outsider)


@pytest.fixture
def deployment(consortium: Consortium) -> Deployment:
    return consortium.deployment


@pytest.fixture
def writer(consortium: Consortium) -> LedgerWriter:
    return consortium.writer()
