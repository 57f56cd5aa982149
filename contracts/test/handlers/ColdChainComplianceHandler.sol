// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IColdChainCompliance} from "../../src/interfaces/IColdChainCompliance.sol";
import {IDeviceRegistry} from "../../src/interfaces/IDeviceRegistry.sol";
import {IProvenanceLedger} from "../../src/interfaces/IProvenanceLedger.sol";
import {Roles} from "../../src/libraries/Roles.sol";
import {ColdChainBase} from "../utils/ColdChainBase.sol";
import {Vm} from "../utils/Vm.sol";

/// @dev Drives ColdChainCompliance with signed readings (valid, foreign, malleable, compact,
/// other-domain, tampered; fresh, replayed, lower, skipped; in range, out of range, past the
/// hard limits; from registered, inactive, unassigned and unknown devices), device changes,
/// rule changes, releases, anchors and intruders. An independent model (the reference
/// evaluation of RULES.md plus the registry's and ledger's rules) predicts each call's exact
/// outcome; the model changes only on a predicted and observed success. Violations are
/// counted for the invariants to assert (the runner ignores handler reverts).
contract ColdChainComplianceHandler is ColdChainBase {
    struct GhostDevice {
        bool registered;
        bool active;
        bytes32 assigned;
        uint64 lastSeq;
    }

    /// @dev The last device is never registered; the last lot's product class has no rule.
    uint256 public constant DEVICES = 4;
    uint256 public constant LOTS = 3;
    bytes32 internal constant UNRULED = keccak256("no-rule-class");
    uint256 internal constant FOREIGN_KEY = 0xBADD1CE;

    uint256[DEVICES] internal _keys;
    address[DEVICES] public devices;
    bytes32[LOTS] public lots;

    IColdChainCompliance.Rule internal _rule;
    mapping(address device => GhostDevice) internal _ghostDevices;
    mapping(bytes32 batchId => mapping(address device => IColdChainCompliance.ComplianceState)) internal _ghostStates;
    mapping(bytes32 batchId => IProvenanceLedger.BatchStatus) public ghostStatus;
    /// @dev Per lot, one above the last seq of the zero device's anchored windows.
    mapping(bytes32 batchId => uint256) internal _ghostNextWindowSeqs;
    /// @dev Accepted, validly signed readings whose reference decision is QUARANTINE_*.
    mapping(bytes32 batchId => uint256) public breaches;
    /// @dev Whether quality acknowledged the lot's current quarantine.
    mapping(bytes32 batchId => bool) public ghostAcknowledged;

    mapping(bytes32 batchId => IProvenanceLedger.BatchStatus) internal _seenStatus;
    mapping(address device => uint64) internal _seenDeviceSeq;
    mapping(bytes32 batchId => mapping(address device => uint64)) internal _seenStateSeq;

    uint256 public unexpectedOutcomes;
    uint256 public quarantinesWithoutBreach;
    uint256 public lastSeqDecreases;
    uint256 public acceptedReadings;
    uint256 public refusedReadings;
    uint256 public quarantines;

    constructor() {
        _deploy();
        _rule = _defaultRule();
        _setRule(PRODUCT, _rule);
        lots[0] = _createBatch(PRODUCT);
        lots[1] = _createBatch(PRODUCT);
        lots[2] = _createBatch(UNRULED);
        for (uint256 b; b < LOTS; ++b) {
            ghostStatus[lots[b]] = ACTIVE;
            _seenStatus[lots[b]] = ACTIVE;
        }
        for (uint256 d; d < DEVICES; ++d) {
            _keys[d] = uint256(keccak256(abi.encode("invariant-device", d))) % (SECP256K1_N - 1) + 1;
            devices[d] = vm.addr(_keys[d]);
            if (d + 1 == DEVICES) continue;
            bytes32 lot = lots[d % 2]; // two devices share the first lot
            _enrolDevice(_keys[d], lot);
            _ghostDevices[devices[d]] = GhostDevice({registered: true, active: true, assigned: lot, lastSeq: 0});
        }
    }

    // ---------------------------------------------------------------- actions

    function submit(uint256 deviceSeed, uint256 lotSeed, uint8 seqMode, uint8 timeMode, uint8 tempPick, uint8 sigMode)
        external
    {
        // Mostly a registered device on its own batch, so that most readings can be accepted.
        uint256 d = deviceSeed % 10 == 9 ? DEVICES - 1 : deviceSeed % (DEVICES - 1);
        bytes32 lot = _pickLot(devices[d], lotSeed);
        IColdChainCompliance.ComplianceState memory state = _ghostStates[lot][devices[d]];
        IColdChainCompliance.Reading memory reading = _reading(
            devices[d],
            lot,
            _pickSeq(state, _ghostDevices[devices[d]].lastSeq, seqMode),
            _pickTimestamp(state, timeMode),
            _pickTemp(tempPick)
        );
        (bytes memory signature, bool signatureOk) = _pickSignature(_keys[d], reading, sigMode);
        bytes memory expected = _predict(reading, signatureOk, state);

        bool breached;
        vm.recordLogs();
        vm.prank(oracle);
        try compliance.submitReadings(_one(IColdChainCompliance.SignedReading(reading, signature))) {
            Vm.Log[] memory logs = vm.getRecordedLogs();
            if (expected.length != 0) ++unexpectedOutcomes;
            else breached = _applyAccepted(reading, state, logs);
        } catch (bytes memory reason) {
            vm.getRecordedLogs();
            ++refusedReadings;
            if (expected.length == 0 || keccak256(reason) != keccak256(expected)) ++unexpectedOutcomes;
        }
        _observe(breached ? lot : bytes32(0));
    }

    /// @dev A caller without ORACLE_ROLE submits a valid, breaching reading.
    function intrude(uint256 callerSeed, uint256 deviceSeed) external {
        address device = devices[deviceSeed % (DEVICES - 1)];
        address[5] memory intruders = [governor, operator, quality, outsider, device];
        address caller = intruders[callerSeed % intruders.length];
        GhostDevice storage ghost = _ghostDevices[device];
        bytes32 lot = ghost.assigned == bytes32(0) ? lots[0] : ghost.assigned;
        IColdChainCompliance.ComplianceState memory state = _ghostStates[lot][device];
        uint64 seq = (state.lastSeq > ghost.lastSeq ? state.lastSeq : ghost.lastSeq) + 1;
        uint64 timestamp = state.lastTimestamp > T0 ? state.lastTimestamp : T0;
        IColdChainCompliance.Reading memory reading = _reading(device, lot, seq, timestamp, _rule.hardMaxMilliC + 1);

        vm.prank(caller);
        try compliance.submitReadings(_one(_signed(_keys[deviceSeed % (DEVICES - 1)], reading))) {
            ++unexpectedOutcomes;
        } catch (bytes memory reason) {
            if (keccak256(reason) != keccak256(_unauthorized(caller, Roles.ORACLE))) ++unexpectedOutcomes;
        }
        _observe(bytes32(0));
    }

    function assign(uint256 deviceSeed, uint256 lotSeed) external {
        address device = devices[deviceSeed % (DEVICES - 1)];
        bytes32 lot = lotSeed % 4 == 3 ? bytes32(0) : lots[lotSeed % LOTS];
        vm.prank(operator);
        try registry.assignDevice(device, lot) {
            _ghostDevices[device].assigned = lot;
        } catch {
            ++unexpectedOutcomes;
        }
        _observe(bytes32(0));
    }

    function setDeviceActive(uint256 deviceSeed, bool active) external {
        address device = devices[deviceSeed % (DEVICES - 1)];
        vm.prank(governor);
        try registry.setDeviceActive(device, active) {
            _ghostDevices[device].active = active;
        } catch {
            ++unexpectedOutcomes;
        }
        _observe(bytes32(0));
    }

    /// @dev Quality acknowledges the excursion first, or (one time in three) tries without:
    /// every quarantine here is the rule contract's, so only an acknowledged one is released.
    function release(uint256 lotSeed, uint8 acknowledgeMode) external {
        bytes32 lot = lots[lotSeed % LOTS];
        bool held = ghostStatus[lot] == QUARANTINED;
        vm.startPrank(quality);
        if (acknowledgeMode % 3 != 0) {
            try ledger.acknowledgeExcursion(lot, "inspected") {
                if (held) ghostAcknowledged[lot] = true;
                else ++unexpectedOutcomes;
            } catch {
                if (held) ++unexpectedOutcomes;
            }
        }
        bool allowed = held && ghostAcknowledged[lot];
        try ledger.release(lot, "inspected") {
            if (allowed) ghostStatus[lot] = RELEASED;
            else ++unexpectedOutcomes;
        } catch {
            if (allowed) ++unexpectedOutcomes;
        }
        vm.stopPrank();
        _observe(bytes32(0));
    }

    /// @dev Switches PRODUCT between the default, a strict and a lenient rule.
    function setRule(uint256 variant) external {
        IColdChainCompliance.Rule memory next = _defaultRule();
        if (variant % 3 == 1) {
            (next.allowedExcursionSeconds, next.maxDataGapSeconds) = (0, 600);
        } else if (variant % 3 == 2) {
            (next.minMilliC, next.maxMilliC, next.hardMinMilliC, next.hardMaxMilliC) = (-1000, 15_000, -20_000, 40_000);
            (next.allowedExcursionSeconds, next.maxDataGapSeconds) = (7200, 0);
        }
        vm.prank(quality);
        try compliance.setRule(PRODUCT, next) {
            _rule = next;
        } catch {
            ++unexpectedOutcomes;
        }
        _observe(bytes32(0));
    }

    /// @dev Windows of the zero device (the packed header is all zeros): a continuing one
    /// starts where the last ended, any other anywhere (often at or below an anchored seq).
    function anchor(uint256 lotSeed, uint64 firstSeq, uint8 count, bool wrongLength, bool continuing) external {
        bytes32 lot = lots[lotSeed % LOTS];
        uint256 readings = uint256(count) + 1;
        uint256 nextSeq = _ghostNextWindowSeqs[lot];
        firstSeq = continuing && nextSeq <= type(uint64).max - readings
            ? uint64(nextSeq)
            : uint64(bound(firstSeq, 0, type(uint64).max - readings));
        uint64 lastSeq = uint64(firstSeq + readings - 1);
        bytes memory packed = new bytes(28 + 7 * readings + (wrongLength ? 1 : 0));
        bool refused = wrongLength || firstSeq < nextSeq;
        vm.prank(oracle);
        try compliance.anchorReadings(lot, keccak256(packed), firstSeq, lastSeq, packed) {
            if (refused) ++unexpectedOutcomes;
            else _ghostNextWindowSeqs[lot] = uint256(lastSeq) + 1;
        } catch (bytes memory reason) {
            bytes memory expected = wrongLength
                ? abi.encodeWithSelector(
                    IColdChainCompliance.ColdChainComplianceInvalidPackedLength.selector,
                    lot,
                    28 + 7 * readings,
                    packed.length
                )
                : abi.encodeWithSelector(
                    IColdChainCompliance.ColdChainComplianceWindowAlreadyAnchored.selector,
                    lot,
                    address(0),
                    firstSeq,
                    nextSeq
                );
            if (!refused || keccak256(reason) != keccak256(expected)) ++unexpectedOutcomes;
        }
        if (compliance.nextWindowSeq(lot, address(0)) != _ghostNextWindowSeqs[lot]) ++unexpectedOutcomes;
        _observe(bytes32(0));
    }

    // ---------------------------------------------------------------- model

    /// @dev The exact revert data the contract must produce, in its documented check order
    /// (empty: the reading must be accepted).
    function _predict(
        IColdChainCompliance.Reading memory reading,
        bool signatureOk,
        IColdChainCompliance.ComplianceState memory state
    ) internal view returns (bytes memory) {
        if (!signatureOk) return _invalidSignature(0);
        if (reading.batchId == keccak256("missing")) {
            return
                abi.encodeWithSelector(IColdChainCompliance.ColdChainComplianceUnknownBatch.selector, reading.batchId);
        }
        if (reading.batchId == lots[2]) {
            return abi.encodeWithSelector(IColdChainCompliance.ColdChainComplianceNoRule.selector, UNRULED);
        }
        if (reading.seq <= state.lastSeq) return _stale(reading, state);
        if (reading.timestamp < state.lastTimestamp) return _regression(reading, state);
        return _predictDevice(reading);
    }

    function _predictDevice(IColdChainCompliance.Reading memory reading) internal view returns (bytes memory) {
        GhostDevice storage ghost = _ghostDevices[reading.device];
        if (!ghost.registered) {
            return abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownDevice.selector, reading.device);
        }
        if (!ghost.active) {
            return abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInactiveDevice.selector, reading.device);
        }
        if (ghost.assigned != reading.batchId) {
            return abi.encodeWithSelector(
                IDeviceRegistry.DeviceRegistryNotAssigned.selector, reading.device, reading.batchId, ghost.assigned
            );
        }
        if (reading.seq <= ghost.lastSeq) {
            return abi.encodeWithSelector(
                IDeviceRegistry.DeviceRegistryStaleSequence.selector, reading.device, reading.seq, ghost.lastSeq
            );
        }
        return "";
    }

    function _applyAccepted(
        IColdChainCompliance.Reading memory reading,
        IColdChainCompliance.ComplianceState memory state,
        Vm.Log[] memory logs
    ) internal returns (bool breached) {
        (IColdChainCompliance.ComplianceState memory next, IColdChainCompliance.Decision decision) =
            _reference(_rule, state, reading);
        ++acceptedReadings;
        _ghostStates[reading.batchId][reading.device] = next;
        _ghostDevices[reading.device].lastSeq = reading.seq;
        if (_decisionIn(logs) != decision) ++unexpectedOutcomes;
        if (decision < IColdChainCompliance.Decision.QUARANTINE_EXCURSION) return false;
        ++breaches[reading.batchId];
        IProvenanceLedger.BatchStatus status = ghostStatus[reading.batchId];
        if (status == ACTIVE || status == RELEASED) {
            ghostStatus[reading.batchId] = QUARANTINED;
            ghostAcknowledged[reading.batchId] = false;
            ++quarantines;
        }
        return true;
    }

    /// @dev Counts batches that became quarantined other than through `breachedLot` (the lot of
    /// an accepted, validly signed reading that breaks the rule in this call, zero if none) and
    /// sequence numbers that went down.
    function _observe(bytes32 breachedLot) internal {
        for (uint256 b; b < LOTS; ++b) {
            bytes32 lot = lots[b];
            IProvenanceLedger.BatchStatus status = _status(lot);
            if (status == QUARANTINED && _seenStatus[lot] != QUARANTINED && lot != breachedLot) {
                ++quarantinesWithoutBreach;
            }
            _seenStatus[lot] = status;
            for (uint256 d; d < DEVICES; ++d) {
                uint64 stateSeq = compliance.complianceState(lot, devices[d]).lastSeq;
                if (stateSeq < _seenStateSeq[lot][devices[d]]) ++lastSeqDecreases;
                _seenStateSeq[lot][devices[d]] = stateSeq;
            }
        }
        for (uint256 d; d < DEVICES; ++d) {
            uint64 deviceSeq = registry.device(devices[d]).lastSeq;
            if (deviceSeq < _seenDeviceSeq[devices[d]]) ++lastSeqDecreases;
            _seenDeviceSeq[devices[d]] = deviceSeq;
        }
    }

    // ---------------------------------------------------------------- input picks

    /// @dev Mostly the device's assigned batch; sometimes any batch, the batch without a rule
    /// or a batch that does not exist.
    function _pickLot(address device, uint256 seed) internal view returns (bytes32) {
        uint256 m = seed % 10;
        bytes32 assigned = _ghostDevices[device].assigned;
        if (m <= 6 && assigned != bytes32(0)) return assigned;
        if (m == 8) return lots[LOTS - 1];
        if (m == 9) return keccak256("missing");
        return lots[seed % LOTS];
    }

    /// @dev Mostly a seq above both the (lot, device) state and the device's counter;
    /// sometimes the state's next seq, a skip, a replay or a lower seq.
    function _pickSeq(IColdChainCompliance.ComplianceState memory state, uint64 deviceSeq, uint8 mode)
        internal
        pure
        returns (uint64)
    {
        uint64 highest = state.lastSeq > deviceSeq ? state.lastSeq : deviceSeq;
        uint8 m = mode % 10;
        if (m <= 6) return highest + 1;
        if (m == 7) return state.lastSeq + 1;
        if (m == 8) return highest + 2 + mode % 3;
        uint8 stale = (mode / 10) % 3;
        if (stale == 0) return state.lastSeq;
        if (stale == 1) return deviceSeq;
        return state.lastSeq == 0 ? 0 : state.lastSeq - 1;
    }

    /// @dev Steps around the rule's thresholds (60 s, 10 min, the 30 min allowance, the 1 h
    /// gap) and, rarely, a regression.
    function _pickTimestamp(IColdChainCompliance.ComplianceState memory state, uint8 mode)
        internal
        pure
        returns (uint64)
    {
        uint64 base = state.lastTimestamp > T0 ? state.lastTimestamp : T0;
        uint64[8] memory steps = [uint64(0), 60, 600, 1200, 1800, 1801, 3601, 60];
        uint8 m = mode % 9;
        if (m == 8) return state.lastTimestamp == 0 ? base : state.lastTimestamp - 1;
        return base + steps[m];
    }

    function _pickTemp(uint8 pick) internal view returns (int32) {
        uint8 p = pick % 11;
        if (p <= 3) return (_rule.minMilliC + _rule.maxMilliC) / 2;
        if (p == 4) return _rule.maxMilliC + 1000;
        if (p == 5) return _rule.minMilliC - 1000;
        if (p == 6) return _rule.hardMaxMilliC + 1;
        if (p == 7) return _rule.hardMinMilliC - 1;
        if (p == 8) return _rule.minMilliC;
        if (p == 9) return _rule.hardMaxMilliC;
        return _rule.maxMilliC + 1;
    }

    /// @return signature for `reading` by the device's key or a forgery of some kind
    /// @return ok whether the contract must accept it as the device's signature
    function _pickSignature(uint256 key, IColdChainCompliance.Reading memory reading, uint8 mode)
        internal
        view
        returns (bytes memory signature, bool ok)
    {
        uint8 m = mode % 20;
        signature = _signature(key, _digest(reading, block.chainid, address(compliance)));
        if (m <= 13) return (signature, true);
        if (m == 14) return (_signature(FOREIGN_KEY, _digest(reading, block.chainid, address(compliance))), false);
        if (m == 15) return (_highS(signature), false);
        if (m == 16) return (_compact(signature), false);
        if (m == 17) return (_signature(key, _digest(reading, block.chainid + 1, address(compliance))), false);
        if (m == 18) return (_signature(key, _digest(reading, block.chainid, address(registry))), false);
        // Signed for another temperature: the submitted reading is not what the device signed.
        IColdChainCompliance.Reading memory signedReading =
            _reading(reading.device, reading.batchId, reading.seq, reading.timestamp, reading.tempMilliC + 1);
        return (_signature(key, _digest(signedReading, block.chainid, address(compliance))), false);
    }

    // ---------------------------------------------------------------- views for the invariants

    function ghostState(bytes32 lot, address device)
        external
        view
        returns (IColdChainCompliance.ComplianceState memory)
    {
        return _ghostStates[lot][device];
    }

    function ghostDeviceSeq(address device) external view returns (uint64) {
        return _ghostDevices[device].lastSeq;
    }

    function chainStatus(bytes32 lot) external view returns (IProvenanceLedger.BatchStatus) {
        return _status(lot);
    }

    function chainState(bytes32 lot, address device)
        external
        view
        returns (IColdChainCompliance.ComplianceState memory)
    {
        return compliance.complianceState(lot, device);
    }

    function chainDeviceSeq(address device) external view returns (uint64) {
        return registry.device(device).lastSeq;
    }
}
