// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Cold-chain compliance: versioned rules, anchored reading windows and
/// on-chain enforcement from device-signed readings.
/// @notice The shared specification is `oracle_bridge/RULES.md`; the Python rule
/// engine implements the same evaluation and both run `test/fixtures/rule_cases.json`.
interface IColdChainCompliance {
    /// @dev One sensor reading, signed by `device` as EIP-712 typed data under the domain
    /// {name: "ColdChainCompliance", version: "1", chainId, verifyingContract: this}.
    struct Reading {
        address device;
        bytes32 batchId;
        uint64 seq;
        uint64 timestamp;
        int32 tempMilliC;
        uint16 humidityPermille;
    }

    /// @dev `signature` is 65 bytes r || s || v with v = 27 or 28 and a low s.
    struct SignedReading {
        Reading reading;
        bytes signature;
    }

    /// @dev Valid iff hardMinMilliC <= minMilliC < maxMilliC <= hardMaxMilliC.
    /// `maxDataGapSeconds` zero disables the data-gap rule. `requireCalibration` is
    /// stored and published with the rule; the evaluation does not read it.
    struct Rule {
        int32 minMilliC;
        int32 maxMilliC;
        int32 hardMinMilliC;
        int32 hardMaxMilliC;
        uint32 allowedExcursionSeconds;
        uint32 maxDataGapSeconds;
        bool requireCalibration;
    }

    /// @dev One per (batchId, device); all zero before the first reading.
    struct ComplianceState {
        uint64 lastSeq;
        uint64 lastTimestamp;
        bool inExcursion;
        uint64 excursionStart;
    }

    /// @dev Same numbering as the Python rule engine.
    enum Decision {
        NONE,
        EXCURSION_STARTED,
        EXCURSION_EXTENDED,
        EXCURSION_ENDED,
        QUARANTINE_EXCURSION,
        QUARANTINE_HARD_LIMIT,
        QUARANTINE_DATA_GAP,
        QUARANTINE_MISSING_EVIDENCE
    }

    /// @notice The signature at `index` of the submitted array is malformed (not 65 bytes,
    /// high s, bad v), recovers no address, or recovers an address other than its device.
    /// @param index the refused reading's index in `signedReadings`.
    error ColdChainComplianceInvalidSignature(uint256 index);
    /// @notice The rule does not satisfy hardMin <= min < max <= hardMax.
    /// @param productClass the class the rule is for.
    /// @param hardMinMilliC its hard lower limit.
    /// @param minMilliC its lower limit.
    /// @param maxMilliC its upper limit.
    /// @param hardMaxMilliC its hard upper limit.
    error ColdChainComplianceInvalidRule(
        bytes32 productClass, int32 hardMinMilliC, int32 minMilliC, int32 maxMilliC, int32 hardMaxMilliC
    );
    /// @notice `account` is not the organization the governor assigned to set `productClass`'s rule.
    /// @param account the refused caller.
    /// @param productClass the class whose rule it would set.
    error ColdChainComplianceNotClassAuthority(address account, bytes32 productClass);
    /// @notice No rule was ever set for the batch's product class.
    /// @param productClass the batch's product class.
    error ColdChainComplianceNoRule(bytes32 productClass);
    /// @notice The ledger has no batch `batchId`.
    /// @param batchId the batch asked for.
    error ColdChainComplianceUnknownBatch(bytes32 batchId);
    /// @notice {submitReadings} was given no reading.
    error ColdChainComplianceNoReadings();
    /// @notice The window's first seq is above its last.
    /// @param batchId the window's batch.
    /// @param firstSeq its first seq.
    /// @param lastSeq its last seq.
    error ColdChainComplianceInvalidWindow(bytes32 batchId, uint64 firstSeq, uint64 lastSeq);
    /// @notice `packedReadings` is not 28 + 7 * (lastSeq - firstSeq + 1) bytes long.
    /// @param batchId the window's batch.
    /// @param expected the length its seqs call for.
    /// @param actual the length given.
    error ColdChainComplianceInvalidPackedLength(bytes32 batchId, uint256 expected, uint256 actual);
    /// @notice The window starts at or below a seq already anchored for (batch, device): it, or
    /// part of it, is on chain already.
    /// @param batchId the window's batch.
    /// @param device the window's device.
    /// @param firstSeq the window's first seq.
    /// @param nextSeq the lowest first seq a window may have.
    error ColdChainComplianceWindowAlreadyAnchored(bytes32 batchId, address device, uint64 firstSeq, uint256 nextSeq);
    /// @notice RULES.md P1: `seq` is not above the (batch, device) state's `lastSeq`.
    /// @param batchId the reading's batch.
    /// @param device the reading's device.
    /// @param seq the reading's sequence number.
    /// @param lastSeq the state's last sequence number.
    error ColdChainComplianceStaleSequence(bytes32 batchId, address device, uint64 seq, uint64 lastSeq);
    /// @notice RULES.md P2: `timestamp` is below the (batch, device) state's `lastTimestamp`.
    /// @param batchId the reading's batch.
    /// @param device the reading's device.
    /// @param timestamp the reading's timestamp.
    /// @param lastTimestamp the state's last timestamp.
    error ColdChainComplianceTimestampRegression(
        bytes32 batchId, address device, uint64 timestamp, uint64 lastTimestamp
    );

    event RuleSet(bytes32 indexed productClass, uint32 version, Rule rule);

    /// @dev From now on only `organization` (holding QUALITY_ROLE) sets `productClass`'s rule.
    event ClassAuthorityAssigned(bytes32 indexed productClass, address indexed organization, address assignedBy);

    /// @dev Readings `firstSeq..lastSeq` of `device` for `batchId`: their Merkle root is
    /// `merkleRoot`, their packed bytes are in this transaction's calldata.
    event ReadingsAnchored(
        bytes32 indexed batchId, address indexed device, bytes32 merkleRoot, uint64 firstSeq, uint64 lastSeq
    );

    /// @dev Reading `seq` of `device` changed the compliance state (`decision` is never NONE).
    event ComplianceDecision(
        bytes32 indexed batchId, address indexed device, uint64 seq, uint32 ruleVersion, Decision decision
    );

    /// @dev This contract quarantined `batchId` in the ledger because of reading `seq`.
    event ExcursionQuarantine(
        bytes32 indexed batchId, uint32 ruleVersion, address indexed device, uint64 seq, Decision reason
    );

    /**
     * @notice Sets the rule of `productClass`, bumping its version (the first rule is
     * version 1). Compliance states in progress are evaluated under the new rule from
     * their next reading on.
     * Requirements: caller authorized as QUALITY_ROLE; caller is the class's authority
     * ({assignClassAuthority}); the rule is valid.
     * Emits {RuleSet}.
     */
    function setRule(bytes32 productClass, Rule calldata newRule) external;

    /**
     * @notice Makes `organization` the only one that sets `productClass`'s rule (the quality
     * organization answering for that class); it replaces the previous authority, and the
     * zero address leaves the class without one. The rule in force is kept.
     * Requirements: caller authorized as GOVERNOR_ROLE.
     * Emits {ClassAuthorityAssigned}.
     */
    function assignClassAuthority(bytes32 productClass, address organization) external;

    /// @notice The organization that sets `productClass`'s rule; zero before the governor assigns one.
    function classAuthority(bytes32 productClass) external view returns (address);

    /**
     * @notice Anchors a window of one device's readings of one batch. `packedReadings`
     * is a 28-byte header [device address (20)][first timestamp uint64 (8)] followed by
     * one 7-byte record per reading, seq `firstSeq..lastSeq` in order:
     * [uint16 seconds since the previous reading (0 for the first)][int24 tempMilliC]
     * [uint16 humidityPermille], all big-endian. Only the window's end is stored: per
     * (batch, device) windows must go up, so no reading is ever anchored twice (two senders
     * racing with the same window, a resend after a lost receipt, a transaction replayed
     * after a reorg).
     * Requirements: caller authorized as ORACLE_ROLE; batch exists; firstSeq <= lastSeq;
     * packedReadings is 28 + 7 * (lastSeq - firstSeq + 1) bytes long; firstSeq is at least
     * {nextWindowSeq} of (batchId, the packed header's device).
     * Emits {ReadingsAnchored}.
     */
    function anchorReadings(
        bytes32 batchId,
        bytes32 merkleRoot,
        uint64 firstSeq,
        uint64 lastSeq,
        bytes calldata packedReadings
    ) external;

    /**
     * @notice Verifies and evaluates signed readings in order, each against its
     * (batch, device) compliance state (RULES.md), and quarantines a batch whose rule
     * one breaks. The whole call reverts if any reading is refused.
     * Requirements: caller authorized as ORACLE_ROLE; at least one reading; then per
     * reading, in this order: a valid signature by `reading.device`; the batch exists;
     * its product class has a rule; RULES.md preconditions P1 and P2 hold against the
     * (batch, device) state; the device is registered, active, assigned to the batch and
     * `seq` is above its last accepted sequence number (DeviceRegistry errors); and, for a
     * quarantine, this contract holds QUARANTINE_ROLE.
     * Emits {ComplianceDecision} per reading whose decision is not NONE; on a
     * QUARANTINE_* decision while the batch is ACTIVE or RELEASED, quarantines it in
     * the ledger and emits {ExcursionQuarantine} (a batch already QUARANTINED, RECALLED
     * or DESTROYED gets the decision only).
     */
    function submitReadings(SignedReading[] calldata signedReadings) external;

    /// @notice The rule of `productClass` and its version (version 0: no rule yet).
    function rule(bytes32 productClass) external view returns (Rule memory, uint32 version);

    /// @notice The compliance state of `device`'s readings for `batchId`.
    function complianceState(bytes32 batchId, address device) external view returns (ComplianceState memory);

    /// @notice The lowest first seq the next window of `device`'s readings for `batchId` may
    /// have: one above the last anchored seq (0 before any window).
    function nextWindowSeq(bytes32 batchId, address device) external view returns (uint256);

    /// @notice The EIP-712 digest a device signs for `reading` under this contract's domain.
    function hashReading(Reading calldata reading) external view returns (bytes32);
}
