"""Commissioning: a lot or serialized item enters the ledger with a DID of its own (DESIGN §3).

The batch is created on chain, a fresh did:key is minted for it, the key is kept in an
encrypted keystore file (so the asset, e.g. its tag, can sign later), and the DID is bound
on chain to the batch id for good, so credentials can name the asset by DID or by URI.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from credentials.identities import mint_asset_did
from credentials.keystore import check_passphrase, keystore_passphrase, store_key
from credentials.registry import CredentialRegistryClient
from ledger_client.errors import ContractRevert
from ledger_client.identifiers import DigitalLink
from ledger_client.ledger import LedgerWriter
from ledger_client.lifecycle import BatchKind


@dataclass(frozen=True)
class CommissionedAsset:
    """A lot or item on the ledger with its bound DID; its key is in `keystore` only."""

    batch_id: bytes
    uri: str
    did: str
    keystore: Path


def commission(
    *,
    writer: LedgerWriter,
    registry: CredentialRegistryClient,
    link: DigitalLink,
    keystore_dir: Path,
    product_class: bytes | None = None,
    passphrase: str | None = None,
) -> CommissionedAsset:
    """Create the lot or serialized item `link` names on chain, mint its did:key, keep the
    key encrypted under `keystore_dir` and bind the DID to the batch id.

    `registry` writes with the writer's account (an OPERATOR: binding requires it): build
    it from the writer's sender. The product class defaults to the link's GTIN; the
    passphrase to `PROVENANCE_KEYSTORE_PASSPHRASE`.

    Raises:
        ValueError: `registry` writes with another account than `writer`.
        PassphraseRefused: the passphrase is missing, a placeholder, too short or too easy
            to guess.
        ContractRevert: the chain refused the batch or the binding (e.g. it exists).
    """
    # One account does both, so the binding is refused only when the lot was (no lot left
    # without its DID); and a refused passphrase stops us before anything is on chain.
    if registry.sender.account.address != writer.sender.account.address:
        raise ValueError(
            "commission with one account: build the registry client from the writer's sender"
        )
    secret = check_passphrase(passphrase if passphrase is not None else keystore_passphrase())
    asset = mint_asset_did()
    keystore = keystore_dir / f"{asset.did.removeprefix('did:key:')}.json"
    # The key is on disk before its DID is anywhere: a bound DID never lacks its key.
    store_key(keystore, asset.private_key, passphrase=secret)
    try:
        batch_id = writer.create_batch(
            link.uri,
            kind=BatchKind.LOT if link.kind == "lot" else BatchKind.ITEM,
            product_class=link.product_class if product_class is None else product_class,
        )
        registry.bind_subject(asset.did, batch_id)
    except ContractRevert:
        # Refused before sending (estimated first): the DID was bound to nothing.
        keystore.unlink(missing_ok=True)
        raise
    return CommissionedAsset(batch_id=batch_id, uri=link.uri, did=asset.did, keystore=keystore)
