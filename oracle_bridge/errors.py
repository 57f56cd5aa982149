"""Exceptions of the oracle bridge: one root, specific subclasses, messages that say what to do."""

from __future__ import annotations

from ledger_client.errors import ProvenanceError


class BridgeError(ProvenanceError):
    """Root of every error raised by `oracle_bridge`."""


class MalformedReading(BridgeError):
    """A reading (or its JSON form) has a missing, extra or out-of-range field.

    `field` names the offending field as the JSON form spells it (e.g. `tempMilliC`).
    """

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"reading field {field!r}: {problem}")
        self.field = field
        self.problem = problem


class InvalidDomain(BridgeError):
    """The EIP-712 domain has a bad chain id or contract address."""


class InvalidSignature(BridgeError):
    """A reading's signature is malformed, malleable, or not by the reading's device.

    `reason` says which, in words fit for a rejection response.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid reading signature: {reason}")
        self.reason = reason


class WrongDevice(BridgeError):
    """A device key was asked to sign a reading that names another device."""


class InvalidRule(BridgeError):
    """A cold-chain rule breaks hardMin <= min < max <= hardMax or a field's range."""


class RuleViolation(BridgeError):
    """A reading breaks a precondition of the rule engine; it is rejected, never decided on."""


class StaleSequence(RuleViolation):
    """The reading's seq is not above the last accepted one (a replay or a lower seq)."""

    def __init__(self, *, seq: int, last_seq: int) -> None:
        super().__init__(f"reading seq {seq} is not above the last accepted seq {last_seq}")
        self.seq = seq
        self.last_seq = last_seq


class TimestampRegression(RuleViolation):
    """The reading's timestamp is before the last accepted reading's timestamp."""

    def __init__(self, *, timestamp: int, last_timestamp: int) -> None:
        super().__init__(
            f"reading timestamp {timestamp} is before the last accepted timestamp {last_timestamp}"
        )
        self.timestamp = timestamp
        self.last_timestamp = last_timestamp


class MissingPreviousReading(BridgeError):
    """A data-gap decision needs the previous reading submitted too, and it was not given."""


class PackingError(BridgeError):
    """Readings cannot be packed together; `index` is the first that does not fit.

    The caller closes the anchoring window before `index` and starts a new one there.
    """

    def __init__(self, index: int, problem: str) -> None:
        super().__init__(f"reading {index} cannot be packed with the ones before it: {problem}")
        self.index = index
        self.problem = problem


class MalformedPacking(BridgeError):
    """Packed readings bytes have a wrong length or a first record with a non-zero delta."""


class NoReadings(BridgeError):
    """A statistic was asked of an empty set of readings."""


class InvalidDeviceKey(BridgeError):
    """A device private key is not 32 bytes (64 hex digits) of a valid secp256k1 scalar."""


class BrokerUnavailable(BridgeError):
    """The MQTT broker cannot be reached, or it refused the connection or the subscription."""


class DeliveryFailed(BridgeError):
    """A reading could not be handed to the bridge: no answer, no acknowledgement, or refused."""


class DeviceRefused(BridgeError):
    """The device policy refuses a device's readings for a batch.

    `code` is a stable identifier (`unknown_device`, `inactive_device`, ...); `reason` says
    it in words fit for a rejection response.
    """

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"device refused: {reason}")
        self.code = code
        self.reason = reason


class NoRule(BridgeError):
    """The batch is unknown, or its product class has no cold-chain rule; the class's
    authority (the QUALITY organization the governor assigned with `assignClassAuthority`)
    sets one with `ColdChainCompliance.setRule`, from Python
    `oracle_bridge.contracts.ComplianceRulesClient.set_rule` (no `provenance` command sets
    rules)."""


class ReadingNotFound(BridgeError):
    """No reading with this device and seq is in the bridge's inbox."""


class ReadingNotAnchored(BridgeError):
    """The reading is in the inbox but its window is not anchored on chain yet; retry later."""


class ProofInvalid(BridgeError):
    """A reading's proof does not hold against the chain; the message says which check failed."""


class MalformedBatch(BridgeError):
    """A batch body of signed readings is not a JSON array; nothing in it was ingested."""


class TooManyReadings(BridgeError):
    """A batch body holds more readings than one request may carry; nothing in it was ingested.

    `max_items` is the limit: split the batch into requests of at most that many readings.
    """

    def __init__(self, max_items: int) -> None:
        super().__init__(
            f"the body holds more than {max_items} readings; send at most {max_items} per request"
        )
        self.max_items = max_items


class StoreUnavailable(BridgeError):
    """The bridge database could not store a batch (unreachable, full, locked, timed out);
    nothing of it was stored: the sender retries it later."""
