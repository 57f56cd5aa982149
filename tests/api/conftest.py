"""The API's own database (tokens, access trail) on SQLite and PostgreSQL, and a consortium
whose organizations are registered with their did:pkh DIDs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine

from api.store.database import create_api_tables
from ledger_client.roles import Role
from tests.conftest import ANVIL_KEYS, Consortium, ScratchDatabases


class ApiDatabases(ScratchDatabases):
    prefix = "api"

    def create_tables(self, engine: Engine) -> None:
        create_api_tables(engine)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def api_databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ApiDatabases]:
    postgres = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    databases = ApiDatabases(request.param, tmp_path, postgres)
    try:
        yield databases
    finally:
        databases.close()


@pytest.fixture
def api_engine(api_databases: ApiDatabases) -> Engine:
    return api_databases.engine()


def did_of(account: LocalAccount, consortium: Consortium) -> str:
    return f"did:pkh:eip155:{consortium.deployment.chain_id}:{account.address}"


@dataclass
class Members:
    """Registered organizations: `operator` (OPERATOR), `auditor` (AUDITOR), `quality`
    (QUALITY) of the consortium, and their DIDs."""

    consortium: Consortium
    auditor: LocalAccount

    def did(self, account: LocalAccount) -> str:
        return did_of(account, self.consortium)


@pytest.fixture
def members(consortium: Consortium) -> Members:
    auditor = Account.from_key(ANVIL_KEYS[5])
    membership = consortium.membership()
    membership.grant_role(Role.AUDITOR, auditor.address)
    for account, name in (
        (consortium.operator, "Operator"),
        (consortium.quality, "Quality Lab"),
        (auditor, "Auditor"),
    ):
        membership.register_organization(
            account.address, did=did_of(account, consortium), name=name
        )
    return Members(consortium, auditor)
