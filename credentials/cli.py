"""`provenance credential …`: issuer keys, and issuing, verifying, revoking and listing
verifiable credentials.

The chain is the one every command uses (`PROVENANCE_RPC_URL`, the deployment record under
the state directory). Issued credentials are kept where the bridge's calibration check
looks for them (`PROVENANCE_BRIDGE_CREDENTIAL_DATABASE_URL`, else the bridge's database),
so a calibration certificate issued here counts at once. Keys are encrypted keystore
files; their passphrase comes from `PROVENANCE_KEYSTORE_PASSPHRASE`. Every command takes
`--json` for one machine-readable JSON document on stdout.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table
from rich.text import Text

from credentials.errors import CredentialError, InvalidClaims, InvalidCredential
from ledger_client.errors import ConfigurationError
from ledger_client.terminal import clear_errors, console, errors

if TYPE_CHECKING:
    from web3 import Web3

    from credentials.store import CredentialStore
    from credentials.types import CredentialType
    from ledger_client.deployment import Deployment
    from ledger_client.transactions import TransactionSender
    from oracle_bridge.config import BridgeSettings

credential_app = typer.Typer(
    help="Verifiable credentials: issue, verify, revoke, list; issuer keys, trust, assets.",
    no_args_is_help=True,
)

_HASH = re.compile(r"0x[0-9a-fA-F]{64}")
_OUTCOME_STYLE = {"passed": "green", "failed": "red", "not_checked": "yellow"}

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print one JSON document instead of tables")
]
KeyOption = Annotated[
    Path,
    typer.Option(
        help="The issuer's encrypted keystore file (`credential keygen`); its passphrase "
        "comes from PROVENANCE_KEYSTORE_PASSPHRASE",
        dir_okay=False,
    ),
]


@credential_app.command("keygen")
@clear_errors
def keygen(
    out: Annotated[Path, typer.Option(help="The new keystore file (never overwritten)")],
    chain_id: Annotated[
        int | None,
        typer.Option(min=1, help="Chain of the did:pkh (default: the node's at the RPC URL)"),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Create a secp256k1 key in a new encrypted keystore; print its address and did:pkh."""
    from eth_account import Account

    from credentials.identities import pkh_did
    from credentials.keystore import store_key

    if chain_id is None:
        from ledger_client.chain import connect

        ledger = _settings().ledger
        chain_id = connect(ledger.rpc_url, timeout_s=ledger.rpc_timeout_s).eth.chain_id
    account = Account.create()
    store_key(out, bytes(account.key))
    did = pkh_did(chain_id=chain_id, address=account.address)
    if json_output:
        _print_json({"address": account.address, "did": did, "keystore": str(out)})
        return
    _line(f"address   {account.address}")
    _line(f"did       {did}")
    _line(f"keystore  {out} (encrypted; passphrase from PROVENANCE_KEYSTORE_PASSPHRASE)")
    console.print(
        "[yellow]to issue, the governor grants this account ISSUER and trusts it per type[/yellow]"
    )


@credential_app.command("issue")
@clear_errors
def issue(
    type_name: Annotated[
        str,
        typer.Argument(
            metavar="TYPE", help="The credential type, e.g. FitForUse (a wrong one lists all)"
        ),
    ],
    subject: Annotated[str, typer.Option(help="The DID the credential is about")],
    key: KeyOption,
    claims: Annotated[
        Path | None,
        typer.Option(help="JSON file of the credentialSubject claims (all but `id`)"),
    ] = None,
    shipment: Annotated[
        str | None,
        typer.Option(
            help="ColdChainComplianceCredential only: take the claims from the bridge "
            "database's summary of this lot (Digital Link URI)"
        ),
    ] = None,
    expires: Annotated[
        str | None,
        typer.Option(help="expirationDate: ISO 8601 with offset (2027-01-01T00:00:00Z) or a date"),
    ] = None,
    suspends_with_lot: Annotated[
        str | None,
        typer.Option(
            help="Lot URI (or 0x batch id): SUSPENDED while it is quarantined "
            "(a FitForUse always is, with its own lot)"
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Write the signed credential here (default: stdout)")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Sign a credential, anchor its hash on chain and keep it in the credential store.

    The signed credential goes to stdout, or to --out.
    """
    from eth_account import Account

    from credentials.identities import account_signer
    from credentials.issue import credential_hash
    from credentials.keystore import load_key
    from credentials.registry import CredentialRegistryClient
    from credentials.service import issue_and_anchor
    from credentials.types import credential_type
    from ledger_client.transactions import TransactionSender
    from oracle_bridge.cli import parse_batch_id

    kind = credential_type(type_name)
    if (claims is None) == (shipment is None):
        raise ConfigurationError("pass exactly one of --claims FILE and --shipment LOT")
    if out is not None and out.exists():
        raise ConfigurationError(f"{out} exists already; choose another --out")
    settings = _settings()
    expiration = _expiry(expires) if expires is not None else None
    suspends_with = parse_batch_id(suspends_with_lot) if suspends_with_lot else None
    if claims is not None:
        subject_claims = _json_object(claims, InvalidClaims, what="claims")
    else:
        subject_claims = _shipment_claims(kind, shipment or "", settings)
    secret = load_key(key)
    w3, deployment = _chain(settings)
    sender = TransactionSender(
        w3, Account.from_key(secret), receipt_timeout_s=settings.ledger.receipt_timeout_s
    )
    store = _store(settings)
    vc = issue_and_anchor(
        registry=CredentialRegistryClient(sender, deployment),
        signer=account_signer(secret, chain_id=deployment.chain_id),
        credential_type=kind,
        subject_did=subject,
        claims=subject_claims,
        expiration_date=expiration,
        suspends_with_batch=suspends_with,
        store=store,
    )
    digest = credential_hash(vc)
    anchor_tx = store.anchor_tx(digest)
    document = json.dumps(vc, indent=2) + "\n"
    if out is not None:
        out.write_text(document)
    if json_output:
        _print_json(
            {
                "credentialHash": _hex(digest),
                "anchorTransaction": anchor_tx,
                "out": str(out) if out is not None else None,
                "credential": vc,
            }
        )
        return
    # Without --out stdout carries the credential alone, so the summary goes to stderr.
    show = _line if out is not None else _note
    if out is None:
        typer.echo(document, nl=False)
    show(f"issued    {vc['type'][1]} {vc['id']}")
    show(f"hash      {_hex(digest)}")
    show(f"issuer    {vc['issuer']}")
    show(f"subject   {subject}")
    show(f"anchored  in transaction {anchor_tx}")
    if out is not None:
        show(f"written   {out}")


@credential_app.command("verify")
@clear_errors
def verify(
    credential: Annotated[Path, typer.Argument(metavar="FILE", help="A signed credential (JSON)")],
    json_output: JsonOption = False,
) -> None:
    """Verify a credential fully; exit status 1 unless every check passes.

    Offline: its proof, schema and expiry; on chain: its anchor, revocation, suspension,
    the issuer's trust and the subject's binding.
    """
    from credentials.issue import credential_hash
    from credentials.verify import CredentialVerifier
    from ledger_client.epcis.canonical import CanonicalizationError

    vc = _json_file(credential, InvalidCredential, what="credential")
    settings = _settings()
    w3, deployment = _chain(settings)
    verifier = CredentialVerifier(w3, deployment, log_chunk_blocks=settings.ledger.log_chunk_blocks)
    report = verifier.verify(vc)
    try:
        digest: str | None = _hex(credential_hash(vc)) if isinstance(vc, Mapping) else None
    except CanonicalizationError:
        digest = None
    if json_output:
        _print_json({"credentialHash": digest, **report.to_json()})
    else:
        table = Table(title=Text(f"{credential}" + (f" ({digest})" if digest else "")))
        for column in ("check", "outcome", "detail"):
            table.add_column(column, overflow="fold")
        for check in report.checks:
            outcome = check.outcome.value
            table.add_row(
                check.name.value, Text(outcome, style=_OUTCOME_STYLE[outcome]), Text(check.detail)
            )
        console.print(table)
        failed = [c.name.value for c in report.checks if c.outcome.value != "passed"]
        if report.valid:
            console.print("[bold green]valid[/bold green]: every check passed")
        else:
            console.print(f"[bold red]not valid[/bold red]: {', '.join(failed)} did not pass")
    if not report.valid:
        raise typer.Exit(1)


@credential_app.command("revoke")
@clear_errors
def revoke(
    credential: Annotated[
        str, typer.Argument(metavar="FILE|HASH", help="The signed credential, or its 0x hash")
    ],
    reason: Annotated[str, typer.Option(help="Why; recorded on chain")],
    key: KeyOption,
    json_output: JsonOption = False,
) -> None:
    """Revoke a credential for good (its issuer's key only)."""
    from eth_account import Account

    from credentials.issue import credential_hash
    from credentials.keystore import load_key
    from credentials.registry import CredentialRegistryClient
    from credentials.service import revoke_credential
    from ledger_client.transactions import TransactionSender

    target: Mapping[str, Any] | str
    if _HASH.fullmatch(credential):
        target = credential.lower()
    elif Path(credential).is_file():
        target = _json_object(Path(credential), InvalidCredential, what="credential")
    else:
        raise ConfigurationError(
            f"{credential!r} is neither a credential file nor a 0x hash of 64 hex digits"
        )
    settings = _settings()
    secret = load_key(key)
    w3, deployment = _chain(settings)
    sender = TransactionSender(
        w3, Account.from_key(secret), receipt_timeout_s=settings.ledger.receipt_timeout_s
    )
    receipt = revoke_credential(
        registry=CredentialRegistryClient(sender, deployment),
        vc_or_hash=target,
        reason=reason,
        store=_store(settings),
    )
    digest = target if isinstance(target, str) else _hex(credential_hash(target))
    if json_output:
        _print_json(
            {
                "credentialHash": digest,
                "revoked": True,
                "reason": reason,
                "transaction": receipt.tx_hash,
                "blockNumber": receipt.block_number,
            }
        )
        return
    _line(f"revoked   {digest}")
    _line(f"reason    {reason}")
    _line(f"in        transaction {receipt.tx_hash} (block {receipt.block_number})")


@credential_app.command("commission")
@clear_errors
def commission_asset(
    link: Annotated[
        str,
        typer.Argument(metavar="URI", help="The lot's or serialized item's GS1 Digital Link URI"),
    ],
    keystore_dir: Annotated[
        Path,
        typer.Option(help="Where the asset's encrypted key is kept (created if missing)"),
    ],
    json_output: JsonOption = False,
) -> None:
    """Commission a lot or serialized item: create it on chain, mint its did:key and bind the
    DID to it for good.

    Signed with PROVENANCE_PRIVATE_KEY (an OPERATOR's). The asset's key is kept encrypted
    under --keystore-dir (passphrase from PROVENANCE_KEYSTORE_PASSPHRASE), e.g. for its tag
    to sign with later; nothing is left there when the chain refuses.
    """
    from credentials.assets import commission
    from credentials.registry import CredentialRegistryClient
    from ledger_client.identifiers import DigitalLink
    from ledger_client.keys import private_folder
    from ledger_client.ledger import LedgerWriter

    parsed = DigitalLink.parse(link)
    if keystore_dir.exists() and not keystore_dir.is_dir():
        raise ConfigurationError(f"--keystore-dir {keystore_dir} is a file, not a directory")
    sender, deployment = _organization_sender(_settings())
    private_folder(keystore_dir)
    asset = commission(
        writer=LedgerWriter(sender, deployment),
        registry=CredentialRegistryClient(sender, deployment),
        link=parsed,
        keystore_dir=keystore_dir,
    )
    if json_output:
        _print_json(
            {
                "uri": asset.uri,
                "batchId": _hex(asset.batch_id),
                "did": asset.did,
                "keystore": str(asset.keystore),
            }
        )
        return
    _line(f"commissioned {asset.uri}")
    _line(f"batch id     {_hex(asset.batch_id)}")
    _line(f"did          {asset.did}")
    _line(f"keystore     {asset.keystore} (encrypted)")


@credential_app.command("trust")
@clear_errors
def trust(
    issuer: Annotated[
        str, typer.Argument(help="The issuer: its 0x account address or its did:pkh")
    ],
    type_name: Annotated[
        str,
        typer.Argument(metavar="TYPE", help="The credential type (a wrong one lists all)"),
    ],
    remove: Annotated[
        bool, typer.Option("--remove", help="Take the issuer off the list instead")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Put an issuer on the trust list of one credential type from now on, or take it off.

    The governor's act, signed with PROVENANCE_PRIVATE_KEY. Only a listed issuer anchors
    credentials of the type; the list keeps its history, and a credential is judged by the
    list as it stood when it was anchored.
    """
    from credentials.registry import CredentialRegistryClient
    from credentials.types import credential_type

    kind = credential_type(type_name)
    sender, deployment = _organization_sender(_settings())
    address = _issuer_address(issuer, chain_id=deployment.chain_id)
    receipt = CredentialRegistryClient(sender, deployment).set_trusted(
        address, kind.value, not remove
    )
    if json_output:
        _print_json(
            {
                "issuer": address,
                "type": kind.value,
                "trusted": not remove,
                "transaction": receipt.tx_hash,
                "blockNumber": receipt.block_number,
            }
        )
        return
    _line(f"{'untrusted' if remove else 'trusted':<9} {address} for {kind.value}")
    _line(f"in        transaction {receipt.tx_hash} (block {receipt.block_number})")


@credential_app.command("list")
@clear_errors
def list_credentials(
    subject: Annotated[str | None, typer.Option(help="Only credentials about this DID")] = None,
    type_name: Annotated[
        str | None, typer.Option("--type", help="Only credentials of this type")
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """The credentials in the credential store, oldest issued first.

    Listed, not verified: use `credential verify`.
    """
    from credentials.issue import credential_hash
    from credentials.types import credential_type

    kind = credential_type(type_name) if type_name is not None else None
    store = _store(_settings())
    if subject is not None:
        found = store.of_subject(subject)
    elif kind is not None:
        found = store.of_type(kind.value)
    else:
        found = store.all()
    if kind is not None:
        found = [vc for vc in found if vc["type"][1] == kind.value]
    rows = [
        {
            "credentialHash": _hex(digest),
            "type": vc["type"][1],
            "issuer": vc["issuer"],
            "subject": vc["credentialSubject"]["id"],
            "issuanceDate": vc["issuanceDate"],
            "expirationDate": vc.get("expirationDate"),
            "anchorTransaction": store.anchor_tx(digest),
            "credential": vc,
        }
        for vc in found
        for digest in (credential_hash(vc),)
    ]
    if json_output:
        _print_json(rows)
        return
    table = Table(title=f"{len(rows)} credential{'s' if len(rows) != 1 else ''} in the store")
    table.add_column("hash", no_wrap=True)
    for column in ("type", "subject", "issuer", "issued", "expires"):
        table.add_column(column, overflow="fold")
    for row in rows:
        # Text cells: a DID is neither markup nor an emoji code (":key:").
        table.add_row(
            *(
                Text(cell)
                for cell in (
                    row["credentialHash"][:12] + "…",
                    row["type"],
                    _abbreviated(row["subject"]),
                    _abbreviated(row["issuer"]),
                    row["issuanceDate"],
                    row["expirationDate"] or "—",
                )
            )
        )
    console.print(table)


# -- shared ---------------------------------------------------------------------------------


def _settings() -> BridgeSettings:
    """The bridge's settings (they hold the ledger's and the credential database's)."""
    from oracle_bridge.config import BridgeSettings, settings_problem

    try:
        return BridgeSettings()
    except ValidationError as exc:
        raise ConfigurationError(settings_problem(exc)) from None


def _issuer_address(issuer: str, *, chain_id: int) -> str:
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


def _chain(settings: BridgeSettings) -> tuple[Web3, Deployment]:
    from ledger_client.chain import connect
    from ledger_client.deployment import Deployment

    ledger = settings.ledger
    w3 = connect(ledger.rpc_url, timeout_s=ledger.rpc_timeout_s)
    deployment = Deployment.load(ledger.deployment_path)
    deployment.check_chain(w3)
    return w3, deployment


def _organization_sender(settings: BridgeSettings) -> tuple[TransactionSender, Deployment]:
    """A sender for the organization's own account (PROVENANCE_PRIVATE_KEY; anvil's public
    keys refused unless the node is anvil), and the deployment it writes to."""
    from eth_account import Account

    from ledger_client.chain import node_is_anvil
    from ledger_client.transactions import TransactionSender

    w3, deployment = _chain(settings)
    settings.ledger.require_real_key(local_anvil=node_is_anvil(w3))
    sender = TransactionSender(
        w3,
        Account.from_key(settings.ledger.private_key.get_secret_value()),
        receipt_timeout_s=settings.ledger.receipt_timeout_s,
    )
    return sender, deployment


def _store(settings: BridgeSettings) -> CredentialStore:
    from credentials.store import CredentialStore, create_credential_tables
    from ledger_client.indexer.database import make_engine

    engine = make_engine(settings.resolved_credential_database_url)
    create_credential_tables(engine)
    return CredentialStore(engine)


def _shipment_claims(kind: CredentialType, lot: str, settings: BridgeSettings) -> dict[str, Any]:
    """The claims of a ColdChainComplianceCredential about `lot`, from the bridge database."""
    from credentials.types import CredentialType
    from ledger_client.identifiers import DigitalLink
    from ledger_client.indexer.database import make_engine
    from oracle_bridge.shipment import compliance_claims, shipment_summary
    from oracle_bridge.store import create_bridge_tables

    if kind is not CredentialType.COLD_CHAIN_COMPLIANCE:
        raise ConfigurationError(
            f"--shipment gives the claims of a {CredentialType.COLD_CHAIN_COMPLIANCE.value}, "
            f"not of a {kind.value}: pass --claims FILE"
        )
    engine = make_engine(settings.resolved_database_url)
    try:
        create_bridge_tables(engine)  # a bridge that never ran: no readings, said clearly
        return compliance_claims(shipment_summary(engine, DigitalLink.parse(lot)))
    finally:
        engine.dispose()


def _expiry(text: str) -> datetime:
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


def _json_file(path: Path, error: type[CredentialError], *, what: str) -> Any:
    from ledger_client.json_input import loads

    try:
        return loads(path.read_bytes())
    except OSError as exc:
        raise error(f"cannot read the {what} file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise error(f"the {what} file {path} is not JSON: {exc}") from None


def _json_object(path: Path, error: type[CredentialError], *, what: str) -> dict[str, Any]:
    found = _json_file(path, error, what=what)
    if not isinstance(found, dict):
        raise error(f"the {what} file {path} holds a JSON {type(found).__name__}, not an object")
    return found


def _abbreviated(did: str) -> str:
    """A DID shortened for a table: its method, the start and the end of its identifier."""
    method, _, identifier = did.rpartition(":")
    if len(identifier) <= 14:
        return did
    return f"{method}:{identifier[:6]}…{identifier[-4:]}"


def _hex(digest: bytes) -> str:
    return "0x" + digest.hex()


def _print_json(document: object) -> None:
    typer.echo(json.dumps(document, indent=2))


def _line(text: str) -> None:
    console.print(Text(text), highlight=False, soft_wrap=True)


def _note(text: str) -> None:
    errors.print(Text(text), highlight=False, soft_wrap=True)
