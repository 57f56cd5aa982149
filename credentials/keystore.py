"""Private keys at rest: encrypted keystore files (Ethereum keystore v3, as geth and
eth-account write them: scrypt, AES-128-CTR), one key per file, mode 0600.

Every key of the system is secp256k1 (organization and device accounts, asset did:keys),
so one format serves all. The passphrase comes from `PROVENANCE_KEYSTORE_PASSPHRASE`
unless given; empty, placeholder and short passphrases are refused. Nothing here logs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from eth_account import Account

from credentials.errors import (
    KeystoreExists,
    KeystoreUnreadable,
    PassphraseRefused,
    WrongPassphrase,
)
from credentials.identities import parse_private_key

PASSPHRASE_VARIABLE = "PROVENANCE_KEYSTORE_PASSPHRASE"
MIN_PASSPHRASE_LENGTH = 12
_PLACEHOLDERS = frozenset(
    {
        "changeme",
        "changemeplease",
        "default",
        "example",
        "keystorepassphrase",
        "none",
        "null",
        "passphrase",
        "password",
        "placeholder",
        "provenance",
        "replaceme",
        "secret",
        "test",
        "todo",
        "yourpassphrase",
        "yourpassphrasehere",
        "yourpassword",
    }
)
# Template syntax left in a value: <...>, ${...}, {{...}}.
_TEMPLATE = re.compile(r"<.*>|\$\{.*\}|\{\{.*\}\}", re.DOTALL)


def keystore_passphrase(environ: Mapping[str, str] = os.environ) -> str:
    """The passphrase in `PROVENANCE_KEYSTORE_PASSPHRASE`, once `check_passphrase` accepts it.

    Raises:
        PassphraseRefused: it is unset, empty, a placeholder or too short.
    """
    return check_passphrase(environ.get(PASSPHRASE_VARIABLE, ""))


def check_passphrase(passphrase: str) -> str:
    """`passphrase` itself, if it is fit to encrypt a key.

    Raises:
        PassphraseRefused: it is empty, a placeholder (e.g. "changeme", "<passphrase>") or
            shorter than `MIN_PASSPHRASE_LENGTH` characters.
    """
    if not passphrase or not passphrase.strip():
        raise PassphraseRefused(
            f"no keystore passphrase: set {PASSPHRASE_VARIABLE} to a passphrase of at "
            f"least {MIN_PASSPHRASE_LENGTH} characters"
        )
    letters = re.sub(r"[^a-z0-9]", "", passphrase.lower())
    if (
        letters in _PLACEHOLDERS
        or _TEMPLATE.fullmatch(passphrase.strip())
        or len(set(passphrase)) == 1
    ):
        raise PassphraseRefused(
            f"the keystore passphrase is a placeholder: set {PASSPHRASE_VARIABLE} to a "
            "real passphrase"
        )
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise PassphraseRefused(
            f"the keystore passphrase is shorter than {MIN_PASSPHRASE_LENGTH} characters: "
            f"set a longer one in {PASSPHRASE_VARIABLE}"
        )
    return passphrase


def store_key(path: Path, private_key: bytes | str, *, passphrase: str | None = None) -> Path:
    """Encrypt `private_key` (secp256k1: 32 bytes or 64 hex digits) into a new keystore file
    at `path`, readable and writable by its owner only (0600). Parent folders are created
    (0700).

    Raises:
        PassphraseRefused: see `check_passphrase`.
        InvalidKey: the key is not a secp256k1 private key.
        KeystoreExists: a file is already at `path`; keys are never overwritten.
    """
    secret = check_passphrase(passphrase) if passphrase is not None else keystore_passphrase()
    if path.exists():
        raise KeystoreExists(
            f"{path} already exists; keys are never overwritten: choose another path"
        )
    content = json.dumps(Account.encrypt(parse_private_key(private_key), secret)).encode()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # created since the check above
        raise KeystoreExists(f"{path} already exists; keys are never overwritten") from None
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def load_key(path: Path, *, passphrase: str | None = None) -> bytes:
    """The 32-byte private key in the keystore file at `path`.

    Raises:
        PassphraseRefused: see `check_passphrase`.
        KeystoreUnreadable: no file at `path`, or not a keystore v3 file.
        WrongPassphrase: the passphrase does not open it.
    """
    secret = check_passphrase(passphrase) if passphrase is not None else keystore_passphrase()
    try:
        keystore = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise KeystoreUnreadable(f"no keystore file at {path}") from None
    except (OSError, ValueError) as exc:
        raise KeystoreUnreadable(f"{path} is not a readable keystore file ({exc})") from None
    if not isinstance(keystore, dict) or keystore.get("version") != 3:
        raise KeystoreUnreadable(f"{path} is not an Ethereum keystore v3 file")
    try:
        return bytes(Account.decrypt(keystore, secret))
    except ValueError as exc:
        if "MAC mismatch" in str(exc):
            raise WrongPassphrase(
                f"the passphrase does not open {path}: check the passphrase ({PASSPHRASE_VARIABLE})"
            ) from None
        raise KeystoreUnreadable(f"{path} is not a valid keystore v3 file ({exc})") from None
    except (KeyError, TypeError) as exc:
        raise KeystoreUnreadable(f"{path} lacks keystore field {exc}") from None
