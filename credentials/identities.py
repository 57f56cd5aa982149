"""DIDs of organizations, devices and assets, and the signers that issue under them.

- Organization / device: `did:pkh:eip155:{chainId}:{address}`, from the secp256k1 key of
  its chain account, so one key signs its transactions and its credentials (DESIGN §3).
- Asset (lot or serialized item): a fresh `did:key` minted at commissioning, also
  secp256k1: one curve and one keystore format for every key in the system, and a
  signature by the asset's key (e.g. from a tag's secure element) can be checked on chain
  with `ecrecover`, which Ed25519 cannot.

Only these two methods are accepted anywhere in `credentials`: their DID documents follow
from the DID itself, so resolving them needs no network and cannot change over time.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, TypeGuard

from coincurve import PrivateKey
from eth_utils import is_checksum_address, to_checksum_address

from credentials import didkit_adapter
from credentials.engine import Jwk, ProofEngine
from credentials.errors import InvalidKey, UnsupportedDid
from ledger_client.hashing import keccak256

PKH_PROOF_TYPE = "EcdsaSecp256k1RecoverySignature2020"
"""Proof type for did:pkh signers: the Ethereum address is recovered from the signature
(didkit cannot check did:pkh proofs without it; its EIP-712 suite cannot sign our inline
JSON-LD context)."""
DID_KEY_PROOF_TYPE = "EcdsaSecp256k1Signature2019"
"""Proof type for secp256k1 did:key signers."""

_HEX_KEY = re.compile(r"(?:0x)?[0-9a-fA-F]{64}")
_PKH_DID = re.compile(r"did:pkh:eip155:([1-9][0-9]{0,17}):(0x[0-9a-fA-F]{40})")
# did:key is multibase base58btc: "z" then the Bitcoin base58 alphabet.
_KEY_DID = re.compile(r"did:key:z[1-9A-HJ-NP-Za-km-z]{40,60}")


@dataclass(frozen=True)
class Signer:
    """A DID with the private key that signs for it: what `issue` and `present` sign with.

    The key stays out of `repr` / `str`; never log `jwk` or `private_key`.
    """

    did: str
    verification_method: str
    proof_type: str
    jwk: Jwk = field(repr=False, compare=False)

    @property
    def private_key(self) -> bytes:
        """The 32 secret bytes, for `keystore.store_key`; never log them."""
        return _b64decode(self.jwk["d"])

    def proof_options(self, *, purpose: str, **extra: str) -> dict[str, Any]:
        """Proof options signing with this signer's key for `purpose`."""
        return {
            "type": self.proof_type,
            "proofPurpose": purpose,
            "verificationMethod": self.verification_method,
            **extra,
        }


def pkh_did(*, chain_id: int, address: str) -> str:
    """The DID of a chain account: `did:pkh:eip155:{chainId}:{checksummed address}`.

    Raises:
        UnsupportedDid: the chain id is not a positive integer or the address is not an
            EIP-55 checksummed address.
    """
    if type(chain_id) is not int:
        raise UnsupportedDid(f"chain id must be an integer, got {chain_id!r}")
    return require_supported_did(f"did:pkh:eip155:{chain_id}:{address}")


def account_signer(
    private_key: bytes | str, *, chain_id: int, engine: ProofEngine = didkit_adapter
) -> Signer:
    """The signer of an organization or device: its chain account's key as a did:pkh.

    `private_key` is 32 bytes or 64 hex digits (with or without `0x`), e.g. an
    eth-account `LocalAccount.key`.

    Raises:
        InvalidKey: the key is malformed.
        UnsupportedDid: the chain id is not a positive integer.
    """
    secret = parse_private_key(private_key)
    did = pkh_did(chain_id=chain_id, address=_address(secret))
    jwk = secp256k1_jwk(secret)
    return Signer(
        did=did,
        verification_method=engine.verification_method(f"pkh:eip155:{chain_id}", jwk),
        proof_type=PKH_PROOF_TYPE,
        jwk=jwk,
    )


def asset_signer(private_key: bytes | str, *, engine: ProofEngine = didkit_adapter) -> Signer:
    """The signer of an asset's did:key (secp256k1) from its stored key.

    Raises:
        InvalidKey: the key is malformed.
    """
    jwk = secp256k1_jwk(parse_private_key(private_key))
    return Signer(
        did=engine.key_to_did("key", jwk),
        verification_method=engine.verification_method("key", jwk),
        proof_type=DID_KEY_PROOF_TYPE,
        jwk=jwk,
    )


def mint_asset_did(*, engine: ProofEngine = didkit_adapter) -> Signer:
    """A new asset DID (did:key) with its fresh key, from the OS's secure random source.

    Store `signer.private_key` (see `keystore`) if the asset must ever sign; its DID is
    `signer.did`.
    """
    return asset_signer(PrivateKey().secret, engine=engine)


def secp256k1_jwk(private_key: bytes | str) -> Jwk:
    """The private JWK (RFC 7517, curve secp256k1) of a 32-byte secp256k1 key.

    Raises:
        InvalidKey: the key is malformed.
    """
    key = _private_key(parse_private_key(private_key))
    point = key.public_key.format(compressed=False)
    return MappingProxyType(
        {
            "kty": "EC",
            "crv": "secp256k1",
            "x": _b64encode(point[1:33]),
            "y": _b64encode(point[33:]),
            "d": _b64encode(key.secret),
        }
    )


def is_supported_did(did: object) -> TypeGuard[str]:
    """Whether `did` is a DID this system accepts: did:pkh (EIP-155, checksummed address)
    or did:key (base58btc)."""
    if not isinstance(did, str):
        return False
    pkh = _PKH_DID.fullmatch(did)
    if pkh is not None:
        return bool(is_checksum_address(pkh.group(2)))
    return _KEY_DID.fullmatch(did) is not None


def pkh_account(did: object, *, chain_id: int) -> str:
    """The checksummed account of `did`, a did:pkh of chain `chain_id`.

    Raises:
        UnsupportedDid: `did` is no accepted DID, not a did:pkh, or of another chain.
    """
    require_supported_did(did)
    assert isinstance(did, str)  # an accepted DID is a string
    if not did.startswith("did:pkh:eip155:"):
        raise UnsupportedDid(f"{did} is not a did:pkh account, so it can hold no on-chain role")
    _, _, _, chain, address = did.split(":")
    if int(chain) != chain_id:
        raise UnsupportedDid(
            f"{did} is an account of chain {chain}, not of this chain ({chain_id})"
        )
    return address


def require_supported_did(did: object) -> str:
    """`did` itself, if `is_supported_did`.

    Raises:
        UnsupportedDid: it is not; the message says which forms are accepted.
    """
    if not is_supported_did(did):
        raise UnsupportedDid(
            f"{did!r} is not an accepted DID: use did:pkh:eip155:<chainId>:<EIP-55 "
            "checksummed address> or did:key:z<base58btc key>"
        )
    return did


def resolve(did: str, *, engine: ProofEngine = didkit_adapter) -> dict[str, Any]:
    """The DID document of an accepted DID, resolved offline.

    Raises:
        UnsupportedDid: the DID is not of an accepted form.
        UnresolvableDid: it could not be resolved.
    """
    return engine.resolve_did(require_supported_did(did))


def controls(did: str, verification_method: object) -> bool:
    """Whether `verification_method` is a DID URL of `did` (`{did}#...`)."""
    return isinstance(verification_method, str) and verification_method.startswith(did + "#")


def parse_private_key(private_key: bytes | str) -> bytes:
    """The 32 bytes of a secp256k1 private key given as bytes or 64 hex digits (with or
    without `0x`).

    Raises:
        InvalidKey: wrong length or encoding, or not a valid secp256k1 scalar.
    """
    if isinstance(private_key, str):
        if not _HEX_KEY.fullmatch(private_key):
            raise InvalidKey("a private key is 64 hex digits, optionally 0x-first")
        private_key = bytes.fromhex(private_key.removeprefix("0x"))
    if not isinstance(private_key, bytes | bytearray) or len(private_key) != 32:
        raise InvalidKey("a private key is 32 bytes")
    secret = bytes(private_key)
    _private_key(secret)
    return secret


def _private_key(secret: bytes) -> PrivateKey:
    try:
        return PrivateKey(secret)
    except ValueError:
        raise InvalidKey("the private key is zero or not below the secp256k1 order") from None


def _address(secret: bytes) -> str:
    """The EIP-55 checksummed Ethereum address of a secp256k1 private key."""
    public = _private_key(secret).public_key.format(compressed=False)[1:]
    return str(to_checksum_address(keccak256(public)[12:]))


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
