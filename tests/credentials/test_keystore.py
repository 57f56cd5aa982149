"""Keystore files: v3 round trip, passphrase policy, wrong passphrase, file mode.

Encrypting or opening a keystore costs ~1 s (scrypt, geth's standard strength), so one
file is written per module and shared.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest
from eth_account import Account

from credentials.errors import (
    CredentialError,
    InvalidKey,
    KeystoreExists,
    KeystoreUnreadable,
    PassphraseRefused,
    WrongPassphrase,
)
from credentials.identities import account_signer, asset_signer
from credentials.keystore import (
    PASSPHRASE_VARIABLE,
    check_passphrase,
    keystore_passphrase,
    load_key,
    store_key,
)
from tests.credentials.credential_factories import CHAIN_ID, QUALITY_KEY

pytestmark = pytest.mark.unit

PASSPHRASE = "correct horse battery staple"
KEY = bytes.fromhex(QUALITY_KEY[2:])


@pytest.fixture(scope="module")
def keystore_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return store_key(
        tmp_path_factory.mktemp("keys") / "org" / "quality.json", KEY, passphrase=PASSPHRASE
    )


def test_round_trip_with_the_environment_passphrase(
    keystore_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSPHRASE_VARIABLE, PASSPHRASE)
    loaded = load_key(keystore_file)
    assert loaded == KEY
    assert account_signer(loaded, chain_id=CHAIN_ID) == account_signer(KEY, chain_id=CHAIN_ID)


def test_file_is_a_standard_keystore_v3_without_the_key_in_clear(keystore_file: Path) -> None:
    text = keystore_file.read_text("utf-8")
    document = json.loads(text)
    assert document["version"] == 3
    assert document["crypto"]["kdf"] == "scrypt"
    assert "0x" + document["address"].lower() == Account.from_key(KEY).address.lower()
    assert KEY.hex() not in text.lower()


def test_file_is_owner_only_and_its_new_folder_too(keystore_file: Path) -> None:
    assert stat.S_IMODE(keystore_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(keystore_file.parent.stat().st_mode) == 0o700


def test_wrong_passphrase_is_a_clear_credential_error(keystore_file: Path) -> None:
    with pytest.raises(WrongPassphrase, match="passphrase does not open") as caught:
        load_key(keystore_file, passphrase="not the right passphrase")
    assert isinstance(caught.value, CredentialError)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert KEY.hex() not in str(caught.value)


def test_existing_files_are_never_overwritten(keystore_file: Path) -> None:
    before = keystore_file.read_bytes()
    with pytest.raises(KeystoreExists, match="never overwritten"):
        store_key(keystore_file, b"\x02" * 32, passphrase=PASSPHRASE)
    assert keystore_file.read_bytes() == before


def test_asset_key_round_trip(tmp_path: Path) -> None:
    signer = asset_signer("0x" + "33" * 32)
    path = store_key(tmp_path / "asset.json", signer.private_key, passphrase=PASSPHRASE)
    assert asset_signer(load_key(path, passphrase=PASSPHRASE)) == signer


@pytest.mark.parametrize(
    "passphrase",
    [
        "",
        "   ",
        "changeme",
        "CHANGE_ME",
        "change-me-please",
        "password",
        "<passphrase>",
        "${PROVENANCE_KEYSTORE_PASSPHRASE}",
        "{{ keystore_passphrase }}",
        "your passphrase here",
        "xxxxxxxxxxxxxxxx",
        "short1!",
    ],
)
def test_placeholder_empty_and_short_passphrases_are_refused(
    passphrase: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "key.json"
    with pytest.raises(PassphraseRefused, match=PASSPHRASE_VARIABLE):
        store_key(path, KEY, passphrase=passphrase)
    monkeypatch.setenv(PASSPHRASE_VARIABLE, passphrase)
    with pytest.raises(PassphraseRefused, match=PASSPHRASE_VARIABLE):
        store_key(path, KEY)
    with pytest.raises(PassphraseRefused):
        load_key(path)
    assert not path.exists()


def test_unset_passphrase_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PASSPHRASE_VARIABLE, raising=False)
    with pytest.raises(PassphraseRefused, match=f"set {PASSPHRASE_VARIABLE}"):
        keystore_passphrase()


def test_real_passphrases_are_accepted() -> None:
    assert check_passphrase(PASSPHRASE) == PASSPHRASE
    assert keystore_passphrase({PASSPHRASE_VARIABLE: "Tr0ub4dor&3-extended"}) == (
        "Tr0ub4dor&3-extended"
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no keystore file"),
        (b"not json", "not a readable keystore"),
        (b"[1, 2]", "not an Ethereum keystore v3"),
        (b'{"version": 1}', "not an Ethereum keystore v3"),
        (b'{"version": 3, "address": "00"}', "lacks keystore field"),
    ],
)
def test_unreadable_files(content: bytes | None, message: str, tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(KeystoreUnreadable, match=message):
        load_key(path, passphrase=PASSPHRASE)


def test_invalid_keys_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    for key in (b"\x00" * 32, b"\x01" * 31, b"\xff" * 32):
        with pytest.raises(InvalidKey):
            store_key(tmp_path / "key.json", key, passphrase=PASSPHRASE)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("passphrase", "reason"),
    [
        ("passwordpassword", "too easy to guess"),
        ("correcthorse", "too easy to guess"),
        ("Provenance2026!", "too easy to guess"),
        ("aaaaaaaaaaaaaaaa", "placeholder"),
    ],
)
def test_passphrases_easy_to_guess_are_refused_with_zxcvbns_advice(
    passphrase: str, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "key.json"
    with pytest.raises(PassphraseRefused, match=reason) as caught:
        store_key(path, KEY, passphrase=passphrase)
    message = str(caught.value)
    assert PASSPHRASE_VARIABLE in message
    assert passphrase.lower() not in message.lower()
    if reason == "too easy to guess":
        assert "Add another word or two" in message  # zxcvbn's suggestion, quoted
    monkeypatch.setenv(PASSPHRASE_VARIABLE, passphrase)
    with pytest.raises(PassphraseRefused, match=reason):
        store_key(path, KEY)
    assert not path.exists()


def test_a_weak_passphrase_still_opens_an_existing_keystore(tmp_path: Path) -> None:
    # Files encrypted before the strength check stay readable, to be re-encrypted.
    weak = "passwordpassword"
    path = tmp_path / "old.json"
    path.write_text(json.dumps(Account.encrypt(KEY, weak)))
    assert load_key(path, passphrase=weak) == KEY


def test_new_folders_and_files_are_owner_only_whatever_the_umask(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    previous = os.umask(0)
    try:
        path = store_key(tmp_path / "org" / "keys" / "quality.json", KEY, passphrase=PASSPHRASE)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "org" / "keys").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "org").stat().st_mode) == 0o700
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o755  # an existing folder: as it was
