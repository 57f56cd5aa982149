"""The issuer's own suspension: `credential suspend` and `credential unsuspend`, signed with
the issuer's key (a governor's override is `governor-suspend` / `governor-unsuspend`)."""

from __future__ import annotations

from pathlib import Path

from credentials.cli.environment import connect_chain, load_settings, open_store
from credentials.cli.inputs import (
    CredentialArgument,
    JsonOption,
    KeyOption,
    ReasonOption,
    credential_target,
    reason_of,
)
from credentials.cli.output import hex_of, line, print_json
from ledger_client.terminal import clear_errors


@clear_errors
def suspend(
    credential: CredentialArgument,
    reason: ReasonOption,
    key: KeyOption,
    json_output: JsonOption = False,
) -> None:
    """Suspend a credential you issued until you lift it (`unsuspend`).

    Example:

    \b
      provenance credential suspend calibration.vc.json --key lab.keystore.json \\
          --reason "recalibration due"
    """
    _suspension(credential, reason, key, suspended=True, json_output=json_output)


@clear_errors
def unsuspend(
    credential: CredentialArgument,
    reason: ReasonOption,
    key: KeyOption,
    json_output: JsonOption = False,
) -> None:
    """Lift your own suspension of a credential you issued (a governor's, if any, stays).

    Example:

    \b
      provenance credential unsuspend calibration.vc.json --key lab.keystore.json \\
          --reason "recalibrated"
    """
    _suspension(credential, reason, key, suspended=False, json_output=json_output)


def _suspension(
    credential: str, reason: str, key: Path, *, suspended: bool, json_output: bool
) -> None:
    from eth_account import Account

    from credentials.issue import credential_hash
    from credentials.keystore import load_key
    from credentials.registry import CredentialRegistryClient
    from credentials.service import suspend_credential
    from ledger_client.transactions import TransactionSender

    target = credential_target(credential)
    reason = reason_of(reason)
    settings = load_settings()
    secret = load_key(key)
    w3, deployment = connect_chain(settings)
    sender = TransactionSender(
        w3, Account.from_key(secret), receipt_timeout_s=settings.ledger.receipt_timeout_s
    )
    registry = CredentialRegistryClient(sender, deployment)
    receipt = suspend_credential(
        registry=registry,
        vc_or_hash=target,
        reason=reason,
        suspended=suspended,
        store=open_store(settings),
    )
    digest = bytes.fromhex(target[2:]) if isinstance(target, str) else credential_hash(target)
    status = registry.status(digest).name
    action = "suspended" if suspended else "unsuspended"
    if json_output:
        print_json(
            {
                "credentialHash": hex_of(digest),
                action: True,
                "reason": reason,
                "status": status,
                "transaction": receipt.tx_hash,
                "blockNumber": receipt.block_number,
            }
        )
        return
    line(f"{action:<11} {hex_of(digest)}")
    line(f"{'reason':<11} {reason}")
    line(f"{'status':<11} {status}")
    line(f"{'in':<11} transaction {receipt.tx_hash} (block {receipt.block_number})")
