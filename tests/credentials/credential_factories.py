"""Fixed identities, sample claims of every credential type and the verification report's
check names, for the credentials tests (and the API and CLI tests of credentials)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache, partial
from typing import Any

from credentials.identities import Signer, account_signer, asset_signer, mint_asset_did
from credentials.issue import issue
from credentials.registry import CredentialRegistryClient
from credentials.service import issue_and_anchor
from credentials.types import CredentialType
from ledger_client.identifiers import DigitalLink
from tests.factories import Consortium

CHAIN_ID = 31337
# anvil's development keys: readable, stable DIDs in failures.
QUALITY_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
LAB_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
OUTSIDER_KEY = "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6"
DEVICE_KEY = "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a"
ASSET_KEY = "0x" + "11" * 32
PERSON_KEY = "0x" + "22" * 32

GTIN = "09506000134352"
LOT = f"https://id.gs1.org/01/{GTIN}/10/LOT-42"
ITEM = f"https://id.gs1.org/01/{GTIN}/21/SN-1"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
ANCHOR_TX = "0x" + "ab" * 32
COA_HASH = "0x" + "cd" * 32

# Spelled out rather than read from `CheckName`: the tests pin the report's order.
CHECK_NAMES = [
    "proof",
    "schema",
    "anchored",
    "not_revoked",
    "not_suspended",
    "issuer_trusted",
    "not_expired",
    "subject_bound",
]


def _did_pkh(key: str) -> Callable[[], Signer]:
    """The did:pkh signer of `key` on the test chain, made on first use."""
    return cache(partial(account_signer, key, chain_id=CHAIN_ID))


def _did_key(key: str) -> Callable[[], Signer]:
    """The did:key (secp256k1) signer of `key`, made on first use."""
    return cache(partial(asset_signer, key))


quality = _did_pkh(QUALITY_KEY)  # the quality organization
lab = _did_pkh(LAB_KEY)  # the calibration lab
outsider = _did_pkh(OUTSIDER_KEY)  # an organization nobody trusts
device = _did_pkh(DEVICE_KEY)  # a temperature logger, by its own key
asset = _did_key(ASSET_KEY)  # the lot's asset DID
person = _did_key(PERSON_KEY)  # an operator


def claims(kind: CredentialType) -> dict[str, Any]:
    """Valid sample claims of `kind` (a fresh copy)."""
    return copy.deepcopy(_CLAIMS[kind])


def subject(kind: CredentialType) -> str:
    """The DID the sample credential of `kind` is about."""
    if kind is CredentialType.CALIBRATION_CERTIFICATE:
        return device().did
    if kind is CredentialType.OPERATOR_QUALIFICATION:
        return person().did
    return asset().did


def issuer(kind: CredentialType) -> Signer:
    """Who issues the sample credential of `kind`."""
    return lab() if kind is CredentialType.CALIBRATION_CERTIFICATE else quality()


def issue_sample(kind: CredentialType, *, signer: Signer | None = None, **options: Any) -> dict:
    """A freshly signed sample credential of `kind`, issued at T0, expiring a year later."""
    return issue(
        credential_type=kind,
        subject_did=subject(kind),
        claims=claims(kind),
        signer=signer or issuer(kind),
        issuance_date=options.pop("issuance_date", T0),
        expiration_date=options.pop("expiration_date", T0 + timedelta(days=365)),
        **options,
    )


_CLAIMS: dict[CredentialType, dict[str, Any]] = {
    CredentialType.CALIBRATION_CERTIFICATE: {
        "calibratedAt": "2025-12-15T09:30:00Z",
        "validUntil": "2026-12-15T09:30:00Z",
        "range": {"minMilliC": -30000, "maxMilliC": 50000},
        "uncertainty": {"expandedMilliC": 150, "coverageFactor": 2},
        "reference": {
            "standard": "ISO/IEC 17025:2017",
            "instrument": "PT100 reference thermometer S/N 4711, certificate K-2025-0815",
        },
    },
    CredentialType.CERTIFICATE_OF_ANALYSIS: {
        "lot": LOT,
        "tests": [
            {
                "name": "assay",
                "method": "HPLC, Ph. Eur. 2.2.29",
                "specification": "98.0-102.0 %",
                "result": 99.6,
                "unit": "%",
                "passed": True,
            },
            {
                "name": "appearance",
                "method": "visual",
                "specification": "white crystalline powder",
                "result": "conforms",
                "passed": True,
            },
        ],
        "conclusion": "conforms",
    },
    CredentialType.OPERATOR_QUALIFICATION: {
        "qualification": "GDP cold-chain handling",
        "scope": ["release-quarantine", "inspect-shipment"],
    },
    CredentialType.COLD_CHAIN_COMPLIANCE: {
        "lot": LOT,
        "minTempMilliC": 2100,
        "maxTempMilliC": 7800,
        "mktMilliC": 5200,
        "readingCount": 1440,
        "anchorTransactions": [ANCHOR_TX, "0x" + "ef" * 32],
    },
    CredentialType.FIT_FOR_USE: {"lot": LOT, "basis": [COA_HASH, "0x" + "12" * 32]},
}


def fit_for_use(
    consortium: Consortium, lot: DigitalLink, *, create_lot: bool = True
) -> tuple[dict, str]:
    """A FitForUse about a new asset DID bound to `lot` (created first unless it exists),
    issued by the quality lab and suspended with the lot; (credential, subject DID)."""
    c = consortium
    if create_lot:
        c.writer().create_batch(lot.uri)
    asset = mint_asset_did().did
    CredentialRegistryClient(c.sender(c.operator), c.deployment).bind_subject(asset, lot.batch_id)
    issued = datetime.fromtimestamp(c.w3.eth.get_block("latest")["timestamp"], UTC)
    credential = issue_and_anchor(
        registry=CredentialRegistryClient(c.sender(c.quality), c.deployment),
        signer=account_signer(c.quality.key, chain_id=c.deployment.chain_id),
        credential_type=CredentialType.FIT_FOR_USE,
        subject_did=asset,
        claims=claims(CredentialType.FIT_FOR_USE) | {"lot": lot.uri},
        issuance_date=issued,
        expiration_date=issued + timedelta(days=30),
        suspends_with_batch=lot.batch_id,
    )
    return credential, asset
