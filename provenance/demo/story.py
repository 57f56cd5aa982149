"""The ledger chapter of `provenance demo` and the run that strings the chapters together.

A consortium of a manufacturer, a logistics operator and a quality lab; a vaccine lot
commissioned, packed and shipped; a transformation into a derived lot of vials, which the
carrier takes into custody by accepting the manufacturer's transfer; a quarantine that
refuses shipping but accepts the inspection of the lab the owner authorized, then a release;
a lab that may not destroy the lot and an outsider refused; the read model indexed from chain
logs and one event verified against the chain.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, cast

from eth_account import Account
from eth_account.signers.local import LocalAccount
from rich.console import Console
from rich.table import Table
from sqlmodel import Session, col, select

from ledger_client.anchoring import anchor_document
from ledger_client.chain import connect, rpc
from ledger_client.db import make_engine
from ledger_client.deploy import deploy_contracts
from ledger_client.epcis.canonical import event_hash
from ledger_client.errors import ContractRevert
from ledger_client.identifiers import DigitalLink
from ledger_client.indexer import queries
from ledger_client.indexer.indexer import Indexer
from ledger_client.indexer.read_model import Batch, create_read_model
from ledger_client.keys import ANVIL_DEV_KEYS
from ledger_client.ledger import BatchKind, EventKind, LedgerWriter
from ledger_client.local_chain import running_anvil
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender
from provenance.demo import events as demo_events

# anvil's public development keys: a demo on a throw-away anvil only.
DEMO_KEYS = {
    "governor": ANVIL_DEV_KEYS[0],
    "manufacturer": ANVIL_DEV_KEYS[1],
    "logistics": ANVIL_DEV_KEYS[2],
    "quality": ANVIL_DEV_KEYS[3],
    "outsider": ANVIL_DEV_KEYS[5],
}
ORGANIZATIONS = {
    "manufacturer": ("Nordvax Biologics", [Role.OPERATOR]),
    "logistics": ("ColdLine Logistics", [Role.OPERATOR]),
    "quality": ("Meridian Quality Lab", [Role.QUALITY, Role.QUARANTINE]),
}
# GS1's example company prefix, Nordvax's here: every demo lot's GTIN is under it.
NORDVAX_PREFIX = "9506000"
BULK_LOT = DigitalLink.lot("09506000134352", "VAX-2026-11A")
VIAL_LOT = DigitalLink.lot("09506000134376", "VIAL-2026-11A")


DemoChapter = Callable[..., None]


def run_demo(state_dir: Path, console: Console, *, chapters: Sequence[DemoChapter] = ()) -> None:
    """The ledger story, then each of `chapters` on the same chain (keyword arguments
    w3, deployment, accounts, demo_dir, step), then the read model's summary."""
    demo_dir = state_dir / "demo"
    shutil.rmtree(demo_dir, ignore_errors=True)
    demo_dir.mkdir(parents=True)
    step = _stepper(console)

    with running_anvil(log_path=demo_dir / "anvil.log") as chain:
        w3 = connect(chain.rpc_url)
        step(f"local anvil at {chain.rpc_url} (chain id {w3.eth.chain_id})")
        accounts = {name: Account.from_key(key) for name, key in DEMO_KEYS.items()}
        deployment = deploy_contracts(w3, governor_key=DEMO_KEYS["governor"])
        deployment.save(demo_dir / "deployment.json")
        step(
            f"deployed Membership {deployment.addresses['Membership']}, "
            f"ProvenanceLedger {deployment.addresses['ProvenanceLedger']}"
        )

        def writer(name: str) -> LedgerWriter:
            return LedgerWriter(TransactionSender(w3, accounts[name]), deployment)

        governor = MembershipClient(TransactionSender(w3, accounts["governor"]), deployment)
        for name, (org_name, roles) in ORGANIZATIONS.items():
            address = accounts[name].address
            governor.register_organization(
                address, did=f"did:pkh:eip155:{w3.eth.chain_id}:{address}", name=org_name
            )
            for role in roles:
                governor.grant_role(role, address)
            step(f"consortium member {org_name}: {', '.join(r.name for r in roles)}")

        writer("governor").assign_prefix(NORDVAX_PREFIX, accounts["manufacturer"].address)
        step(f"GS1 company prefix {NORDVAX_PREFIX} assigned to Nordvax Biologics")
        _expect_refusal(
            step,
            "ColdLine Logistics creating a lot of Nordvax's GTIN first",
            lambda: writer("logistics").create_batch(BULK_LOT.uri),
        )

        manufacturer = writer("manufacturer")
        manufacturer.create_batch(BULK_LOT.uri, product_class=BULK_LOT.product_class)
        anchored = anchor_document(
            manufacturer, demo_events.lot_lifecycle(BULK_LOT), batch_id=BULK_LOT.batch_id
        )
        step(
            f"lot {BULK_LOT.uri}: {anchored.event_count} EPCIS events anchored "
            f"({anchored.gas_used:,} gas)"
        )

        manufacturer.create_batch(
            VIAL_LOT.uri,
            product_class=VIAL_LOT.product_class,
            kind=BatchKind.LOT,
            parents=[BULK_LOT.batch_id],
        )
        anchor_document(
            manufacturer,
            demo_events.transformation(BULK_LOT, VIAL_LOT),
            batch_id=VIAL_LOT.batch_id,
        )
        step(f"transformation into derived lot {VIAL_LOT.uri}")

        logistics = writer("logistics")
        manufacturer.offer_custody(VIAL_LOT.batch_id, accounts["logistics"].address)
        logistics.accept_custody(VIAL_LOT.batch_id)
        step(
            "ColdLine Logistics took custody of the vial lot by accepting the manufacturer's "
            "transfer (the manufacturer stays its owner)"
        )

        quality = writer("quality")
        quality.quarantine(VIAL_LOT.batch_id, "temperature excursion reported in transit")
        step("quality lab quarantined the vial lot")
        _expect_refusal(
            step,
            "shipping the quarantined lot",
            lambda: anchor_document(
                logistics, demo_events.lot_lifecycle(VIAL_LOT), batch_id=VIAL_LOT.batch_id
            ),
        )
        lab = quality_operator(w3, deployment, governor, accounts["quality"])
        manufacturer.authorize_writer(VIAL_LOT.batch_id, accounts["quality"].address)
        step("the manufacturer authorized the quality lab to record on the vial lot")
        anchor_document(lab, demo_events.inspection(VIAL_LOT), batch_id=VIAL_LOT.batch_id)
        step("inspection event accepted while quarantined")
        _expect_refusal(
            step,
            "the lab destroying a lot it neither owns nor holds",
            lambda: lab.record_events(
                VIAL_LOT.batch_id, [(EventKind.DESTRUCTION, b'{"bizStep":"destroying"}')]
            ),
        )
        quality.release(VIAL_LOT.batch_id, "inspection passed")
        step("quality lab released the vial lot")
        _expect_refusal(
            step,
            "an outsider creating a lot",
            lambda: writer("outsider").create_batch(DigitalLink.lot("09506000134352", "X").uri),
        )

        for chapter in chapters:
            chapter(w3=w3, deployment=deployment, accounts=accounts, demo_dir=demo_dir, step=step)

        engine = make_engine(f"sqlite:///{demo_dir / 'read_model.db'}")
        create_read_model(engine)
        progress = Indexer(w3, deployment, engine).run_once()
        step(
            f"indexed {progress.logs} logs up to block {progress.checkpoint} "
            f"into {demo_dir / 'read_model.db'}"
        )

        with Session(engine) as session:
            console.print(_batches_table(session))
            history = queries.batch_history(session, batch_id=BULK_LOT.batch_id)
            assert history is not None
            first = history.events[0]
            assert first.payload is not None
            on_chain = _payload_hash_on_chain(w3, first.tx_hash, first.log_index)
            recomputed = "0x" + event_hash(first.payload.encode()).hex()
            verdict = "[green]matches[/green]" if on_chain == recomputed else "[red]DIFFERS[/red]"
            step(
                f"event 0 of {BULK_LOT.value}: keccak256(payload) {recomputed[:18]}… {verdict} "
                f"the hash emitted in tx {first.tx_hash[:18]}…"
            )
            summary = queries.summary(session)
            step(
                f"read model: {summary.batches} batches, {summary.events} events, "
                f"{summary.status_changes} status changes, {summary.organizations} organizations"
            )


def quality_operator(
    w3, deployment, governor: MembershipClient, quality: LocalAccount
) -> LedgerWriter:
    """The lab records its inspection as an operator: grant it the role on first use."""
    if not governor.has_role(Role.OPERATOR, quality.address):
        governor.grant_role(Role.OPERATOR, quality.address)
    return LedgerWriter(TransactionSender(w3, quality), deployment)


def _stepper(console: Console) -> Callable[[str], None]:
    def step(message: str) -> None:
        # No emoji codes: a "did:key:…" would print a key emoji.
        console.print(f"[bold green]✓[/bold green] {message}", highlight=False, emoji=False)

    return step


def _expect_refusal(step: Callable[[str], None], what: str, action: Callable[[], object]) -> None:
    try:
        action()
    except ContractRevert as refusal:
        step(f"refused as it should be — {what}: [yellow]{refusal}[/yellow]")
    else:
        raise AssertionError(f"{what} was accepted")


def _payload_hash_on_chain(w3, tx_hash: str, log_index: int) -> str:
    receipt = cast(dict[str, Any], rpc(w3, "eth_getTransactionReceipt", [tx_hash]))
    log = next(entry for entry in receipt["logs"] if int(entry["logIndex"], 16) == log_index)
    return log["topics"][2]


def _batches_table(session: Session) -> Table:
    table = Table(title="Batches on the ledger (from the read model)")
    for column in ("GTIN", "lot", "status", "events", "made from"):
        table.add_column(column)
    for batch in session.exec(select(Batch).order_by(col(Batch.block_number))):
        link = DigitalLink.parse(batch.uri)
        history = queries.batch_history(session, batch_id=batch.batch_id)
        assert history is not None
        parents = []
        for parent_id in history.parents:
            parent = queries.batch_history(session, batch_id=parent_id)
            assert parent is not None
            parents.append(parent.batch.uri.rsplit("/", 1)[-1])
        table.add_row(
            link.gtin,
            link.value,
            history.status,
            str(len(history.events)),
            ", ".join(parents) or "—",
        )
    return table
