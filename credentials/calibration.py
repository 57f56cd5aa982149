"""The oracle bridge's calibration hook: a device reports under a rule that requires
calibration only while it holds a calibration certificate that verifies fully now.

`CredentialCalibrationCheck` is an `oracle_bridge.policy.CalibrationCheck`; each call looks
the certificates of a batch's devices up in the credential store and verifies them all at
once (warm: one chain read). `calibration_check(settings)` builds the one `bridge run` uses.
"""

from __future__ import annotations

import threading
from collections.abc import Collection

from eth_utils import to_checksum_address

from credentials.identities import pkh_did
from credentials.store import CredentialStore, create_credential_tables
from credentials.types import CredentialType
from credentials.verify import CredentialVerifier
from ledger_client.chain import connect
from ledger_client.db import make_engine
from ledger_client.deployment import Deployment
from oracle_bridge.config import BridgeSettings
from oracle_bridge.errors import ChainUnavailable
from oracle_bridge.policy.chain import CHAIN_ERRORS


class CredentialCalibrationCheck:
    """Whether a device holds a CalibrationCertificate from `store` that `verifier` finds
    valid now (every check passed: proof, anchor, not revoked or suspended, trusted lab,
    registered device, in force). The lot does not narrow it: a calibration is the
    instrument's, whatever it measures.

    While the chain does not answer, a device keeps the verdict it last had (as the
    bridge's device policy serves its last registry entry); a device never judged before
    raises `ChainUnavailable`.
    """

    def __init__(self, store: CredentialStore, verifier: CredentialVerifier) -> None:
        self.store = store
        self.verifier = verifier
        self._lock = threading.Lock()
        self._last: dict[str, bool] = {}

    def __call__(self, devices: Collection[str]) -> set[str]:
        dids = {
            pkh_did(chain_id=self.verifier.chain_id, address=to_checksum_address(device)): device
            for device in devices
        }
        certificates = self.store.of_subjects(
            dids, type_name=CredentialType.CALIBRATION_CERTIFICATE.value
        )
        try:
            # One chain read for every certificate of the batch's devices.
            reports = self.verifier.verify_many(certificates)
        except CHAIN_ERRORS as exc:
            with self._lock:
                unknown = [device for did, device in dids.items() if did not in self._last]
                if not unknown:
                    return {device for did, device in dids.items() if self._last[did]}
            raise ChainUnavailable(
                f"the chain did not answer ({type(exc).__name__}); cannot judge the "
                f"calibration of {', '.join(sorted(unknown))}"
            ) from exc
        valid = {
            vc["credentialSubject"]["id"]
            for vc, report in zip(certificates, reports, strict=True)
            if report.valid
        }
        with self._lock:
            self._last.update((did, did in valid) for did in dids)
        return {device for did, device in dids.items() if did in valid}


def calibration_check(settings: BridgeSettings) -> CredentialCalibrationCheck:
    """The check for a bridge run with `settings`: credentials from
    `settings.resolved_credential_database_url` (the bridge's own database unless
    configured), verified against the node and deployment the bridge uses.

    Raises:
        RpcUnavailable, DeploymentError, ConfigurationError: with what to fix.
    """
    ledger = settings.ledger
    w3 = connect(ledger.rpc_url, timeout_s=ledger.rpc_timeout_s)
    deployment = Deployment.load(ledger.deployment_path)
    deployment.check_chain(w3)
    engine = make_engine(settings.resolved_credential_database_url)
    create_credential_tables(engine)
    return CredentialCalibrationCheck(
        CredentialStore(engine),
        CredentialVerifier(w3, deployment, log_chunk_blocks=ledger.log_chunk_blocks),
    )
