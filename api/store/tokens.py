"""Bearer tokens of an API server's users, at rest as hashes only, on SQLite or PostgreSQL.

A token reads `plt_{id}_{secret}`: `id` (16 hex digits) names it in `token list`, `token
revoke` and the access trail; `secret` is 256 random bits, shown once when it is issued. The
store keeps the SHA-256 of the whole token — a 256-bit secret needs no slow hash — and
compares it in constant time. Whether a stored token is honoured also depends on the chain
(its organization active, holding its role): `api.principals` asks that.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import DateTime, Engine
from sqlmodel import Field, Session, SQLModel, col, select

from api.errors import TokenError
from credentials.errors import UnsupportedDid
from credentials.identities import pkh_account
from ledger_client.db import for_writing
from ledger_client.roles import Role

# The roles a user of a member's API server holds; governance is done with keys, not here.
TOKEN_ROLES = (Role.AUDITOR, Role.OPERATOR, Role.QUALITY)
TOKEN_PREFIX = "plt_"
_TOKEN = re.compile(r"plt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
DID_LENGTH = 200


class ApiToken(SQLModel, table=True):
    """One issued token: who it speaks for, until when, and the hash of its text."""

    __tablename__ = "api_token"

    id: str = Field(primary_key=True, max_length=16)
    token_hash: str = Field(max_length=64)
    organization: str = Field(max_length=DID_LENGTH)
    role: str = Field(max_length=32)
    # With their zone, so PostgreSQL never reads them in its session's time zone.
    issued_at: datetime = Field(sa_type=DateTime(timezone=True))
    expires_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


TOKEN_TABLES = [SQLModel.metadata.tables[ApiToken.__tablename__]]


def create_token_tables(engine: Engine) -> None:
    """Create the token table if it does not exist yet."""
    SQLModel.metadata.create_all(engine, tables=TOKEN_TABLES)


@dataclass(frozen=True)
class TokenRecord:
    """A stored token as `token list` shows it (never its hash)."""

    id: str
    organization: str
    role: Role
    issued_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        """`active`, `expired` or `revoked` at `now` (the chain is not asked)."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class IssuedToken:
    """A token just issued: `token` is its text, which is never shown or stored again."""

    token: str
    record: TokenRecord


def token_role(name: str) -> Role:
    """The role a token may carry, from `auditor`, `AUDITOR` or `AUDITOR_ROLE`.

    Raises:
        TokenError: not a role, or one tokens do not carry.
    """
    try:
        role = Role.parse(name)
    except ValueError as exc:
        raise TokenError(str(exc)) from None
    if role not in TOKEN_ROLES:
        allowed = ", ".join(r.name for r in TOKEN_ROLES)
        raise TokenError(f"a token carries one of {allowed}, not {role.name}")
    return role


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _utc(instant: datetime | None) -> datetime | None:
    """A stored instant as timezone-aware UTC (SQLite returns them naive)."""
    if instant is None or instant.tzinfo is not None:
        return instant
    return instant.replace(tzinfo=UTC)


def _record(row: ApiToken) -> TokenRecord:
    issued_at = _utc(row.issued_at)
    assert issued_at is not None  # a required column
    return TokenRecord(
        id=row.id,
        organization=row.organization,
        role=Role(row.role),
        issued_at=issued_at,
        expires_at=_utc(row.expires_at),
        revoked_at=_utc(row.revoked_at),
    )


class TokenStore:
    """The tokens in the database behind `engine` (see `create_token_tables`)."""

    def __init__(
        self, engine: Engine, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.engine = engine
        self._clock = clock

    def issue(
        self, *, organization: str, role: Role, chain_id: int, expires_at: datetime | None = None
    ) -> IssuedToken:
        """A new token for `organization` (a did:pkh of chain `chain_id`) acting as `role`.

        Raises:
            TokenError: a role tokens do not carry, an organization DID that names no account
                of this chain, or an expiry that is naive or not in the future; nothing is
                stored.
        """
        token_role(role.value)
        try:
            pkh_account(organization, chain_id=chain_id)
        except UnsupportedDid as exc:
            raise TokenError(f"--org: {exc}") from None
        now = self._clock()
        if expires_at is not None:
            if expires_at.tzinfo is None:
                raise TokenError(
                    "--expires needs a time zone (e.g. 2030-01-01T00:00:00Z), so the instant "
                    "is not read differently on another machine"
                )
            if expires_at <= now:
                raise TokenError(f"--expires {expires_at.isoformat()} is not in the future")
        token_id = secrets.token_hex(8)
        token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        row = ApiToken(
            id=token_id,
            token_hash=_hash(token),
            organization=organization,
            role=role.value,
            issued_at=now,
            expires_at=expires_at,
        )
        with _writing(self.engine) as session:
            session.add(row)
        return IssuedToken(token, _record(row))

    def all(self) -> list[TokenRecord]:
        """Every token ever issued, oldest first."""
        query = select(ApiToken).order_by(col(ApiToken.issued_at), col(ApiToken.id))
        with Session(self.engine) as session:
            return [_record(row) for row in session.exec(query)]

    def revoke(self, token_id: str) -> TokenRecord:
        """Revoke the token named `token_id`, for good.

        Raises:
            TokenError: no such token, or it is revoked already; nothing changes.
        """
        with _writing(self.engine) as session:
            row = session.get(ApiToken, token_id)
            if row is None:
                raise TokenError(f"no token {token_id!r}: `provenance token list` shows them")
            if row.revoked_at is not None:
                raise TokenError(f"token {token_id} was revoked already, at {row.revoked_at}")
            row.revoked_at = self._clock()
            session.add(row)
        return _record(row)

    def find(self, token: str) -> TokenRecord | None:
        """The stored token whose text is `token`, revoked and expired ones included; None
        for text that is no token of this store."""
        parsed = _TOKEN.fullmatch(token)
        if parsed is None:
            return None
        with Session(self.engine) as session:
            row = session.get(ApiToken, parsed.group(1))
        if row is None or not hmac.compare_digest(row.token_hash, _hash(token)):
            return None
        return _record(row)


@contextmanager
def _writing(engine: Engine) -> Iterator[Session]:
    """One write transaction (SQLite: `BEGIN IMMEDIATE`), committed when the block ends."""
    with Session(for_writing(engine), expire_on_commit=False) as session, session.begin():
        yield session
