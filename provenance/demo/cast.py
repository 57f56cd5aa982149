"""Who and what the demo's story is about: five organizations of the embedded dev chain, the
product class with its rule, and the lots of one run.

The vaccine manufacturer, the quality authority and the auditor are the dev consortium that
`provenance serve` registers (`provenance.embedded.DEV_MEMBERS`; the manufacturer is the
node's own organization); the logistics company and the calibration lab join through the
governor. All of them are anvil's public development accounts: a local anvil only.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger_client.identifiers import DigitalLink
from ledger_client.keys import ANVIL_DEV_KEYS
from ledger_client.roles import Role
from oracle_bridge.rules import Rule
from provenance.embedded import DEV_MEMBERS

VACCINE_GTIN = "09506000134352"
VIAL_GTIN = "09506000134376"
PRODUCT_CLASS_NAME = "vaccine, 2–8 °C"
# 2-8 °C, 15 minutes out of range allowed, hard limits -5 / 25 °C, at most 1 h of silence, and
# only calibrated loggers count.
VACCINE_RULE = Rule(2_000, 8_000, -5_000, 25_000, 15 * 60, 3_600, require_calibration=True)


@dataclass(frozen=True)
class Organization:
    """A member of the story: its anvil key, on-chain name and roles."""

    part: str
    name: str
    key: str
    roles: tuple[Role, ...]

    @property
    def account(self) -> LocalAccount:
        return Account.from_key(self.key)

    @property
    def address(self) -> str:
        return self.account.address

    def did(self, chain_id: int) -> str:
        return f"did:pkh:eip155:{chain_id}:{self.address}"


def _dev(name: str, part: str, *extra: Role) -> Organization:
    member = DEV_MEMBERS[name]
    return Organization(part, member.name, member.key, (*member.roles, *extra))


# ANVIL_DEV_KEYS 0-2 are the dev consortium's, 4 the bridge's oracle.
MANUFACTURER = _dev("operator", "vaccine manufacturer")
QUALITY = _dev("quality", "quality authority", Role.ISSUER)
AUDITOR = _dev("auditor", "auditor")
LOGISTICS = Organization(
    "logistics company", "Polar Freight Logistics", ANVIL_DEV_KEYS[3], (Role.OPERATOR,)
)
CALIBRATION_LAB = Organization(
    "calibration lab", "Kelvin Calibration Lab", ANVIL_DEV_KEYS[5], (Role.ISSUER,)
)
ORGANIZATIONS = (MANUFACTURER, LOGISTICS, CALIBRATION_LAB, QUALITY, AUDITOR)
# Who the governor puts on the credential trust list, for what.
TRUSTED_ISSUERS = (
    (CALIBRATION_LAB, "CalibrationCertificate"),
    (QUALITY, "FitForUse"),
    (QUALITY, "ColdChainComplianceCredential"),
)


@dataclass(frozen=True)
class RunLots:
    """The identifiers of run `run` of the story: each run on the same chain tells it anew
    with lot numbers of its own."""

    run: int

    @property
    def lot_a(self) -> DigitalLink:
        return DigitalLink.lot(VACCINE_GTIN, f"VAX-A-{self.run:03d}")

    @property
    def lot_b(self) -> DigitalLink:
        return DigitalLink.lot(VACCINE_GTIN, f"VAX-B-{self.run:03d}")

    @property
    def vials(self) -> DigitalLink:
        return DigitalLink.lot(VIAL_GTIN, f"VIAL-A-{self.run:03d}")

    @property
    def all(self) -> tuple[DigitalLink, DigitalLink, DigitalLink]:
        return self.lot_a, self.lot_b, self.vials
