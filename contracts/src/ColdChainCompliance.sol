// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {MembershipGated} from "./MembershipGated.sol";
import {IColdChainCompliance} from "./interfaces/IColdChainCompliance.sol";
import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {IProvenanceLedger} from "./interfaces/IProvenanceLedger.sol";
import {ColdChainRules} from "./libraries/ColdChainRules.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title Cold-chain compliance: versioned rules, anchored reading windows and
/// on-chain enforcement from device-signed readings (RULES.md).
/// @notice Stores only the rules, one compliance state and the next window's first seq per
/// (batch, device); reading windows stay in calldata behind their Merkle root. Quarantines go through the
/// ProvenanceLedger, so this contract must hold QUARANTINE_ROLE in Membership, and it
/// must be the DeviceRegistry's compliance contract.
contract ColdChainCompliance is IColdChainCompliance, MembershipGated, EIP712 {
    bytes32 public constant READING_TYPEHASH = keccak256(
        "Reading(address device,bytes32 batchId,uint64 seq,uint64 timestamp,int32 tempMilliC,uint16 humidityPermille)"
    );

    /// @dev Packed window layout: [device (20)][first timestamp (8)] then 7 bytes per reading.
    uint256 private constant _PACKED_HEADER_BYTES = 28;
    uint256 private constant _PACKED_RECORD_BYTES = 7;

    IProvenanceLedger private immutable _ledger;
    IDeviceRegistry private immutable _registry;

    mapping(bytes32 productClass => Rule) private _rules;
    mapping(bytes32 productClass => address organization) private _classAuthorities;
    mapping(bytes32 productClass => uint32) private _ruleVersions;
    mapping(bytes32 batchId => mapping(address device => ComplianceState)) private _states;
    /// @dev One above the last anchored seq (uint256: a window may end at type(uint64).max).
    mapping(bytes32 batchId => mapping(address device => uint256 nextSeq)) private _nextWindowSeqs;

    /// @param membership_ the contract that authorizes every writer.
    /// @param ledger_ the ledger whose batches are checked and quarantined.
    /// @param registry_ the device registry that checks devices and their sequence numbers.
    constructor(IMembership membership_, IProvenanceLedger ledger_, IDeviceRegistry registry_)
        MembershipGated(membership_)
        EIP712("ColdChainCompliance", "1")
    {
        _ledger = ledger_;
        _registry = registry_;
    }

    /// @inheritdoc IColdChainCompliance
    function setRule(bytes32 productClass, Rule calldata newRule) external onlyAuthorized(Roles.QUALITY) {
        _checkClassAuthority(productClass);
        _checkRule(productClass, newRule);
        _doSetRule(productClass, newRule);
    }

    /// @inheritdoc IColdChainCompliance
    function assignClassAuthority(bytes32 productClass, address organization) external onlyAuthorized(Roles.GOVERNOR) {
        _classAuthorities[productClass] = organization;
        emit ClassAuthorityAssigned(productClass, organization, msg.sender);
    }

    /// @inheritdoc IColdChainCompliance
    function classAuthority(bytes32 productClass) external view returns (address) {
        return _classAuthorities[productClass];
    }

    /// @inheritdoc IColdChainCompliance
    function anchorReadings(
        bytes32 batchId,
        bytes32 merkleRoot,
        uint64 firstSeq,
        uint64 lastSeq,
        bytes calldata packedReadings
    ) external onlyAuthorized(Roles.ORACLE) {
        _checkBatch(batchId);
        _checkWindow(batchId, firstSeq, lastSeq, packedReadings.length);
        address device = address(bytes20(packedReadings[:20]));
        _checkNotAnchored(batchId, device, firstSeq);
        _doAnchor(batchId, device, merkleRoot, firstSeq, lastSeq);
    }

    /// @inheritdoc IColdChainCompliance
    function submitReadings(SignedReading[] calldata signedReadings) external onlyAuthorized(Roles.ORACLE) {
        uint256 count = signedReadings.length;
        if (count == 0) revert ColdChainComplianceNoReadings();
        for (uint256 i; i < count; ++i) {
            _submitReading(signedReadings[i], i);
        }
    }

    /// @inheritdoc IColdChainCompliance
    function rule(bytes32 productClass) external view returns (Rule memory, uint32 version) {
        return (_rules[productClass], _ruleVersions[productClass]);
    }

    /// @inheritdoc IColdChainCompliance
    function complianceState(bytes32 batchId, address device) external view returns (ComplianceState memory) {
        return _states[batchId][device];
    }

    /// @inheritdoc IColdChainCompliance
    function nextWindowSeq(bytes32 batchId, address device) external view returns (uint256) {
        return _nextWindowSeqs[batchId][device];
    }

    /// @inheritdoc IColdChainCompliance
    function hashReading(Reading calldata reading) external view returns (bytes32) {
        return _hashReading(reading);
    }

    /// @dev Checks, evaluates and applies one reading; the order of the checks is the
    /// order documented on {submitReadings}.
    function _submitReading(SignedReading calldata signed, uint256 index) internal {
        Reading calldata reading = signed.reading;
        _checkSignature(reading, signed.signature, index);
        (IProvenanceLedger.BatchStatus status, bytes32 productClass) = _checkBatch(reading.batchId);
        (Rule memory current, uint32 version) = _checkRuleOf(productClass);
        (ComplianceState memory next, Decision decision) =
            ColdChainRules.evaluate(current, _states[reading.batchId][reading.device], reading);
        _registry.acceptReading(reading.device, reading.batchId, reading.seq);
        _doApplyReading(reading, next, decision, version, status);
    }

    function _hashReading(Reading calldata reading) internal view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    READING_TYPEHASH,
                    reading.device,
                    reading.batchId,
                    reading.seq,
                    reading.timestamp,
                    reading.tempMilliC,
                    reading.humidityPermille
                )
            )
        );
    }

    /// @dev Malformed (length, high s, bad v), unrecoverable and foreign signatures are all refused alike.
    function _checkSignature(Reading calldata reading, bytes calldata signature, uint256 index) internal view {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(_hashReading(reading), signature);
        if (err != ECDSA.RecoverError.NoError || signer != reading.device) {
            revert ColdChainComplianceInvalidSignature(index);
        }
    }

    function _checkClassAuthority(bytes32 productClass) internal view {
        if (_classAuthorities[productClass] != msg.sender) {
            revert ColdChainComplianceNotClassAuthority(msg.sender, productClass);
        }
    }

    function _checkRule(bytes32 productClass, Rule calldata newRule) internal pure {
        if (!ColdChainRules.isValid(newRule)) {
            revert ColdChainComplianceInvalidRule(
                productClass, newRule.hardMinMilliC, newRule.minMilliC, newRule.maxMilliC, newRule.hardMaxMilliC
            );
        }
    }

    function _checkBatch(bytes32 batchId)
        internal
        view
        returns (IProvenanceLedger.BatchStatus status, bytes32 productClass)
    {
        IProvenanceLedger.Batch memory stored = _ledger.batch(batchId);
        if (stored.status == IProvenanceLedger.BatchStatus.NONE) revert ColdChainComplianceUnknownBatch(batchId);
        return (stored.status, stored.productClass);
    }

    function _checkRuleOf(bytes32 productClass) internal view returns (Rule memory current, uint32 version) {
        version = _ruleVersions[productClass];
        if (version == 0) revert ColdChainComplianceNoRule(productClass);
        current = _rules[productClass];
    }

    function _checkWindow(bytes32 batchId, uint64 firstSeq, uint64 lastSeq, uint256 packedLength) internal pure {
        if (firstSeq > lastSeq) revert ColdChainComplianceInvalidWindow(batchId, firstSeq, lastSeq);
        // At most 2^64 readings: no uint256 overflow.
        uint256 expected = _PACKED_HEADER_BYTES + _PACKED_RECORD_BYTES * (uint256(lastSeq - firstSeq) + 1);
        if (packedLength != expected) revert ColdChainComplianceInvalidPackedLength(batchId, expected, packedLength);
    }

    function _checkNotAnchored(bytes32 batchId, address device, uint64 firstSeq) internal view {
        uint256 nextSeq = _nextWindowSeqs[batchId][device];
        if (firstSeq < nextSeq) revert ColdChainComplianceWindowAlreadyAnchored(batchId, device, firstSeq, nextSeq);
    }

    function _doAnchor(bytes32 batchId, address device, bytes32 merkleRoot, uint64 firstSeq, uint64 lastSeq) internal {
        _nextWindowSeqs[batchId][device] = uint256(lastSeq) + 1;
        emit ReadingsAnchored(batchId, device, merkleRoot, firstSeq, lastSeq);
    }

    function _doSetRule(bytes32 productClass, Rule calldata newRule) internal {
        uint32 version = _ruleVersions[productClass] + 1;
        _rules[productClass] = newRule;
        _ruleVersions[productClass] = version;
        emit RuleSet(productClass, version, newRule);
    }

    /// @dev Stores the new state, emits the decision and quarantines a live batch on a
    /// QUARANTINE_* decision (an already held batch is not quarantined twice).
    function _doApplyReading(
        Reading calldata reading,
        ComplianceState memory next,
        Decision decision,
        uint32 version,
        IProvenanceLedger.BatchStatus status
    ) internal {
        _states[reading.batchId][reading.device] = next;
        if (decision == Decision.NONE) return;
        emit ComplianceDecision(reading.batchId, reading.device, reading.seq, version, decision);
        if (
            ColdChainRules.isQuarantine(decision)
                && (status == IProvenanceLedger.BatchStatus.ACTIVE || status == IProvenanceLedger.BatchStatus.RELEASED)
        ) {
            _ledger.quarantine(reading.batchId, _quarantineReason(decision));
            emit ExcursionQuarantine(reading.batchId, version, reading.device, reading.seq, decision);
        }
    }

    function _quarantineReason(Decision decision) internal pure returns (string memory) {
        if (decision == Decision.QUARANTINE_EXCURSION) return "cold-chain: excursion too long";
        if (decision == Decision.QUARANTINE_HARD_LIMIT) return "cold-chain: hard limit";
        if (decision == Decision.QUARANTINE_DATA_GAP) return "cold-chain: data gap";
        return "cold-chain: reading missing during excursion";
    }
}
