// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMembership} from "./interfaces/IMembership.sol";
import {IProvenanceLedger} from "./interfaces/IProvenanceLedger.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title Lifecycle ledger of lots and serialized items.
/// @notice Event payloads stay in calldata; the ledger emits their keccak256 and
/// stores only each batch's kind, status, creation time, event count and
/// product class.
/// @dev Recording is priced close to the EIP-7623 calldata floor: one membership
/// call and one storage write per transaction, per event only a keccak over
/// scratch memory and one log.
contract ProvenanceLedger is IProvenanceLedger {
    IMembership private immutable _membership;

    /// @dev kind, status, createdAt and eventCount share one slot; productClass takes the second.
    mapping(bytes32 batchId => Batch) private _batches;

    /// @param membership_ the contract that authorizes every writer.
    constructor(IMembership membership_) {
        _membership = membership_;
    }

    modifier onlyAuthorized(bytes32 role) {
        _membership.authorize(role, msg.sender);
        _;
    }

    /// @inheritdoc IProvenanceLedger
    function createBatch(BatchKind kind, bytes32 productClass, bytes32[] calldata parents, string calldata uri)
        external
        onlyAuthorized(Roles.OPERATOR)
        returns (bytes32 batchId)
    {
        if (bytes(uri).length == 0) revert ProvenanceLedgerEmptyUri();
        batchId = keccak256(bytes(uri));
        _checkNewBatch(batchId, parents);
        _doCreateBatch(batchId, kind, productClass, parents, uri);
    }

    /// @inheritdoc IProvenanceLedger
    function recordEvents(bytes32 batchId, EventKind[] calldata kinds, bytes[] calldata payloads)
        external
        onlyAuthorized(Roles.OPERATOR)
    {
        Batch storage stored = _batches[batchId];
        // status and eventCount share a slot: one SLOAD for the whole call.
        BatchStatus status = stored.status;
        uint64 eventCount = stored.eventCount;
        _checkRecordable(batchId, status, kinds.length, payloads.length);
        _doRecordEvents(stored, batchId, status, eventCount, kinds, payloads);
    }

    /// @inheritdoc IProvenanceLedger
    function quarantine(bytes32 batchId, string calldata reason) external onlyAuthorized(Roles.QUARANTINE) {
        BatchStatus from = _checkTransition(batchId, BatchStatus.QUARANTINED);
        _doChangeStatus(batchId, from, BatchStatus.QUARANTINED, reason);
    }

    /// @inheritdoc IProvenanceLedger
    function release(bytes32 batchId, string calldata reason) external onlyAuthorized(Roles.QUALITY) {
        BatchStatus from = _checkTransition(batchId, BatchStatus.RELEASED);
        _doChangeStatus(batchId, from, BatchStatus.RELEASED, reason);
    }

    /// @inheritdoc IProvenanceLedger
    function recall(bytes32 batchId, string calldata reason) external onlyAuthorized(Roles.QUALITY) {
        BatchStatus from = _checkTransition(batchId, BatchStatus.RECALLED);
        _doChangeStatus(batchId, from, BatchStatus.RECALLED, reason);
    }

    /// @inheritdoc IProvenanceLedger
    function batch(bytes32 batchId) external view returns (Batch memory) {
        return _batches[batchId];
    }

    /// @inheritdoc IProvenanceLedger
    function membership() external view returns (address) {
        return address(_membership);
    }

    function _checkNewBatch(bytes32 batchId, bytes32[] calldata parents) internal view {
        if (_batches[batchId].status != BatchStatus.NONE) revert ProvenanceLedgerBatchExists(batchId);
        for (uint256 i; i < parents.length; ++i) {
            if (_batches[parents[i]].status == BatchStatus.NONE) {
                revert ProvenanceLedgerUnknownParent(batchId, parents[i]);
            }
        }
    }

    function _checkRecordable(bytes32 batchId, BatchStatus status, uint256 kindCount, uint256 payloadCount)
        internal
        pure
    {
        if (status == BatchStatus.NONE) revert ProvenanceLedgerUnknownBatch(batchId);
        if (status == BatchStatus.DESTROYED) revert ProvenanceLedgerBatchDestroyed(batchId);
        if (kindCount != payloadCount) revert ProvenanceLedgerLengthMismatch(kindCount, payloadCount);
        if (kindCount == 0) revert ProvenanceLedgerNoEvents(batchId);
    }

    function _checkEvent(
        bytes32 batchId,
        bool held,
        BatchStatus status,
        EventKind kind,
        uint256 payloadLength,
        uint256 position
    ) internal pure {
        if (held && kind == EventKind.OTHER) {
            revert ProvenanceLedgerBatchQuarantined(batchId, status, kind);
        }
        if (payloadLength == 0) revert ProvenanceLedgerEmptyPayload(batchId, position);
    }

    /// @return from the current status, when the move to `to` is allowed.
    function _checkTransition(bytes32 batchId, BatchStatus to) internal view returns (BatchStatus from) {
        from = _batches[batchId].status;
        if (from == BatchStatus.NONE) revert ProvenanceLedgerUnknownBatch(batchId);
        bool allowed;
        if (to == BatchStatus.QUARANTINED) {
            allowed = from == BatchStatus.ACTIVE || from == BatchStatus.RELEASED;
        } else if (to == BatchStatus.RELEASED) {
            allowed = from == BatchStatus.QUARANTINED || from == BatchStatus.RECALLED;
        } else if (to == BatchStatus.RECALLED) {
            allowed = from == BatchStatus.ACTIVE || from == BatchStatus.RELEASED || from == BatchStatus.QUARANTINED;
        }
        if (!allowed) revert ProvenanceLedgerInvalidTransition(batchId, from, to);
    }

    function _doCreateBatch(
        bytes32 batchId,
        BatchKind kind,
        bytes32 productClass,
        bytes32[] calldata parents,
        string calldata uri
    ) internal {
        _batches[batchId] = Batch({
            kind: kind,
            status: BatchStatus.ACTIVE,
            createdAt: uint64(block.timestamp),
            eventCount: 0,
            productClass: productClass
        });
        emit BatchCreated(batchId, productClass, msg.sender, kind, parents, uri);
    }

    function _doRecordEvents(
        Batch storage stored,
        bytes32 batchId,
        BatchStatus status,
        uint64 eventCount,
        EventKind[] calldata kinds,
        bytes[] calldata payloads
    ) internal {
        uint256 count = kinds.length;
        // Fixed for the whole call: the only status change inside it, destruction, must be its last event.
        bool held = status == BatchStatus.QUARANTINED || status == BatchStatus.RECALLED;
        for (uint256 i; i < count;) {
            EventKind kind = kinds[i];
            bytes calldata payload = payloads[i];
            _checkEvent(batchId, held, status, kind, payload.length, i);
            _emitEventRecorded(batchId, payload, eventCount, kind, i);
            if (kind == EventKind.DESTRUCTION) {
                // A destroyed batch takes no further event, not even later in this call.
                if (i + 1 != count) revert ProvenanceLedgerBatchDestroyed(batchId);
                emit BatchStatusChanged(batchId, status, BatchStatus.DESTROYED, msg.sender, "destroyed");
                status = BatchStatus.DESTROYED;
            }
            // Bounded by calldata size, far below the uint64 / uint256 limits.
            unchecked {
                ++i;
                ++eventCount;
            }
        }
        // One storage write per call, whatever the number of events.
        stored.eventCount = eventCount;
        if (status == BatchStatus.DESTROYED) stored.status = status;
    }

    function _doChangeStatus(bytes32 batchId, BatchStatus from, BatchStatus to, string calldata reason) internal {
        _batches[batchId].status = to;
        emit BatchStatusChanged(batchId, from, to, msg.sender, reason);
    }

    /// @dev Emits {EventRecorded} for `payload`, hashed in scratch memory past the free
    /// pointer without advancing it, so memory does not grow with the event count.
    /// Assembly because this is the per-event cost the calldata-floor target budgets.
    function _emitEventRecorded(
        bytes32 batchId,
        bytes calldata payload,
        uint64 eventIndex,
        EventKind kind,
        uint256 position
    ) private {
        bytes32 topic0 = EventRecorded.selector;
        assembly ("memory-safe") {
            let scratch := mload(0x40)
            calldatacopy(scratch, payload.offset, payload.length)
            let payloadHash := keccak256(scratch, payload.length)
            mstore(scratch, eventIndex)
            mstore(add(scratch, 0x20), kind)
            mstore(add(scratch, 0x40), position)
            log4(scratch, 0x60, topic0, batchId, payloadHash, caller())
        }
    }
}
