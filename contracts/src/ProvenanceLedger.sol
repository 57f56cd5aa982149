// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MembershipGated} from "./MembershipGated.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {IProvenanceLedger} from "./interfaces/IProvenanceLedger.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title Lifecycle ledger of lots and serialized items.
/// @notice Event payloads stay in calldata; the ledger emits their keccak256 and
/// stores only each batch's kind, status, creation time, event count, product
/// class, owner and custodian. Only the owner, the custodian or a writer one of
/// them authorized records a batch's events; custody moves by an offer the
/// receiver accepts. Batches of a GTIN are created only by the owner of its GS1 company
/// prefix (assigned by the governor) or an organization that owner delegated it to.
/// @dev Recording is priced close to the EIP-7623 calldata floor: one membership
/// call, one storage read and one storage write per transaction (the custodian
/// shares the status slot), per event only a keccak over scratch memory and one log.
contract ProvenanceLedger is IProvenanceLedger, MembershipGated {
    /// @dev kind, status, createdAt, eventCount and custodian share one slot, so the
    /// custodian recording events costs no extra read; 40-bit fields last past the year 36000.
    struct StoredBatch {
        BatchKind kind;
        BatchStatus status;
        uint40 createdAt;
        uint40 eventCount;
        address custodian;
        bytes32 productClass;
        address owner;
    }

    mapping(bytes32 batchId => StoredBatch) private _batches;
    /// @dev Who granted each writer; a grant counts only while its granter is owner or custodian.
    mapping(bytes32 batchId => mapping(address writer => address grantedBy)) private _writers;
    mapping(bytes32 batchId => address receiver) private _custodyOffers;
    /// @dev Keyed by `_prefixKey(digits, length)`: "0614141" and "614141" are different prefixes.
    mapping(uint256 prefixKey => address owner) private _prefixOwners;
    /// @dev Who delegated each prefix; a delegation counts only while its granter owns the prefix.
    mapping(uint256 prefixKey => mapping(address delegate => address grantedBy)) private _prefixDelegates;
    mapping(address organization => uint64) private _organizationEventCounts;

    /// @dev `https://id.gs1.org/01/`: every canonical lot or item URI starts so, the GTIN follows.
    bytes22 private constant _GS1_GTIN_PATH = "https://id.gs1.org/01/";
    uint256 private constant _GTIN_END = 36;
    uint256 private constant _VALUE_START = 40;
    uint256 private constant _MIN_PREFIX_DIGITS = 6;
    uint256 private constant _MAX_PREFIX_DIGITS = 12;

    /// @param membership_ the contract that authorizes every writer.
    constructor(IMembership membership_) MembershipGated(membership_) {}

    /// @inheritdoc IProvenanceLedger
    function createBatch(BatchKind kind, bytes32 productClass, bytes32[] calldata parents, string calldata uri)
        external
        onlyAuthorized(Roles.OPERATOR)
        returns (bytes32 batchId)
    {
        uint64 gtin = _checkDigitalLink(kind, uri);
        _checkPrefixHolder(gtin);
        batchId = keccak256(bytes(uri));
        _checkNewBatch(batchId, parents);
        _doCreateBatch(batchId, kind, productClass, parents, uri);
    }

    /// @inheritdoc IProvenanceLedger
    function recordEvents(bytes32 batchId, EventKind[] calldata kinds, bytes[] calldata payloads)
        external
        onlyAuthorized(Roles.OPERATOR)
    {
        StoredBatch storage stored = _batches[batchId];
        // status, eventCount and custodian share a slot: one SLOAD for the whole call.
        BatchStatus status = stored.status;
        uint40 eventCount = stored.eventCount;
        address custodian = stored.custodian;
        _checkRecordable(batchId, status, kinds.length, payloads.length);
        bool holder = _checkWriter(stored, batchId, custodian);
        _doRecordEvents(stored, batchId, status, eventCount, holder, kinds, payloads);
    }

    /// @inheritdoc IProvenanceLedger
    function recordFiledEvents(EventKind[] calldata kinds, bytes[] calldata payloads, bytes32[][] calldata filings)
        external
        onlyAuthorized(Roles.OPERATOR)
    {
        uint256 count = kinds.length;
        if (count != payloads.length) revert ProvenanceLedgerLengthMismatch(count, payloads.length);
        if (count != filings.length) revert ProvenanceLedgerFilingLengthMismatch(count, filings.length);
        if (count == 0) revert ProvenanceLedgerNoEvents(bytes32(0));
        for (uint256 i; i < count; ++i) {
            bytes32[] calldata filing = filings[i];
            if (filing.length == 0) _doRecordOrganizationEvent(kinds[i], payloads[i], i);
            else _doRecordFiledEvent(filing, kinds[i], payloads[i], i);
        }
    }

    /// @inheritdoc IProvenanceLedger
    function authorizeWriter(bytes32 batchId, address writer) external onlyAuthorized(Roles.OPERATOR) {
        _checkHolder(batchId);
        if (writer == address(0)) revert ProvenanceLedgerZeroAddress(batchId);
        _writers[batchId][writer] = msg.sender;
        emit WriterAuthorized(batchId, writer, msg.sender);
    }

    /// @inheritdoc IProvenanceLedger
    function revokeWriter(bytes32 batchId, address writer) external onlyAuthorized(Roles.OPERATOR) {
        _checkHolder(batchId);
        delete _writers[batchId][writer];
        emit WriterRevoked(batchId, writer, msg.sender);
    }

    /// @inheritdoc IProvenanceLedger
    function offerCustody(bytes32 batchId, address to) external onlyAuthorized(Roles.OPERATOR) {
        StoredBatch storage stored = _checkMovable(batchId);
        if (stored.custodian != msg.sender) revert ProvenanceLedgerNotCustodian(msg.sender, batchId);
        _custodyOffers[batchId] = to;
        emit CustodyOffered(batchId, msg.sender, to);
    }

    /// @inheritdoc IProvenanceLedger
    function acceptCustody(bytes32 batchId) external onlyAuthorized(Roles.OPERATOR) {
        StoredBatch storage stored = _checkMovable(batchId);
        if (_custodyOffers[batchId] != msg.sender) revert ProvenanceLedgerNoCustodyOffer(msg.sender, batchId);
        _doTransferCustody(stored, batchId, stored.custodian, msg.sender);
    }

    /// @inheritdoc IProvenanceLedger
    function assignPrefix(string calldata prefix, address owner) external onlyAuthorized(Roles.GOVERNOR) {
        _prefixOwners[_checkPrefix(prefix)] = owner;
        emit PrefixAssigned(prefix, owner, msg.sender);
    }

    /// @inheritdoc IProvenanceLedger
    function delegatePrefix(string calldata prefix, address delegate) external onlyAuthorized(Roles.OPERATOR) {
        _prefixDelegates[_checkPrefixOwner(prefix)][delegate] = msg.sender;
        emit PrefixDelegated(prefix, delegate, msg.sender);
    }

    /// @inheritdoc IProvenanceLedger
    function revokePrefixDelegation(string calldata prefix, address delegate) external onlyAuthorized(Roles.OPERATOR) {
        delete _prefixDelegates[_checkPrefixOwner(prefix)][delegate];
        emit PrefixDelegationRevoked(prefix, delegate, msg.sender);
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
        StoredBatch storage stored = _batches[batchId];
        return Batch({
            kind: stored.kind,
            status: stored.status,
            createdAt: stored.createdAt,
            eventCount: stored.eventCount,
            productClass: stored.productClass
        });
    }

    /// @inheritdoc IProvenanceLedger
    function custody(bytes32 batchId) external view returns (address owner, address custodian) {
        StoredBatch storage stored = _batches[batchId];
        return (stored.owner, stored.custodian);
    }

    /// @inheritdoc IProvenanceLedger
    function custodyOffer(bytes32 batchId) external view returns (address) {
        return _custodyOffers[batchId];
    }

    /// @inheritdoc IProvenanceLedger
    function isWriter(bytes32 batchId, address account) external view returns (bool) {
        StoredBatch storage stored = _batches[batchId];
        if (stored.status == BatchStatus.NONE) return false;
        return account == stored.custodian || account == stored.owner
            || _grantStands(_writers[batchId][account], stored.owner, stored.custodian);
    }

    /// @inheritdoc IProvenanceLedger
    function organizationEventCount(address organization) external view returns (uint64) {
        return _organizationEventCounts[organization];
    }

    /// @inheritdoc IProvenanceLedger
    function membership() external view returns (address) {
        return _membershipAddress();
    }

    /// @inheritdoc IProvenanceLedger
    function prefixOwner(string calldata prefix) external view returns (address) {
        return _prefixOwners[_checkPrefix(prefix)];
    }

    /// @inheritdoc IProvenanceLedger
    function isPrefixHolder(uint64 gtin, address account) external view returns (bool) {
        return _holdsPrefix(gtin, account);
    }

    /// @return gtin the GTIN named by `uri`, when `uri` is the canonical Digital Link of a `kind` batch.
    function _checkDigitalLink(BatchKind kind, string calldata uri) internal pure returns (uint64 gtin) {
        bytes calldata text = bytes(uri);
        if (text.length <= _VALUE_START || bytes22(text[:22]) != _GS1_GTIN_PATH) {
            revert ProvenanceLedgerNotDigitalLink(kind, uri);
        }
        // GS1 mod-10: from the right, the check digit has weight 1, then 3, 1, 3, ...
        uint256 weighted;
        for (uint256 i = 22; i < _GTIN_END; ++i) {
            uint8 char = uint8(text[i]);
            if (char < 0x30 || char > 0x39) revert ProvenanceLedgerNotDigitalLink(kind, uri);
            uint8 digit = char - 0x30;
            gtin = gtin * 10 + digit;
            weighted += i % 2 == 0 ? 3 * digit : digit;
        }
        bytes4 ai = bytes4(text[_GTIN_END:_VALUE_START]);
        if (weighted % 10 != 0 || ai != (kind == BatchKind.LOT ? bytes4("/10/") : bytes4("/21/"))) {
            revert ProvenanceLedgerNotDigitalLink(kind, uri);
        }
    }

    function _checkPrefixHolder(uint64 gtin) internal view {
        if (!_holdsPrefix(gtin, msg.sender)) revert ProvenanceLedgerNotPrefixHolder(msg.sender, gtin);
    }

    /// @dev The GTIN's prefix is the longest assigned one among the 6 to 12 digits after its
    /// indicator digit (GS1 never issues nested prefixes, so any match is the only one).
    function _holdsPrefix(uint64 gtin, address account) internal view returns (bool) {
        // The 12 digits between the indicator and the check digit.
        uint256 digits = (gtin / 10) % 1e12;
        for (uint256 length = _MAX_PREFIX_DIGITS; length >= _MIN_PREFIX_DIGITS; --length) {
            uint256 key = _prefixKey(digits, length);
            address owner = _prefixOwners[key];
            if (owner != address(0)) return account == owner || _prefixDelegates[key][account] == owner;
            digits /= 10;
        }
        return false;
    }

    /// @return key the prefix's storage key, when `prefix` is 6 to 12 decimal digits.
    function _checkPrefix(string calldata prefix) internal pure returns (uint256 key) {
        bytes calldata text = bytes(prefix);
        if (text.length < _MIN_PREFIX_DIGITS || text.length > _MAX_PREFIX_DIGITS) {
            revert ProvenanceLedgerInvalidPrefix(prefix);
        }
        uint256 digits;
        for (uint256 i; i < text.length; ++i) {
            uint8 char = uint8(text[i]);
            if (char < 0x30 || char > 0x39) revert ProvenanceLedgerInvalidPrefix(prefix);
            digits = digits * 10 + (char - 0x30);
        }
        return _prefixKey(digits, text.length);
    }

    /// @return key the prefix's storage key, when the caller owns `prefix`.
    function _checkPrefixOwner(string calldata prefix) internal view returns (uint256 key) {
        key = _checkPrefix(prefix);
        if (_prefixOwners[key] != msg.sender) revert ProvenanceLedgerNotPrefixOwner(msg.sender, prefix);
    }

    /// @dev The digit count keeps leading zeros significant.
    function _prefixKey(uint256 digits, uint256 length) internal pure returns (uint256) {
        return (length << 64) | digits;
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
        _checkLive(batchId, status);
        if (kindCount != payloadCount) revert ProvenanceLedgerLengthMismatch(kindCount, payloadCount);
        if (kindCount == 0) revert ProvenanceLedgerNoEvents(batchId);
    }

    function _checkLive(bytes32 batchId, BatchStatus status) internal pure {
        if (status == BatchStatus.NONE) revert ProvenanceLedgerUnknownBatch(batchId);
        if (status == BatchStatus.DESTROYED) revert ProvenanceLedgerBatchDestroyed(batchId);
    }

    /// @return holder whether the caller is the owner or custodian (else an authorized writer).
    function _checkWriter(StoredBatch storage stored, bytes32 batchId, address custodian)
        internal
        view
        returns (bool holder)
    {
        if (msg.sender == custodian) return true;
        address owner = stored.owner;
        if (msg.sender == owner) return true;
        if (!_grantStands(_writers[batchId][msg.sender], owner, custodian)) {
            revert ProvenanceLedgerNotBatchWriter(msg.sender, batchId);
        }
    }

    function _checkHolder(bytes32 batchId) internal view {
        StoredBatch storage stored = _batches[batchId];
        if (stored.status == BatchStatus.NONE) revert ProvenanceLedgerUnknownBatch(batchId);
        if (msg.sender != stored.custodian && msg.sender != stored.owner) {
            revert ProvenanceLedgerNotBatchHolder(msg.sender, batchId);
        }
    }

    /// @return stored the batch, when it exists and is not destroyed.
    function _checkMovable(bytes32 batchId) internal view returns (StoredBatch storage stored) {
        stored = _batches[batchId];
        if (stored.status == BatchStatus.NONE) revert ProvenanceLedgerUnknownBatch(batchId);
        if (stored.status == BatchStatus.DESTROYED) revert ProvenanceLedgerBatchDestroyed(batchId);
    }

    /// @dev A grant counts while the account that made it is still the owner or the custodian.
    function _grantStands(address grantedBy, address owner, address custodian) internal pure returns (bool) {
        return grantedBy != address(0) && (grantedBy == owner || grantedBy == custodian);
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
        _batches[batchId] = StoredBatch({
            kind: kind,
            status: BatchStatus.ACTIVE,
            createdAt: uint40(block.timestamp),
            eventCount: 0,
            custodian: msg.sender,
            productClass: productClass,
            owner: msg.sender
        });
        emit BatchCreated(batchId, productClass, msg.sender, kind, parents, uri);
        emit BatchOwnerSet(batchId, msg.sender);
        emit CustodyTransferred(batchId, address(0), msg.sender);
    }

    function _doTransferCustody(StoredBatch storage stored, bytes32 batchId, address from, address to) internal {
        stored.custodian = to;
        delete _custodyOffers[batchId];
        emit CustodyTransferred(batchId, from, to);
    }

    function _doRecordEvents(
        StoredBatch storage stored,
        bytes32 batchId,
        BatchStatus status,
        uint40 eventCount,
        bool holder,
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
                if (!holder) revert ProvenanceLedgerNotBatchHolder(msg.sender, batchId);
                // A destroyed batch takes no further event, not even later in this call.
                if (i + 1 != count) revert ProvenanceLedgerBatchDestroyed(batchId);
                emit BatchStatusChanged(batchId, status, BatchStatus.DESTROYED, msg.sender, "destroyed");
                status = BatchStatus.DESTROYED;
            }
            // Bounded by calldata size, far below the uint40 / uint256 limits.
            unchecked {
                ++i;
                ++eventCount;
            }
        }
        // One storage write per call, whatever the number of events.
        stored.eventCount = eventCount;
        if (status == BatchStatus.DESTROYED) stored.status = status;
    }

    /// @dev Files one event under each batch of `filing`, checking each as {recordEvents} does.
    function _doRecordFiledEvent(bytes32[] calldata filing, EventKind kind, bytes calldata payload, uint256 position)
        internal
    {
        bytes32 payloadHash = _hashPayload(payload);
        bytes32 previous;
        for (uint256 j; j < filing.length; ++j) {
            bytes32 batchId = filing[j];
            // Ascending ids rule out a batch named twice in one filing at one comparison each.
            if (j != 0 && batchId <= previous) revert ProvenanceLedgerUnsortedFiling(position, batchId);
            previous = batchId;
            _doRecordFiling(batchId, payloadHash, kind, payload.length, position);
        }
    }

    /// @dev The batch's slot is read and written per event: a batch may appear in several
    /// events of the call, and its count and status must follow every one of them.
    function _doRecordFiling(
        bytes32 batchId,
        bytes32 payloadHash,
        EventKind kind,
        uint256 payloadLength,
        uint256 position
    ) internal {
        StoredBatch storage stored = _batches[batchId];
        BatchStatus status = stored.status;
        uint40 eventCount = stored.eventCount;
        _checkLive(batchId, status);
        bool holder = _checkWriter(stored, batchId, stored.custodian);
        bool held = status == BatchStatus.QUARANTINED || status == BatchStatus.RECALLED;
        _checkEvent(batchId, held, status, kind, payloadLength, position);
        _emitFiledEventRecorded(batchId, payloadHash, eventCount, kind, position);
        // Bounded by calldata size, far below the uint40 limit.
        unchecked {
            stored.eventCount = eventCount + 1;
        }
        if (kind == EventKind.DESTRUCTION) {
            if (!holder) revert ProvenanceLedgerNotBatchHolder(msg.sender, batchId);
            // Stored at once: a later event of the call naming this batch is refused as destroyed.
            stored.status = BatchStatus.DESTROYED;
            emit BatchStatusChanged(batchId, status, BatchStatus.DESTROYED, msg.sender, "destroyed");
        }
    }

    function _doRecordOrganizationEvent(EventKind kind, bytes calldata payload, uint256 position) internal {
        if (kind == EventKind.DESTRUCTION) revert ProvenanceLedgerUnfiledDestruction(position);
        if (payload.length == 0) revert ProvenanceLedgerEmptyPayload(bytes32(0), position);
        uint64 eventIndex = _organizationEventCounts[msg.sender];
        _organizationEventCounts[msg.sender] = eventIndex + 1;
        emit OrganizationEventRecorded(msg.sender, _hashPayload(payload), eventIndex, kind, uint32(position));
    }

    function _doChangeStatus(bytes32 batchId, BatchStatus from, BatchStatus to, string calldata reason) internal {
        _batches[batchId].status = to;
        emit BatchStatusChanged(batchId, from, to, msg.sender, reason);
    }

    /// @dev keccak256 of `payload`, hashed in scratch memory past the free pointer without
    /// advancing it, so memory does not grow with the event count.
    function _hashPayload(bytes calldata payload) private pure returns (bytes32 payloadHash) {
        assembly ("memory-safe") {
            let scratch := mload(0x40)
            calldatacopy(scratch, payload.offset, payload.length)
            payloadHash := keccak256(scratch, payload.length)
        }
    }

    /// @dev Emits {EventRecorded} of an event whose payload is already hashed (one hash
    /// serves every batch of its filing).
    function _emitFiledEventRecorded(
        bytes32 batchId,
        bytes32 payloadHash,
        uint40 eventIndex,
        EventKind kind,
        uint256 position
    ) private {
        emit EventRecorded(batchId, payloadHash, msg.sender, eventIndex, kind, uint32(position));
    }

    /// @dev Emits {EventRecorded} for `payload`, hashed in scratch memory past the free
    /// pointer without advancing it, so memory does not grow with the event count.
    /// Assembly because this is the per-event cost the calldata-floor target budgets.
    function _emitEventRecorded(
        bytes32 batchId,
        bytes calldata payload,
        uint40 eventIndex,
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
