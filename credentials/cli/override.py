"""The governor's override of any credential, signed with PROVENANCE_PRIVATE_KEY:
`credential governor-revoke`, `governor-suspend` and `governor-unsuspend`.

For when the issuer cannot act itself (its key leaked, its ISSUER role was pulled): a
separate command from `revoke`, since the authority and the key differ (the governor's
account, not the issuer's keystore).
"""

from __future__ import annotations

from enum import StrEnum

from credentials.cli.environment import load_settings, organization_sender
from credentials.cli.inputs import (
    CredentialArgument,
    JsonOption,
    ReasonOption,
    credential_target,
    reason_of,
)
from credentials.cli.output import hex_of, line, print_json
from ledger_client.terminal import clear_errors


class Override(StrEnum):
    REVOKE = "revoked"
    SUSPEND = "suspended"
    UNSUSPEND = "unsuspended"


@clear_errors
def governor_revoke(
    credential: CredentialArgument, reason: ReasonOption, json_output: JsonOption = False
) -> None:
    """Revoke any credential for good, over its issuer (the governor's act).

    Example:

    \b
      provenance credential governor-revoke calibration.vc.json --reason "issuer key leaked"
    """
    _override(credential, reason, Override.REVOKE, json_output=json_output)


@clear_errors
def governor_suspend(
    credential: CredentialArgument, reason: ReasonOption, json_output: JsonOption = False
) -> None:
    """Suspend any credential until a governor lifts it; its issuer cannot.

    Example:

    \b
      provenance credential governor-suspend calibration.vc.json --reason "under review"
    """
    _override(credential, reason, Override.SUSPEND, json_output=json_output)


@clear_errors
def governor_unsuspend(
    credential: CredentialArgument, reason: ReasonOption, json_output: JsonOption = False
) -> None:
    """Lift a governor's suspension (the issuer's own, if any, stays).

    Example:

    \b
      provenance credential governor-unsuspend calibration.vc.json --reason "review closed"
    """
    _override(credential, reason, Override.UNSUSPEND, json_output=json_output)


def _override(credential: str, reason: str, action: Override, *, json_output: bool) -> None:
    from credentials.errors import CredentialError
    from credentials.issue import credential_hash
    from credentials.registry import CredentialRegistryClient

    target = credential_target(credential)
    reason = reason_of(reason)
    digest = bytes.fromhex(target[2:]) if isinstance(target, str) else credential_hash(target)
    sender, deployment = organization_sender(load_settings())
    registry = CredentialRegistryClient(sender, deployment)
    anchored = registry.credential(digest)
    if anchored is None:
        raise CredentialError(
            f"credential {hex_of(digest)} was never anchored on chain {sender.chain_id}; "
            "check the hash"
        )
    write = {
        Override.REVOKE: registry.governor_revoke,
        Override.SUSPEND: registry.governor_suspend,
        Override.UNSUSPEND: registry.governor_unsuspend,
    }[action]
    receipt = write(digest, reason)
    status = registry.status(digest).name
    governor = sender.account.address
    if json_output:
        print_json(
            {
                "credentialHash": hex_of(digest),
                "issuer": anchored.issuer,
                "governor": governor,
                "override": action.value,
                "reason": reason,
                "status": status,
                "transaction": receipt.tx_hash,
                "blockNumber": receipt.block_number,
            }
        )
        return
    line(f"{action.value:<11} {hex_of(digest)} by the governor {governor}")
    line(f"{'issuer':<11} {anchored.issuer}")
    line(f"{'reason':<11} {reason}")
    line(f"{'status':<11} {status}")
    line(f"{'in':<11} transaction {receipt.tx_hash} (block {receipt.block_number})")
