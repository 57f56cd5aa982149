"""The story `provenance demo` tells on a running embedded node (issue 17), and what it keeps
of it: `Story` holds the node's clients and tells the chapters (`chapters.CHAPTERS`) in order,
recording each outcome as a `Check` for the self-check.

EPCIS documents go through `POST /api/v1/capture`, readings through MQTT (or HTTP), queries
and quality's acknowledgement through the API with each organization's own token. What a
member does on chain outside the API (the governor's enrolments, device registration,
credential issuance) goes through the same clients the CLI commands use.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import Progress
from sqlalchemy import Engine
from web3 import Web3

from credentials.store import CredentialStore
from ledger_client.deployment import Deployment
from ledger_client.identifiers import DigitalLink, InvalidIdentifier
from ledger_client.ledger import LedgerWriter
from ledger_client.transactions import TransactionSender
from oracle_bridge.device import DeviceKey
from provenance.demo.cast import MANUFACTURER, Organization, RunLots
from provenance.demo.client import DemoStepFailed, NodeClient, wait_until
from provenance.embedded import mined_at_once


@dataclass(frozen=True)
class Check:
    """One outcome the story promises, and whether it came out so."""

    what: str
    passed: bool
    detail: str = ""


@dataclass
class Logger:
    name: str
    key: DeviceKey
    lot: DigitalLink
    calibrated: bool


@dataclass
class StoryRecord:
    """What the story did and saw, for the summary and the self-check."""

    lots: RunLots
    first_block: int
    transport: str = "HTTP"
    checks: list[Check] = field(default_factory=list)
    asset_dids: dict[str, str] = field(default_factory=dict)
    loggers: list[Logger] = field(default_factory=list)

    def check(self, what: str, passed: bool, detail: str = "") -> bool:
        self.checks.append(Check(what, bool(passed), detail))
        return bool(passed)


@dataclass
class Node:
    """The running node as the story needs it: where it answers, its chain, its stores."""

    base_url: str
    w3: Web3
    deployment: Deployment
    tokens: dict[str, str]
    credential_store: CredentialStore
    bridge_engine: Engine
    mqtt: tuple[str, int, str] | None  # host, port, topic prefix; None: HTTP ingress only
    state_dir: Path


def next_run(w3: Web3, deployment: Deployment) -> RunLots:
    """The first run whose lots the chain does not know yet: a second demo on the same chain
    tells the story again with lot numbers of its own."""
    view = LedgerWriter(TransactionSender(w3, MANUFACTURER.account), deployment)
    run = 1
    while view.batch(RunLots(run).lot_a.batch_id).created_at:
        run += 1
    return RunLots(run)


class Story:
    """Tells the story on `node`, printing each step to `console`."""

    def __init__(self, node: Node, console: Console, *, stopping: Callable[[], bool]) -> None:
        self.node = node
        self.console = console
        self.stopping = stopping
        self.w3 = node.w3
        self.deployment = node.deployment
        self.chain_id = node.deployment.chain_id
        self.api = {name: NodeClient(node.base_url, token) for name, token in node.tokens.items()}
        self.record = StoryRecord(
            next_run(self.w3, self.deployment),
            self.w3.eth.block_number,
            transport="HTTP" if node.mqtt is None else "MQTT",
        )
        self.progress: Progress | None = None

    # -- how steps are told --------------------------------------------------------------

    def step(self, message: str) -> None:
        # No emoji codes: a "did:key:…" would print a key emoji.
        self.console.print(f"  [green]✓[/green] {message}", highlight=False, emoji=False)

    def chapter(self, title: str) -> None:
        if self.stopping():
            raise DemoStepFailed("the node stopped before the story's end")
        self.console.rule(f"[bold]{title}", align="left", style="cyan")

    def sender(self, organization: Organization) -> TransactionSender:
        return TransactionSender(self.w3, organization.account)

    @contextmanager
    def at_once(self) -> Iterator[None]:
        """Set-up transactions mined as they arrive, as `provenance serve` mines its own
        set-up; everything through the node runs at the chain's 1 s blocks."""
        with mined_at_once(self.w3):
            yield

    def tell(self, chapters: Sequence[Callable[[Story], None]]) -> StoryRecord:
        """Each of `chapters` in turn; one that fails raises `DemoStepFailed`, after
        recording what had come out so far in `self.record`."""
        lots = self.record.lots
        self.console.print(
            f"Run {lots.run} of the story on this chain: lots {lots.lot_a.value}, "
            f"{lots.lot_b.value} and {lots.vials.value}",
            highlight=False,
        )
        overall = None
        if self.progress is not None:
            overall = self.progress.add_task("the story", total=len(chapters))
        for chapter in chapters:
            chapter(self)
            if self.progress is not None and overall is not None:
                self.progress.advance(overall)
        return self.record

    # -- helpers -------------------------------------------------------------------------

    def capture(
        self, document: dict[str, Any], what: str | None, *, expect: str = "SUCCESS"
    ) -> dict[str, Any]:
        """Capture `document` through the API as the manufacturer; the finished job."""
        job = self.api["operator"].capture(document)
        if job["state"] != expect:
            raise DemoStepFailed(
                f"capture job {job['captureID']} ended {job['state']}, not {expect}: "
                f"{job['errors']}"
            )
        if what is not None:
            count = len(document["epcisBody"]["eventList"])
            self.step(
                f"POST /api/v1/capture ({what}): {count} event{'s' * (count > 1)}, "
                f"job {job['state']}"
            )
        return job

    def batch(self, lot: DigitalLink) -> dict[str, Any] | None:
        try:
            return self.api["auditor"].get(f"/api/v1/batches/{hex_id(lot)}")
        except DemoStepFailed as exc:
            if "answered 404" in str(exc):
                return None
            raise

    def indexed(self, lot: DigitalLink, *, events: int) -> dict[str, Any]:
        """The lot once the read model holds at least `events` of its events."""

        def batch() -> dict[str, Any] | None:
            found = self.batch(lot)
            return found if found is not None and len(found["events"]) >= events else None

        return wait_until(batch, f"lot {lot.value} to be indexed")

    def credentials_of(self, lot: DigitalLink, who: str) -> list[dict[str, Any]]:
        return self.api[who].get("/api/v1/credentials", subject=self.record.asset_dids[lot.value])


def hex_id(lot: DigitalLink) -> str:
    return "0x" + lot.batch_id.hex()


def label(uri: str) -> str:
    """`lot VAX-A-001` for a lot, `SSCC 0950…` for a pallet, else the URI."""
    try:
        return f"lot {DigitalLink.parse(uri).value}"
    except InvalidIdentifier:
        if "/00/" in uri:
            return f"pallet SSCC {uri.rsplit('/', 1)[-1]}"
        return uri


def short(did: str) -> str:
    method, _, identifier = did.rpartition(":")
    return f"{method}:{identifier[:8]}…{identifier[-4:]}"
