// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Lifecycle ledger of lots and serialized items.
/// @notice EPCIS 2.0 event payloads travel in calldata; only their keccak256 is
/// emitted and only what the status rules need is stored.
interface IProvenanceLedger {
    enum BatchKind {
        LOT,
        ITEM
    }

    /// @dev NONE marks an id never created.
    enum BatchStatus {
        NONE,
        ACTIVE,
        QUARANTINED,
        RELEASED,
        DESTROYED,
        RECALLED
    }

    /// @dev What an event does to the status machine. Only INSPECTION and
    /// DESTRUCTION are accepted while a batch is quarantined or recalled; a
    /// DESTRUCTION event moves the batch to DESTROYED.
    enum EventKind {
        OTHER,
        INSPECTION,
        DESTRUCTION
    }

    struct Batch {
        BatchKind kind;
        BatchStatus status;
        uint64 createdAt;
        uint64 eventCount;
        bytes32 productClass;
    }

    error ProvenanceLedgerUnknownBatch(bytes32 batchId);
    error ProvenanceLedgerBatchExists(bytes32 batchId);
    error ProvenanceLedgerUnknownParent(bytes32 batchId, bytes32 parentId);
    error ProvenanceLedgerEmptyUri();
    error ProvenanceLedgerNoEvents(bytes32 batchId);
    error ProvenanceLedgerLengthMismatch(uint256 kinds, uint256 payloads);
    error ProvenanceLedgerEmptyPayload(bytes32 batchId, uint256 position);
    /// @dev The batch is quarantined or recalled and `kind` is not INSPECTION or DESTRUCTION.
    error ProvenanceLedgerBatchQuarantined(bytes32 batchId, BatchStatus status, EventKind kind);
    error ProvenanceLedgerBatchDestroyed(bytes32 batchId);
    error ProvenanceLedgerInvalidTransition(bytes32 batchId, BatchStatus from, BatchStatus to);

    event BatchCreated(
        bytes32 indexed batchId,
        bytes32 indexed productClass,
        address indexed creator,
        BatchKind kind,
        bytes32[] parents,
        string uri
    );

    /// @param eventIndex position of this event in the batch's history (0-based).
    /// @param position index of the payload in the transaction's `payloads` array,
    /// so an indexer can take the payload back out of calldata.
    event EventRecorded(
        bytes32 indexed batchId,
        bytes32 indexed payloadHash,
        address indexed recorder,
        uint64 eventIndex,
        EventKind kind,
        uint32 position
    );

    event BatchStatusChanged(
        bytes32 indexed batchId, BatchStatus from, BatchStatus to, address indexed by, string reason
    );

    /**
     * @notice Creates a lot or serialized item whose id is `keccak256(bytes(uri))`,
     * `uri` being its canonical GS1 Digital Link URI. `parents` are the batches
     * it was made from (transformation / aggregation genealogy).
     * Requirements: caller authorized as OPERATOR_ROLE; `uri` non-empty and not
     * yet created; every parent exists.
     * Emits {BatchCreated}.
     */
    function createBatch(BatchKind kind, bytes32 productClass, bytes32[] calldata parents, string calldata uri)
        external
        returns (bytes32 batchId);

    /**
     * @notice Records EPCIS events of one batch; `payloads[i]` is the canonical
     * (RFC 8785) JSON of event i and `kinds[i]` its effect on the status machine.
     * Requirements: caller authorized as OPERATOR_ROLE; batch exists and is not
     * DESTROYED; equal, non-zero lengths; no empty payload; while QUARANTINED or
     * RECALLED only INSPECTION and DESTRUCTION events.
     * Emits {EventRecorded} per event, {BatchStatusChanged} on DESTRUCTION.
     */
    function recordEvents(bytes32 batchId, EventKind[] calldata kinds, bytes[] calldata payloads) external;

    /**
     * @notice Quarantines an ACTIVE or RELEASED batch.
     * Requirements: caller authorized as QUARANTINE_ROLE (held by the
     * ColdChainCompliance contract and, at the governor's choice, quality staff).
     * Emits {BatchStatusChanged}.
     */
    function quarantine(bytes32 batchId, string calldata reason) external;

    /**
     * @notice Releases a QUARANTINED or RECALLED batch.
     * Requirements: caller authorized as QUALITY_ROLE.
     * Emits {BatchStatusChanged}.
     */
    function release(bytes32 batchId, string calldata reason) external;

    /**
     * @notice Recalls an ACTIVE, RELEASED or QUARANTINED batch.
     * Requirements: caller authorized as QUALITY_ROLE.
     * Emits {BatchStatusChanged}.
     */
    function recall(bytes32 batchId, string calldata reason) external;

    /// @notice The stored batch (status NONE when unknown).
    function batch(bytes32 batchId) external view returns (Batch memory);

    /// @notice The membership contract that authorizes writers.
    function membership() external view returns (address);
}
