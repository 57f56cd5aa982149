"""Decode raw JSON-RPC logs into typed records (pure, no I/O); the payloads the logs
point to are read from calldata by `payloads`.

web3's `process_log` costs ~800 µs a log on this machine kind; here topic0 selectors are
computed once from the ABI, single-word event data is sliced straight out of the hex, and only
dynamic data (strings, arrays) goes through eth_abi.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from eth_abi import decode as abi_decode
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from ledger_client.artifacts import load_artifact
from ledger_client.ledger import BatchKind, BatchStatus, EventKind
from ledger_client.roles import ROLE_NAMES

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class LogRef:
    """Where a log sits on chain."""

    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    address: str


@dataclass(frozen=True, slots=True)
class BatchCreated:
    ref: LogRef
    batch_id: str
    product_class: str
    creator: str
    kind: BatchKind
    parents: tuple[str, ...]
    uri: str


@dataclass(frozen=True, slots=True)
class EventRecorded:
    """One event filed under one batch (`EventRecorded`), or under the organization that
    recorded it (`OrganizationEventRecorded`: `batch_id` is then `organization_key(recorder)`
    and `event_index` counts the organization's own events)."""

    ref: LogRef
    batch_id: str
    payload_hash: str
    recorder: str
    event_index: int
    kind: EventKind
    position: int


@dataclass(frozen=True, slots=True)
class BatchStatusChanged:
    ref: LogRef
    batch_id: str
    from_status: BatchStatus
    to_status: BatchStatus
    by: str
    reason: str


@dataclass(frozen=True, slots=True)
class CustodyTransferred:
    """The batch passed from custodian `from_account` (the zero address at creation) to
    `to_account`, which accepted it."""

    ref: LogRef
    batch_id: str
    from_account: str
    to_account: str


@dataclass(frozen=True, slots=True)
class CustodyOffered:
    """The custodian `from_account` offered the batch to `to_account` (the zero address: it
    withdrew its offer)."""

    ref: LogRef
    batch_id: str
    from_account: str
    to_account: str


@dataclass(frozen=True, slots=True)
class ExcursionAcknowledged:
    """The quality organization `by` acknowledged the excursion behind the batch's rule
    quarantine, with `comment`."""

    ref: LogRef
    batch_id: str
    by: str
    comment: str


@dataclass(frozen=True, slots=True)
class SubjectBound:
    """CredentialRegistry bound the DID `did` to the ledger entity `entity_id` (a batch id,
    or an organization's address as a word); a later binding of the DID replaces it."""

    ref: LogRef
    entity_id: str
    did: str
    bound_by: str


# IColdChainCompliance.Decision by number; only the QUARANTINE_* ones reach an ExcursionQuarantine.
COMPLIANCE_DECISIONS = (
    "NONE",
    "EXCURSION_STARTED",
    "EXCURSION_EXTENDED",
    "EXCURSION_ENDED",
    "QUARANTINE_EXCURSION",
    "QUARANTINE_HARD_LIMIT",
    "QUARANTINE_DATA_GAP",
    "QUARANTINE_MISSING_EVIDENCE",
)


@dataclass(frozen=True, slots=True)
class ExcursionQuarantine:
    """ColdChainCompliance quarantined the batch: reading `seq` of `device` broke version
    `rule_version` of its class's rule, as `decision` says."""

    ref: LogRef
    batch_id: str
    rule_version: int
    device: str
    seq: int
    decision: str


@dataclass(frozen=True, slots=True)
class OrganizationRegistered:
    ref: LogRef
    account: str
    did: str
    name: str


@dataclass(frozen=True, slots=True)
class OrganizationStatusChanged:
    ref: LogRef
    account: str
    active: bool


@dataclass(frozen=True, slots=True)
class RoleChanged:
    """AccessControl `RoleGranted` (granted=True) or `RoleRevoked` (granted=False)."""

    ref: LogRef
    role_id: str
    account: str
    sender: str
    granted: bool

    @property
    def role(self) -> str | None:
        return ROLE_NAMES.get(bytes.fromhex(self.role_id[2:]))


DecodedLog = (
    BatchCreated
    | EventRecorded
    | BatchStatusChanged
    | CustodyTransferred
    | CustodyOffered
    | ExcursionAcknowledged
    | ExcursionQuarantine
    | SubjectBound
    | OrganizationRegistered
    | OrganizationStatusChanged
    | RoleChanged
)


def organization_key(organization: str) -> str:
    """The filing key of events anchored under an organization: its address as a 32-byte
    word (`0x` + 24 zeros + 40 hex digits), which no batch id (a keccak256) can equal in
    practice, so the read model keeps them beside batches' events."""
    return "0x" + "00" * 12 + organization.lower().removeprefix("0x")


_BUILDERS: dict[str, Callable[[LogRef, dict[str, Any]], DecodedLog]] = {
    "BatchCreated": lambda ref, a: BatchCreated(
        ref,
        a["batchId"],
        a["productClass"],
        a["creator"],
        BatchKind(a["kind"]),
        tuple(a["parents"]),
        a["uri"],
    ),
    "EventRecorded": lambda ref, a: EventRecorded(
        ref,
        a["batchId"],
        a["payloadHash"],
        a["recorder"],
        a["eventIndex"],
        EventKind(a["kind"]),
        a["position"],
    ),
    "OrganizationEventRecorded": lambda ref, a: EventRecorded(
        ref,
        organization_key(a["organization"]),
        a["payloadHash"],
        a["organization"],
        a["eventIndex"],
        EventKind(a["kind"]),
        a["position"],
    ),
    "BatchStatusChanged": lambda ref, a: BatchStatusChanged(
        ref, a["batchId"], BatchStatus(a["from"]), BatchStatus(a["to"]), a["by"], a["reason"]
    ),
    "CustodyTransferred": lambda ref, a: CustodyTransferred(ref, a["batchId"], a["from"], a["to"]),
    "CustodyOffered": lambda ref, a: CustodyOffered(ref, a["batchId"], a["from"], a["to"]),
    "ExcursionAcknowledged": lambda ref, a: ExcursionAcknowledged(
        ref, a["batchId"], a["by"], a["comment"]
    ),
    "SubjectBound": lambda ref, a: SubjectBound(ref, a["entityId"], a["did"], a["boundBy"]),
    "ExcursionQuarantine": lambda ref, a: ExcursionQuarantine(
        ref,
        a["batchId"],
        a["ruleVersion"],
        a["device"],
        a["seq"],
        COMPLIANCE_DECISIONS[a["reason"]],
    ),
    "OrganizationRegistered": lambda ref, a: OrganizationRegistered(
        ref, a["account"], a["did"], a["name"]
    ),
    "OrganizationStatusChanged": lambda ref, a: OrganizationStatusChanged(
        ref, a["account"], a["active"]
    ),
    "RoleGranted": lambda ref, a: RoleChanged(ref, a["role"], a["account"], a["sender"], True),
    "RoleRevoked": lambda ref, a: RoleChanged(ref, a["role"], a["account"], a["sender"], False),
}
RECORD_EVENTS = "recordEvents"
RECORD_FILED_EVENTS = "recordFiledEvents"
EVENT_RECORDED_SIGNATURE = "EventRecorded(bytes32,bytes32,address,uint64,uint8,uint32)"
_EVENT_KINDS = tuple(EventKind)


@lru_cache(maxsize=4096)
def checksum(address: str) -> str:
    """EIP-55 form of a hex address (cached: a ledger has few distinct writers)."""
    return to_checksum_address(address)


def canonical_type(param: Mapping[str, Any]) -> str:
    """The ABI type as it appears in a signature (tuples spelled out)."""
    kind = param["type"]
    if kind.startswith("tuple"):
        inner = ",".join(canonical_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


def signature(entry: Mapping[str, Any]) -> str:
    return f"{entry['name']}({','.join(canonical_type(p) for p in entry['inputs'])})"


def _is_word(abi_type: str) -> bool:
    return abi_type in ("address", "bool", "bytes32") or (
        abi_type.startswith(("uint", "int")) and "[" not in abi_type
    )


def _hex_word(word: str) -> str:
    return "0x" + word.lower()


def _address_word(word: str) -> str:
    return checksum("0x" + word[24:])


def _bool_word(word: str) -> bool:
    return int(word, 16) != 0


def _uint_word(word: str) -> int:
    return int(word, 16)


def _int_word(word: str) -> int:
    value = int(word, 16)
    return value - (1 << 256) if value >= 1 << 255 else value


def _word_reader(abi_type: str) -> Callable[[str], Any]:
    """Reads one 32-byte ABI word of `abi_type` given as 64 hex digits."""
    if abi_type == "bytes32":
        return _hex_word
    if abi_type == "address":
        return _address_word
    if abi_type == "bool":
        return _bool_word
    return _int_word if abi_type.startswith("int") else _uint_word


def _abi_value(abi_type: str, value: Any) -> Any:
    """An eth_abi result in the record's conventions (hex strings, EIP-55 addresses)."""
    if abi_type.endswith("]"):
        return [_abi_value(abi_type[: abi_type.rindex("[")], v) for v in value]
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if abi_type == "address":
        return checksum(value)
    return value


@dataclass(frozen=True)
class _EventSpec:
    name: str
    indexed: tuple[tuple[str, Callable[[str], Any]], ...]
    # Single-word data is sliced from the hex; otherwise eth_abi decodes `data_types`.
    data_words: tuple[tuple[str, Callable[[str], Any]], ...] | None
    data_types: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> _EventSpec:
        data = tuple((p["name"], p["type"]) for p in entry["inputs"] if not p["indexed"])
        return cls(
            name=entry["name"],
            indexed=tuple(
                (p["name"], _word_reader(p["type"])) for p in entry["inputs"] if p["indexed"]
            ),
            data_words=tuple((name, _word_reader(t)) for name, t in data)
            if all(_is_word(t) for _, t in data)
            else None,
            data_types=data,
        )


class LogDecoder:
    """Decodes the logs the read model needs; other logs decode to None."""

    def __init__(self, *, abis: Iterable[Sequence[Mapping[str, Any]]]) -> None:
        self._specs: dict[str, _EventSpec] = {}
        self.record_events_selector: str | None = None
        self.record_filed_events_selector: str | None = None
        self._event_recorded_topic = "0x" + keccak(EVENT_RECORDED_SIGNATURE.encode()).hex()
        for abi in abis:
            for entry in abi:
                if entry["type"] == "event" and entry["name"] in _BUILDERS:
                    topic0 = "0x" + keccak(signature(entry).encode()).hex()
                    self._specs[topic0] = _EventSpec.of(entry)
                elif entry["type"] == "function" and entry["name"] == RECORD_EVENTS:
                    self.record_events_selector = "0x" + keccak(signature(entry).encode())[:4].hex()
                elif entry["type"] == "function" and entry["name"] == RECORD_FILED_EVENTS:
                    self.record_filed_events_selector = (
                        "0x" + keccak(signature(entry).encode())[:4].hex()
                    )

    def _event_recorded(self, raw: Mapping[str, Any], topics: list[str]) -> EventRecorded:
        """The hot path: one EventRecorded per anchored event, decoded by slicing."""
        data = raw["data"]
        if len(data) != 2 + 64 * 3:
            raise ValueError(f"EventRecorded log with {len(data) // 2 - 1} data bytes: {raw!r}")
        ref = LogRef(
            block_number=int(raw["blockNumber"], 16),
            block_hash=raw["blockHash"].lower(),
            tx_hash=raw["transactionHash"].lower(),
            log_index=int(raw["logIndex"], 16),
            address=raw["address"].lower(),
        )
        return EventRecorded(
            ref,
            topics[1].lower(),
            topics[2].lower(),
            checksum("0x" + topics[3][26:]),
            int(data[2:66], 16),
            _EVENT_KINDS[int(data[66:130], 16)],
            int(data[130:194], 16),
        )

    @classmethod
    def for_contracts(cls) -> LogDecoder:
        """A decoder for the deployed contracts' ABIs (from the build artifacts)."""
        return cls(
            abis=[
                load_artifact(name).abi
                for name in (
                    "ProvenanceLedger",
                    "Membership",
                    "ColdChainCompliance",
                    "CredentialRegistry",
                )
            ]
        )

    @property
    def topics(self) -> list[str]:
        """The topic0 of every decoded event, for an `eth_getLogs` filter."""
        return sorted(self._specs)

    def event_name(self, topic0: str) -> str | None:
        spec = self._specs.get(topic0.lower())
        return spec.name if spec else None

    def decode(self, raw: Mapping[str, Any]) -> DecodedLog | None:
        """The typed record of one JSON-RPC log object, or None for a log we do not read.

        Raises `ValueError` (or eth_abi's `DecodingError`) for a log that carries a known
        topic0 but malformed data: the node or the ABI is wrong, not the ledger's data.
        """
        topics = raw["topics"]
        if not topics or raw.get("removed"):
            return None
        if topics[0] == self._event_recorded_topic and len(topics) == 4:
            return self._event_recorded(raw, topics)
        spec = self._specs.get(topics[0].lower())
        if spec is None:
            return None
        if len(topics) != len(spec.indexed) + 1:
            raise ValueError(f"{spec.name} log with {len(topics)} topics: {raw!r}")
        args = {
            name: read(topic[2:])
            for (name, read), topic in zip(spec.indexed, topics[1:], strict=True)
        }
        data = raw["data"][2:]
        if spec.data_words is not None:
            if len(data) != 64 * len(spec.data_words):
                raise ValueError(f"{spec.name} log with {len(data) // 2} data bytes: {raw!r}")
            for i, (name, read) in enumerate(spec.data_words):
                args[name] = read(data[64 * i : 64 * i + 64])
        else:
            values = abi_decode([t for _, t in spec.data_types], bytes.fromhex(data))
            for (name, t), value in zip(spec.data_types, values, strict=True):
                args[name] = _abi_value(t, value)
        ref = LogRef(
            block_number=int(raw["blockNumber"], 16),
            block_hash=raw["blockHash"].lower(),
            tx_hash=raw["transactionHash"].lower(),
            log_index=int(raw["logIndex"], 16),
            address=raw["address"].lower(),
        )
        return _BUILDERS[spec.name](ref, args)
