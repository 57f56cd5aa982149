"""What the API's and the commands' tests share: the API database on a scratch backend,
and the consortium's organizations registered with their did:pkh DIDs."""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import Engine

from api.store.database import create_api_tables
from ledger_client.roles import Role
from tests.factories import ANVIL_KEYS, Consortium, ScratchDatabases


class ApiDatabases(ScratchDatabases):
    prefix = "api"

    def create_tables(self, engine: Engine) -> None:
        create_api_tables(engine)


@dataclass
class Members:
    """The consortium's `operator` (OPERATOR), `quality` (QUALITY) and an `auditor`
    (AUDITOR), each registered as an organization under its did:pkh."""

    consortium: Consortium
    auditor: LocalAccount

    def did(self, account: LocalAccount) -> str:
        return f"did:pkh:eip155:{self.consortium.deployment.chain_id}:{account.address}"


def register_members(consortium: Consortium) -> Members:
    """Grant AUDITOR to a sixth account and register the three as organizations."""
    members = Members(consortium, Account.from_key(ANVIL_KEYS[5]))
    membership = consortium.membership()
    membership.grant_role(Role.AUDITOR, members.auditor.address)
    for account, name in (
        (consortium.operator, "Operator"),
        (consortium.quality, "Quality Lab"),
        (members.auditor, "Auditor"),
    ):
        membership.register_organization(account.address, did=members.did(account), name=name)
    return members
