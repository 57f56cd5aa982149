// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ColdChainCompliance} from "../src/ColdChainCompliance.sol";
import {IColdChainCompliance} from "../src/interfaces/IColdChainCompliance.sol";
import {IDeviceRegistry} from "../src/interfaces/IDeviceRegistry.sol";
import {IMembership} from "../src/interfaces/IMembership.sol";
import {IProvenanceLedger} from "../src/interfaces/IProvenanceLedger.sol";
import {Roles} from "../src/libraries/Roles.sol";
import {ColdChainBase} from "./utils/ColdChainBase.sol";
import {Vm} from "./utils/Vm.sol";

contract ColdChainComplianceTest is ColdChainBase {
    uint256 internal constant DEVICE_KEY = 0xD1CE;
    uint256 internal constant OTHER_KEY = 0xBADD1CE;
    uint256 internal constant GAS_ANCHORED_READINGS = 1000;
    uint256 internal constant GAS_SUBMITTED_READINGS = 100;
    /// @dev Below hardMin of the default rule: quarantines at once if accepted.
    int32 internal constant FROZEN = -20_000;

    IColdChainCompliance.Decision internal constant NONE = IColdChainCompliance.Decision.NONE;
    IColdChainCompliance.Decision internal constant STARTED = IColdChainCompliance.Decision.EXCURSION_STARTED;
    IColdChainCompliance.Decision internal constant EXTENDED = IColdChainCompliance.Decision.EXCURSION_EXTENDED;
    IColdChainCompliance.Decision internal constant ENDED = IColdChainCompliance.Decision.EXCURSION_ENDED;
    IColdChainCompliance.Decision internal constant Q_EXCURSION = IColdChainCompliance.Decision.QUARANTINE_EXCURSION;
    IColdChainCompliance.Decision internal constant Q_HARD = IColdChainCompliance.Decision.QUARANTINE_HARD_LIMIT;
    IColdChainCompliance.Decision internal constant Q_GAP = IColdChainCompliance.Decision.QUARANTINE_DATA_GAP;
    IColdChainCompliance.Decision internal constant Q_MISSING =
    IColdChainCompliance.Decision.QUARANTINE_MISSING_EVIDENCE;

    bytes32 internal lot;
    address internal device;

    function setUp() public {
        _deploy();
        _setRule(PRODUCT, _defaultRule());
        lot = _createBatch(PRODUCT);
        device = _enrolDevice(DEVICE_KEY, lot);
    }

    // ---------------------------------------------------------------- EIP-712

    function test_Eip712Domain_IsColdChainComplianceVersion1() public view {
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            compliance.eip712Domain();
        assertEq(name, "ColdChainCompliance", "name");
        assertEq(version, "1", "version");
        assertEq(chainId, block.chainid, "chainId");
        assertEq(verifyingContract, address(compliance), "verifyingContract");
        assertEq(compliance.READING_TYPEHASH(), READING_TYPEHASH, "Reading type hash");
    }

    function testFuzz_HashReading_IsTheEip712DigestOfTheReading(IColdChainCompliance.Reading memory reading)
        public
        view
    {
        assertEq(
            compliance.hashReading(reading), _digest(reading, block.chainid, address(compliance)), "EIP-712 digest"
        );
    }

    function test_HashReading_FollowsTheChainId() public {
        IColdChainCompliance.Reading memory reading = _reading(device, lot, 1, T0, 5000);
        vm.chainId(5);
        assertEq(compliance.hashReading(reading), _digest(reading, 5, address(compliance)), "digest on chain 5");
    }

    // ---------------------------------------------------------------- setRule / rule

    function test_SetRule_StoresVersionsAndEmits() public {
        bytes32 frozen = keccak256("frozen");
        _assignClassAuthority(frozen);
        IColdChainCompliance.Rule memory first = _defaultRule();
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.RuleSet(frozen, 1, first);
        _setRule(frozen, first);

        IColdChainCompliance.Rule memory second = IColdChainCompliance.Rule({
            minMilliC: -25_000,
            maxMilliC: -15_000,
            hardMinMilliC: -40_000,
            hardMaxMilliC: -15_000,
            allowedExcursionSeconds: 0,
            maxDataGapSeconds: 0,
            requireCalibration: true
        });
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.RuleSet(frozen, 2, second);
        _setRule(frozen, second);

        (IColdChainCompliance.Rule memory stored, uint32 version) = compliance.rule(frozen);
        assertEq(version, 2, "every setRule bumps the version");
        assertEq(stored.minMilliC, -25_000, "minMilliC");
        assertEq(stored.maxMilliC, -15_000, "maxMilliC");
        assertEq(stored.hardMinMilliC, -40_000, "hardMinMilliC");
        assertEq(stored.hardMaxMilliC, -15_000, "hardMaxMilliC");
        assertEq(stored.allowedExcursionSeconds, 0, "allowedExcursionSeconds");
        assertEq(stored.maxDataGapSeconds, 0, "maxDataGapSeconds");
        assertTrue(stored.requireCalibration, "requireCalibration");
        (, uint32 otherVersion) = compliance.rule(PRODUCT);
        assertEq(otherVersion, 1, "versions are per product class");
    }

    function test_Rule_UnknownClassHasVersionZero() public view {
        (IColdChainCompliance.Rule memory stored, uint32 version) = compliance.rule(keccak256("nothing"));
        assertEq(version, 0, "no rule");
        assertEq(stored.maxMilliC, 0, "zero rule");
    }

    function testFuzz_SetRule_RevertsUnlessLimitsAreOrdered(int32 hardMin, int32 min, int32 max, int32 hardMax) public {
        IColdChainCompliance.Rule memory rule = _defaultRule();
        (rule.hardMinMilliC, rule.minMilliC, rule.maxMilliC, rule.hardMaxMilliC) = (hardMin, min, max, hardMax);
        bool valid = hardMin <= min && min < max && max <= hardMax;
        if (!valid) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IColdChainCompliance.ColdChainComplianceInvalidRule.selector, PRODUCT, hardMin, min, max, hardMax
                )
            );
        }
        _setRule(PRODUCT, rule);
        (, uint32 version) = compliance.rule(PRODUCT);
        assertEq(version, valid ? 2 : 1, "only a valid rule gets a version");
    }

    function test_SetRule_RevertsOnTheBoundariesOfValidity() public {
        IColdChainCompliance.Rule memory rule = _defaultRule();
        rule.maxMilliC = rule.minMilliC; // min < max is strict
        vm.expectRevert(_invalidRule(rule));
        _setRule(PRODUCT, rule);

        rule = _defaultRule();
        (rule.hardMinMilliC, rule.hardMaxMilliC) = (rule.minMilliC, rule.maxMilliC); // hard limits may equal the range
        _setRule(PRODUCT, rule);
        (, uint32 version) = compliance.rule(PRODUCT);
        assertEq(version, 2, "hardMin == min and max == hardMax are valid");
    }

    function test_SetRule_RevertsForUnauthorizedCallers() public {
        address[5] memory callers = [governor, operator, oracle, outsider, address(compliance)];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.QUALITY));
            vm.prank(callers[i]);
            compliance.setRule(PRODUCT, _defaultRule());
        }
        _pause();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipPaused.selector));
        vm.prank(quality);
        compliance.setRule(PRODUCT, _defaultRule());
        (, uint32 version) = compliance.rule(PRODUCT);
        assertEq(version, 1, "unchanged");
    }

    // ---------------------------------------------------------------- class authority

    function test_AssignClassAuthority_StoresAndEmits() public {
        bytes32 frozen = keccak256("frozen");
        assertEq(compliance.classAuthority(frozen), address(0), "no authority before the governor assigns one");
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ClassAuthorityAssigned(frozen, quality, governor);
        vm.prank(governor);
        compliance.assignClassAuthority(frozen, quality);
        assertEq(compliance.classAuthority(frozen), quality, "assigned");
    }

    function test_AssignClassAuthority_RevertsForNonGovernors() public {
        address[5] memory callers = [quality, operator, oracle, outsider, address(compliance)];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.GOVERNOR));
            vm.prank(callers[i]);
            compliance.assignClassAuthority(PRODUCT, callers[i]);
        }
        assertEq(compliance.classAuthority(PRODUCT), quality, "unchanged");
    }

    function test_SetRule_RevertsForAQualityHolderThatIsNotTheClassAuthority() public {
        address rivalLab = makeAddr("rivalLab");
        _enrol(rivalLab, Roles.QUALITY, "did:pkh:eip155:31337:rival-lab", "Rival Lab");
        IColdChainCompliance.Rule memory lenient = _defaultRule();
        lenient.hardMaxMilliC = 60_000;

        vm.expectRevert(_notClassAuthority(rivalLab, PRODUCT));
        vm.prank(rivalLab);
        compliance.setRule(PRODUCT, lenient);

        (IColdChainCompliance.Rule memory stored, uint32 version) = compliance.rule(PRODUCT);
        assertEq(version, 1, "version unchanged");
        assertEq(stored.hardMaxMilliC, _defaultRule().hardMaxMilliC, "rule unchanged");
    }

    function test_SetRule_RevertsForAClassWithoutAuthority() public {
        bytes32 unassigned = keccak256("unassigned");
        vm.expectRevert(_notClassAuthority(quality, unassigned));
        vm.prank(quality);
        compliance.setRule(unassigned, _defaultRule());
        (, uint32 version) = compliance.rule(unassigned);
        assertEq(version, 0, "no rule");
    }

    function test_AssignClassAuthority_ReassigningMovesTheRightToSetTheRule() public {
        address otherLab = makeAddr("otherLab");
        _enrol(otherLab, Roles.QUALITY, "did:pkh:eip155:31337:other-lab", "Other Lab");
        vm.prank(governor);
        compliance.assignClassAuthority(PRODUCT, otherLab);

        vm.expectRevert(_notClassAuthority(quality, PRODUCT));
        vm.prank(quality);
        compliance.setRule(PRODUCT, _defaultRule());

        vm.prank(otherLab);
        compliance.setRule(PRODUCT, _defaultRule());
        (, uint32 version) = compliance.rule(PRODUCT);
        assertEq(version, 2, "the new authority sets the rule; the old one's version is kept");

        vm.prank(governor);
        compliance.assignClassAuthority(PRODUCT, address(0));
        vm.expectRevert(_notClassAuthority(otherLab, PRODUCT));
        vm.prank(otherLab);
        compliance.setRule(PRODUCT, _defaultRule());
    }

    function test_SetRule_RevertsForADeactivatedOrRoleLessAuthority() public {
        vm.prank(governor);
        compliance.assignClassAuthority(PRODUCT, operator);
        vm.expectRevert(_unauthorized(operator, Roles.QUALITY));
        vm.prank(operator);
        compliance.setRule(PRODUCT, _defaultRule());

        vm.prank(governor);
        compliance.assignClassAuthority(PRODUCT, quality);
        _deactivate(quality);
        vm.expectRevert(_unauthorized(quality, Roles.QUALITY));
        vm.prank(quality);
        compliance.setRule(PRODUCT, _defaultRule());
    }

    function testFuzz_SetRule_OnlyTheClassAuthority(bytes32 productClass, address caller) public {
        if (caller == quality) caller = outsider;
        vm.prank(governor);
        compliance.assignClassAuthority(productClass, caller);
        vm.expectRevert(_notClassAuthority(quality, productClass));
        vm.prank(quality);
        compliance.setRule(productClass, _defaultRule());
    }

    function _notClassAuthority(address account, bytes32 productClass) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(
            IColdChainCompliance.ColdChainComplianceNotClassAuthority.selector, account, productClass
        );
    }

    // ---------------------------------------------------------------- anchorReadings

    function test_AnchorReadings_EmitsTheWindowAndStoresOnlyItsEnd() public {
        bytes memory packed = _packed(device, T0, 10);
        bytes32 root = keccak256("root");
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ReadingsAnchored(lot, device, root, 11, 20);
        vm.record();
        vm.prank(oracle);
        compliance.anchorReadings(lot, root, 11, 20, packed);
        (, bytes32[] memory writes) = vm.accesses(address(compliance));
        assertEq(writes.length, 1, "one storage write in the compliance contract: the window's end");
        (, writes) = vm.accesses(address(registry));
        assertEq(writes.length, 0, "no storage write in the registry");
        assertEq(compliance.nextWindowSeq(lot, device), 21, "the next window starts above 20");
    }

    function test_AnchorReadings_RevertsOnAWindowAnchoredTwice() public {
        bytes memory packed = _packed(device, T0, 80);
        vm.prank(oracle);
        compliance.anchorReadings(lot, keccak256("root"), 1, 80, packed);
        vm.expectRevert(_alreadyAnchored(lot, device, 1, 81));
        vm.prank(oracle);
        compliance.anchorReadings(lot, keccak256("root"), 1, 80, packed);
        assertEq(compliance.nextWindowSeq(lot, device), 81, "unchanged");
    }

    function test_AnchorReadings_RevertsOnAnOverlappingOrEarlierWindow() public {
        vm.prank(oracle);
        compliance.anchorReadings(lot, keccak256("a"), 11, 20, _packed(device, T0, 10));
        vm.expectRevert(_alreadyAnchored(lot, device, 20, 21));
        vm.prank(oracle);
        compliance.anchorReadings(lot, keccak256("b"), 20, 25, _packed(device, T0, 6));
        vm.expectRevert(_alreadyAnchored(lot, device, 1, 21));
        vm.prank(oracle);
        compliance.anchorReadings(lot, keccak256("c"), 1, 5, _packed(device, T0, 5));
    }

    function test_AnchorReadings_WindowsMaySkipSeqsAndPairsAreIndependent() public {
        vm.startPrank(oracle);
        compliance.anchorReadings(lot, keccak256("a"), 0, 0, _packed(device, T0, 1));
        compliance.anchorReadings(lot, keccak256("b"), 5, 9, _packed(device, T0, 5));
        compliance.anchorReadings(lot, keccak256("c"), 1, 9, _packed(outsider, T0, 9));
        vm.stopPrank();
        bytes32 other = _createBatch(PRODUCT);
        vm.prank(oracle);
        compliance.anchorReadings(other, keccak256("d"), 1, 9, _packed(device, T0, 9));
        assertEq(compliance.nextWindowSeq(lot, device), 10, "device on lot");
        assertEq(compliance.nextWindowSeq(lot, outsider), 10, "another device on lot");
        assertEq(compliance.nextWindowSeq(other, device), 10, "device on another lot");
    }

    function test_AnchorReadings_AWindowMayEndAtTheLastSeq() public {
        uint64 last = type(uint64).max;
        vm.prank(oracle);
        compliance.anchorReadings(lot, keccak256("a"), last, last, _packed(device, T0, 1));
        assertEq(compliance.nextWindowSeq(lot, device), uint256(last) + 1, "no overflow");
        vm.expectRevert(_alreadyAnchored(lot, device, last, uint256(last) + 1));
        vm.prank(oracle);
        compliance.anchorReadings(lot, keccak256("a"), last, last, _packed(device, T0, 1));
    }

    /// @dev Whatever the windows so far, a new one is taken iff it starts above every one before.
    function testFuzz_AnchorReadings_AcceptsOnlyWindowsAboveTheLast(uint64[4] memory firsts, uint8[4] memory counts)
        public
    {
        uint256 nextSeq;
        for (uint256 i; i < 4; ++i) {
            uint256 count = bound(counts[i], 1, 20);
            uint64 firstSeq = uint64(bound(firsts[i], 0, 100));
            bytes memory packed = _packed(device, T0, count);
            if (firstSeq < nextSeq) vm.expectRevert(_alreadyAnchored(lot, device, firstSeq, nextSeq));
            else nextSeq = firstSeq + count;
            vm.prank(oracle);
            compliance.anchorReadings(lot, bytes32(i), firstSeq, uint64(firstSeq + count - 1), packed);
            assertEq(compliance.nextWindowSeq(lot, device), nextSeq, "the next window's first seq");
        }
    }

    function test_AnchorReadings_OneReadingWindowAndAnyLiveOrHeldBatch() public {
        vm.prank(oracle);
        compliance.anchorReadings(lot, keccak256("leaf"), 7, 7, _packed(device, T0, 1));

        vm.prank(address(compliance));
        ledger.quarantine(lot, "held");
        vm.prank(oracle);
        compliance.anchorReadings(lot, keccak256("leaf"), 8, 8, _packed(device, T0, 1));
    }

    function test_AnchorReadings_RevertsOnUnknownBatch() public {
        bytes32 missing = keccak256("missing");
        vm.expectRevert(abi.encodeWithSelector(IColdChainCompliance.ColdChainComplianceUnknownBatch.selector, missing));
        vm.prank(oracle);
        compliance.anchorReadings(missing, bytes32(0), 1, 1, _packed(device, T0, 1));
    }

    function test_AnchorReadings_RevertsOnInvertedWindow() public {
        vm.expectRevert(
            abi.encodeWithSelector(IColdChainCompliance.ColdChainComplianceInvalidWindow.selector, lot, 5, 4)
        );
        vm.prank(oracle);
        compliance.anchorReadings(lot, bytes32(0), 5, 4, _packed(device, T0, 1));
    }

    function testFuzz_AnchorReadings_LengthMustMatchTheWindow(uint64 firstSeq, uint256 count, uint256 actual) public {
        count = bound(count, 1, 300);
        firstSeq = uint64(bound(firstSeq, 0, type(uint64).max - count + 1));
        uint64 lastSeq = uint64(firstSeq + count - 1);
        uint256 expected = 28 + 7 * count;
        actual = bound(actual, 0, expected + 20);
        bytes memory packed = new bytes(actual);
        if (actual != expected) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IColdChainCompliance.ColdChainComplianceInvalidPackedLength.selector, lot, expected, actual
                )
            );
        }
        vm.prank(oracle);
        compliance.anchorReadings(lot, bytes32(0), firstSeq, lastSeq, packed);
    }

    function test_AnchorReadings_WholeUint64RangeDoesNotOverflow() public {
        uint256 expected = 28 + 7 * (uint256(type(uint64).max) + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IColdChainCompliance.ColdChainComplianceInvalidPackedLength.selector, lot, expected, 35
            )
        );
        vm.prank(oracle);
        compliance.anchorReadings(lot, bytes32(0), 0, type(uint64).max, _packed(device, T0, 1));
    }

    function test_AnchorReadings_RevertsForUnauthorizedCallers() public {
        bytes memory packed = _packed(device, T0, 1);
        address[5] memory callers = [governor, operator, quality, outsider, device];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.ORACLE));
            vm.prank(callers[i]);
            compliance.anchorReadings(lot, bytes32(0), 1, 1, packed);
        }
        _pause();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipPaused.selector));
        vm.prank(oracle);
        compliance.anchorReadings(lot, bytes32(0), 1, 1, packed);
    }

    // ---------------------------------------------------------------- submitReadings: acceptance

    function test_SubmitReadings_InRangeReadingUpdatesStateWithoutDecision() public {
        vm.recordLogs();
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, 5000)));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countLogs(logs, address(compliance), IColdChainCompliance.ComplianceDecision.selector), 0, "NONE");
        assertEq(_countLogs(logs, address(registry), IDeviceRegistry.ReadingAccepted.selector), 1, "accepted");

        IColdChainCompliance.ComplianceState memory state = compliance.complianceState(lot, device);
        assertEq(state.lastSeq, 1, "lastSeq");
        assertEq(state.lastTimestamp, T0, "lastTimestamp");
        assertFalse(state.inExcursion, "no excursion");
        assertEq(registry.device(device).lastSeq, 1, "device lastSeq");
    }

    function test_SubmitReadings_EvaluatesSeveralReadingsInOrder() public {
        IColdChainCompliance.SignedReading[] memory batch = new IColdChainCompliance.SignedReading[](4);
        int32[4] memory temps = [int32(5000), 9000, 9500, 5000];
        for (uint256 i; i < 4; ++i) {
            batch[i] = _signed(DEVICE_KEY, _reading(device, lot, uint64(i + 1), T0 + uint64(600 * i), temps[i]));
        }
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ComplianceDecision(lot, device, 2, 1, STARTED);
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ComplianceDecision(lot, device, 3, 1, EXTENDED);
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ComplianceDecision(lot, device, 4, 1, ENDED);
        vm.prank(oracle);
        compliance.submitReadings(batch);

        IColdChainCompliance.ComplianceState memory state = compliance.complianceState(lot, device);
        assertEq(state.lastSeq, 4, "lastSeq");
        assertFalse(state.inExcursion, "excursion ended");
        assertEq(state.excursionStart, T0 + 600, "excursionStart is left as it was when an excursion ends");
        assertEq(uint256(_status(lot)), uint256(ACTIVE), "not quarantined");
    }

    function test_SubmitReadings_RevertsOnNoReadings() public {
        vm.expectRevert(abi.encodeWithSelector(IColdChainCompliance.ColdChainComplianceNoReadings.selector));
        vm.prank(oracle);
        compliance.submitReadings(new IColdChainCompliance.SignedReading[](0));
    }

    function test_SubmitReadings_OneRefusedReadingRevertsTheWholeCall() public {
        IColdChainCompliance.SignedReading[] memory batch = new IColdChainCompliance.SignedReading[](2);
        batch[0] = _signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN));
        batch[1] = _signed(OTHER_KEY, _reading(device, lot, 2, T0 + 60, 5000));
        vm.expectRevert(_invalidSignature(1));
        vm.prank(oracle);
        compliance.submitReadings(batch);
        _assertUntouched();
    }

    function test_SubmitReadings_DecisionsCarryTheCurrentRuleVersion() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, 9000)));
        IColdChainCompliance.Rule memory wider = _defaultRule();
        wider.maxMilliC = 10_000;
        _setRule(PRODUCT, wider);
        // The excursion in progress is judged by the new rule: 9 °C is in range now.
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ComplianceDecision(lot, device, 2, 2, ENDED);
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 2, T0 + 60, 9000)));
    }

    // ---------------------------------------------------------------- submitReadings: signatures

    function test_SubmitReadings_RejectsHighSTwinOfAValidSignature() public {
        IColdChainCompliance.SignedReading memory signed = _signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN));
        signed.signature = _highS(signed.signature);
        (bytes32 r, bytes32 s, uint8 v) = _split(signed.signature);
        assertEq(ecrecover(compliance.hashReading(signed.reading), v, r, s), device, "ecrecover alone accepts it");
        _expectRefused(signed, _invalidSignature(0));
    }

    function test_SubmitReadings_RejectsThe64ByteCompactForm() public {
        IColdChainCompliance.SignedReading memory signed = _signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN));
        signed.signature = _compact(signed.signature);
        assertEq(signed.signature.length, 64, "EIP-2098 form");
        _expectRefused(signed, _invalidSignature(0));
    }

    function test_SubmitReadings_RejectsMalformedSignatures() public {
        IColdChainCompliance.SignedReading memory signed = _signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN));
        (bytes32 r, bytes32 s, uint8 v) = _split(signed.signature);
        bytes[6] memory malformed = [
            bytes(""),
            abi.encodePacked(r, s, v, uint8(0)), // 66 bytes
            abi.encodePacked(r, s, v - 27), // v as 0 / 1
            abi.encodePacked(r, s, uint8(29)),
            abi.encodePacked(bytes32(0), s, v), // recovers no address
            abi.encodePacked(r, bytes32(0), v)
        ];
        for (uint256 i; i < malformed.length; ++i) {
            signed.signature = malformed[i];
            _expectRefused(signed, _invalidSignature(0));
        }
    }

    function test_SubmitReadings_RejectsAnotherSignerAndATamperedReading() public {
        _expectRefused(_signed(OTHER_KEY, _reading(device, lot, 1, T0, FROZEN)), _invalidSignature(0));

        IColdChainCompliance.SignedReading memory signed = _signed(DEVICE_KEY, _reading(device, lot, 1, T0, 5000));
        signed.reading.tempMilliC = FROZEN;
        _expectRefused(signed, _invalidSignature(0));
    }

    function testFuzz_SubmitReadings_RejectsSignaturesByAnyOtherKey(uint256 key) public {
        key = bound(key, 1, SECP256K1_N - 1);
        if (key == DEVICE_KEY) key = OTHER_KEY;
        _expectRefused(_signed(key, _reading(device, lot, 1, T0, FROZEN)), _invalidSignature(0));
    }

    function test_SubmitReadings_RejectsAnotherChainId() public {
        IColdChainCompliance.Reading memory reading = _reading(device, lot, 1, T0, FROZEN);
        IColdChainCompliance.SignedReading memory signed = IColdChainCompliance.SignedReading({
            reading: reading, signature: _signature(DEVICE_KEY, _digest(reading, 1, address(compliance)))
        });
        _expectRefused(signed, _invalidSignature(0));

        // A signature made for this chain no longer verifies once the chain id changes.
        signed = _signed(DEVICE_KEY, reading);
        vm.chainId(5);
        _expectRefused(signed, _invalidSignature(0));
        _submit(_signed(DEVICE_KEY, reading)); // signed for chain 5
        assertEq(uint256(_status(lot)), uint256(QUARANTINED), "accepted under its own chain id");
    }

    function test_SubmitReadings_RejectsAnotherVerifyingContract() public {
        IColdChainCompliance.Reading memory reading = _reading(device, lot, 1, T0, FROZEN);
        ColdChainCompliance twin = new ColdChainCompliance(membership, ledger, registry);
        IColdChainCompliance.SignedReading memory signed = IColdChainCompliance.SignedReading({
            reading: reading, signature: _signature(DEVICE_KEY, _digest(reading, block.chainid, address(twin)))
        });
        _expectRefused(signed, _invalidSignature(0));

        signed.signature = _signature(DEVICE_KEY, _digest(reading, block.chainid, makeAddr("elsewhere")));
        _expectRefused(signed, _invalidSignature(0));
    }

    function test_SubmitReadings_ReportsTheIndexOfTheBadSignature() public {
        IColdChainCompliance.SignedReading[] memory batch = new IColdChainCompliance.SignedReading[](3);
        for (uint256 i; i < 3; ++i) {
            batch[i] = _signed(DEVICE_KEY, _reading(device, lot, uint64(i + 1), T0 + uint64(60 * i), 5000));
        }
        batch[2].signature = _highS(batch[2].signature);
        vm.expectRevert(_invalidSignature(2));
        vm.prank(oracle);
        compliance.submitReadings(batch);
    }

    // ---------------------------------------------------------------- submitReadings: sequence and device policy

    function test_SubmitReadings_RejectsReplayedAndLowerSeq() public {
        IColdChainCompliance.SignedReading memory first = _signed(DEVICE_KEY, _reading(device, lot, 5, T0, 5000));
        _submit(first);
        _expectRefused(first, _stale(lot, device, 5, 5));
        _expectRefused(_signed(DEVICE_KEY, _reading(device, lot, 4, T0 + 60, FROZEN)), _stale(lot, device, 4, 5));
        _expectRefused(_signed(DEVICE_KEY, _reading(device, lot, 5, T0 + 60, FROZEN)), _stale(lot, device, 5, 5));
    }

    function test_SubmitReadings_RejectsTimestampRegressionInAnExcursion() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, 9000)));
        _expectRefused(
            _signed(DEVICE_KEY, _reading(device, lot, 3, T0 - 1, FROZEN)),
            abi.encodeWithSelector(
                IColdChainCompliance.ColdChainComplianceTimestampRegression.selector, lot, device, T0 - 1, T0
            )
        );
        assertTrue(compliance.complianceState(lot, device).inExcursion, "the excursion goes on");
    }

    /// @dev The registry's counter is per device, across batches: a reading cannot reuse a
    /// seq the device already spent on another batch.
    function test_SubmitReadings_RejectsASeqTheDeviceSpentOnAnotherBatch() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 10, T0, 5000)));
        bytes32 otherLot = _createBatch(PRODUCT);
        vm.prank(operator);
        registry.assignDevice(device, otherLot);
        _expectRefused(
            _signed(DEVICE_KEY, _reading(device, otherLot, 3, T0, FROZEN)),
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryStaleSequence.selector, device, 3, 10),
            otherLot
        );
    }

    function test_SubmitReadings_RejectsUnregisteredDevice() public {
        address stranger = vm.addr(OTHER_KEY);
        _expectRefused(
            _signed(OTHER_KEY, _reading(stranger, lot, 1, T0, FROZEN)),
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownDevice.selector, stranger)
        );
    }

    function test_SubmitReadings_RejectsInactiveDevice() public {
        vm.prank(governor);
        registry.setDeviceActive(device, false);
        _expectRefused(
            _signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN)),
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInactiveDevice.selector, device)
        );
    }

    function test_SubmitReadings_RejectsUnassignedDevice() public {
        vm.prank(operator);
        registry.assignDevice(device, bytes32(0));
        _expectRefused(
            _signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN)),
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotAssigned.selector, device, lot, bytes32(0))
        );

        bytes32 otherLot = _createBatch(PRODUCT);
        vm.prank(operator);
        registry.assignDevice(device, otherLot);
        _expectRefused(
            _signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN)),
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotAssigned.selector, device, lot, otherLot)
        );
    }

    /// @dev Another operator's logger cannot be put on the operator's lot, so its frozen reading
    /// cannot quarantine that lot; once the lot's owner authorizes it, its logger reports there.
    function test_SubmitReadings_ARivalsLoggerCannotQuarantineTheLot() public {
        address rival = makeAddr("rival-operator");
        _enrol(rival, Roles.OPERATOR, "did:pkh:eip155:31337:rival", "Rival Operator");
        address logger = vm.addr(OTHER_KEY);
        string memory did = "did:pkh:eip155:31337:rival-logger";
        bytes memory consent = _registrationSignature(OTHER_KEY, rival, did, address(registry));
        vm.startPrank(rival);
        registry.registerDevice(logger, did, consent);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotBatchWriter.selector, logger, rival, lot)
        );
        registry.assignDevice(logger, lot);
        vm.stopPrank();
        _expectRefused(
            _signed(OTHER_KEY, _reading(logger, lot, 1, T0, FROZEN)),
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotAssigned.selector, logger, lot, bytes32(0))
        );
        assertEq(uint256(_status(lot)), uint256(ACTIVE), "the lot stays active");

        vm.prank(operator);
        ledger.authorizeWriter(lot, rival);
        vm.prank(rival);
        registry.assignDevice(logger, lot);
        _submit(_signed(OTHER_KEY, _reading(logger, lot, 1, T0, FROZEN)));
        assertEq(uint256(_status(lot)), uint256(QUARANTINED), "an authorized writer's logger reports on the lot");
    }

    function test_SubmitReadings_RejectsUnknownBatchAndMissingRule() public {
        bytes32 missing = keccak256("missing");
        _expectRefused(
            _signed(DEVICE_KEY, _reading(device, missing, 1, T0, FROZEN)),
            abi.encodeWithSelector(IColdChainCompliance.ColdChainComplianceUnknownBatch.selector, missing)
        );

        bytes32 unruled = keccak256("no-rule-class");
        bytes32 unruledLot = _createBatch(unruled);
        vm.prank(operator);
        registry.assignDevice(device, unruledLot);
        _expectRefused(
            _signed(DEVICE_KEY, _reading(device, unruledLot, 1, T0, FROZEN)),
            abi.encodeWithSelector(IColdChainCompliance.ColdChainComplianceNoRule.selector, unruled),
            unruledLot
        );
    }

    // ---------------------------------------------------------------- submitReadings: authorization

    function test_SubmitReadings_RevertsForUnauthorizedCallers() public {
        IColdChainCompliance.SignedReading[] memory batch =
            _one(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN)));
        address[6] memory callers = [governor, operator, quality, outsider, device, address(compliance)];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.ORACLE));
            vm.prank(callers[i]);
            compliance.submitReadings(batch);
        }
        _assertUntouched();
    }

    function test_SubmitReadings_RevertsWhenPausedOrOracleDeactivated() public {
        IColdChainCompliance.SignedReading[] memory batch =
            _one(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN)));
        _pause();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipPaused.selector));
        vm.prank(oracle);
        compliance.submitReadings(batch);

        vm.startPrank(governor);
        membership.unpause();
        membership.setOrganizationActive(oracle, false);
        vm.stopPrank();
        vm.expectRevert(_unauthorized(oracle, Roles.ORACLE));
        vm.prank(oracle);
        compliance.submitReadings(batch);
        _assertUntouched();
    }

    function testFuzz_Writers_RevertForCallersWithoutRoles(address caller) public {
        if (caller == quality || caller == oracle) caller = outsider;
        IColdChainCompliance.SignedReading[] memory batch =
            _one(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN)));
        vm.startPrank(caller);
        vm.expectRevert(_unauthorized(caller, Roles.QUALITY));
        compliance.setRule(PRODUCT, _defaultRule());
        vm.expectRevert(_unauthorized(caller, Roles.ORACLE));
        compliance.anchorReadings(lot, bytes32(0), 1, 1, _packed(device, T0, 1));
        vm.expectRevert(_unauthorized(caller, Roles.ORACLE));
        compliance.submitReadings(batch);
        vm.stopPrank();
        _assertUntouched();
    }

    // ---------------------------------------------------------------- quarantine through the ledger

    function test_SubmitReadings_HardLimitQuarantinesAtOnceThroughTheLedger() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, 5000)));
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ComplianceDecision(lot, device, 2, 1, Q_HARD);
        _submitExpectingQuarantine(_reading(device, lot, 2, T0 + 60, 25_001), Q_HARD, "cold-chain: hard limit");

        assertEq(uint256(_status(lot)), uint256(QUARANTINED), "quarantined");
        // Nothing ships it on until quality releases it.
        IProvenanceLedger.EventKind[] memory kinds = new IProvenanceLedger.EventKind[](1);
        bytes[] memory payloads = new bytes[](1);
        payloads[0] = "shipping";
        vm.expectRevert(
            abi.encodeWithSelector(
                IProvenanceLedger.ProvenanceLedgerBatchQuarantined.selector,
                lot,
                QUARANTINED,
                IProvenanceLedger.EventKind.OTHER
            )
        );
        vm.prank(operator);
        ledger.recordEvents(lot, kinds, payloads);
    }

    function test_SubmitReadings_ExcursionTooLongQuarantinesWithItsReason() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, 9000)));
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 2, T0 + 1800, 9000)));
        assertEq(uint256(_status(lot)), uint256(ACTIVE), "exactly the allowance does not quarantine");
        _submitExpectingQuarantine(
            _reading(device, lot, 3, T0 + 1801, 9000), Q_EXCURSION, "cold-chain: excursion too long"
        );
        assertFalse(compliance.complianceState(lot, device).inExcursion, "a quarantine clears the excursion");
    }

    function test_SubmitReadings_DataGapQuarantinesWithItsReason() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, 5000)));
        _submitExpectingQuarantine(_reading(device, lot, 2, T0 + 3601, 5000), Q_GAP, "cold-chain: data gap");
    }

    function test_SubmitReadings_SeqMissingInAnExcursionQuarantinesWithItsReason() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, 5000)));
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 2, T0 + 60, 9000)));
        // Seq 3 is withheld; seq 4 is in range and well within the allowance and the gap limit.
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ComplianceDecision(lot, device, 4, 1, Q_MISSING);
        _submitExpectingQuarantine(
            _reading(device, lot, 4, T0 + 120, 5000), Q_MISSING, "cold-chain: reading missing during excursion"
        );

        assertEq(uint256(_status(lot)), uint256(QUARANTINED), "quarantined");
        IColdChainCompliance.ComplianceState memory state = compliance.complianceState(lot, device);
        assertEq(state.lastSeq, 4, "lastSeq advances over the missing seq");
        assertEq(state.lastTimestamp, T0 + 120, "lastTimestamp");
        assertFalse(state.inExcursion, "a quarantine clears the excursion");
        assertEq(state.excursionStart, 0, "a quarantine zeroes excursionStart");
        assertEq(registry.device(device).lastSeq, 4, "device lastSeq");
        // The withheld reading, sent late, is stale: it cannot undo the decision.
        _expectRefused(_signed(DEVICE_KEY, _reading(device, lot, 3, T0 + 90, 5000)), _stale(lot, device, 3, 4));
    }

    /// @dev One submission holding an excursion and a reading after several missing seqs.
    function test_SubmitReadings_SeveralMissingSeqsInOneSubmissionQuarantine() public {
        IColdChainCompliance.SignedReading[] memory batch = new IColdChainCompliance.SignedReading[](3);
        batch[0] = _signed(DEVICE_KEY, _reading(device, lot, 1, T0, 9000));
        batch[1] = _signed(DEVICE_KEY, _reading(device, lot, 2, T0 + 60, 9500));
        batch[2] = _signed(DEVICE_KEY, _reading(device, lot, 9, T0 + 120, 9000));
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ComplianceDecision(lot, device, 1, 1, STARTED);
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ComplianceDecision(lot, device, 2, 1, EXTENDED);
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ComplianceDecision(lot, device, 9, 1, Q_MISSING);
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ExcursionQuarantine(lot, 1, device, 9, Q_MISSING);
        vm.prank(oracle);
        compliance.submitReadings(batch);
        assertEq(uint256(_status(lot)), uint256(QUARANTINED), "quarantined");

        // The out-of-range reading after the quarantine starts a fresh excursion.
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ComplianceDecision(lot, device, 10, 1, STARTED);
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 10, T0 + 180, 9000)));
        assertEq(compliance.complianceState(lot, device).excursionStart, T0 + 180, "a fresh excursion");
    }

    function test_SubmitReadings_HardLimitAfterAMissingSeqIsAHardLimitQuarantine() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, 9000)));
        _submitExpectingQuarantine(_reading(device, lot, 3, T0 + 60, FROZEN), Q_HARD, "cold-chain: hard limit");
    }

    function test_SubmitReadings_SeqMissingOutsideAnExcursionDecidesNothing() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, 5000)));
        vm.recordLogs();
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 5, T0 + 60, 5000)));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countLogs(logs, address(compliance), IColdChainCompliance.ComplianceDecision.selector), 0, "NONE");
        assertEq(uint256(_status(lot)), uint256(ACTIVE), "still active");
    }

    function test_SubmitReadings_SeqMissingOnAHeldBatchOnlyRecordsTheDecision() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN)));
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 2, T0 + 60, 9000)));
        vm.recordLogs();
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 4, T0 + 120, 9000)));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(uint256(_decisionIn(logs)), uint256(Q_MISSING), "the decision is still emitted");
        assertEq(
            _countLogs(logs, address(compliance), IColdChainCompliance.ExcursionQuarantine.selector), 0, "no quarantine"
        );
        assertEq(_countLogs(logs, address(ledger), IProvenanceLedger.BatchStatusChanged.selector), 0, "no ledger call");
    }

    /// @dev Any number of withheld readings, any in-range or out-of-range temperature within
    /// the hard limits, any delay: the lot is quarantined, never stalled.
    function testFuzz_SubmitReadings_SeqMissingInAnExcursionAlwaysQuarantines(uint64 skipped, uint32 delay, int32 temp)
        public
    {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, 9000)));
        uint64 seq = 2 + uint64(bound(skipped, 1, type(uint64).max - 2));
        temp = int32(-5000 + int256(bound(uint32(temp), 0, 30_000)));
        vm.recordLogs();
        _submit(_signed(DEVICE_KEY, _reading(device, lot, seq, T0 + delay, temp)));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(uint256(_decisionIn(logs)), uint256(Q_MISSING), "missing evidence");
        assertEq(uint256(_status(lot)), uint256(QUARANTINED), "quarantined");
    }

    function test_SubmitReadings_HeldBatchIsNotQuarantinedAgain() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN)));
        vm.recordLogs();
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 2, T0 + 60, FROZEN)));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(uint256(_decisionIn(logs)), uint256(Q_HARD), "the decision is still emitted");
        assertEq(
            _countLogs(logs, address(compliance), IColdChainCompliance.ExcursionQuarantine.selector), 0, "no quarantine"
        );
        assertEq(_countLogs(logs, address(ledger), IProvenanceLedger.BatchStatusChanged.selector), 0, "no ledger call");
    }

    function test_SubmitReadings_ReleasedBatchIsQuarantinedAgain() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN)));
        vm.startPrank(quality);
        ledger.acknowledgeExcursion(lot, "probe checked");
        ledger.release(lot, "inspected");
        vm.stopPrank();
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.BatchStatusChanged(
            lot, RELEASED, QUARANTINED, address(compliance), "cold-chain: hard limit"
        );
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 2, T0 + 60, FROZEN)));
    }

    function test_SubmitReadings_ARuleQuarantineIsReleasedOnlyAfterQualityAcknowledgesIt() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN)));
        assertEq(
            uint256(ledger.excursionHold(lot)),
            uint256(IProvenanceLedger.ExcursionHold.UNACKNOWLEDGED),
            "an excursion hold"
        );
        vm.startPrank(quality);
        vm.expectRevert(
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerExcursionNotAcknowledged.selector, lot)
        );
        ledger.release(lot, "inspected");
        assertEq(uint256(_status(lot)), uint256(QUARANTINED), "still quarantined");
        ledger.acknowledgeExcursion(lot, "logger fault, product within range");
        ledger.release(lot, "inspected");
        vm.stopPrank();
        assertEq(uint256(_status(lot)), uint256(RELEASED), "released");
    }

    function test_SubmitReadings_RecalledOrDestroyedBatchOnlyRecordsTheDecision() public {
        vm.prank(quality);
        ledger.recall(lot, "recall");
        _submitAndExpectNoQuarantine(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, FROZEN)), RECALLED);

        IProvenanceLedger.EventKind[] memory kinds = new IProvenanceLedger.EventKind[](1);
        kinds[0] = IProvenanceLedger.EventKind.DESTRUCTION;
        bytes[] memory payloads = new bytes[](1);
        payloads[0] = "destroyed";
        vm.prank(operator);
        ledger.recordEvents(lot, kinds, payloads);
        _submitAndExpectNoQuarantine(_signed(DEVICE_KEY, _reading(device, lot, 2, T0 + 60, FROZEN)), DESTROYED);
    }

    function test_SubmitReadings_BreachRevertsWithoutTheQuarantineRole() public {
        vm.prank(governor);
        membership.revokeRole(Roles.QUARANTINE, address(compliance));
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, 5000)));
        _expectRefused(
            _signed(DEVICE_KEY, _reading(device, lot, 2, T0 + 60, FROZEN)),
            _unauthorized(address(compliance), Roles.QUARANTINE)
        );
    }

    function testFuzz_SubmitReadings_HardLimitAlwaysQuarantines(uint32 beyond, bool below, uint64 seq) public {
        seq = uint64(bound(seq, 1, type(uint64).max));
        int32 offset = int32(int256(bound(beyond, 1, uint256(int256(type(int32).max) - 25_000))));
        int32 temp = below ? int32(-5000) - offset : int32(25_000) + offset;
        _submit(_signed(DEVICE_KEY, _reading(device, lot, seq, T0, temp)));
        assertEq(uint256(_status(lot)), uint256(QUARANTINED), "quarantined at once");
    }

    /// @dev Readings inside [min, max] with gaps up to the maximum never change the batch.
    function testFuzz_SubmitReadings_InRangeReadingsNeverQuarantine(uint16[6] memory temps, uint16[6] memory gaps)
        public
    {
        IColdChainCompliance.SignedReading[] memory batch = new IColdChainCompliance.SignedReading[](6);
        uint64 timestamp = T0;
        for (uint256 i; i < 6; ++i) {
            timestamp += uint64(bound(gaps[i], 0, 3600));
            int32 temp = int32(int256(bound(temps[i], 2000, 8000)));
            batch[i] = _signed(DEVICE_KEY, _reading(device, lot, uint64(i + 1), timestamp, temp));
        }
        vm.recordLogs();
        vm.prank(oracle);
        compliance.submitReadings(batch);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countLogs(logs, address(compliance), IColdChainCompliance.ComplianceDecision.selector), 0, "NONE");
        assertEq(uint256(_status(lot)), uint256(ACTIVE), "still active");
    }

    // ---------------------------------------------------------------- gas

    /// @dev One window of 1,000 packed readings. Under Prague (and anvil's later default) a
    /// transaction pays max(21000 + standard calldata + execution, 21000 + 10 gas per calldata
    /// token), a non-zero byte counting 4 tokens and a zero byte 1.
    function test_Gas_AnchorReadings1000PackedReadings() public {
        bytes memory packed = _packed(device, T0, GAS_ANCHORED_READINGS);
        bytes memory data = abi.encodeCall(
            compliance.anchorReadings, (lot, keccak256("root"), 1, uint64(GAS_ANCHORED_READINGS), packed)
        );
        vm.prank(oracle);
        (bool ok, uint256 execution) = _measuredCall(address(compliance), data);
        assertTrue(ok, "anchorReadings succeeded");

        (uint256 txGas, uint256 floor) = _txGas(data, execution);
        emit log_named_uint("anchor: calldata bytes per reading (x1000)", data.length * 1000 / GAS_ANCHORED_READINGS);
        emit log_named_uint("anchor: execution gas (whole call)", execution);
        emit log_named_uint("anchor: calldata floor gas per reading", (floor - 21_000) / GAS_ANCHORED_READINGS);
        emit log_named_uint("anchor: tx gas per reading, all-in", txGas / GAS_ANCHORED_READINGS);
        assertLe(txGas / GAS_ANCHORED_READINGS, 600, "at most 600 gas per anchored reading, all-in");
    }

    /// @dev A pair's first window of 80 readings (the bridge's smallest early close), the
    /// dearest anchoring: it pays for the pair's new storage slot (the window's end, 22,100
    /// gas; a later window's cold rewrite costs 5,000), where 1,000 readings hide it under
    /// the calldata floor.
    function test_Gas_AnchorReadingsFirstWindowOf80() public {
        uint256 readings = 80;
        bytes memory data = abi.encodeCall(
            compliance.anchorReadings, (lot, keccak256("root"), 1, uint64(readings), _packed(device, T0, readings))
        );
        vm.prank(oracle);
        (bool ok, uint256 execution) = _measuredCall(address(compliance), data);
        assertTrue(ok, "anchorReadings succeeded");
        (uint256 txGas,) = _txGas(data, execution);
        emit log_named_uint("anchor 80: execution gas (whole call)", execution);
        emit log_named_uint("anchor 80: tx gas per reading, all-in", txGas / readings);
        assertLe(txGas / readings, 1000, "at most 1,000 gas per reading of a first 80-reading window, all-in");
    }

    /// @dev Submitting signed readings: the steady state (state slots already written) for
    /// readings that decide nothing and for readings that each change the excursion state.
    function test_Gas_SubmitReadingsPerReading() public {
        _submit(_signed(DEVICE_KEY, _reading(device, lot, 1, T0, 5000)));

        IColdChainCompliance.SignedReading[] memory quiet = _series(2, false);
        bytes memory data = abi.encodeCall(compliance.submitReadings, (quiet));
        vm.prank(oracle);
        (bool ok, uint256 execution) = _measuredCall(address(compliance), data);
        assertTrue(ok, "in-range readings accepted");
        (uint256 txGas,) = _txGas(data, execution);
        emit log_named_uint("submit (NONE): execution gas per reading", execution / GAS_SUBMITTED_READINGS);
        emit log_named_uint("submit (NONE): tx gas per reading, all-in", txGas / GAS_SUBMITTED_READINGS);

        IColdChainCompliance.SignedReading[] memory changing = _series(2 + GAS_SUBMITTED_READINGS, true);
        data = abi.encodeCall(compliance.submitReadings, (changing));
        vm.prank(oracle);
        (ok, execution) = _measuredCall(address(compliance), data);
        assertTrue(ok, "excursion readings accepted");
        (txGas,) = _txGas(data, execution);
        emit log_named_uint("submit (decision): execution gas per reading", execution / GAS_SUBMITTED_READINGS);
        emit log_named_uint("submit (decision): tx gas per reading, all-in", txGas / GAS_SUBMITTED_READINGS);
        assertEq(uint256(_status(lot)), uint256(ACTIVE), "short excursions only");
        assertLt(execution / GAS_SUBMITTED_READINGS, 30_000, "execution gas per submitted reading");
    }

    // ---------------------------------------------------------------- helpers

    /// @dev `signed` is refused with `expected`, changes nothing and quarantines nothing.
    function _expectRefused(IColdChainCompliance.SignedReading memory signed, bytes memory expected) internal {
        _expectRefused(signed, expected, lot);
    }

    function _expectRefused(IColdChainCompliance.SignedReading memory signed, bytes memory expected, bytes32 watched)
        internal
    {
        IProvenanceLedger.BatchStatus status = _status(watched);
        IColdChainCompliance.ComplianceState memory before = compliance.complianceState(watched, device);
        uint64 deviceSeq = registry.device(device).lastSeq;
        vm.expectRevert(expected);
        _submit(signed);
        assertEq(uint256(_status(watched)), uint256(status), "batch status unchanged");
        assertEq(compliance.complianceState(watched, device).lastSeq, before.lastSeq, "compliance state unchanged");
        assertEq(registry.device(device).lastSeq, deviceSeq, "device seq unchanged");
    }

    /// @dev Submits `reading`, signed by the device, expecting it to quarantine the active lot
    /// through the ledger with `reason` and then to emit ExcursionQuarantine for `decision`.
    function _submitExpectingQuarantine(
        IColdChainCompliance.Reading memory reading,
        IColdChainCompliance.Decision decision,
        string memory reason
    ) internal {
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.BatchStatusChanged(lot, ACTIVE, QUARANTINED, address(compliance), reason);
        vm.expectEmit(address(compliance));
        emit IColdChainCompliance.ExcursionQuarantine(lot, 1, device, reading.seq, decision);
        _submit(_signed(DEVICE_KEY, reading));
    }

    function _submitAndExpectNoQuarantine(
        IColdChainCompliance.SignedReading memory signed,
        IProvenanceLedger.BatchStatus held
    ) internal {
        vm.recordLogs();
        _submit(signed);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(uint256(_decisionIn(logs)), uint256(Q_HARD), "decision emitted");
        assertEq(
            _countLogs(logs, address(compliance), IColdChainCompliance.ExcursionQuarantine.selector), 0, "no quarantine"
        );
        assertEq(uint256(_status(lot)), uint256(held), "status kept");
    }

    function _assertUntouched() internal view {
        assertEq(uint256(_status(lot)), uint256(ACTIVE), "batch not quarantined");
        assertEq(compliance.complianceState(lot, device).lastSeq, 0, "no reading accepted");
        assertEq(registry.device(device).lastSeq, 0, "device seq unchanged");
    }

    function _stale(bytes32 batchId, address account, uint64 seq, uint64 lastSeq) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(
            IColdChainCompliance.ColdChainComplianceStaleSequence.selector, batchId, account, seq, lastSeq
        );
    }

    function _invalidRule(IColdChainCompliance.Rule memory rule) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(
            IColdChainCompliance.ColdChainComplianceInvalidRule.selector,
            PRODUCT,
            rule.hardMinMilliC,
            rule.minMilliC,
            rule.maxMilliC,
            rule.hardMaxMilliC
        );
    }

    /// @dev GAS_SUBMITTED_READINGS signed readings from `firstSeq`, one a minute: all at 5 °C, or
    /// (`changing`) alternating 9 °C / 5 °C so that every reading starts or ends an excursion.
    function _series(uint256 firstSeq, bool changing)
        internal
        view
        returns (IColdChainCompliance.SignedReading[] memory batch)
    {
        batch = new IColdChainCompliance.SignedReading[](GAS_SUBMITTED_READINGS);
        for (uint256 i; i < GAS_SUBMITTED_READINGS; ++i) {
            uint64 seq = uint64(firstSeq + i);
            int32 temp = changing && i % 2 == 0 ? int32(9000) : int32(5000);
            batch[i] = _signed(DEVICE_KEY, _reading(device, lot, seq, T0 + 60 * seq, temp));
        }
    }

    /// @dev A packed window: [device][first timestamp] then per reading [uint16 seconds since
    /// the previous][int24 tempMilliC][uint16 humidityPermille], big-endian, one a minute.
    function _alreadyAnchored(bytes32 batchId, address account, uint64 firstSeq, uint256 nextSeq)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(
            IColdChainCompliance.ColdChainComplianceWindowAlreadyAnchored.selector, batchId, account, firstSeq, nextSeq
        );
    }

    function _packed(address account, uint64 firstTimestamp, uint256 count) internal pure returns (bytes memory p) {
        p = bytes.concat(bytes20(account), bytes8(firstTimestamp), new bytes(7 * count));
        for (uint256 i; i < count; ++i) {
            uint256 at = 28 + 7 * i;
            uint16 delta = i == 0 ? 0 : 60;
            uint24 temp = uint24(uint32(int32(4650 + int256((i * 37) % 700)))); // 4.65–5.35 °C
            uint16 humidity = uint16(450 + i % 100);
            p[at] = bytes1(uint8(delta >> 8));
            p[at + 1] = bytes1(uint8(delta));
            p[at + 2] = bytes1(uint8(temp >> 16));
            p[at + 3] = bytes1(uint8(temp >> 8));
            p[at + 4] = bytes1(uint8(temp));
            p[at + 5] = bytes1(uint8(humidity >> 8));
            p[at + 6] = bytes1(uint8(humidity));
        }
    }

    /// @dev What a transaction carrying `data` pays after Prague (EIP-7623), and its floor.
    function _txGas(bytes memory data, uint256 execution) internal pure returns (uint256 txGas, uint256 floor) {
        uint256 zeros;
        for (uint256 i; i < data.length; ++i) {
            if (data[i] == 0) ++zeros;
        }
        uint256 nonZeros = data.length - zeros;
        uint256 standard = 21_000 + 4 * zeros + 16 * nonZeros + execution;
        floor = 21_000 + 10 * (zeros + 4 * nonZeros);
        txGas = standard > floor ? standard : floor;
    }

    /// @dev Calls without copying `data` again, so memory growth of this test is not measured.
    function _measuredCall(address target, bytes memory data) internal returns (bool ok, uint256 gasUsed) {
        assembly ("memory-safe") {
            let before := gas()
            ok := call(gas(), target, 0, add(data, 0x20), mload(data), 0, 0)
            gasUsed := sub(before, gas())
        }
    }
}
