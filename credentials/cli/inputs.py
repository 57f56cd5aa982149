"""The options and arguments the commands share, parsed into what the services take."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from credentials.errors import CredentialError, InvalidCredential
from ledger_client.errors import ConfigurationError

CREDENTIAL_HASH = re.compile(r"0x[0-9a-fA-F]{64}")

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document instead of tables")
]
CredentialArgument = Annotated[
    str, typer.Argument(metavar="FILE|HASH", help="The signed credential, or its 0x hash")
]
ReasonOption = Annotated[str, typer.Option(help="Why; recorded on chain")]
KeyOption = Annotated[
    Path,
    typer.Option(
        help="The issuer's encrypted keystore file (`credential keygen`); its passphrase "
        "comes from PROVENANCE_KEYSTORE_PASSPHRASE",
        dir_okay=False,
    ),
]


def issuer_address(issuer: str, *, chain_id: int) -> str:
    """The checksummed account address of `issuer`: a 0x address, or a did:pkh of this
    chain (`identities.pkh_account` says why another DID is refused)."""
    from web3 import Web3

    from credentials.identities import pkh_account

    if issuer.startswith("did:"):
        return pkh_account(issuer, chain_id=chain_id)
    if not Web3.is_address(issuer):
        raise ConfigurationError(
            f"{issuer!r} is neither a 0x account address nor a did:pkh:eip155 DID"
        )
    return Web3.to_checksum_address(issuer)


def credential_target(text: str) -> dict[str, Any] | str:
    """The credential a FILE|HASH argument names: the signed VC read from its file, or its
    hash as `0x` + 64 lowercase hex digits."""
    if CREDENTIAL_HASH.fullmatch(text):
        return text.lower()
    if Path(text).is_file():
        return json_object(Path(text), InvalidCredential, what="credential")
    raise ConfigurationError(
        f"{text!r} is neither a credential file nor a 0x hash of 64 hex digits"
    )


def reason_of(reason: str) -> str:
    """--reason, refused when blank: it is the record of why."""
    if not reason.strip():
        raise ConfigurationError("--reason is blank: say why; it is recorded on chain")
    return reason


def expiry_of(text: str) -> datetime:
    """--expires as an aware datetime: ISO 8601 with an offset, or a date (midnight UTC)."""
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ConfigurationError(
            f"--expires {text!r}: give an ISO 8601 instant with its offset "
            "(2027-01-01T00:00:00Z) or a date (2027-01-01, midnight UTC)"
        )
    return moment


def json_file(path: Path, error: type[CredentialError], *, what: str) -> Any:
    from ledger_client.json_input import loads

    try:
        return loads(path.read_bytes())
    except OSError as exc:
        raise error(f"cannot read the {what} file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise error(f"the {what} file {path} is not JSON: {exc}") from None


def json_object(path: Path, error: type[CredentialError], *, what: str) -> dict[str, Any]:
    found = json_file(path, error, what=what)
    if not isinstance(found, dict):
        raise error(f"the {what} file {path} holds a JSON {type(found).__name__}, not an object")
    return found
