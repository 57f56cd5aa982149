"""`provenance token …`: the bearer tokens of this API server's users, kept in
PROVENANCE_API_DATABASE_URL (SQLite under the state directory by default)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from ledger_client.terminal import clear_errors, console

if TYPE_CHECKING:
    from api.store.tokens import TokenRecord, TokenStore

token_app = typer.Typer(help="Bearer tokens of this API server's users.", no_args_is_help=True)


def _store() -> TokenStore:
    from api.config import ApiSettings
    from api.store.database import api_engine
    from api.store.tokens import TokenStore

    return TokenStore(api_engine(ApiSettings()))


def _expiry(text: str | None) -> datetime | None:
    from api.errors import TokenError

    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise TokenError(
            f"--expires {text!r} is not an ISO 8601 instant (e.g. 2030-01-01T00:00:00Z)"
        ) from None


def _json(record: TokenRecord) -> dict[str, str | None]:
    return {
        "id": record.id,
        "organization": record.organization,
        "role": record.role.name,
        "state": record.state(datetime.now(UTC)),
        "issued_at": record.issued_at.isoformat(),
        "expires_at": record.expires_at.isoformat() if record.expires_at else None,
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
    }


@token_app.command("issue")
@clear_errors
def token_issue(
    org: Annotated[str, typer.Option("--org", help="The organization's did:pkh DID")],
    role: Annotated[str, typer.Option("--role", help="AUDITOR, OPERATOR or QUALITY")],
    expires: Annotated[
        str | None, typer.Option("--expires", help="ISO 8601 instant with a time zone")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON document: the token and its record")
    ] = False,
) -> None:
    """Issue a token and print it once: only its hash is kept. Refused unless the
    organization is active and holds the role on chain now.

    Example:

    \b
      provenance token issue --org \\
          did:pkh:eip155:31337:0x70997970C51812dc3A010C7d01b50e0d17dc79C8 --role AUDITOR \\
          --expires 2027-06-30T00:00:00Z --json
    """
    from api.errors import TokenError
    from api.principals import chain_standing
    from api.store.tokens import token_role
    from ledger_client.chain import connect
    from ledger_client.config import LedgerSettings
    from ledger_client.deployment import Deployment

    chosen = token_role(role)
    expires_at = _expiry(expires)
    ledger = LedgerSettings()
    w3 = connect(ledger.rpc_url, timeout_s=ledger.rpc_timeout_s)
    deployment = Deployment.load(ledger.deployment_path)
    deployment.check_chain(w3)
    store = _store()
    reason = chain_standing(w3, deployment)(org, chosen)
    if reason is not None:
        raise TokenError(f"no token issued: {reason}")
    issued = store.issue(
        organization=org, role=chosen, chain_id=deployment.chain_id, expires_at=expires_at
    )
    if as_json:
        typer.echo(json.dumps({**_json(issued.record), "token": issued.token}, indent=2))
        return
    console.print(f"token {issued.record.id} for {org} as {chosen.name} (shown once):")
    typer.echo(issued.token)


@token_app.command("list")
@clear_errors
def token_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document")] = False,
) -> None:
    """Every token issued, with its state (active, expired, revoked); never its secret.

    Example:

    \b
      provenance token list --json
    """
    records = _store().all()
    if as_json:
        typer.echo(json.dumps([_json(record) for record in records], indent=2))
        return
    table = Table("id", "organization", "role", "state", "issued", "expires")
    for record in records:
        row = _json(record)
        table.add_row(
            record.id,
            record.organization,
            record.role.name,
            row["state"],
            row["issued_at"],
            row["expires_at"] or "never",
        )
    console.print(table)


@token_app.command("revoke")
@clear_errors
def token_revoke(token_id: Annotated[str, typer.Argument(metavar="ID")]) -> None:
    """Revoke a token for good; requests bearing it are refused at once.

    Example:

    \b
      provenance token revoke 3f9c2a71d0e4b856
    """
    record = _store().revoke(token_id)
    console.print(f"token {record.id} of {record.organization} ({record.role.name}) revoked")
