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

    /// @notice No batch was ever created with id `batchId`.
    /// @param batchId the batch asked for.
    error ProvenanceLedgerUnknownBatch(bytes32 batchId);
    /// @notice A batch with id `batchId` (the same Digital Link URI) exists already.
    /// @param batchId the id of the batch to create.
    error ProvenanceLedgerBatchExists(bytes32 batchId);
    /// @notice A parent named for the new batch was never created.
    /// @param batchId the batch to create.
    /// @param parentId the first unknown parent.
    error ProvenanceLedgerUnknownParent(bytes32 batchId, bytes32 parentId);
    /// @notice {recordEvents} or {recordFiledEvents} was given no event.
    /// @param batchId the batch to record events of (zero for {recordFiledEvents}).
    error ProvenanceLedgerNoEvents(bytes32 batchId);
    /// @notice {recordEvents} or {recordFiledEvents} was given a different number of kinds and payloads.
    /// @param kinds the number of event kinds.
    /// @param payloads the number of payloads.
    error ProvenanceLedgerLengthMismatch(uint256 kinds, uint256 payloads);
    /// @notice The payload at `position` is empty; every event needs its canonical JSON.
    /// @param batchId the batch to record events of (zero for an event filed under the organization).
    /// @param position the empty payload's index in `payloads`.
    error ProvenanceLedgerEmptyPayload(bytes32 batchId, uint256 position);
    /// @notice The batch is quarantined or recalled, and `kind` is neither INSPECTION nor DESTRUCTION.
    /// @param batchId the held batch.
    /// @param status its status: QUARANTINED or RECALLED.
    /// @param kind the refused event's kind.
    error ProvenanceLedgerBatchQuarantined(bytes32 batchId, BatchStatus status, EventKind kind);
    /// @notice The batch is destroyed, or is destroyed earlier in the same call: it takes no further
    /// event and no custody move.
    /// @param batchId the destroyed batch.
    error ProvenanceLedgerBatchDestroyed(bytes32 batchId);
    /// @notice The status machine does not move a batch from `from` to `to`.
    /// @param batchId the batch.
    /// @param from its current status.
    /// @param to the status asked for.
    error ProvenanceLedgerInvalidTransition(bytes32 batchId, BatchStatus from, BatchStatus to);
    /// @notice `account` is not the batch's owner or custodian, nor a writer one of them authorized.
    /// @param account the refused caller.
    /// @param batchId the batch to record events of.
    error ProvenanceLedgerNotBatchWriter(address account, bytes32 batchId);
    /// @notice `account` is neither the batch's owner nor its custodian (needed to destroy it or to
    /// authorize writers).
    /// @param account the refused caller.
    /// @param batchId the batch.
    error ProvenanceLedgerNotBatchHolder(address account, bytes32 batchId);
    /// @notice `account` is not the batch's custodian (needed to offer custody).
    /// @param account the refused caller.
    /// @param batchId the batch to offer.
    error ProvenanceLedgerNotCustodian(address account, bytes32 batchId);
    /// @notice No custody offer of the batch stands for `account`.
    /// @param account the caller that would take custody.
    /// @param batchId the batch.
    error ProvenanceLedgerNoCustodyOffer(address account, bytes32 batchId);
    /// @notice The zero address cannot be authorized as a writer of the batch.
    /// @param batchId the batch.
    error ProvenanceLedgerZeroAddress(bytes32 batchId);
    /// @notice `uri` is not a canonical GS1 Digital Link of a `kind` batch:
    /// `https://id.gs1.org/01/{gtin14}/10/{lot}` (LOT) or `.../21/{serial}` (ITEM), the GTIN's
    /// check digit right and the lot or serial non-empty.
    /// @param kind the kind of batch to create.
    /// @param uri the refused URI.
    error ProvenanceLedgerNotDigitalLink(BatchKind kind, string uri);
    /// @notice `account` neither owns the GS1 company prefix of `gtin` nor holds it by delegation
    /// (no prefix of `gtin` may be assigned at all).
    /// @param account the refused caller.
    /// @param gtin the GTIN of the batch to create.
    error ProvenanceLedgerNotPrefixHolder(address account, uint64 gtin);
    /// @notice `account` does not own the company prefix `prefix` (needed to delegate it).
    /// @param account the refused caller.
    /// @param prefix the prefix to delegate or whose delegation to revoke.
    error ProvenanceLedgerNotPrefixOwner(address account, string prefix);
    /// @notice `prefix` is not a GS1 company prefix: 6 to 12 decimal digits.
    /// @param prefix the refused prefix.
    error ProvenanceLedgerInvalidPrefix(string prefix);
    /// @notice {recordFiledEvents} was given a different number of events and filings.
    /// @param events the number of events (kinds and payloads).
    /// @param filings the number of filings.
    error ProvenanceLedgerFilingLengthMismatch(uint256 events, uint256 filings);
    /// @notice The filing of the event at `position` does not list its batches in strictly
    /// ascending id order: `batchId` comes after a larger id or repeats one.
    /// @param position the event's index in `payloads`.
    /// @param batchId the batch out of order.
    error ProvenanceLedgerUnsortedFiling(uint256 position, bytes32 batchId);
    /// @notice The DESTRUCTION event at `position` names no batch to destroy.
    /// @param position the event's index in `payloads`.
    error ProvenanceLedgerUnfiledDestruction(uint256 position);

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

    /// @notice An event that names no lot or item (a location or a document only), anchored
    /// under the organization that recorded it.
    /// @param organization the recording organization (the caller).
    /// @param payloadHash keccak256 of the event's payload.
    /// @param eventIndex position of this event among the organization's own (0-based).
    /// @param kind the event's kind (never DESTRUCTION).
    /// @param position index of the payload in the transaction's `payloads` array.
    event OrganizationEventRecorded(
        address indexed organization, bytes32 indexed payloadHash, uint64 eventIndex, EventKind kind, uint32 position
    );

    event BatchStatusChanged(
        bytes32 indexed batchId, BatchStatus from, BatchStatus to, address indexed by, string reason
    );

    /// @notice `owner` owns the new batch (from its creation on; ownership never moves).
    event BatchOwnerSet(bytes32 indexed batchId, address indexed owner);

    /// @notice The batch's custody passed from `from` to `to` (`from` zero at creation).
    event CustodyTransferred(bytes32 indexed batchId, address indexed from, address indexed to);

    /// @notice The custodian `from` offered the batch to `to` (zero: the offer was withdrawn).
    event CustodyOffered(bytes32 indexed batchId, address indexed from, address indexed to);

    /// @notice The owner or custodian `by` let `writer` record events of the batch.
    event WriterAuthorized(bytes32 indexed batchId, address indexed writer, address indexed by);

    /// @notice The owner or custodian `by` withdrew `writer`'s authorization.
    event WriterRevoked(bytes32 indexed batchId, address indexed writer, address indexed by);

    /// @notice The governor assigned the GS1 company prefix `prefix` to `owner` (zero: withdrew it).
    event PrefixAssigned(string prefix, address indexed owner, address indexed by);

    /// @notice The prefix's owner let `delegate` create batches of the prefix's GTINs.
    event PrefixDelegated(string prefix, address indexed delegate, address indexed owner);

    /// @notice The prefix's owner withdrew `delegate`'s delegation.
    event PrefixDelegationRevoked(string prefix, address indexed delegate, address indexed owner);

    /**
     * @notice Creates a lot or serialized item whose id is `keccak256(bytes(uri))`,
     * `uri` being its canonical GS1 Digital Link URI. `parents` are the batches
     * it was made from (transformation / aggregation genealogy).
     * The caller becomes the batch's owner and its first custodian.
     * Requirements: caller authorized as OPERATOR_ROLE; `uri` is the canonical Digital
     * Link of a `kind` batch (`https://id.gs1.org/01/{gtin14}/10/{lot}` or `/21/{serial}`)
     * and not yet created; the caller owns the GTIN's company prefix (the longest one
     * assigned) or holds it by the owner's delegation; every parent exists.
     * Emits {BatchCreated}, {BatchOwnerSet} and {CustodyTransferred}.
     */
    function createBatch(BatchKind kind, bytes32 productClass, bytes32[] calldata parents, string calldata uri)
        external
        returns (bytes32 batchId);

    /**
     * @notice Records EPCIS events of one batch; `payloads[i]` is the canonical
     * (RFC 8785) JSON of event i and `kinds[i]` its effect on the status machine.
     * Requirements: caller authorized as OPERATOR_ROLE and the batch's owner, its
     * custodian or a writer the current owner or custodian authorized; a DESTRUCTION
     * event only by the owner or custodian; batch exists and is not DESTROYED; equal,
     * non-zero lengths; no empty payload; while QUARANTINED or RECALLED only
     * INSPECTION and DESTRUCTION events.
     * Emits {EventRecorded} per event, {BatchStatusChanged} on DESTRUCTION.
     */
    function recordEvents(bytes32 batchId, EventKind[] calldata kinds, bytes[] calldata payloads) external;

    /**
     * @notice Records EPCIS events each filed under every batch it names: event i under
     * each of `filings[i]`, which lists those batches' ids in strictly ascending order. Each
     * batch of a filing is checked as {recordEvents} checks its batch, with the same errors,
     * and gets its own {EventRecorded} with its next `eventIndex`, so one refused batch
     * reverts the whole call naming that batch. An empty filing anchors the event under the
     * caller's organization.
     * Requirements: caller authorized as OPERATOR_ROLE; equal, non-zero numbers of kinds,
     * payloads and filings; no empty payload; for every batch of a filing, everything
     * {recordEvents} requires of it (a DESTRUCTION its last event in the call); a DESTRUCTION
     * event names a batch.
     * Emits {EventRecorded} per event and batch, {BatchStatusChanged} on DESTRUCTION,
     * {OrganizationEventRecorded} per event with an empty filing.
     */
    function recordFiledEvents(EventKind[] calldata kinds, bytes[] calldata payloads, bytes32[][] calldata filings)
        external;

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

    /**
     * @notice Lets `writer` record events of the batch (a lab's inspection, say) while
     * the caller stays its owner or custodian.
     * Requirements: caller authorized as OPERATOR_ROLE and the batch's owner or
     * custodian; the batch exists; `writer` is not zero.
     * Emits {WriterAuthorized}.
     */
    function authorizeWriter(bytes32 batchId, address writer) external;

    /**
     * @notice Withdraws `writer`'s authorization for the batch.
     * Requirements: caller authorized as OPERATOR_ROLE and the batch's owner or custodian.
     * Emits {WriterRevoked}.
     */
    function revokeWriter(bytes32 batchId, address writer) external;

    /**
     * @notice Offers custody of the batch to `to` (a shipment); `to` takes it with
     * {acceptCustody}. A new offer replaces the standing one; `to` zero withdraws it.
     * Requirements: caller authorized as OPERATOR_ROLE and the batch's custodian; the
     * batch is not DESTROYED.
     * Emits {CustodyOffered}.
     */
    function offerCustody(bytes32 batchId, address to) external;

    /**
     * @notice Takes custody of a batch offered to the caller (the receiving side).
     * Requirements: caller authorized as OPERATOR_ROLE; the standing offer names the
     * caller; the batch is not DESTROYED.
     * Emits {CustodyTransferred}.
     */
    function acceptCustody(bytes32 batchId) external;

    /**
     * @notice Assigns the GS1 company prefix `prefix` to the organization `owner`; only it
     * and the organizations it delegates to create batches of GTINs under the prefix. A
     * reassignment ends the previous owner's delegations; `owner` zero withdraws the prefix.
     * Where assigned prefixes nest, a GTIN belongs to the longest.
     * Requirements: caller authorized as GOVERNOR_ROLE; `prefix` is 6 to 12 digits.
     * Emits {PrefixAssigned}.
     */
    function assignPrefix(string calldata prefix, address owner) external;

    /**
     * @notice Lets `delegate` (a contract manufacturer, say) create batches of GTINs under
     * the caller's prefix, for as long as the caller owns it.
     * Requirements: caller authorized as OPERATOR_ROLE and the prefix's owner.
     * Emits {PrefixDelegated}.
     */
    function delegatePrefix(string calldata prefix, address delegate) external;

    /**
     * @notice Withdraws `delegate`'s delegation of the caller's prefix.
     * Requirements: caller authorized as OPERATOR_ROLE and the prefix's owner.
     * Emits {PrefixDelegationRevoked}.
     */
    function revokePrefixDelegation(string calldata prefix, address delegate) external;

    /// @notice The owner of the company prefix `prefix` (zero when unassigned).
    function prefixOwner(string calldata prefix) external view returns (address);

    /// @notice Whether `account` may create batches of `gtin` (role and pause aside): it owns
    /// the GTIN's company prefix or holds it by delegation.
    function isPrefixHolder(uint64 gtin, address account) external view returns (bool);

    /// @notice The batch's owner and custodian (zero when unknown).
    function custody(bytes32 batchId) external view returns (address owner, address custodian);

    /// @notice The account the batch's custody is offered to (zero when none).
    function custodyOffer(bytes32 batchId) external view returns (address);

    /// @notice Whether `account` may record events of the batch (role and pause aside).
    function isWriter(bytes32 batchId, address account) external view returns (bool);

    /// @notice The stored batch (status NONE when unknown).
    function batch(bytes32 batchId) external view returns (Batch memory);

    /// @notice How many events are anchored under `organization` itself (empty filings).
    function organizationEventCount(address organization) external view returns (uint64);

    /// @notice The membership contract that authorizes writers.
    function membership() external view returns (address);
}
