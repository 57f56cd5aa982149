"""The oracle bridge's calibration hook: a device reports under a rule that requires
calibration only while it holds a calibration certificate that verifies fully now.

`CredentialCalibrationCheck` is an `oracle_bridge.policy.CalibrationCheck`; each call looks
the certificates of a batch's devices up in the credential store and verifies them all at
once (warm: one chain read). The composition root (`provenance.node`) builds the one a
node runs and hands it to the bridge.
"""

from __future__ import annotations

import threading
from collections.abc import Collection

from eth_utils import to_checksum_address

from credentials.identities import pkh_did
from credentials.store import CredentialStore
from credentials.types import CredentialType
from credentials.verify import CredentialVerifier
from ledger_client.chain import CHAIN_UNREACHABLE
from ledger_client.errors import ChainUnavailable


class CredentialCalibrationCheck:
    """Whether a device holds a CalibrationCertificate from `store` that `verifier` finds
    valid now (every check passed: proof, anchor, not revoked or suspended, trusted lab,
    registered device, in force). The lot does not narrow it: a calibration is the
    instrument's, whatever it measures.

    While the chain does not answer, a device keeps the verdict it last had (as the
    bridge's device policy serves its last registry entry); a device never judged before
    raises `ChainUnavailable`. A read the chain refuses raises its `ChainRejected`.
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
        except CHAIN_UNREACHABLE as exc:
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
