"""Identities: did:pkh from chain accounts, minted asset did:keys, resolution, signers."""

from __future__ import annotations

import logging

import pytest
from eth_account import Account

from credentials import didkit_adapter
from credentials.errors import CredentialError, InvalidKey, UnsupportedDid
from credentials.identities import (
    DID_KEY_PROOF_TYPE,
    PKH_PROOF_TYPE,
    account_signer,
    asset_signer,
    is_supported_did,
    mint_asset_did,
    pkh_did,
    resolve,
    secp256k1_jwk,
)
from oracle_bridge.device import DeviceKey
from tests.credentials.credential_factories import CHAIN_ID, DEVICE_KEY, QUALITY_KEY

pytestmark = pytest.mark.unit

SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_organization_did_is_its_chain_account() -> None:
    account = Account.from_key(QUALITY_KEY)
    signer = account_signer(account.key, chain_id=CHAIN_ID)
    assert signer.did == f"did:pkh:eip155:{CHAIN_ID}:{account.address}"
    assert signer.verification_method == f"{signer.did}#blockchainAccountId"
    assert signer.proof_type == PKH_PROOF_TYPE
    assert account_signer(QUALITY_KEY, chain_id=CHAIN_ID) == signer


def test_did_agrees_with_didkit_and_the_device_library() -> None:
    signer = account_signer(DEVICE_KEY, chain_id=CHAIN_ID)
    assert didkit_adapter.key_to_did(f"pkh:eip155:{CHAIN_ID}", signer.jwk) == signer.did
    assert DeviceKey.from_private_key(DEVICE_KEY).did(CHAIN_ID) == signer.did


def test_chain_id_is_part_of_the_did() -> None:
    on_mainnet = account_signer(QUALITY_KEY, chain_id=1)
    on_anvil = account_signer(QUALITY_KEY, chain_id=CHAIN_ID)
    assert on_mainnet.did == on_anvil.did.replace(f":{CHAIN_ID}:", ":1:")
    assert on_mainnet.did != on_anvil.did


def test_minted_asset_dids_are_fresh_secp256k1_did_keys() -> None:
    first, second = mint_asset_did(), mint_asset_did()
    assert first.did != second.did
    assert first.did.startswith("did:key:zQ3s")  # multicodec secp256k1-pub, compressed
    assert first.proof_type == DID_KEY_PROOF_TYPE
    assert first.verification_method == f"{first.did}#{first.did.removeprefix('did:key:')}"
    assert asset_signer(first.private_key) == first


def test_jwk_is_the_accounts_public_key() -> None:
    jwk = secp256k1_jwk(QUALITY_KEY)
    assert jwk["kty"] == "EC" and jwk["crv"] == "secp256k1"
    assert set(jwk) == {"kty", "crv", "x", "y", "d"}
    assert account_signer(QUALITY_KEY, chain_id=CHAIN_ID).private_key == bytes.fromhex(
        QUALITY_KEY[2:]
    )


def test_organization_did_resolves_offline_to_its_account() -> None:
    signer = account_signer(QUALITY_KEY, chain_id=CHAIN_ID)
    document = resolve(signer.did)
    assert document["id"] == signer.did
    (method,) = document["verificationMethod"]
    address = Account.from_key(QUALITY_KEY).address
    assert method["blockchainAccountId"] == f"eip155:{CHAIN_ID}:{address}"
    assert document["assertionMethod"] == [signer.verification_method]
    assert document["authentication"] == [signer.verification_method]


def test_asset_did_resolves_to_its_public_key() -> None:
    signer = mint_asset_did()
    (method,) = resolve(signer.did)["verificationMethod"]
    public = dict(signer.jwk)
    del public["d"]
    assert method["publicKeyJwk"] == public


@pytest.mark.parametrize(
    "did",
    [
        "did:web:example.com",  # would need the network
        "did:ethr:0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "did:pkh:eip155:31337:0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266",  # not checksummed
        "did:pkh:eip155:31337:0x123",
        "did:pkh:eip155:0:0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
        "did:pkh:bip122:000000000019d6689c085ae165831e93:128Lkh3S7CkDTBZ8W7BbpsN3YYizJMp8p6",
        "did:key:z0OIl",
        "not a did",
        "",
    ],
)
def test_other_dids_are_refused_before_resolution(did: str) -> None:
    assert not is_supported_did(did)
    with pytest.raises(UnsupportedDid, match="did:pkh:eip155:<chainId>"):
        resolve(did)


def test_pkh_did_requires_a_checksummed_address_and_a_chain() -> None:
    address = Account.from_key(QUALITY_KEY).address
    assert pkh_did(chain_id=5, address=address) == f"did:pkh:eip155:5:{address}"
    with pytest.raises(UnsupportedDid):
        pkh_did(chain_id=5, address=address.lower())
    for chain_id in (0, -1, True):
        with pytest.raises(UnsupportedDid):
            pkh_did(chain_id=chain_id, address=address)


@pytest.mark.parametrize(
    "private_key",
    [
        "0x" + "00" * 32,
        SECP256K1_N.to_bytes(32, "big"),
        "0x1234",
        "zz" * 32,
        b"\x01" * 31,
        QUALITY_KEY + "00",
    ],
)
def test_malformed_keys_are_refused(private_key: bytes | str) -> None:
    with pytest.raises(InvalidKey) as caught:
        account_signer(private_key, chain_id=CHAIN_ID)
    assert isinstance(caught.value, CredentialError)
    with pytest.raises(InvalidKey):
        asset_signer(private_key)


def test_signer_repr_str_and_logs_hide_the_key(caplog: pytest.LogCaptureFixture) -> None:
    signer = account_signer(QUALITY_KEY, chain_id=CHAIN_ID)
    secret_forms = {QUALITY_KEY[2:], signer.jwk["d"]}
    logger = logging.getLogger("test.credentials")
    with caplog.at_level(logging.DEBUG):
        logger.info("signing as %s / %r", signer, signer)
    for shown in (repr(signer), str(signer), f"{signer}", caplog.text):
        assert signer.did in shown
        for secret in secret_forms:
            assert secret not in shown
    assert "jwk" not in repr(signer)
