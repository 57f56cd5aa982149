"""Commissioning against a real anvil: the lot, its did:key, the key at rest, the binding."""

from __future__ import annotations

import logging
import stat

import pytest

from credentials import assets
from credentials.assets import CommissionedAsset
from credentials.errors import PassphraseRefused
from credentials.identities import asset_signer
from credentials.keystore import PASSPHRASE_VARIABLE, load_key
from credentials.registry import CredentialRegistryClient
from ledger_client.errors import ContractRevert
from ledger_client.identifiers import DigitalLink
from ledger_client.lifecycle import BatchKind, BatchStatus
from tests.factories import Consortium

pytestmark = pytest.mark.integration

PASSPHRASE = "cold chain keys at rest 2026"
GTIN = "09506000134352"


def registry_of(consortium: Consortium, account=None) -> CredentialRegistryClient:
    return CredentialRegistryClient(
        consortium.sender(account or consortium.operator), consortium.deployment
    )


def commission(
    consortium: Consortium,
    link: DigitalLink,
    keystore_dir,
    *,
    passphrase: str | None = PASSPHRASE,
    **options,
):
    """`assets.commission` by the operator under the test passphrase; `passphrase=None`
    leaves the argument out, so commission reads PASSPHRASE_VARIABLE itself."""
    if passphrase is not None:
        options["passphrase"] = passphrase
    return assets.commission(
        writer=consortium.writer(),
        link=link,
        keystore_dir=keystore_dir,
        **({"registry": registry_of(consortium)} | options),
    )


def test_a_commissioned_lot_is_on_chain_with_its_did_bound_and_its_key_encrypted(
    consortium, tmp_path
):
    link = DigitalLink.lot(GTIN, "COMM-1")

    asset = commission(consortium, link, tmp_path / "keys")

    assert asset == CommissionedAsset(
        batch_id=link.batch_id, uri=link.uri, did=asset.did, keystore=asset.keystore
    )
    assert asset.did.startswith("did:key:zQ3s")  # secp256k1 did:key
    state = consortium.writer().batch(link.batch_id)
    assert (state.kind, state.status) == (BatchKind.LOT, BatchStatus.ACTIVE)
    assert state.product_class == link.product_class
    binding = registry_of(consortium, consortium.outsider).bound_entity(asset.did)
    assert binding is not None
    assert binding.entity_id == link.batch_id
    assert binding.bound_by == consortium.operator.address
    assert asset.keystore.parent == tmp_path / "keys"
    assert stat.S_IMODE(asset.keystore.stat().st_mode) == 0o600
    assert asset_signer(load_key(asset.keystore, passphrase=PASSPHRASE)).did == asset.did


def test_a_serialized_item_is_commissioned_the_same_way(consortium, tmp_path):
    link = DigitalLink.item(GTIN, "SN-COMM-1")

    asset = commission(consortium, link, tmp_path)

    assert consortium.writer().batch(link.batch_id).kind is BatchKind.ITEM
    assert registry_of(consortium).bound_entity(asset.did).entity_id == link.batch_id


def test_a_second_binding_of_the_did_is_refused(consortium, tmp_path):
    asset = commission(consortium, DigitalLink.lot(GTIN, "COMM-2"), tmp_path)
    other = consortium.writer().create_batch(DigitalLink.lot(GTIN, "COMM-3").uri)

    with pytest.raises(ContractRevert) as refused:
        registry_of(consortium).bind_subject(asset.did, other)

    assert refused.value.error == "CredentialRegistrySubjectAlreadyBound"
    assert registry_of(consortium).bound_entity(asset.did).entity_id == asset.batch_id


def test_commissioning_an_existing_lot_is_refused_and_leaves_no_key_behind(consortium, tmp_path):
    link = DigitalLink.lot(GTIN, "COMM-4")
    consortium.writer().create_batch(link.uri)

    with pytest.raises(ContractRevert):
        commission(consortium, link, tmp_path)

    assert list(tmp_path.iterdir()) == []


def test_a_refused_passphrase_stops_before_anything_is_on_chain(consortium, tmp_path, monkeypatch):
    link = DigitalLink.lot(GTIN, "COMM-5")
    monkeypatch.setenv(PASSPHRASE_VARIABLE, "changeme")

    with pytest.raises(PassphraseRefused):
        commission(consortium, link, tmp_path, passphrase=None)

    assert consortium.writer().batch(link.batch_id).status is BatchStatus.NONE
    assert list(tmp_path.iterdir()) == []


def test_the_passphrase_comes_from_the_environment(consortium, tmp_path, monkeypatch):
    monkeypatch.setenv(PASSPHRASE_VARIABLE, PASSPHRASE)
    link = DigitalLink.lot(GTIN, "COMM-6")

    asset = commission(consortium, link, tmp_path, passphrase=None)

    assert asset_signer(load_key(asset.keystore)).did == asset.did


def test_one_account_commissions_and_binds(consortium, tmp_path):
    link = DigitalLink.lot(GTIN, "COMM-7")
    with pytest.raises(ValueError, match="one account"):
        commission(
            consortium, link, tmp_path, registry=registry_of(consortium, consortium.governor)
        )
    assert consortium.writer().batch(link.batch_id).status is BatchStatus.NONE


def test_the_key_appears_in_no_log_and_no_repr(consortium, tmp_path, caplog, capsys):
    caplog.set_level(logging.DEBUG)

    asset = commission(consortium, DigitalLink.lot(GTIN, "COMM-9"), tmp_path)

    key = load_key(asset.keystore, passphrase=PASSPHRASE)
    signer = asset_signer(key)
    captured = capsys.readouterr()
    shown = [caplog.text, captured.out, captured.err, repr(asset), str(asset), repr(signer)]
    for form in (key.hex(), "0x" + key.hex(), signer.jwk["d"]):
        assert not any(form in text for text in shown)
    assert key.hex() not in asset.keystore.read_text()  # encrypted at rest
