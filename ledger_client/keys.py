"""Private keys in settings and on disk: anvil's public development keys, a key setting
checked without ever echoing it, and owner-only folders and files whatever the umask."""

from __future__ import annotations

import errno
import os
from pathlib import Path

# The ten default accounts anvil derives from its public mnemonic (m/44'/60'/0'/0/0-9):
# anyone holds these keys, so they are refused on any node that is not a local anvil.
ANVIL_DEV_MNEMONIC = "test test test test test test test test test test test junk"
ANVIL_DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
    "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
    "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
    "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
    "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
    "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
    "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
)
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def account_key(value: str, *, variable: str) -> str:
    """`value` as `0x` + 64 lower-case hex digits, if it is a secp256k1 private key.

    Raises:
        ValueError: it is not; the message names `variable`, never the value.
    """
    raw = value.removeprefix("0x")
    if len(raw) != 64 or not set(raw) <= _HEX_DIGITS or not 0 < int(raw, 16) < SECP256K1_ORDER:
        raise ValueError(
            f"{variable} must be a secp256k1 private key: 0x and 64 hex digits, not zero "
            "and below the curve order"
        )
    return "0x" + raw.lower()


def anvil_dev_account(key: str) -> int | None:
    """Which of anvil's default accounts (0-9) `key` (`0x` + 64 hex digits) is, if any."""
    normalized = key.lower()
    return ANVIL_DEV_KEYS.index(normalized) if normalized in ANVIL_DEV_KEYS else None


def private_folder(path: Path) -> Path:
    """Create `path` and any missing parents, each it creates owner-only (0700) whatever the
    umask; folders that exist already are left as they are.

    Raises:
        OSError: a folder cannot be created, or `path` is a file (NotADirectoryError).
    """
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:  # created meanwhile by someone else: theirs, left alone
            continue
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask
    if not path.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path))
    return path


def write_private_file(path: Path, content: bytes) -> Path:
    """Write `content` to a new file at `path`, owner-only (0600) whatever the umask; its
    folder is created owner-only (0700) if missing.

    Raises:
        FileExistsError: a file is at `path` already (it is never overwritten).
    """
    private_folder(path.parent)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(descriptor, "wb") as file:
            os.fchmod(file.fileno(), 0o600)  # os.open's mode is masked by the umask
            file.write(content)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path
