"""The credentials about a lot as its page shows them, each with its live status.

Each credential is verified in full (`CredentialVerifier`), and the verdicts are kept while
the registry's statuses of exactly these credentials — read on every view, one `eth_call` —
are unchanged, none of them has reached its expirationDate since, and for at most the
answers' recheck time. A revocation, a suspension (a quarantine of the lot suspends its
FitForUse in the same transaction) or an expiry therefore shows on the next view.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.scan.answers import ScanAnswers
from credentials.registry import CredentialRegistryView
from credentials.report import live_status
from credentials.store import CredentialStore
from credentials.types import parse_instant
from credentials.verify import CredentialVerifier
from ledger_client.chain import CHAIN_UNREACHABLE


@dataclass(frozen=True)
class ScanCredential:
    """A credential about the lot as the page shows it: its type, issuer, date and its
    status read from the chain now (None: the chain did not answer)."""

    type: str
    issuer: str
    issued: str
    status: str | None


@dataclass(frozen=True)
class _Verified:
    credentials: list[ScanCredential]
    # Unix seconds of the earliest expirationDate still ahead when verified (inf: none).
    until: float


class LotCredentials:
    """The credentials the node keeps (`store`) about a lot's DIDs, verified by `verifier`;
    verdicts kept in `answers`; `clock` (Unix seconds) decides expiry."""

    def __init__(
        self,
        store: CredentialStore,
        verifier: CredentialVerifier,
        *,
        answers: ScanAnswers,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._verifier = verifier
        self._registry = CredentialRegistryView(verifier.w3, verifier.deployment)
        self._answers = answers
        self._clock = clock

    def about(self, subjects: Sequence[str]) -> list[ScanCredential]:
        """The credentials about any of `subjects`, oldest issued first, each with its status
        now (None for all when the chain does not answer)."""
        if not subjects:
            return []
        hashes = self._store.hashes_about(subjects)
        if not hashes:
            return []
        try:
            statuses = tuple(self._registry.status_many(hashes))
        except CHAIN_UNREACHABLE:
            return [_shown(vc, None) for vc in self._store.about(subjects)]
        slot, version = ("credentials", tuple(subjects)), (tuple(hashes), statuses)
        kept = self._answers.get(slot, version)
        if kept is not None and self._clock() < kept.value.until:
            return list(kept.value.credentials)
        vcs = self._store.about(subjects)
        try:
            reports = self._verifier.verify_many(vcs)
        except CHAIN_UNREACHABLE:
            return [_shown(vc, None) for vc in vcs]
        shown = [_shown(vc, live_status(r)) for vc, r in zip(vcs, reports, strict=True)]
        self._answers.keep(slot, version, _Verified(shown, _next_expiry(vcs, self._clock())))
        return shown


def _shown(vc: Mapping[str, Any], status: str | None) -> ScanCredential:
    return ScanCredential(vc["type"][-1], vc["issuer"], vc["issuanceDate"], status)


def _next_expiry(vcs: Sequence[Mapping[str, Any]], now: float) -> float:
    """The earliest expirationDate after `now` among `vcs` (Unix seconds), inf when none."""
    ahead = [math.inf]
    for vc in vcs:
        try:
            expires = parse_instant(vc["expirationDate"]).timestamp()
        except (KeyError, TypeError, ValueError):
            continue
        if expires > now:
            ahead.append(expires)
    return min(ahead)
