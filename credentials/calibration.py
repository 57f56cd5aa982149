"""The oracle bridge's calibration hook: a device reports under a rule that requires
calibration only while it holds a calibration certificate that verifies fully now.

`CredentialCalibrationCheck` is an `oracle_bridge.policy.CalibrationCheck`; each call looks
the device's certificates up in the credential store and verifies them (warm: one chain
read). `calibration_check(settings)` builds the one `provenance bridge run` uses.
"""

from __future__ import annotations

import threading

from eth_utils import to_checksum_address

from credentials.identities import pkh_did
from credentials.store import CredentialStore, create_credential_tables
from credentials.types import CredentialType
from credentials.verify import CredentialVerifier
from ledger_client.chain import connect
from ledger_client.deployment import Deployment
from ledger_client.indexer.database import make_engine
from oracle_bridge.config import BridgeSettings
from oracle_bridge.errors import ChainUnavailable
from oracle_bridge.policy import CHAIN_ERRORS


class CredentialCalibrationCheck:
    """Whether a device holds a CalibrationCertificate from `store` that `verifier` finds
    valid now (every check passed: proof, anchor, not revoked or suspended, trusted lab,
    registered device, in force). `batch_id` does not narrow it: a calibration is the
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

    def __call__(self, *, device: str, batch_id: bytes) -> bool:
        did = pkh_did(chain_id=self.verifier.chain_id, address=to_checksum_address(device))
        certificates = [
            vc
            for vc in self.store.of_subject(did)
            if vc["type"][1] == CredentialType.CALIBRATION_CERTIFICATE.value
        ]
        try:
            calibrated = any(r.valid for r in self.verifier.verify_many(certificates))
        except CHAIN_ERRORS as exc:
            with self._lock:
                last = self._last.get(did)
            if last is None:
                raise ChainUnavailable(
                    f"the chain did not answer ({type(exc).__name__}); cannot judge the "
                    f"calibration of {device}"
                ) from exc
            return last
        with self._lock:
            self._last[did] = calibrated
        return calibrated


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
