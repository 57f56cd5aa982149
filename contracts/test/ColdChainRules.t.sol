// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IColdChainCompliance} from "../src/interfaces/IColdChainCompliance.sol";
import {IProvenanceLedger} from "../src/interfaces/IProvenanceLedger.sol";
import {ColdChainRules} from "../src/libraries/ColdChainRules.sol";
import {ColdChainBase} from "./utils/ColdChainBase.sol";
import {Vm} from "./utils/Vm.sol";

/// @dev Exposes the internal library so reverts can be caught with try / catch.
contract ColdChainRulesHarness {
    function evaluate(
        IColdChainCompliance.Rule memory rule,
        IColdChainCompliance.ComplianceState memory state,
        IColdChainCompliance.Reading memory reading
    ) external pure returns (IColdChainCompliance.ComplianceState memory, IColdChainCompliance.Decision) {
        return ColdChainRules.evaluate(rule, state, reading);
    }
}

/// @dev Runs the shared table of cases (test/fixtures/rule_cases.json, also run by the
/// Python rule engine) through the real ColdChainCompliance, reading by reading, and
/// through the library alone; then checks the library against a reference written from
/// RULES.md with random rules, states and readings.
contract ColdChainRulesTest is ColdChainBase {
    struct RuleCase {
        string name;
        IColdChainCompliance.Rule rule;
        IColdChainCompliance.Reading[] readings;
        uint256[] decisions;
        bool hasError;
        uint256 errorAt;
        string errorName;
    }

    string internal constant FIXTURE = "/test/fixtures/rule_cases.json";
    uint256 internal constant MIN_CASES = 25;
    uint256 internal constant QUARANTINE_EXCURSION = uint256(IColdChainCompliance.Decision.QUARANTINE_EXCURSION);

    ColdChainRulesHarness internal harness;
    string internal json;

    function setUp() public {
        _deploy();
        harness = new ColdChainRulesHarness();
        json = vm.readFile(string.concat(vm.projectRoot(), FIXTURE));
    }

    // ---------------------------------------------------------------- the shared table

    function test_Fixture_IsWellFormed() public view {
        uint256 count = _caseCount();
        assertGe(count, MIN_CASES, "at least 25 cases");
        for (uint256 i; i < count; ++i) {
            RuleCase memory c = _loadCase(i);
            assertEq(c.decisions.length, c.readings.length, string.concat(c.name, ": one decision per reading"));
            assertTrue(ColdChainRules.isValid(c.rule), string.concat(c.name, ": valid rule"));
            for (uint256 j; j < c.decisions.length; ++j) {
                assertLe(c.decisions[j], uint256(type(IColdChainCompliance.Decision).max), "decision in range");
            }
            if (c.hasError) {
                assertLt(c.errorAt, c.readings.length, string.concat(c.name, ": error.at is a reading"));
                assertEq(c.decisions[c.errorAt], 0, string.concat(c.name, ": the refused reading decides NONE"));
            }
        }
    }

    function test_Fixture_EveryCaseThroughTheContract() public {
        uint256 count = _caseCount();
        for (uint256 i; i < count; ++i) {
            _runThroughContract(_loadCase(i), i);
        }
    }

    function test_Fixture_EveryCaseThroughTheLibrary() public view {
        uint256 count = _caseCount();
        for (uint256 i; i < count; ++i) {
            _runThroughLibrary(_loadCase(i));
        }
    }

    // ---------------------------------------------------------------- the library against a reference

    function testFuzz_Evaluate_MatchesTheReference(
        int32[4] memory limits,
        uint32 allowed,
        uint32 maxGap,
        IColdChainCompliance.ComplianceState memory state,
        uint64 seqStep,
        uint64 timeStep,
        uint8 tempPick,
        int32 tempNoise
    ) public view {
        IColdChainCompliance.Rule memory rule = _fuzzRule(limits, allowed, maxGap);
        state.lastSeq = uint64(bound(state.lastSeq, 0, type(uint64).max - 1_000));
        state.lastTimestamp = uint64(bound(state.lastTimestamp, 0, type(uint64).max / 2));
        state.excursionStart = state.inExcursion ? uint64(bound(state.excursionStart, 0, state.lastTimestamp)) : 0;
        // Within the preconditions: mostly the next seq, sometimes a skip (in or out of an excursion).
        uint64 seq = state.lastSeq + uint64(bound(seqStep, 1, 3));
        uint64 timestamp = state.lastTimestamp + uint64(bound(timeStep, 0, 2 * uint256(rule.maxDataGapSeconds) + 10));
        IColdChainCompliance.Reading memory reading =
            _reading(address(0xD), bytes32(0), seq, timestamp, _fuzzTemp(rule, tempPick, tempNoise));

        (IColdChainCompliance.ComplianceState memory next, IColdChainCompliance.Decision decision) =
            harness.evaluate(rule, state, reading);
        (IColdChainCompliance.ComplianceState memory expected, IColdChainCompliance.Decision expectedDecision) =
            _reference(rule, state, reading);

        assertEq(uint256(decision), uint256(expectedDecision), "decision");
        assertEq(next.lastSeq, expected.lastSeq, "lastSeq");
        assertEq(next.lastTimestamp, expected.lastTimestamp, "lastTimestamp");
        assertEq(next.inExcursion, expected.inExcursion, "inExcursion");
        assertEq(next.excursionStart, expected.excursionStart, "excursionStart");
    }

    function testFuzz_Evaluate_HardLimitQuarantinesWhateverTheState(
        int32[4] memory limits,
        IColdChainCompliance.ComplianceState memory state,
        bool below,
        uint32 beyond
    ) public view {
        IColdChainCompliance.Rule memory rule = _fuzzRule(limits, 1800, 3600);
        state.lastSeq = uint64(bound(state.lastSeq, 0, 1_000_000));
        state.lastTimestamp = uint64(bound(state.lastTimestamp, 0, 1_000_000));
        state.excursionStart = uint64(bound(state.excursionStart, 0, state.lastTimestamp));
        int32 offset = int32(int256(bound(beyond, 1, 1_000_000)));
        int32 temp = below ? rule.hardMinMilliC - offset : rule.hardMaxMilliC + offset;
        IColdChainCompliance.Reading memory reading =
            _reading(address(0xD), bytes32(0), state.lastSeq + 1, state.lastTimestamp, temp);

        (IColdChainCompliance.ComplianceState memory next, IColdChainCompliance.Decision decision) =
            harness.evaluate(rule, state, reading);
        assertEq(
            uint256(decision), uint256(IColdChainCompliance.Decision.QUARANTINE_HARD_LIMIT), "hard limit quarantines"
        );
        assertFalse(next.inExcursion, "a quarantine clears the excursion");
        assertEq(next.excursionStart, 0, "a quarantine zeroes excursionStart");
    }

    /// @dev Whatever was skipped, however long ago and whatever the temperature (within the
    /// hard limits): a seq missing during an excursion quarantines and starts afresh.
    function testFuzz_Evaluate_SeqMissingInAnExcursionQuarantines(
        int32[4] memory limits,
        uint32 allowed,
        uint32 maxGap,
        IColdChainCompliance.ComplianceState memory state,
        uint64 skipped,
        uint64 timeStep,
        int32 temp
    ) public view {
        IColdChainCompliance.Rule memory rule = _fuzzRule(limits, allowed, maxGap);
        state.inExcursion = true;
        state.lastSeq = uint64(bound(state.lastSeq, 0, type(uint64).max - 2));
        state.lastTimestamp = uint64(bound(state.lastTimestamp, 0, type(uint64).max / 2));
        state.excursionStart = uint64(bound(state.excursionStart, 0, state.lastTimestamp));
        uint64 seq = state.lastSeq + 1 + uint64(bound(skipped, 1, type(uint64).max - state.lastSeq - 1));
        uint64 timestamp = state.lastTimestamp + uint64(bound(timeStep, 0, type(uint64).max / 2));
        temp = int32(_boundInt(temp, rule.hardMinMilliC, rule.hardMaxMilliC));
        IColdChainCompliance.Reading memory reading = _reading(address(0xD), bytes32(0), seq, timestamp, temp);

        (IColdChainCompliance.ComplianceState memory next, IColdChainCompliance.Decision decision) =
            harness.evaluate(rule, state, reading);
        assertEq(
            uint256(decision),
            uint256(IColdChainCompliance.Decision.QUARANTINE_MISSING_EVIDENCE),
            "a missing seq quarantines"
        );
        assertEq(next.lastSeq, seq, "lastSeq advances over the missing seqs");
        assertEq(next.lastTimestamp, timestamp, "lastTimestamp advances");
        assertFalse(next.inExcursion, "a quarantine clears the excursion");
        assertEq(next.excursionStart, 0, "a quarantine zeroes excursionStart");
    }

    function testFuzz_Evaluate_PreconditionsRevertInOrder(
        IColdChainCompliance.ComplianceState memory state,
        uint64 seq,
        uint64 timestamp
    ) public view {
        state.excursionStart = 0;
        IColdChainCompliance.Reading memory reading = _reading(address(0xD), keccak256("b"), seq, timestamp, 5000);
        bytes memory expected;
        if (seq <= state.lastSeq) {
            expected = _stale(reading, state);
        } else if (timestamp < state.lastTimestamp) {
            expected = _regression(reading, state);
        }
        try harness.evaluate(_defaultRule(), state, reading) returns (
            IColdChainCompliance.ComplianceState memory next, IColdChainCompliance.Decision
        ) {
            assertEq(expected.length, 0, "accepted only when P1 and P2 hold");
            assertEq(next.lastSeq, seq, "an accepted reading becomes lastSeq");
        } catch (bytes memory reason) {
            assertEq(reason, expected, "the first broken precondition's error");
        }
    }

    function testFuzz_IsValid_IsTheOrderingOfTheLimits(int32 hardMin, int32 min, int32 max, int32 hardMax) public pure {
        IColdChainCompliance.Rule memory rule = IColdChainCompliance.Rule({
            minMilliC: min,
            maxMilliC: max,
            hardMinMilliC: hardMin,
            hardMaxMilliC: hardMax,
            allowedExcursionSeconds: 0,
            maxDataGapSeconds: 0,
            requireCalibration: false
        });
        assertEq(
            ColdChainRules.isValid(rule),
            hardMin <= min && min < max && max <= hardMax,
            "hardMin <= min < max <= hardMax"
        );
    }

    // ---------------------------------------------------------------- running a case

    /// @dev A fresh product class, batch and device per case: every case starts from the zero state.
    function _runThroughContract(RuleCase memory c, uint256 index) internal {
        bytes32 productClass = keccak256(bytes(c.name));
        _setRule(productClass, c.rule);
        bytes32 batchId = _createBatch(productClass);
        uint256 key = uint256(keccak256(abi.encode("rule-case-device", index)));
        address device = _enrolDevice(key, batchId);
        bool quarantined;
        for (uint256 j; j < c.readings.length; ++j) {
            IColdChainCompliance.Reading memory reading = c.readings[j];
            reading.device = device;
            reading.batchId = batchId;
            quarantined = _stepThroughContract(c, j, _signed(key, reading), quarantined);
        }
    }

    /// @return quarantined whether the batch is quarantined after this reading.
    function _stepThroughContract(
        RuleCase memory c,
        uint256 j,
        IColdChainCompliance.SignedReading memory signed,
        bool quarantined
    ) internal returns (bool) {
        IColdChainCompliance.Reading memory reading = signed.reading;
        string memory at = string.concat(c.name, " / reading ", vm.toString(j));
        IColdChainCompliance.ComplianceState memory before = compliance.complianceState(reading.batchId, reading.device);
        uint64 deviceSeqBefore = registry.device(reading.device).lastSeq;
        bool refused = c.hasError && c.errorAt == j;

        vm.recordLogs();
        vm.prank(oracle);
        try compliance.submitReadings(_one(signed)) {
            Vm.Log[] memory logs = vm.getRecordedLogs();
            assertFalse(refused, string.concat(at, ": accepted, expected ", c.errorName));
            assertEq(uint256(_decisionIn(logs)), c.decisions[j], string.concat(at, ": decision"));
            bool quarantines = c.decisions[j] >= QUARANTINE_EXCURSION;
            assertEq(
                _countLogs(logs, address(compliance), IColdChainCompliance.ExcursionQuarantine.selector),
                quarantines && !quarantined ? 1 : 0,
                string.concat(at, ": quarantined through the ledger only when the batch was live")
            );
            quarantined = quarantined || quarantines;
            assertEq(compliance.complianceState(reading.batchId, reading.device).lastSeq, reading.seq, at);
            assertEq(registry.device(reading.device).lastSeq, reading.seq, at);
        } catch (bytes memory reason) {
            vm.getRecordedLogs();
            assertTrue(refused, string.concat(at, ": unexpected revert"));
            assertEq(reason, _expectedError(c.errorName, reading, before), string.concat(at, ": error"));
            _assertSameState(compliance.complianceState(reading.batchId, reading.device), before, at);
            assertEq(registry.device(reading.device).lastSeq, deviceSeqBefore, string.concat(at, ": device seq kept"));
        }
        assertEq(
            uint256(_status(reading.batchId)),
            uint256(quarantined ? QUARANTINED : ACTIVE),
            string.concat(at, ": batch status")
        );
        return quarantined;
    }

    function _runThroughLibrary(RuleCase memory c) internal view {
        IColdChainCompliance.ComplianceState memory state;
        for (uint256 j; j < c.readings.length; ++j) {
            string memory at = string.concat(c.name, " / reading ", vm.toString(j));
            bool refused = c.hasError && c.errorAt == j;
            try harness.evaluate(c.rule, state, c.readings[j]) returns (
                IColdChainCompliance.ComplianceState memory next, IColdChainCompliance.Decision decision
            ) {
                assertFalse(refused, string.concat(at, ": accepted, expected ", c.errorName));
                assertEq(uint256(decision), c.decisions[j], string.concat(at, ": decision"));
                state = next;
            } catch (bytes memory reason) {
                assertTrue(refused, string.concat(at, ": unexpected revert"));
                assertEq(reason, _expectedError(c.errorName, c.readings[j], state), string.concat(at, ": error"));
            }
        }
    }

    function _assertSameState(
        IColdChainCompliance.ComplianceState memory actual,
        IColdChainCompliance.ComplianceState memory expected,
        string memory at
    ) internal pure {
        assertEq(actual.lastSeq, expected.lastSeq, string.concat(at, ": lastSeq kept"));
        assertEq(actual.lastTimestamp, expected.lastTimestamp, string.concat(at, ": lastTimestamp kept"));
        assertEq(actual.inExcursion, expected.inExcursion, string.concat(at, ": inExcursion kept"));
        assertEq(actual.excursionStart, expected.excursionStart, string.concat(at, ": excursionStart kept"));
    }

    // ---------------------------------------------------------------- expected errors

    function _expectedError(
        string memory name,
        IColdChainCompliance.Reading memory reading,
        IColdChainCompliance.ComplianceState memory state
    ) internal pure returns (bytes memory) {
        bytes32 id = keccak256(bytes(name));
        if (id == keccak256("StaleSequence")) return _stale(reading, state);
        if (id == keccak256("TimestampRegression")) return _regression(reading, state);
        revert(string.concat("unknown error name in the fixture: ", name));
    }

    // ---------------------------------------------------------------- fuzz inputs

    /// @dev A valid rule from four arbitrary limits, kept within ±10^6 milli-degrees so that
    /// one past any limit still fits an int32.
    function _fuzzRule(int32[4] memory limits, uint32 allowed, uint32 maxGap)
        internal
        pure
        returns (IColdChainCompliance.Rule memory rule)
    {
        int32 hardMin = int32(_boundInt(limits[0], -1_000_000, 1_000_000));
        int32 min = int32(_boundInt(limits[1], hardMin, 1_000_000));
        int32 max = int32(_boundInt(limits[2], int256(min) + 1, 1_000_001));
        int32 hardMax = int32(_boundInt(limits[3], max, 1_000_001));
        rule = IColdChainCompliance.Rule({
            minMilliC: min,
            maxMilliC: max,
            hardMinMilliC: hardMin,
            hardMaxMilliC: hardMax,
            allowedExcursionSeconds: uint32(bound(allowed, 0, 7200)),
            maxDataGapSeconds: uint32(bound(maxGap, 0, 7200)),
            requireCalibration: false
        });
    }

    /// @dev Mostly a boundary of `rule` (one below, on it, one above), sometimes anything near it.
    function _fuzzTemp(IColdChainCompliance.Rule memory rule, uint8 pick, int32 noise) internal pure returns (int32) {
        int32[4] memory edges = [rule.hardMinMilliC, rule.minMilliC, rule.maxMilliC, rule.hardMaxMilliC];
        if (pick % 13 == 12) return int32(_boundInt(noise, -2_000_000, 2_000_000));
        return edges[(pick % 12) / 3] + int32(int8(pick % 3)) - 1;
    }

    function _boundInt(int256 x, int256 min, int256 max) internal pure returns (int256) {
        uint256 offset = uint256(x - type(int32).min);
        return min + int256(bound(offset, 0, uint256(max - min)));
    }

    // ---------------------------------------------------------------- fixture parsing

    function _caseCount() internal view returns (uint256 count) {
        while (vm.keyExistsJson(json, _casePath(count))) ++count;
    }

    function _casePath(uint256 i) internal pure returns (string memory) {
        return string.concat(".cases[", vm.toString(i), "]");
    }

    function _loadCase(uint256 i) internal view returns (RuleCase memory c) {
        string memory path = _casePath(i);
        c.name = vm.parseJsonString(json, string.concat(path, ".name"));
        c.rule = _loadRule(string.concat(path, ".rule"));
        c.decisions = vm.parseJsonUintArray(json, string.concat(path, ".decisions"));
        uint256 count;
        while (vm.keyExistsJson(json, _readingPath(path, count))) ++count;
        c.readings = new IColdChainCompliance.Reading[](count);
        for (uint256 j; j < count; ++j) {
            c.readings[j] = _loadReading(_readingPath(path, j));
        }
        // `"error": null` has no `at`.
        c.hasError = vm.keyExistsJson(json, string.concat(path, ".error.at"));
        if (c.hasError) {
            c.errorAt = vm.parseJsonUint(json, string.concat(path, ".error.at"));
            c.errorName = vm.parseJsonString(json, string.concat(path, ".error.name"));
        }
    }

    function _readingPath(string memory casePath, uint256 j) internal pure returns (string memory) {
        return string.concat(casePath, ".readings[", vm.toString(j), "]");
    }

    function _loadRule(string memory path) internal view returns (IColdChainCompliance.Rule memory) {
        return IColdChainCompliance.Rule({
            minMilliC: _int32At(string.concat(path, ".minMilliC")),
            maxMilliC: _int32At(string.concat(path, ".maxMilliC")),
            hardMinMilliC: _int32At(string.concat(path, ".hardMinMilliC")),
            hardMaxMilliC: _int32At(string.concat(path, ".hardMaxMilliC")),
            allowedExcursionSeconds: uint32(_uintAt(string.concat(path, ".allowedExcursionSeconds"), type(uint32).max)),
            maxDataGapSeconds: uint32(_uintAt(string.concat(path, ".maxDataGapSeconds"), type(uint32).max)),
            requireCalibration: false
        });
    }

    /// @dev Device and batch are left zero: each run fills in its own.
    function _loadReading(string memory path) internal view returns (IColdChainCompliance.Reading memory) {
        return IColdChainCompliance.Reading({
            device: address(0),
            batchId: bytes32(0),
            seq: uint64(_uintAt(string.concat(path, ".seq"), type(uint64).max)),
            timestamp: uint64(_uintAt(string.concat(path, ".timestamp"), type(uint64).max)),
            tempMilliC: _int32At(string.concat(path, ".tempMilliC")),
            humidityPermille: uint16(_uintAt(string.concat(path, ".humidityPermille"), type(uint16).max))
        });
    }

    function _uintAt(string memory path, uint256 max) internal view returns (uint256 value) {
        value = vm.parseJsonUint(json, path);
        assertLe(value, max, string.concat(path, " fits its type"));
    }

    function _int32At(string memory path) internal view returns (int32) {
        int256 value = vm.parseJsonInt(json, path);
        assertTrue(value >= type(int32).min && value <= type(int32).max, string.concat(path, " fits an int32"));
        return int32(value);
    }
}
