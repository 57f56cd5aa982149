"""The access trail: who called what on this API, append-only and hash-chained.

Entry n's hash is `sha256(hash of entry n-1 ‖ JCS(entry n's fields))` (RFC 8785 canonical
JSON; entry 1 follows 32 zero bytes), its number among the fields, so an entry edited,
deleted or moved breaks the chain from there on. The head (the last hash and the number of
entries) is anchored on chain (`AccessTrail.sol`), so even a trail rewritten consistently
after an anchor is caught. `verify_trail` recomputes the chain and checks the anchors;
`TrailRecorder` is the ASGI middleware that appends an entry for every authenticated request
once its status is known, before the response leaves (`api.trail_commit` batches them).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.principals import Principal
from ledger_client.epcis.canonical import canonicalize

_log = logging.getLogger(__name__)

GENESIS = "00" * 32
# Kept as sent up to this many characters: the trail records calls, not payloads.
MAX_PATH_CHARS = 2_048
MAX_QUERY_CHARS = 4_096


@dataclass(frozen=True)
class TrailEntry:
    """One authenticated request: who (principal id, organization DID, role), what (method,
    path, query), its status and when it arrived (ISO 8601 UTC, microseconds)."""

    seq: int
    at: str
    principal: str
    organization: str
    role: str
    method: str
    path: str
    query: str
    status: int

    def hash_after(self, previous: str) -> str:
        """This entry's hash following the entry whose hash is `previous` (hex)."""
        fields: dict[str, Any] = asdict(self)
        return hashlib.sha256(bytes.fromhex(previous) + canonicalize(fields)).hexdigest()


@dataclass(frozen=True)
class ChainedEntry:
    """An entry as stored: its fields, the previous entry's hash and its own."""

    entry: TrailEntry
    previous: str
    hash: str


@dataclass(frozen=True)
class TrailHead:
    """The last entry's hash and the number of entries (GENESIS and 0 for an empty trail)."""

    hash: str
    count: int


@dataclass(frozen=True)
class AnchoredHead:
    """A head anchored on chain, and where."""

    hash: str
    count: int
    block: int
    tx: str


@dataclass(frozen=True)
class TrailVerdict:
    """What `verify_trail` found: `problem` is None when the trail is intact; else
    `bad_entry` is the number of the first entry it is wrong about."""

    entries: int
    anchors: int
    problem: str | None = None
    bad_entry: int | None = None

    @property
    def intact(self) -> bool:
        return self.problem is None


def verify_trail(entries: Iterable[ChainedEntry], anchors: Sequence[AnchoredHead]) -> TrailVerdict:
    """Recompute the chain of `entries` (in order of number) and compare it with the
    `anchors`; the verdict names the first entry found wrong."""
    anchored = {anchor.count: anchor for anchor in anchors}
    previous, count = GENESIS, 0
    for stored in entries:
        expected = count + 1
        seq = stored.entry.seq
        if seq != expected:
            what = "deleted" if seq > expected else "duplicated or reordered"
            return _bad(
                count, anchors, expected, f"entry {expected} is missing (found {seq}): {what}"
            )
        if stored.previous != previous:
            after = f"follow entry {seq - 1}" if seq > 1 else "start the trail"
            return _bad(
                count,
                anchors,
                seq,
                f"entry {seq} does not {after}: its previous hash differs "
                "(entries deleted, reordered or replaced)",
            )
        recomputed = stored.entry.hash_after(previous)
        if recomputed != stored.hash:
            return _bad(
                count, anchors, seq, f"entry {seq} was edited: its hash does not match its fields"
            )
        anchor = anchored.get(seq)
        if anchor is not None and anchor.hash != recomputed:
            return _bad(
                count,
                anchors,
                seq,
                f"entry {seq} differs from the head anchored in block {anchor.block} "
                f"(tx {anchor.tx}): the trail up to it was rewritten",
            )
        previous, count = recomputed, seq
    beyond = [anchor for anchor in anchors if anchor.count > count]
    if beyond:
        longest = max(beyond, key=lambda anchor: anchor.count)
        return _bad(
            count,
            anchors,
            count + 1,
            f"the trail holds {count} entries but {longest.count} were anchored in block "
            f"{longest.block}: entries {count + 1}… were deleted",
        )
    return TrailVerdict(entries=count, anchors=len(anchors))


def _bad(count: int, anchors: Sequence[AnchoredHead], seq: int, problem: str) -> TrailVerdict:
    return TrailVerdict(entries=count, anchors=len(anchors), problem=problem, bad_entry=seq)


def instant(moment: datetime) -> str:
    """`moment` as the trail writes instants: ISO 8601 UTC with microseconds and `Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class TrailWriter(Protocol):
    """Appends entries for the event loop (`api.trail_commit.GroupCommit`)."""

    async def append(self, entry: TrailEntry) -> ChainedEntry:
        """`entry` (its `seq` assigned by the log) chained, once committed."""
        ...


class TrailRecorder:
    """ASGI middleware: every request that a route authenticated (a `Principal` left on
    `request.state.principal`) is appended to `log` once its status is known and before
    its response is sent; a request whose entry cannot be written is answered 503 instead,
    so nothing is served unrecorded."""

    def __init__(self, app: ASGIApp, *, log: TrailWriter) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        arrived = instant(datetime.now(UTC))
        recorded = False
        refused = False

        async def record(status: int) -> bool:
            nonlocal recorded
            principal = state.get("principal")
            if recorded or not isinstance(principal, Principal):
                return True
            recorded = True
            entry = _entry(scope, principal, status=status, at=arrived)
            try:
                await self.log.append(entry)
            except Exception:
                _log.exception("the access trail refused an entry; answering 503")
                return False
            return True

        async def send_recorded(message: Message) -> None:
            nonlocal refused
            if refused:
                return
            if message["type"] == "http.response.start" and not await record(message["status"]):
                refused = True
                await _unavailable(send)
                return
            await send(message)

        try:
            await self.app(scope, receive, send_recorded)
        except Exception:
            await record(500)  # an error no handler answered: still on the record
            raise


def _entry(scope: Scope, principal: Principal, *, status: int, at: str) -> TrailEntry:
    return TrailEntry(
        seq=0,
        at=at,
        principal=principal.id,
        organization=principal.organization,
        role=principal.role.name,
        method=scope["method"],
        path=scope["path"][:MAX_PATH_CHARS],
        query=scope.get("query_string", b"").decode("latin-1")[:MAX_QUERY_CHARS],
        status=status,
    )


async def _unavailable(send: Send) -> None:
    body = b'{"detail":"the access trail cannot be written; retry shortly"}'
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"5"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
