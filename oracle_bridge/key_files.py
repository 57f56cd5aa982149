"""Device key files: the JSON `{address, privateKey}` that `provenance device keygen --out`
writes (owner-only) and the bridge's tools read back."""

from __future__ import annotations

import json
from pathlib import Path

from ledger_client.keys import write_private_file
from oracle_bridge.device import DeviceKey
from oracle_bridge.errors import InvalidDeviceKey


def write_key_file(path: Path, key: DeviceKey) -> None:
    """Store `key` as JSON `{address, privateKey}`, readable by its owner only (0600, its
    new folders 0700, whatever the umask).

    Raises:
        InvalidDeviceKey: the file exists already (a key is never overwritten).
    """
    record = {"address": key.address, "privateKey": "0x" + key.private_key.hex()}
    try:
        write_private_file(path, (json.dumps(record, indent=2) + "\n").encode())
    except FileExistsError:
        raise InvalidDeviceKey(f"{path} exists already; choose another --out") from None
    except OSError as exc:
        raise InvalidDeviceKey(f"cannot write the key file {path}: {exc.strerror}") from None


def read_key_file(path: Path) -> DeviceKey:
    """The key in `path`: a `device keygen` JSON file, or a file holding just the hex key.

    Raises:
        InvalidDeviceKey: unreadable, malformed, or its address does not match its key.
    """
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise InvalidDeviceKey(f"cannot read the key file {path}: {exc.strerror}") from None
    if not text.startswith("{"):
        return _key_in(path, text)
    try:
        record = json.loads(text)
        private_key = record["privateKey"]
    except (ValueError, KeyError, TypeError):
        raise InvalidDeviceKey(
            f"the key file {path} is not a `provenance device keygen` file (JSON with privateKey)"
        ) from None
    key = _key_in(path, private_key)
    if str(record.get("address", key.address)).lower() != key.address.lower():
        raise InvalidDeviceKey(f"the key file {path} names {record['address']}, not its key's")
    return key


def _key_in(path: Path, private_key: object) -> DeviceKey:
    try:
        return DeviceKey.from_private_key(private_key)  # type: ignore[arg-type]
    except InvalidDeviceKey as exc:
        raise InvalidDeviceKey(f"the key file {path} holds no valid key: {exc}") from None
