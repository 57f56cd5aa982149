# ruff: noqa: E402
"""Benchmark: verifying the 50 credentials of one lot, the project's verifier vs the naive way.

Runs on a fresh local anvil: deploys, issues and anchors 50 credentials about one lot (its
certificates of analysis, fit-for-use and cold-chain credentials, the calibration
certificates of its loggers, the qualifications of its handlers), then times full
verification of all 50:

- cold: a fresh `CredentialVerifier` (every proof checked by didkit, chain read in batches);
- warm: the same verifier again (only the statuses re-read, in one eth_call), the median;
- naive: didkit and one web3.py call per chain check, one credential at a time, no cache.

Prints progress lines, then one JSON line with the figures.

    .venv/bin/python bench/credentials.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script, this file would shadow the `credentials` package it benchmarks: the
# imports below come after taking its folder off the path (hence E402 off for the file).
sys.path[:] = [
    entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent
]

from eth_account import Account
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint, RPCResponse

from credentials.hashes import organization_entity_id, subject_hash, type_hash
from credentials.identities import account_signer, mint_asset_did
from credentials.issue import credential_hash
from credentials.registry import CredentialRegistryClient
from credentials.report import check_expiry, check_proof, check_schema
from credentials.service import issue_and_anchor
from credentials.types import CredentialType, parse_instant
from credentials.verify import LOT_CREDENTIAL_TYPES, CredentialVerifier
from ledger_client.chain import connect
from ledger_client.deploy import deploy_contracts
from ledger_client.deployment import Deployment
from ledger_client.identifiers import DigitalLink
from ledger_client.ledger import LedgerWriter
from ledger_client.local_chain import running_anvil
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender
from oracle_bridge.contracts import DeviceRegistryClient
from oracle_bridge.device import DeviceKey

GOVERNOR_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
QUALITY_KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
LAB_KEY = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a"
CREDENTIALS = 50
LOGGERS = 5
HANDLERS = 5
GTIN = "09506000134352"
COMPANY_PREFIX = "9506000"
ROLE_EVENTS = [
    "0x" + Web3.keccak(text=f"{name}(bytes32,address,address)").hex().removeprefix("0x")
    for name in ("RoleGranted", "RoleRevoked")
]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class CountingProvider(HTTPProvider):
    """Counts the HTTP requests (single calls and JSON-RPC batches alike)."""

    def __init__(self, endpoint_uri: str) -> None:
        super().__init__(endpoint_uri)
        self.requests = 0

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        self.requests += 1
        return super().make_request(method, params)

    def make_batch_request(self, requests: Any) -> Any:
        self.requests += 1
        return super().make_batch_request(requests)


def claims_of(kind: CredentialType, lot: DigitalLink, n: int, now: datetime) -> dict[str, Any]:
    """Realistic claims of `kind`, the n-th of their kind, about `lot`."""
    if kind is CredentialType.CALIBRATION_CERTIFICATE:
        return {
            "calibratedAt": (now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "validUntil": (now + timedelta(days=355)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "range": {"minMilliC": -30000, "maxMilliC": 50000},
            "uncertainty": {"expandedMilliC": 150 + n, "coverageFactor": 2},
            "reference": {"standard": "ISO/IEC 17025:2017", "instrument": f"PT100 S/N {4711 + n}"},
        }
    if kind is CredentialType.OPERATOR_QUALIFICATION:
        return {"qualification": f"GDP cold-chain handling, level {1 + n % 3}", "scope": ["ship"]}
    if kind is CredentialType.CERTIFICATE_OF_ANALYSIS:
        return {
            "lot": lot.uri,
            "tests": [
                {
                    "name": f"assay {n}",
                    "method": "HPLC, Ph. Eur. 2.2.29",
                    "specification": "98.0-102.0 %",
                    "result": 99.0 + n / 10,
                    "unit": "%",
                    "passed": True,
                }
            ],
            "conclusion": "conforms",
        }
    if kind is CredentialType.COLD_CHAIN_COMPLIANCE:
        return {
            "lot": lot.uri,
            "minTempMilliC": 2100,
            "maxTempMilliC": 7800,
            "mktMilliC": 5200 + n,
            "readingCount": 1440,
            "anchorTransactions": ["0x" + f"{n:02x}" * 32],
        }
    return {"lot": lot.uri}


def set_up(rpc_url: str) -> tuple[Web3, Deployment, list[dict[str, Any]]]:
    """Deploy, enrol the lab, quality, loggers and handlers, issue and anchor 50 credentials."""
    w3 = connect(rpc_url)
    deployment = deploy_contracts(w3, governor_key=GOVERNOR_KEY)
    chain_id = deployment.chain_id
    governor, quality, lab = (Account.from_key(k) for k in (GOVERNOR_KEY, QUALITY_KEY, LAB_KEY))
    membership = MembershipClient(TransactionSender(w3, governor), deployment)
    grants = (
        (Role.OPERATOR, governor),
        (Role.OPERATOR, quality),
        (Role.ISSUER, quality),
        (Role.ISSUER, lab),
    )
    for role, account in grants:
        membership.grant_role(role, account.address)
    quality_signer = account_signer(QUALITY_KEY, chain_id=chain_id)
    membership.register_organization(quality.address, did=quality_signer.did, name="Quality")
    trust = CredentialRegistryClient(TransactionSender(w3, governor), deployment)
    trust.set_trusted(lab.address, CredentialType.CALIBRATION_CERTIFICATE.value, True)
    for kind in CredentialType:
        if kind is not CredentialType.CALIBRATION_CERTIFICATE:
            trust.set_trusted(quality.address, kind.value, True)

    lot = DigitalLink.lot(GTIN, "BENCH-1")
    writer = LedgerWriter(TransactionSender(w3, governor), deployment)
    writer.assign_prefix(COMPANY_PREFIX, governor.address)
    writer.create_batch(lot.uri)
    operator = CredentialRegistryClient(TransactionSender(w3, governor), deployment)
    asset = mint_asset_did().did
    operator.bind_subject(asset, lot.batch_id)
    devices = DeviceRegistryClient(TransactionSender(w3, governor), deployment)
    loggers = [DeviceKey.generate() for _ in range(LOGGERS)]
    for logger in loggers:
        devices.register_device(
            logger.sign_registration(organization=governor.address, domain=devices.domain)
        )
        devices.assign_device(logger.address, lot.batch_id)
    # An organization binds only its own people's DIDs.
    quality_operator = CredentialRegistryClient(TransactionSender(w3, quality), deployment)
    handlers = [mint_asset_did().did for _ in range(HANDLERS)]
    for handler in handlers:
        quality_operator.bind_subject(handler, organization_entity_id(quality.address))

    issuers = {
        "lab": (
            CredentialRegistryClient(TransactionSender(w3, lab), deployment),
            account_signer(LAB_KEY, chain_id=chain_id),
        ),
        "quality": (
            CredentialRegistryClient(TransactionSender(w3, quality), deployment),
            quality_signer,
        ),
    }
    now = datetime.fromtimestamp(w3.eth.get_block("latest")["timestamp"], UTC)
    kinds = list(CredentialType)
    vcs = []
    for n in range(CREDENTIALS):
        kind = kinds[n % len(kinds)]
        registry, signer = issuers[
            "lab" if kind is CredentialType.CALIBRATION_CERTIFICATE else "quality"
        ]
        if kind is CredentialType.CALIBRATION_CERTIFICATE:
            subject = loggers[n // len(kinds) % LOGGERS].did(chain_id)
        elif kind is CredentialType.OPERATOR_QUALIFICATION:
            subject = handlers[n // len(kinds) % HANDLERS]
        else:
            subject = asset
        vcs.append(
            issue_and_anchor(
                registry=registry,
                signer=signer,
                credential_type=kind,
                subject_did=subject,
                claims=claims_of(kind, lot, n, now),
                issuance_date=now,
                expiration_date=now + timedelta(days=365),
                suspends_with_batch=lot.batch_id if kind is CredentialType.FIT_FOR_USE else None,
            )
        )
    # Leave the issuance second behind, so what held then is settled history.
    w3.provider.make_request("evm_increaseTime", [1])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    return w3, deployment, vcs


class NaiveVerifier:
    """Every check for one credential at a time: didkit, then one web3.py call per chain
    question (anchor, status, trust list, role history and its block times, subject)."""

    def __init__(self, w3: Web3, deployment: Deployment) -> None:
        self.w3 = w3
        self.deployment = deployment

        self.registry = deployment.contract(w3, "CredentialRegistry")
        self.membership = deployment.contract(w3, "Membership")
        self.devices = deployment.contract(w3, "DeviceRegistry")

    def verify(self, vc: dict[str, Any], *, now: datetime) -> bool:
        offline = [check_proof(vc), check_schema(vc), check_expiry(vc, now=now)]
        digest = credential_hash(vc)
        kind = vc["type"][1]
        issuer = vc["issuer"].rsplit(":", 1)[1]
        subject = vc["credentialSubject"]["id"]
        issued_at = int(parse_instant(vc["issuanceDate"]).timestamp())
        functions = self.registry.functions
        record = functions.credential(digest).call()
        anchored = (
            record[3] != 0
            and record[0] == issuer
            and record[1] == type_hash(kind)
            and record[2] == subject_hash(subject)
        )
        not_revoked = functions.status(digest).call() != 2
        not_suspended = functions.status(digest).call() == 1
        trusted = functions.trustedAt(issuer, type_hash(kind), issued_at).call()
        role_logs = self.w3.eth.get_logs(
            {
                "address": self.membership.address,
                "fromBlock": self.deployment.deploy_block,
                "toBlock": "latest",
                "topics": [
                    ROLE_EVENTS,
                    "0x" + Role.ISSUER.id.hex(),
                    "0x" + "0" * 24 + issuer[2:].lower(),
                ],
            }
        )
        held = False
        for entry in role_logs:
            if self.w3.eth.get_block(entry["blockNumber"])["timestamp"] <= issued_at:
                held = "0x" + entry["topics"][0].hex().removeprefix("0x") == ROLE_EVENTS[0]
        if kind in {k.value for k in LOT_CREDENTIAL_TYPES}:
            entity, _ = functions.boundEntity(subject_hash(subject)).call()
            bound = entity == Web3.keccak(text=vc["credentialSubject"]["lot"])
        elif subject.startswith("did:pkh:"):
            bound = self.devices.functions.device(subject.rsplit(":", 1)[1]).call()[5] != 0
        else:
            bound = int(functions.boundEntity(subject_hash(subject)).call()[1], 16) != 0
        chain = [anchored, not_revoked, not_suspended, trusted and held, bound]
        return all(check.outcome == "passed" for check in offline) and all(chain)


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return (time.perf_counter() - started) * 1000, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions of each timing")
    args = parser.parse_args()
    cold_runs, warm_runs, naive_runs = (2, 20, 1) if args.quick else (5, 200, 3)

    with running_anvil() as chain:
        log(f"issuing and anchoring {CREDENTIALS} credentials about one lot")
        started = time.perf_counter()
        w3, deployment, vcs = set_up(chain.rpc_url)
        log(f"  done in {time.perf_counter() - started:.1f}s")
        # An hour ahead: the chain's clock, not this one, dated the credentials.
        now = datetime.fromtimestamp(time.time() + 3600, UTC)

        provider = CountingProvider(chain.rpc_url)
        reader = Web3(provider)
        colds, cold_requests = [], 0
        for _ in range(cold_runs):
            verifier = CredentialVerifier(reader, deployment, clock=now.timestamp)
            provider.requests = 0
            elapsed, reports = timed(lambda v=verifier: v.verify_many(vcs))
            assert all(report.valid for report in reports), [
                r.to_json() for r in reports if not r.valid
            ][:1]
            colds.append(elapsed)
            cold_requests = provider.requests
        cold_ms = statistics.median(colds)
        log(f"cold: {cold_ms:.1f} ms for {len(vcs)} ({cold_requests} HTTP requests)")

        warms = []
        for _ in range(warm_runs):
            provider.requests = 0
            elapsed, reports = timed(lambda: verifier.verify_many(vcs))
            assert all(report.valid for report in reports)
            warms.append(elapsed)
        warm_requests = provider.requests
        warm_ms = statistics.median(warms)
        log(f"warm: {warm_ms:.2f} ms median of {warm_runs} ({warm_requests} HTTP request)")

        naive = NaiveVerifier(reader, deployment)
        naives = []
        for _ in range(naive_runs):
            provider.requests = 0
            elapsed, verdicts = timed(lambda: [naive.verify(vc, now=now) for vc in vcs])
            assert all(verdicts)
            naives.append(elapsed)
        naive_requests = provider.requests
        naive_ms = statistics.median(naives)
        log(f"naive: {naive_ms:.1f} ms ({naive_requests} HTTP requests)")

    print(
        json.dumps(
            {
                "bench": "credentials",
                "credentials": len(vcs),
                "cold_ms": round(cold_ms, 1),
                "warm_ms": round(warm_ms, 2),
                "naive_ms": round(naive_ms, 1),
                "ratio": round(naive_ms / warm_ms, 1),
                "cold_ratio": round(naive_ms / cold_ms, 2),
                "cold_requests": cold_requests,
                "warm_requests": warm_requests,
                "naive_requests": naive_requests,
                "warm_target_ms": 20,
            }
        )
    )


if __name__ == "__main__":
    main()
