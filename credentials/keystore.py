"""Private keys at rest: encrypted keystore files (Ethereum keystore v3, as geth and
eth-account write them: scrypt, AES-128-CTR), one key per file, mode 0600.

Every key of the system is secp256k1 (organization and device accounts, asset did:keys),
so one format serves all. The passphrase comes from `PROVENANCE_KEYSTORE_PASSPHRASE`
unless given; empty, placeholder and short passphrases are refused, and a new keystore
needs one zxcvbn rates hard to guess. Nothing here logs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

from eth_account import Account
from zxcvbn import zxcvbn

from credentials.errors import (
    KeystoreExists,
    KeystoreUnreadable,
    PassphraseRefused,
    WrongPassphrase,
)
from credentials.identities import parse_private_key
from ledger_client.keys import write_private_file

PASSPHRASE_VARIABLE = "PROVENANCE_KEYSTORE_PASSPHRASE"
MIN_PASSPHRASE_LENGTH = 12
# zxcvbn's score (0-4) a new keystore's passphrase needs: 3 is "safely unguessable",
# ~10^10 guesses, against an offline attack on a stolen file.
MIN_PASSPHRASE_SCORE = 3
# zxcvbn's cost grows fast with length; a prefix this long that is hard to guess is enough.
_SCORED_CHARACTERS = 100
# Words of this system a passphrase should not lean on.
_SYSTEM_WORDS = ("provenance", "ledger", "keystore", "passphrase", "anvil", "credential")
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
    """The passphrase in `PROVENANCE_KEYSTORE_PASSPHRASE`, once `usable_passphrase` accepts
    it (a new keystore also needs `check_passphrase`).

    Raises:
        PassphraseRefused: it is unset, empty, a placeholder or too short.
    """
    return usable_passphrase(environ.get(PASSPHRASE_VARIABLE, ""))


def check_passphrase(passphrase: str) -> str:
    """`passphrase` itself, if it is fit to encrypt a new key: `usable_passphrase`, and hard
    to guess (zxcvbn score of at least `MIN_PASSPHRASE_SCORE`).

    Raises:
        PassphraseRefused: it is not, with zxcvbn's advice (never the passphrase).
    """
    usable_passphrase(passphrase)
    rating = zxcvbn(passphrase[:_SCORED_CHARACTERS], user_inputs=list(_SYSTEM_WORDS))
    if rating["score"] < MIN_PASSPHRASE_SCORE:
        feedback = rating["feedback"]
        advice = " ".join(
            part.rstrip(".") + "."
            for part in (feedback["warning"], *feedback["suggestions"])
            if part
        )
        raise PassphraseRefused(
            f"the keystore passphrase is too easy to guess (zxcvbn score {rating['score']} of "
            f"4, {MIN_PASSPHRASE_SCORE} needed): {advice or 'make it longer.'} Set a stronger "
            f"one in {PASSPHRASE_VARIABLE}, e.g. four or more random words"
        )
    return passphrase


def usable_passphrase(passphrase: str) -> str:
    """`passphrase` itself, if it can be one at all (to open an existing keystore, say).

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
    at `path`, readable and writable by its owner only (0600) whatever the umask. Missing
    parent folders are created owner-only (0700).

    Raises:
        PassphraseRefused: see `check_passphrase`.
        InvalidKey: the key is not a secp256k1 private key.
        KeystoreExists: a file is already at `path`; keys are never overwritten.
    """
    secret = check_passphrase(passphrase if passphrase is not None else keystore_passphrase())
    if path.exists():
        raise KeystoreExists(
            f"{path} already exists; keys are never overwritten: choose another path"
        )
    content = json.dumps(Account.encrypt(parse_private_key(private_key), secret)).encode()
    try:
        return write_private_file(path, content)
    except FileExistsError:  # created since the check above
        raise KeystoreExists(f"{path} already exists; keys are never overwritten") from None


def load_key(path: Path, *, passphrase: str | None = None) -> bytes:
    """The 32-byte private key in the keystore file at `path`.

    Raises:
        PassphraseRefused: see `usable_passphrase`.
        KeystoreUnreadable: no file at `path`, or not a keystore v3 file.
        WrongPassphrase: the passphrase does not open it.
    """
    secret = usable_passphrase(passphrase) if passphrase is not None else keystore_passphrase()
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
