"""Turn revert data into exceptions named after the Solidity custom error."""

from __future__ import annotations

from functools import cache

from eth_abi import decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from ledger_client.artifacts import ARTIFACTS_DIR, load_artifact
from ledger_client.errors import ContractRevert, revert_class
from ledger_client.lifecycle import SOLIDITY_ENUMS
from ledger_client.roles import ROLE_NAMES

_ERROR_STRING = bytes.fromhex("08c379a0")  # Error(string)
_PANIC = bytes.fromhex("4e487b71")  # Panic(uint256)


def _abi_type(param: dict) -> str:
    if param["type"].startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){param['type'][5:]}"
    return param["type"]


@cache
def _error_table() -> dict[bytes, tuple[str, list[str], list[str], list[str]]]:
    table: dict[bytes, tuple[str, list[str], list[str], list[str]]] = {}
    for path in sorted(ARTIFACTS_DIR.glob("*.json")):
        for item in load_artifact(path.stem).abi:
            if item["type"] != "error":
                continue
            types = [_abi_type(p) for p in item["inputs"]]
            selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
            names = [p["name"] for p in item["inputs"]]
            internal = [p.get("internalType", p["type"]) for p in item["inputs"]]
            table[selector] = (item["name"], types, names, internal)
    return table


def _render(value: object, name: str, abi_type: str, internal_type: str) -> object:
    if internal_type in SOLIDITY_ENUMS and isinstance(value, int):
        return SOLIDITY_ENUMS[internal_type](value).name
    # Only a role is named: a zero batch id is not DEFAULT_ADMIN_ROLE.
    if abi_type == "bytes32" and isinstance(value, bytes) and "role" in name.lower():
        return ROLE_NAMES.get(value, "0x" + value.hex())
    if abi_type == "address" and isinstance(value, str):
        return to_checksum_address(value)
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value


def decode_revert(data: bytes | str | None, *, context: str = "") -> ContractRevert:
    """The exception for revert `data` (a custom error, `Error(string)`, `Panic` or nothing)."""
    if isinstance(data, str):
        data = bytes.fromhex(data.removeprefix("0x"))
    data = data or b""
    prefix = f"{context}: " if context else ""
    selector, body = data[:4], data[4:]
    if selector == _ERROR_STRING:
        (reason,) = decode(["string"], body)
        return revert_class("Error")("Error", {"reason": reason}, f"{prefix}reverted: {reason}")
    if selector == _PANIC:
        (code,) = decode(["uint256"], body)
        return revert_class("Panic")("Panic", {"code": code}, f"{prefix}panic 0x{code:02x}")
    known = _error_table().get(selector)
    if known is None:
        detail = f"unknown error 0x{data.hex()}" if data else "no reason given"
        return ContractRevert("Unknown", {}, f"{prefix}reverted with {detail}")
    name, types, names, internal = known
    values = decode(types, body)
    args = {
        n: _render(v, n, t, i) for n, v, t, i in zip(names, values, types, internal, strict=True)
    }
    return revert_class(name)(name, args, f"{prefix}{name}: {_explain(name, args)}")


# The ownership and authority refusals in words: who lacks what on which batch, prefix or class.
_EXPLANATIONS = {
    "MembershipUnauthorizedAccount": (
        "account {account} does not hold the role {role} (or is deactivated)"
    ),
    "AccessControlUnauthorizedAccount": (
        "account {account} does not hold the role {neededRole} (or is deactivated)"
    ),
    "ProvenanceLedgerUnknownBatch": "batch {batchId} is not on the ledger",
    "AccessTrailUnauthorizedAccount": (
        "account {account} is no active organization holding a role, so it anchors no trail"
    ),
    "AccessTrailCountNotIncreasing": (
        "{organization} anchored its trail at {latest} entries already; {entryCount} is not more"
    ),
    "ProvenanceLedgerNotBatchHolder": (
        "account {account} is neither the owner nor the custodian of batch {batchId}"
    ),
    "ProvenanceLedgerNotBatchWriter": (
        "account {account} is not the owner or the custodian of batch {batchId}, nor a "
        "writer one of them authorized"
    ),
    "ProvenanceLedgerNotCustodian": (
        "account {account} is not the custodian of batch {batchId}, so it cannot offer its custody"
    ),
    "ProvenanceLedgerNoCustodyOffer": (
        "no offer of batch {batchId}'s custody stands for account {account}"
    ),
    "ProvenanceLedgerNotPrefixHolder": (
        "account {account} neither owns nor holds by delegation the GS1 company prefix of "
        "GTIN {gtin:014d}"
    ),
    "ProvenanceLedgerNotPrefixOwner": (
        "account {account} does not own the GS1 company prefix {prefix}"
    ),
    "ColdChainComplianceNotClassAuthority": (
        "account {account} is not the quality organization the governor assigned to set "
        "the rule of product class {productClass}"
    ),
}


def _explain(name: str, args: dict[str, object]) -> str:
    template = _EXPLANATIONS.get(name)
    if template is not None:
        return template.format(**args)
    return ", ".join(f"{k}={v}" for k, v in args.items()) or "reverted"
