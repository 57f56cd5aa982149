// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMembership} from "../src/interfaces/IMembership.sol";
import {IProvenanceLedger} from "../src/interfaces/IProvenanceLedger.sol";
import {Roles} from "../src/libraries/Roles.sol";
import {ConsortiumBase} from "./utils/ConsortiumBase.sol";
import {Vm} from "./utils/Vm.sol";

contract ProvenanceLedgerTest is ConsortiumBase {
    address internal compliance;

    uint256 private _nonce;

    uint256 internal constant GAS_EVENTS = 200;
    uint256 internal constant GAS_PAYLOAD_BYTES = 500;

    bytes32 internal constant PRODUCT = keccak256("vaccine-2-8C");
    string internal constant LOT_URI = "https://id.gs1.org/01/09506000134352/10/LOT001";
    string internal constant ITEM_URI = "https://id.gs1.org/01/09506000134352/21/SN0001";
    uint64 internal constant GTIN = 9506000134352;
    /// @dev A GTIN under GS1's example prefix 0614141, which nobody holds unless a test assigns it.
    uint64 internal constant OTHER_GTIN = 614141123452;
    string internal constant OTHER_LOT_URI = "https://id.gs1.org/01/00614141123452/10/LOT001";

    IProvenanceLedger.EventKind internal constant OTHER = IProvenanceLedger.EventKind.OTHER;
    IProvenanceLedger.EventKind internal constant INSPECTION = IProvenanceLedger.EventKind.INSPECTION;
    IProvenanceLedger.EventKind internal constant DESTRUCTION = IProvenanceLedger.EventKind.DESTRUCTION;

    IProvenanceLedger.BatchStatus internal constant NONE = IProvenanceLedger.BatchStatus.NONE;
    IProvenanceLedger.BatchStatus internal constant ACTIVE = IProvenanceLedger.BatchStatus.ACTIVE;
    IProvenanceLedger.BatchStatus internal constant QUARANTINED = IProvenanceLedger.BatchStatus.QUARANTINED;
    IProvenanceLedger.BatchStatus internal constant RELEASED = IProvenanceLedger.BatchStatus.RELEASED;
    IProvenanceLedger.BatchStatus internal constant DESTROYED = IProvenanceLedger.BatchStatus.DESTROYED;
    IProvenanceLedger.BatchStatus internal constant RECALLED = IProvenanceLedger.BatchStatus.RECALLED;

    function setUp() public {
        _deployConsortium();
        compliance = makeAddr("compliance");
        _enrol(quality, Roles.QUALITY, "did:pkh:eip155:31337:quality", "Quality Lab");
        _grant(Roles.QUARANTINE, compliance);
    }

    // ---------------------------------------------------------------- construction

    function test_Membership_IsTheConstructorArgument() public view {
        assertEq(ledger.membership(), address(membership), "membership()");
    }

    function test_Batch_UnknownHasStatusNone() public view {
        IProvenanceLedger.Batch memory b = ledger.batch(keccak256("nothing"));
        assertEq(uint8(b.status), uint8(NONE), "status NONE");
        assertEq(b.createdAt, 0, "no creation time");
    }

    // ---------------------------------------------------------------- createBatch

    function test_CreateBatch_StoresBatchAndEmits() public {
        vm.warp(1_800_000_000);
        bytes32 expectedId = keccak256(bytes(LOT_URI));
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.BatchCreated(
            expectedId, PRODUCT, operator, IProvenanceLedger.BatchKind.LOT, new bytes32[](0), LOT_URI
        );
        vm.prank(operator);
        bytes32 id = ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), LOT_URI);

        assertEq(id, expectedId, "id is keccak256(uri)");
        IProvenanceLedger.Batch memory b = ledger.batch(id);
        assertEq(uint8(b.kind), uint8(IProvenanceLedger.BatchKind.LOT), "kind");
        assertEq(uint8(b.status), uint8(ACTIVE), "created ACTIVE");
        assertEq(b.createdAt, 1_800_000_000, "createdAt");
        assertEq(b.eventCount, 0, "no events yet");
        assertEq(b.productClass, PRODUCT, "productClass");
    }

    function test_CreateBatch_WithParentsEmitsGenealogy() public {
        bytes32 lot = _create(LOT_URI);
        bytes32 other = _create("https://id.gs1.org/01/09506000134352/10/LOT002");
        bytes32[] memory parents = new bytes32[](2);
        parents[0] = lot;
        parents[1] = other;

        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.BatchCreated(
            keccak256(bytes(ITEM_URI)), PRODUCT, operator, IProvenanceLedger.BatchKind.ITEM, parents, ITEM_URI
        );
        vm.prank(operator);
        bytes32 item = ledger.createBatch(IProvenanceLedger.BatchKind.ITEM, PRODUCT, parents, ITEM_URI);
        assertEq(uint8(ledger.batch(item).kind), uint8(IProvenanceLedger.BatchKind.ITEM), "ITEM kind");
    }

    function test_CreateBatch_AcceptsDestroyedParent() public {
        bytes32 lot = _create(LOT_URI);
        _record(lot, DESTRUCTION);
        bytes32[] memory parents = new bytes32[](1);
        parents[0] = lot;
        vm.prank(operator);
        bytes32 item = ledger.createBatch(IProvenanceLedger.BatchKind.ITEM, PRODUCT, parents, ITEM_URI);
        assertEq(uint8(ledger.batch(item).status), uint8(ACTIVE), "child of a consumed lot is ACTIVE");
    }

    function test_CreateBatch_RevertsForUnauthorizedCallers() public {
        address[3] memory callers = [outsider, quality, compliance];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.OPERATOR));
            vm.prank(callers[i]);
            ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), LOT_URI);
        }
    }

    function test_CreateBatch_RevertsWhenPaused() public {
        _pause();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipPaused.selector));
        vm.prank(operator);
        ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), LOT_URI);
    }

    function test_CreateBatch_RevertsForDeactivatedOrganization() public {
        _deactivate(operator);
        vm.expectRevert(_unauthorized(operator, Roles.OPERATOR));
        vm.prank(operator);
        ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), LOT_URI);
    }

    function test_CreateBatch_RevertsOnAnythingButACanonicalDigitalLinkOfItsKind() public {
        string[9] memory notLinks = [
            "",
            "urn:lot:1",
            "https://id.gs1.org/01/09506000134352/10/",
            "https://example.com/01/09506000134352/10/LOT001",
            "http://id.gs1.org/01/09506000134352/10/LOT001",
            "https://id.gs1.org/01/9506000134352/10/LOT001",
            "https://id.gs1.org/01/09506000134353/10/LOT001",
            "https://id.gs1.org/01/0950600013435a/10/LOT001",
            ITEM_URI
        ];
        for (uint256 i; i < notLinks.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IProvenanceLedger.ProvenanceLedgerNotDigitalLink.selector,
                    IProvenanceLedger.BatchKind.LOT,
                    notLinks[i]
                )
            );
            vm.prank(operator);
            ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), notLinks[i]);
        }
        vm.expectRevert(
            abi.encodeWithSelector(
                IProvenanceLedger.ProvenanceLedgerNotDigitalLink.selector, IProvenanceLedger.BatchKind.ITEM, LOT_URI
            )
        );
        vm.prank(operator);
        ledger.createBatch(IProvenanceLedger.BatchKind.ITEM, PRODUCT, new bytes32[](0), LOT_URI);
    }

    function test_CreateBatch_AcceptsEveryGtinLengthPadded() public {
        _assignPrefix("0012345", operator); // GTIN-12 012345678905, UPC prefix 012345
        _create("https://id.gs1.org/01/00012345678905/10/UPC");
        _assignPrefix("401234", operator); // GTIN-13 4012345123456
        _create("https://id.gs1.org/01/04012345123456/10/998877");
    }

    function test_CreateBatch_RevertsWhenBatchExists() public {
        bytes32 lot = _create(LOT_URI);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchExists.selector, lot));
        vm.prank(operator);
        ledger.createBatch(IProvenanceLedger.BatchKind.LOT, bytes32(0), new bytes32[](0), LOT_URI);
    }

    function test_CreateBatch_RevertsOnUnknownParent() public {
        bytes32 lot = _create(LOT_URI);
        bytes32[] memory parents = new bytes32[](2);
        parents[0] = lot;
        parents[1] = keccak256("missing");
        vm.expectRevert(
            abi.encodeWithSelector(
                IProvenanceLedger.ProvenanceLedgerUnknownParent.selector, keccak256(bytes(ITEM_URI)), parents[1]
            )
        );
        vm.prank(operator);
        ledger.createBatch(IProvenanceLedger.BatchKind.ITEM, PRODUCT, parents, ITEM_URI);
    }

    function test_CreateBatch_RevertsWhenParentIsItself() public {
        bytes32 id = keccak256(bytes(LOT_URI));
        bytes32[] memory parents = new bytes32[](1);
        parents[0] = id;
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnknownParent.selector, id, id));
        vm.prank(operator);
        ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, parents, LOT_URI);
    }

    // ---------------------------------------------------------------- recordEvents

    function test_RecordEvents_EmitsPerEventAndCountsOnce() public {
        bytes32 lot = _create(LOT_URI);
        bytes[] memory payloads = new bytes[](3);
        payloads[0] = bytes('{"type":"ObjectEvent","action":"ADD"}');
        payloads[1] = bytes('{"type":"ObjectEvent","action":"OBSERVE"}');
        payloads[2] = bytes('{"type":"ObjectEvent","action":"OBSERVE","bizStep":"inspecting"}');
        IProvenanceLedger.EventKind[] memory kinds = new IProvenanceLedger.EventKind[](3);
        kinds[2] = INSPECTION;

        for (uint256 i; i < 3; ++i) {
            vm.expectEmit(address(ledger));
            emit IProvenanceLedger.EventRecorded(lot, keccak256(payloads[i]), operator, uint64(i), kinds[i], uint32(i));
        }
        vm.prank(operator);
        ledger.recordEvents(lot, kinds, payloads);
        assertEq(ledger.batch(lot).eventCount, 3, "eventCount after first call");

        // A second call continues the batch's history where the first left off.
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.EventRecorded(lot, keccak256(payloads[0]), operator, 3, OTHER, 0);
        _record(lot, OTHER, payloads[0]);
        assertEq(ledger.batch(lot).eventCount, 4, "eventCount after second call");
        assertEq(uint8(ledger.batch(lot).status), uint8(ACTIVE), "status unchanged");
    }

    function test_RecordEvents_RevertsForUnauthorizedCallers() public {
        bytes32 lot = _create(LOT_URI);
        address[3] memory callers = [outsider, quality, compliance];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.OPERATOR));
            vm.prank(callers[i]);
            ledger.recordEvents(lot, _kinds(OTHER), _payloads("x"));
        }
    }

    function test_RecordEvents_RevertsWhenPaused() public {
        bytes32 lot = _create(LOT_URI);
        _pause();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipPaused.selector));
        vm.prank(operator);
        ledger.recordEvents(lot, _kinds(OTHER), _payloads("x"));
    }

    function test_RecordEvents_RevertsForDeactivatedOrganization() public {
        bytes32 lot = _create(LOT_URI);
        _deactivate(operator);
        vm.expectRevert(_unauthorized(operator, Roles.OPERATOR));
        vm.prank(operator);
        ledger.recordEvents(lot, _kinds(OTHER), _payloads("x"));
    }

    function test_RecordEvents_RevertsOnUnknownBatch() public {
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnknownBatch.selector, unknown));
        vm.prank(operator);
        ledger.recordEvents(unknown, _kinds(OTHER), _payloads("x"));
    }

    function test_RecordEvents_RevertsOnDestroyedBatch() public {
        bytes32 lot = _batchIn(DESTROYED);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchDestroyed.selector, lot));
        vm.prank(operator);
        ledger.recordEvents(lot, _kinds(INSPECTION), _payloads("x"));
    }

    function test_RecordEvents_RevertsOnLengthMismatch() public {
        bytes32 lot = _create(LOT_URI);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerLengthMismatch.selector, 2, 1));
        vm.prank(operator);
        ledger.recordEvents(lot, new IProvenanceLedger.EventKind[](2), _payloads("x"));
    }

    function test_RecordEvents_RevertsOnNoEvents() public {
        bytes32 lot = _create(LOT_URI);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNoEvents.selector, lot));
        vm.prank(operator);
        ledger.recordEvents(lot, new IProvenanceLedger.EventKind[](0), new bytes[](0));
    }

    function test_RecordEvents_RevertsOnEmptyPayloadWithItsPosition() public {
        bytes32 lot = _create(LOT_URI);
        bytes[] memory payloads = new bytes[](3);
        payloads[0] = "a";
        payloads[2] = "c";
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerEmptyPayload.selector, lot, 1));
        vm.prank(operator);
        ledger.recordEvents(lot, new IProvenanceLedger.EventKind[](3), payloads);
    }

    function test_RecordEvents_QuarantinedRefusesOtherEvents() public {
        bytes32 lot = _batchIn(QUARANTINED);
        vm.expectRevert(
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchQuarantined.selector, lot, QUARANTINED, OTHER)
        );
        vm.prank(operator);
        ledger.recordEvents(lot, _kinds(OTHER), _payloads("ship"));
    }

    function test_RecordEvents_RecalledRefusesOtherEvents() public {
        bytes32 lot = _batchIn(RECALLED);
        IProvenanceLedger.EventKind[] memory kinds = new IProvenanceLedger.EventKind[](2);
        kinds[0] = INSPECTION;
        bytes[] memory payloads = new bytes[](2);
        payloads[0] = "inspect";
        payloads[1] = "ship";
        vm.expectRevert(
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchQuarantined.selector, lot, RECALLED, OTHER)
        );
        vm.prank(operator);
        ledger.recordEvents(lot, kinds, payloads);
        assertEq(ledger.batch(lot).eventCount, 0, "whole call reverted");
    }

    function test_RecordEvents_QuarantinedAndRecalledAcceptInspection() public {
        IProvenanceLedger.BatchStatus[2] memory statuses = [QUARANTINED, RECALLED];
        for (uint256 i; i < statuses.length; ++i) {
            bytes32 lot = _batchIn(statuses[i]);
            _record(lot, INSPECTION);
            assertEq(ledger.batch(lot).eventCount, 1, "inspection recorded");
            assertEq(uint8(ledger.batch(lot).status), uint8(statuses[i]), "status unchanged by inspection");
        }
    }

    function test_RecordEvents_DestructionDestroysFromEveryLiveStatus() public {
        IProvenanceLedger.BatchStatus[4] memory statuses = [ACTIVE, QUARANTINED, RELEASED, RECALLED];
        for (uint256 i; i < statuses.length; ++i) {
            bytes32 lot = _batchIn(statuses[i]);
            vm.expectEmit(address(ledger));
            emit IProvenanceLedger.EventRecorded(lot, keccak256("event"), operator, 0, DESTRUCTION, 0);
            vm.expectEmit(address(ledger));
            emit IProvenanceLedger.BatchStatusChanged(lot, statuses[i], DESTROYED, operator, "destroyed");
            _record(lot, DESTRUCTION);
            assertEq(uint8(ledger.batch(lot).status), uint8(DESTROYED), "destroyed");
            assertEq(ledger.batch(lot).eventCount, 1, "destruction event counted");
        }
    }

    function test_RecordEvents_DestructionLastInCallIsAccepted() public {
        bytes32 lot = _create(LOT_URI);
        IProvenanceLedger.EventKind[] memory kinds = new IProvenanceLedger.EventKind[](3);
        kinds[1] = INSPECTION;
        kinds[2] = DESTRUCTION;
        bytes[] memory payloads = new bytes[](3);
        payloads[0] = "a";
        payloads[1] = "b";
        payloads[2] = "c";
        vm.prank(operator);
        ledger.recordEvents(lot, kinds, payloads);
        assertEq(ledger.batch(lot).eventCount, 3, "all three counted");
        assertEq(uint8(ledger.batch(lot).status), uint8(DESTROYED), "destroyed");
    }

    function test_RecordEvents_RevertsOnEventAfterDestructionInSameCall() public {
        bytes32 lot = _create(LOT_URI);
        IProvenanceLedger.EventKind[] memory kinds = new IProvenanceLedger.EventKind[](2);
        kinds[0] = DESTRUCTION;
        kinds[1] = INSPECTION;
        bytes[] memory payloads = new bytes[](2);
        payloads[0] = "destroy";
        payloads[1] = "inspect";
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchDestroyed.selector, lot));
        vm.prank(operator);
        ledger.recordEvents(lot, kinds, payloads);
        assertEq(uint8(ledger.batch(lot).status), uint8(ACTIVE), "whole call reverted");
    }

    function test_RecordEvents_RevertsOnOutOfRangeKind() public {
        bytes32 lot = _create(LOT_URI);
        bytes memory data = abi.encodeCall(ledger.recordEvents, (lot, _kinds(OTHER), _payloads("x")));
        // The single kind sits right after selector, batchId, two offsets and the length word.
        data[4 + 32 * 5 - 1] = bytes1(uint8(3));
        vm.prank(operator);
        (bool ok,) = address(ledger).call(data);
        assertFalse(ok, "an undefined EventKind is refused by the ABI decoder");
    }

    // ---------------------------------------------------------------- quarantine / release / recall

    function test_Quarantine_FromActiveAndReleased() public {
        IProvenanceLedger.BatchStatus[2] memory statuses = [ACTIVE, RELEASED];
        for (uint256 i; i < statuses.length; ++i) {
            bytes32 lot = _batchIn(statuses[i]);
            vm.expectEmit(address(ledger));
            emit IProvenanceLedger.BatchStatusChanged(lot, statuses[i], QUARANTINED, compliance, "excursion");
            vm.prank(compliance);
            ledger.quarantine(lot, "excursion");
            assertEq(uint8(ledger.batch(lot).status), uint8(QUARANTINED), "quarantined");
        }
    }

    function test_Release_FromQuarantinedAndRecalled() public {
        IProvenanceLedger.BatchStatus[2] memory statuses = [QUARANTINED, RECALLED];
        for (uint256 i; i < statuses.length; ++i) {
            bytes32 lot = _batchIn(statuses[i]);
            vm.expectEmit(address(ledger));
            emit IProvenanceLedger.BatchStatusChanged(lot, statuses[i], RELEASED, quality, "lab cleared");
            vm.prank(quality);
            ledger.release(lot, "lab cleared");
            assertEq(uint8(ledger.batch(lot).status), uint8(RELEASED), "released");
        }
    }

    function test_Recall_FromActiveReleasedAndQuarantined() public {
        IProvenanceLedger.BatchStatus[3] memory statuses = [ACTIVE, RELEASED, QUARANTINED];
        for (uint256 i; i < statuses.length; ++i) {
            bytes32 lot = _batchIn(statuses[i]);
            vm.expectEmit(address(ledger));
            emit IProvenanceLedger.BatchStatusChanged(lot, statuses[i], RECALLED, quality, "field defect");
            vm.prank(quality);
            ledger.recall(lot, "field defect");
            assertEq(uint8(ledger.batch(lot).status), uint8(RECALLED), "recalled");
        }
    }

    function test_Quarantine_RevertsOnInvalidTransition() public {
        IProvenanceLedger.BatchStatus[3] memory statuses = [QUARANTINED, RECALLED, DESTROYED];
        for (uint256 i; i < statuses.length; ++i) {
            bytes32 lot = _batchIn(statuses[i]);
            vm.expectRevert(_invalidTransition(lot, statuses[i], QUARANTINED));
            vm.prank(compliance);
            ledger.quarantine(lot, "again");
        }
    }

    function test_Release_RevertsOnInvalidTransition() public {
        IProvenanceLedger.BatchStatus[3] memory statuses = [ACTIVE, RELEASED, DESTROYED];
        for (uint256 i; i < statuses.length; ++i) {
            bytes32 lot = _batchIn(statuses[i]);
            vm.expectRevert(_invalidTransition(lot, statuses[i], RELEASED));
            vm.prank(quality);
            ledger.release(lot, "nothing to release");
        }
    }

    function test_Recall_RevertsOnInvalidTransition() public {
        IProvenanceLedger.BatchStatus[2] memory statuses = [RECALLED, DESTROYED];
        for (uint256 i; i < statuses.length; ++i) {
            bytes32 lot = _batchIn(statuses[i]);
            vm.expectRevert(_invalidTransition(lot, statuses[i], RECALLED));
            vm.prank(quality);
            ledger.recall(lot, "again");
        }
    }

    function test_StatusChanges_RevertOnUnknownBatch() public {
        bytes32 unknown = keccak256("unknown");
        bytes memory expected = abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnknownBatch.selector, unknown);
        vm.expectRevert(expected);
        vm.prank(compliance);
        ledger.quarantine(unknown, "");
        vm.expectRevert(expected);
        vm.prank(quality);
        ledger.release(unknown, "");
        vm.expectRevert(expected);
        vm.prank(quality);
        ledger.recall(unknown, "");
    }

    function test_Quarantine_RevertsForUnauthorizedCallers() public {
        bytes32 lot = _create(LOT_URI);
        address[3] memory callers = [outsider, operator, quality];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.QUARANTINE));
            vm.prank(callers[i]);
            ledger.quarantine(lot, "excursion");
        }
    }

    function test_Release_RevertsForUnauthorizedCallers() public {
        bytes32 lot = _batchIn(QUARANTINED);
        address[3] memory callers = [outsider, operator, compliance];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.QUALITY));
            vm.prank(callers[i]);
            ledger.release(lot, "cleared");
        }
    }

    function test_Recall_RevertsForUnauthorizedCallers() public {
        bytes32 lot = _create(LOT_URI);
        address[3] memory callers = [outsider, operator, compliance];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.QUALITY));
            vm.prank(callers[i]);
            ledger.recall(lot, "defect");
        }
    }

    function test_StatusChanges_RevertWhenPaused() public {
        bytes32 lot = _batchIn(QUARANTINED);
        _pause();
        bytes memory paused = abi.encodeWithSelector(IMembership.MembershipPaused.selector);
        vm.expectRevert(paused);
        vm.prank(compliance);
        ledger.quarantine(lot, "");
        vm.expectRevert(paused);
        vm.prank(quality);
        ledger.release(lot, "");
        vm.expectRevert(paused);
        vm.prank(quality);
        ledger.recall(lot, "");
    }

    function test_StatusChanges_RevertForDeactivatedOrganization() public {
        bytes32 lot = _batchIn(QUARANTINED);
        _deactivate(quality);
        vm.expectRevert(_unauthorized(quality, Roles.QUALITY));
        vm.prank(quality);
        ledger.release(lot, "");
        vm.expectRevert(_unauthorized(quality, Roles.QUALITY));
        vm.prank(quality);
        ledger.recall(lot, "");

        _grant(Roles.QUARANTINE, quality);
        vm.expectRevert(_unauthorized(quality, Roles.QUARANTINE));
        vm.prank(quality);
        ledger.quarantine(lot, "");
    }

    function test_Quarantine_BlocksShippingUntilRelease() public {
        bytes32 lot = _create(LOT_URI);
        vm.prank(compliance);
        ledger.quarantine(lot, "excursion");
        vm.expectRevert(
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchQuarantined.selector, lot, QUARANTINED, OTHER)
        );
        vm.prank(operator);
        ledger.recordEvents(lot, _kinds(OTHER), _payloads("ship"));

        vm.prank(quality);
        ledger.release(lot, "lab cleared");
        _record(lot, OTHER);
        assertEq(ledger.batch(lot).eventCount, 1, "ships after release");
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_CreateBatch_IdIsKeccakOfUri(string calldata value, bytes32 productClass, bool item) public {
        IProvenanceLedger.BatchKind kind = item ? IProvenanceLedger.BatchKind.ITEM : IProvenanceLedger.BatchKind.LOT;
        string memory uri = string.concat("https://id.gs1.org/01/09506000134352", item ? "/21/" : "/10/", value);
        if (bytes(value).length == 0) {
            vm.expectRevert(
                abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotDigitalLink.selector, kind, uri)
            );
        }
        vm.prank(operator);
        bytes32 id = ledger.createBatch(kind, productClass, new bytes32[](0), uri);
        if (bytes(value).length == 0) return;
        assertEq(id, keccak256(bytes(uri)), "id = keccak256(uri)");
        IProvenanceLedger.Batch memory b = ledger.batch(id);
        assertEq(b.productClass, productClass, "productClass stored");
        assertEq(uint8(b.kind), uint8(kind), "kind stored");
    }

    function testFuzz_RecordEvents_HashesAndCountsEveryEvent(uint256 count, uint256 lengthSeed, uint256 calls) public {
        count = bound(count, 1, 16);
        calls = bound(calls, 1, 3);
        bytes32 lot = _create(LOT_URI);
        uint64 expectedIndex;
        for (uint256 c; c < calls; ++c) {
            bytes[] memory payloads = new bytes[](count);
            for (uint256 i; i < count; ++i) {
                uint256 length = bound(uint256(keccak256(abi.encode(lengthSeed, c, i))), 1, 700);
                payloads[i] = _payload(length, c * 1000 + i);
                vm.expectEmit(address(ledger));
                emit IProvenanceLedger.EventRecorded(
                    lot, keccak256(payloads[i]), operator, expectedIndex++, OTHER, uint32(i)
                );
            }
            vm.prank(operator);
            ledger.recordEvents(lot, new IProvenanceLedger.EventKind[](count), payloads);
        }
        assertEq(ledger.batch(lot).eventCount, count * calls, "eventCount = events recorded");
    }

    function testFuzz_RecordEvents_HeldBatchAcceptsOnlyInspectionAndDestruction(bool recalled, uint256 kindSeed)
        public
    {
        IProvenanceLedger.BatchStatus held = recalled ? RECALLED : QUARANTINED;
        bytes32 lot = _batchIn(held);
        IProvenanceLedger.EventKind kind = IProvenanceLedger.EventKind(bound(kindSeed, 0, 2));
        if (kind == OTHER) {
            vm.expectRevert(
                abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchQuarantined.selector, lot, held, kind)
            );
        }
        vm.prank(operator);
        ledger.recordEvents(lot, _kinds(kind), _payloads("e"));
        if (kind == OTHER) return;
        assertEq(ledger.batch(lot).eventCount, 1, "accepted");
        assertEq(uint8(ledger.batch(lot).status), uint8(kind == DESTRUCTION ? DESTROYED : held), "status after event");
    }

    /// @dev Every (status, action) pair against the transition table written out independently here.
    function testFuzz_StatusMachine_FollowsTheTable(uint256 fromSeed, uint256 actionSeed) public {
        IProvenanceLedger.BatchStatus from = IProvenanceLedger.BatchStatus(bound(fromSeed, 1, 5));
        uint256 action = bound(actionSeed, 0, 2);
        bytes32 lot = _batchIn(from);

        IProvenanceLedger.BatchStatus to = [QUARANTINED, RELEASED, RECALLED][action];
        // allowed[to] lists, as a bitmask over BatchStatus, the statuses it may be entered from.
        uint256[3] memory allowedFrom = [
            (1 << uint8(ACTIVE)) | (1 << uint8(RELEASED)),
            (1 << uint8(QUARANTINED)) | (1 << uint8(RECALLED)),
            (1 << uint8(ACTIVE)) | (1 << uint8(RELEASED)) | (1 << uint8(QUARANTINED))
        ];
        bool allowed = allowedFrom[action] & (1 << uint8(from)) != 0;
        if (!allowed) vm.expectRevert(_invalidTransition(lot, from, to));

        if (action == 0) {
            vm.prank(compliance);
            ledger.quarantine(lot, "fuzz");
        } else if (action == 1) {
            vm.prank(quality);
            ledger.release(lot, "fuzz");
        } else {
            vm.prank(quality);
            ledger.recall(lot, "fuzz");
        }
        assertEq(uint8(ledger.batch(lot).status), uint8(allowed ? to : from), "status after transition");
    }

    function testFuzz_Writers_RevertForCallersWithoutRoles(address caller) public {
        if (caller == operator || caller == quality || caller == compliance) caller = outsider;
        bytes32 lot = _batchIn(QUARANTINED);
        vm.startPrank(caller);
        vm.expectRevert(_unauthorized(caller, Roles.OPERATOR));
        ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), ITEM_URI);
        vm.expectRevert(_unauthorized(caller, Roles.OPERATOR));
        ledger.recordEvents(lot, _kinds(INSPECTION), _payloads("x"));
        vm.expectRevert(_unauthorized(caller, Roles.QUARANTINE));
        ledger.quarantine(lot, "");
        vm.expectRevert(_unauthorized(caller, Roles.QUALITY));
        ledger.release(lot, "");
        vm.expectRevert(_unauthorized(caller, Roles.QUALITY));
        ledger.recall(lot, "");
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- ownership and custody

    function test_CreateBatch_CallerOwnsAndHoldsTheBatch() public {
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.CustodyTransferred(keccak256(bytes(LOT_URI)), address(0), operator);
        bytes32 lot = _create(LOT_URI);
        (address owner, address custodian) = ledger.custody(lot);
        assertEq(owner, operator, "owner is the creator");
        assertEq(custodian, operator, "custodian is the creator");
        assertTrue(ledger.isWriter(lot, operator), "the owner writes");
        assertFalse(ledger.isWriter(lot, _rival()), "another operator does not");
    }

    /// @dev Found 1 of issue 13: an unrelated operator destroyed another organization's
    /// quarantined lot, for good.
    function test_RecordEvents_RevertsForAnOperatorThatIsNoWriterOfTheBatch() public {
        bytes32 lot = _batchIn(QUARANTINED);
        address rival = _rival();
        bytes memory refusal =
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotBatchWriter.selector, rival, lot);
        vm.startPrank(rival);
        vm.expectRevert(refusal);
        ledger.recordEvents(lot, _kinds(DESTRUCTION), _payloads("destroyed"));
        vm.expectRevert(refusal);
        ledger.recordEvents(lot, _kinds(INSPECTION), _payloads("inspected"));
        vm.stopPrank();
        assertEq(uint8(ledger.batch(lot).status), uint8(QUARANTINED), "still quarantined");
        assertEq(ledger.batch(lot).eventCount, 0, "no event recorded");
    }

    function test_AuthorizedWriter_RecordsButNeverDestroys() public {
        bytes32 lot = _batchIn(QUARANTINED);
        address lab = _rival();
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.WriterAuthorized(lot, lab, operator);
        vm.prank(operator);
        ledger.authorizeWriter(lot, lab);
        vm.startPrank(lab);
        ledger.recordEvents(lot, _kinds(INSPECTION), _payloads("inspected"));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotBatchHolder.selector, lab, lot));
        ledger.recordEvents(lot, _kinds(DESTRUCTION), _payloads("destroyed"));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotBatchHolder.selector, lab, lot));
        ledger.authorizeWriter(lot, outsider);
        vm.stopPrank();
        assertEq(ledger.batch(lot).eventCount, 1, "only the inspection");

        vm.prank(operator);
        ledger.revokeWriter(lot, lab);
        assertFalse(ledger.isWriter(lot, lab), "revoked");
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotBatchWriter.selector, lab, lot));
        vm.prank(lab);
        ledger.recordEvents(lot, _kinds(INSPECTION), _payloads("again"));
    }

    function test_AuthorizeWriter_RevertsForOthersAndUnknownBatches() public {
        bytes32 lot = _create(LOT_URI);
        address rival = _rival();
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotBatchHolder.selector, rival, lot));
        vm.prank(rival);
        ledger.authorizeWriter(lot, rival);
        bytes32 unknown = keccak256("unknown");
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnknownBatch.selector, unknown));
        vm.prank(operator);
        ledger.authorizeWriter(unknown, rival);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerZeroAddress.selector, lot));
        vm.prank(operator);
        ledger.authorizeWriter(lot, address(0));
        vm.expectRevert(_unauthorized(outsider, Roles.OPERATOR));
        vm.prank(outsider);
        ledger.authorizeWriter(lot, outsider);
    }

    function test_Custody_MovesOnlyWhenTheReceiverAccepts() public {
        bytes32 lot = _create(LOT_URI);
        address carrier = _rival();
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNoCustodyOffer.selector, carrier, lot));
        vm.prank(carrier);
        ledger.acceptCustody(lot);

        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.CustodyOffered(lot, operator, carrier);
        vm.prank(operator);
        ledger.offerCustody(lot, carrier);
        (, address custodian) = ledger.custody(lot);
        assertEq(custodian, operator, "an offer alone moves nothing");
        assertEq(ledger.custodyOffer(lot), carrier, "offer stands");

        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.CustodyTransferred(lot, operator, carrier);
        vm.prank(carrier);
        ledger.acceptCustody(lot);
        (address owner, address newCustodian) = ledger.custody(lot);
        assertEq(owner, operator, "ownership stays");
        assertEq(newCustodian, carrier, "the carrier holds it");
        assertEq(ledger.custodyOffer(lot), address(0), "offer used up");

        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotCustodian.selector, operator, lot));
        vm.prank(operator);
        ledger.offerCustody(lot, operator);
        vm.prank(carrier);
        ledger.recordEvents(lot, _kinds(OTHER), _payloads("shipping"));
        _record(lot, OTHER); // the owner still writes
        assertEq(ledger.batch(lot).eventCount, 2, "custodian and owner both recorded");
    }

    function test_Custody_AGrantLapsesWhenItsGranterLetsCustodyGo() public {
        bytes32 lot = _create(LOT_URI);
        address carrier = _rival();
        address lab = makeAddr("lab");
        _enrol(lab, Roles.OPERATOR, "did:pkh:eip155:31337:lab", "Lab");
        vm.prank(operator);
        ledger.offerCustody(lot, carrier);
        vm.startPrank(carrier);
        ledger.acceptCustody(lot);
        ledger.authorizeWriter(lot, lab);
        ledger.offerCustody(lot, operator);
        vm.stopPrank();
        assertTrue(ledger.isWriter(lot, lab), "granted by the custodian");
        vm.prank(operator);
        ledger.acceptCustody(lot);
        assertFalse(ledger.isWriter(lot, lab), "the carrier's grant ends with its custody");
    }

    function test_Custody_ADestroyedBatchNeverMoves() public {
        bytes32 lot = _batchIn(DESTROYED);
        address carrier = _rival();
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchDestroyed.selector, lot));
        vm.prank(operator);
        ledger.offerCustody(lot, carrier);
    }

    function test_Destruction_ByTheCustodianOrTheOwnerOnly() public {
        bytes32 lot = _create(LOT_URI);
        address carrier = _rival();
        vm.prank(operator);
        ledger.offerCustody(lot, carrier);
        vm.prank(carrier);
        ledger.acceptCustody(lot);
        vm.prank(carrier);
        ledger.recordEvents(lot, _kinds(DESTRUCTION), _payloads("destroyed"));
        assertEq(uint8(ledger.batch(lot).status), uint8(DESTROYED), "the custodian destroyed it");
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchDestroyed.selector, lot));
        _record(lot, OTHER);
    }

    // ---------------------------------------------------------------- recordFiledEvents

    function test_RecordFiledEvents_FilesEachEventUnderEveryBatchItNames() public {
        (bytes32 low, bytes32 high) = _twoLots();
        bytes[] memory payloads = new bytes[](3);
        payloads[0] = bytes('{"type":"AggregationEvent"}');
        payloads[1] = bytes('{"type":"ObjectEvent","bizStep":"inspecting"}');
        payloads[2] = bytes('{"type":"ObjectEvent","readPoint":"urn:epc:id:sgln:0614141.00777.0"}');
        IProvenanceLedger.EventKind[] memory kinds = new IProvenanceLedger.EventKind[](3);
        kinds[1] = INSPECTION;
        bytes32[][] memory filings = new bytes32[][](3);
        filings[0] = _filing(low, high);
        filings[1] = _filing(high);

        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.EventRecorded(low, keccak256(payloads[0]), operator, 0, OTHER, 0);
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.EventRecorded(high, keccak256(payloads[0]), operator, 0, OTHER, 0);
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.EventRecorded(high, keccak256(payloads[1]), operator, 1, INSPECTION, 1);
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.OrganizationEventRecorded(operator, keccak256(payloads[2]), 0, OTHER, 2);
        vm.prank(operator);
        ledger.recordFiledEvents(kinds, payloads, filings);

        assertEq(ledger.batch(low).eventCount, 1, "low lot: the aggregation");
        assertEq(ledger.batch(high).eventCount, 2, "high lot: the aggregation and the inspection");
        assertEq(ledger.organizationEventCount(operator), 1, "one event under the organization");

        // A later call continues each history, the organization's too.
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.EventRecorded(low, keccak256("next"), operator, 1, OTHER, 0);
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.OrganizationEventRecorded(operator, keccak256("org"), 1, INSPECTION, 1);
        kinds = new IProvenanceLedger.EventKind[](2);
        kinds[1] = INSPECTION;
        payloads = new bytes[](2);
        payloads[0] = "next";
        payloads[1] = "org";
        filings = new bytes32[][](2);
        filings[0] = _filing(low);
        vm.prank(operator);
        ledger.recordFiledEvents(kinds, payloads, filings);
        assertEq(ledger.batch(low).eventCount, 2, "low lot continued");
        assertEq(ledger.organizationEventCount(operator), 2, "organization continued");
        assertEq(ledger.organizationEventCount(outsider), 0, "others have none");
    }

    /// @dev The issue's rule: a quarantined lot among others is refused exactly as alone.
    function test_RecordFiledEvents_QuarantinedLotAmongOthersRevertsNamingIt() public {
        bytes32 active = _create(LOT_URI);
        bytes32 held = _batchIn(QUARANTINED);
        bytes memory refusal = abi.encodeWithSelector(
            IProvenanceLedger.ProvenanceLedgerBatchQuarantined.selector, held, QUARANTINED, OTHER
        );

        vm.expectRevert(refusal);
        vm.prank(operator);
        ledger.recordEvents(held, _kinds(OTHER), _payloads("ship"));
        vm.expectRevert(refusal);
        vm.prank(operator);
        ledger.recordFiledEvents(_kinds(OTHER), _payloads("ship"), _filings(_sorted(active, held)));
        assertEq(ledger.batch(active).eventCount, 0, "the active lot got nothing either");

        // An inspection of both is accepted, as it would be of each alone.
        vm.prank(operator);
        ledger.recordFiledEvents(_kinds(INSPECTION), _payloads("inspect"), _filings(_sorted(active, held)));
        assertEq(ledger.batch(active).eventCount, 1, "inspection of the active lot");
        assertEq(ledger.batch(held).eventCount, 1, "inspection of the quarantined lot");
    }

    function test_RecordFiledEvents_RefusesEveryBatchRecordEventsRefuses() public {
        bytes32 active = _create(LOT_URI);
        bytes32 unknown = keccak256("unknown");
        bytes32 destroyed = _batchIn(DESTROYED);
        bytes32 recalled = _batchIn(RECALLED);
        bytes32[4] memory refused = [unknown, destroyed, recalled, active];
        bytes[4] memory errors = [
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnknownBatch.selector, unknown),
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchDestroyed.selector, destroyed),
            abi.encodeWithSelector(
                IProvenanceLedger.ProvenanceLedgerBatchQuarantined.selector, recalled, RECALLED, OTHER
            ),
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotBatchWriter.selector, _rival(), active)
        ];
        bytes32 rivalLot = _rivalLot();
        for (uint256 i; i < refused.length; ++i) {
            address caller = i == 3 ? _rival() : operator;
            bytes32 other = i == 3 ? rivalLot : _batchIn(ACTIVE);
            bytes32[] memory filing = _sorted(refused[i], other);
            vm.expectRevert(errors[i]);
            vm.prank(caller);
            ledger.recordFiledEvents(_kinds(OTHER), _payloads("e"), _filings(filing));
            assertEq(ledger.batch(other).eventCount, 0, "nothing filed under the other batch");
        }
    }

    function test_RecordFiledEvents_RevertsOnMalformedCalls() public {
        bytes32 lot = _create(LOT_URI);
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNoEvents.selector, bytes32(0)));
        ledger.recordFiledEvents(new IProvenanceLedger.EventKind[](0), new bytes[](0), new bytes32[][](0));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerLengthMismatch.selector, 2, 1));
        ledger.recordFiledEvents(new IProvenanceLedger.EventKind[](2), _payloads("x"), new bytes32[][](2));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerFilingLengthMismatch.selector, 1, 2));
        ledger.recordFiledEvents(_kinds(OTHER), _payloads("x"), new bytes32[][](2));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerEmptyPayload.selector, lot, 0));
        ledger.recordFiledEvents(_kinds(OTHER), _payloads(""), _filings(_filing(lot)));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerEmptyPayload.selector, bytes32(0), 0));
        ledger.recordFiledEvents(_kinds(OTHER), _payloads(""), new bytes32[][](1));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnfiledDestruction.selector, 0));
        ledger.recordFiledEvents(_kinds(DESTRUCTION), _payloads("x"), new bytes32[][](1));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnsortedFiling.selector, 0, lot));
        ledger.recordFiledEvents(_kinds(OTHER), _payloads("x"), _filings(_filing(lot, lot)));
        vm.stopPrank();
        (bytes32 low, bytes32 high) = _twoLots();
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnsortedFiling.selector, 0, low));
        vm.prank(operator);
        ledger.recordFiledEvents(_kinds(OTHER), _payloads("x"), _filings(_filing(high, low)));
        assertEq(ledger.batch(lot).eventCount, 0, "nothing recorded");
        assertEq(ledger.batch(high).eventCount, 0, "nothing recorded under the first batch either");
        assertEq(ledger.organizationEventCount(operator), 0, "nothing under the organization");
    }

    function test_RecordFiledEvents_RevertsForUnauthorizedCallersAndWhenPaused() public {
        bytes32 lot = _create(LOT_URI);
        address[3] memory callers = [outsider, quality, compliance];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.OPERATOR));
            vm.prank(callers[i]);
            ledger.recordFiledEvents(_kinds(OTHER), _payloads("x"), new bytes32[][](1));
        }
        _pause();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipPaused.selector));
        vm.prank(operator);
        ledger.recordFiledEvents(_kinds(OTHER), _payloads("x"), _filings(_filing(lot)));
    }

    function test_RecordFiledEvents_DestructionByHolderOnlyAndLastForItsBatch() public {
        (bytes32 low, bytes32 high) = _twoLots();
        address lab = _rival();
        vm.startPrank(operator);
        ledger.authorizeWriter(low, lab);
        ledger.authorizeWriter(high, lab);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotBatchHolder.selector, lab, low));
        vm.prank(lab);
        ledger.recordFiledEvents(_kinds(DESTRUCTION), _payloads("x"), _filings(_filing(low, high)));

        // Destroying the low lot, then an event naming it again in the same call: refused.
        IProvenanceLedger.EventKind[] memory kinds = new IProvenanceLedger.EventKind[](2);
        kinds[0] = DESTRUCTION;
        bytes[] memory payloads = new bytes[](2);
        payloads[0] = "destroy";
        payloads[1] = "ship";
        bytes32[][] memory filings = new bytes32[][](2);
        filings[0] = _filing(low);
        filings[1] = _filing(low, high);
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchDestroyed.selector, low));
        vm.prank(operator);
        ledger.recordFiledEvents(kinds, payloads, filings);
        assertEq(uint8(ledger.batch(low).status), uint8(ACTIVE), "whole call reverted");

        // The other lot goes on after the first is destroyed.
        filings[1] = _filing(high);
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.BatchStatusChanged(low, ACTIVE, DESTROYED, operator, "destroyed");
        vm.prank(operator);
        ledger.recordFiledEvents(kinds, payloads, filings);
        assertEq(uint8(ledger.batch(low).status), uint8(DESTROYED), "low lot destroyed");
        assertEq(ledger.batch(low).eventCount, 1, "destruction counted");
        assertEq(ledger.batch(high).eventCount, 1, "high lot took the later event");
    }

    /// @dev Single-batch filings behave exactly as {recordEvents}: same logs, same revert data,
    /// same stored batch, from every status and for the owner, a granted writer and a stranger.
    function testFuzz_RecordFiledEvents_SingleBatchFilingsMatchRecordEvents(
        uint256 statusSeed,
        uint256 callerSeed,
        uint256 count,
        uint256 seed
    ) public {
        bytes32 lot = _batchIn(IProvenanceLedger.BatchStatus(bound(statusSeed, 1, 5)));
        address lab = makeAddr("lab");
        _enrol(lab, Roles.OPERATOR, "did:pkh:eip155:31337:lab", "Lab");
        if (ledger.batch(lot).status != DESTROYED) {
            vm.prank(operator);
            ledger.authorizeWriter(lot, lab);
        }
        address caller = [operator, lab, _rival()][bound(callerSeed, 0, 2)];
        count = bound(count, 1, 6);
        IProvenanceLedger.EventKind[] memory kinds = new IProvenanceLedger.EventKind[](count);
        bytes[] memory payloads = new bytes[](count);
        bytes32[][] memory filings = new bytes32[][](count);
        for (uint256 i; i < count; ++i) {
            uint256 noise = uint256(keccak256(abi.encode(seed, i)));
            kinds[i] = IProvenanceLedger.EventKind(noise % 3);
            // One payload in sixteen is empty.
            payloads[i] = _payload((noise >> 8) % 16 == 0 ? 0 : bound(noise >> 16, 1, 300), noise);
            filings[i] = _filing(lot);
        }

        uint256 snapshot = vm.snapshotState();
        bytes memory viaEvents = _outcome(caller, lot, abi.encodeCall(ledger.recordEvents, (lot, kinds, payloads)));
        vm.revertToState(snapshot);
        bytes memory viaFiled =
            _outcome(caller, lot, abi.encodeCall(ledger.recordFiledEvents, (kinds, payloads, filings)));
        assertEq(viaFiled, viaEvents, "outcome, revert data, logs and stored batch");
    }

    /// @dev What filing one event under several lots costs on top of {recordEvents}.
    function test_Gas_RecordFiledEventsPerExtraBatch() public {
        (bytes32 low, bytes32 high) = _twoLots();
        _record(low, OTHER);
        _record(high, OTHER);
        bytes memory payload = _payload(GAS_PAYLOAD_BYTES, 1);
        vm.prank(operator);
        (bool ok, uint256 one) = _measuredCall(
            address(ledger),
            abi.encodeCall(ledger.recordFiledEvents, (_kinds(OTHER), _payloads(payload), _filings(_filing(low))))
        );
        assertTrue(ok, "one batch");
        vm.prank(operator);
        (bool ok2, uint256 two) = _measuredCall(
            address(ledger),
            abi.encodeCall(ledger.recordFiledEvents, (_kinds(OTHER), _payloads(payload), _filings(_filing(low, high))))
        );
        assertTrue(ok2, "two batches");
        emit log_named_uint("execution gas per extra batch", two - one);
        assertLt(two - one, 12_000, "an extra batch costs its checks, its log and one count write");
    }

    // ---------------------------------------------------------------- gas

    /// @dev 200 events of 500 non-zero bytes in one call. Under Prague a transaction pays
    /// max(21000 + standard calldata + execution, 21000 + 10 gas per calldata token); the
    /// ledger is cheap enough when execution per event stays far below the payload's floor.
    function test_Gas_RecordEvents200x500Bytes() public {
        bytes32 lot = _create(LOT_URI);
        _record(lot, OTHER); // the first event pays the zero-to-non-zero count write; measure steady state

        bytes[] memory payloads = new bytes[](GAS_EVENTS);
        for (uint256 i; i < GAS_EVENTS; ++i) {
            payloads[i] = _payload(GAS_PAYLOAD_BYTES, i);
        }
        bytes memory data =
            abi.encodeCall(ledger.recordEvents, (lot, new IProvenanceLedger.EventKind[](GAS_EVENTS), payloads));

        vm.prank(operator);
        (bool ok, uint256 execution) = _measuredCall(address(ledger), data);
        assertTrue(ok, "recordEvents succeeded");
        assertEq(ledger.batch(lot).eventCount, GAS_EVENTS + 1, "all events counted");

        uint256 txGas = _txGas(data, execution);
        uint256 payloadFloor = GAS_EVENTS * 10 * 4 * GAS_PAYLOAD_BYTES; // the payloads' own floor price
        emit log_named_uint("execution gas per event", execution / GAS_EVENTS);
        emit log_named_uint("tx gas per event", txGas / GAS_EVENTS);
        emit log_named_uint("tx gas / payload calldata floor (x1000)", txGas * 1000 / payloadFloor);

        assertLt(execution / GAS_EVENTS, 4_000, "execution gas per 500-byte event");
        assertLe(txGas * 100, payloadFloor * 125, "tx gas within 1.25x of the payloads' calldata floor");
    }

    // ---------------------------------------------------------------- helpers

    /// @dev Two fresh lots, the lower id first.
    function _twoLots() internal returns (bytes32 low, bytes32 high) {
        low = _create(string.concat(LOT_URI, "-A", vm.toString(_nonce++)));
        high = _create(string.concat(LOT_URI, "-B", vm.toString(_nonce++)));
        if (low > high) (low, high) = (high, low);
    }

    /// @dev A lot the rival created (under a GTIN whose prefix it is given).
    function _rivalLot() internal returns (bytes32) {
        address rival = _rival();
        _assignPrefix("0614141", rival);
        vm.prank(rival);
        return ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), OTHER_LOT_URI);
    }

    function _filing(bytes32 a) internal pure returns (bytes32[] memory f) {
        f = new bytes32[](1);
        f[0] = a;
    }

    function _filing(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory f) {
        f = new bytes32[](2);
        f[0] = a;
        f[1] = b;
    }

    function _sorted(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory) {
        return a < b ? _filing(a, b) : _filing(b, a);
    }

    function _filings(bytes32[] memory filing) internal pure returns (bytes32[][] memory f) {
        f = new bytes32[][](1);
        f[0] = filing;
    }

    /// @dev Everything a call to the ledger did: success, return data, each log, the batch after.
    function _outcome(address caller, bytes32 lot, bytes memory data) internal returns (bytes memory) {
        vm.recordLogs();
        vm.prank(caller);
        (bool ok, bytes memory returned) = address(ledger).call(data);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bytes memory outcome = abi.encode(ok, returned, ledger.batch(lot));
        // The recorder also keeps the logs of a call that reverted, which nobody sees on chain.
        for (uint256 i; ok && i < logs.length; ++i) {
            outcome = bytes.concat(outcome, abi.encode(logs[i].emitter, logs[i].topics, logs[i].data));
        }
        return outcome;
    }

    /// @dev A second organization holding OPERATOR_ROLE.
    function _rival() internal returns (address rival) {
        rival = makeAddr("rival");
        if (!membership.hasRole(Roles.OPERATOR, rival)) {
            _enrol(rival, Roles.OPERATOR, "did:pkh:eip155:31337:rival", "Rival");
        }
    }

    // ---------------------------------------------------------------- GS1 company prefixes

    function test_AssignPrefix_GovernorAssignsAndEmits() public {
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.PrefixAssigned("0614141", outsider, governor);
        _assignPrefix("0614141", outsider);
        assertEq(ledger.prefixOwner("0614141"), outsider, "prefixOwner");
        assertEq(ledger.prefixOwner("614141"), address(0), "leading zeros are significant");
        assertTrue(ledger.isPrefixHolder(OTHER_GTIN, outsider), "the owner holds its GTINs");
        assertFalse(ledger.isPrefixHolder(OTHER_GTIN, operator), "nobody else does");
        assertFalse(ledger.isPrefixHolder(GTIN, outsider), "nor another prefix's GTINs");
    }

    function test_AssignPrefix_RevertsForNonGovernors() public {
        address[3] memory callers = [operator, quality, outsider];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.GOVERNOR));
            vm.prank(callers[i]);
            ledger.assignPrefix("0614141", callers[i]);
        }
        assertEq(ledger.prefixOwner("0614141"), address(0), "unassigned");
    }

    function test_AssignPrefix_RevertsOnAPrefixThatIsNotSixToTwelveDigits() public {
        string[4] memory bad = ["95060", "9506000123456", "95060a0", ""];
        for (uint256 i; i < bad.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerInvalidPrefix.selector, bad[i]));
            vm.prank(governor);
            ledger.assignPrefix(bad[i], operator);
        }
    }

    /// @dev Found 2, "first come, first owns": a rival operator can no longer create another
    /// company's lot first.
    function test_CreateBatch_RevertsForARivalOperatorOfAnotherCompanysGtin() public {
        address rival = _rival();
        bytes32 id = keccak256(bytes(LOT_URI));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotPrefixHolder.selector, rival, GTIN));
        vm.prank(rival);
        ledger.createBatch(IProvenanceLedger.BatchKind.LOT, keccak256("rival's rule"), new bytes32[](0), LOT_URI);
        assertEq(uint8(ledger.batch(id).status), uint8(NONE), "nothing created");

        bytes32 lot = _create(LOT_URI);
        assertEq(lot, id, "the prefix owner creates its own lot");
        assertEq(ledger.batch(lot).productClass, PRODUCT, "with its own product class");
    }

    function test_CreateBatch_RevertsWhenNoPrefixOfTheGtinIsAssigned() public {
        vm.expectRevert(
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotPrefixHolder.selector, operator, OTHER_GTIN)
        );
        _create(OTHER_LOT_URI);
    }

    function test_DelegatePrefix_LetsTheDelegateCreateUntilRevoked() public {
        address manufacturer = _rival();
        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.PrefixDelegated(BRAND_PREFIX, manufacturer, operator);
        vm.prank(operator);
        ledger.delegatePrefix(BRAND_PREFIX, manufacturer);
        assertTrue(ledger.isPrefixHolder(GTIN, manufacturer), "delegate holds the prefix");

        vm.prank(manufacturer);
        bytes32 lot = ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), LOT_URI);
        (address owner,) = ledger.custody(lot);
        assertEq(owner, manufacturer, "the delegate owns the lots it makes");

        vm.expectEmit(address(ledger));
        emit IProvenanceLedger.PrefixDelegationRevoked(BRAND_PREFIX, manufacturer, operator);
        vm.prank(operator);
        ledger.revokePrefixDelegation(BRAND_PREFIX, manufacturer);
        vm.expectRevert(
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotPrefixHolder.selector, manufacturer, GTIN)
        );
        vm.prank(manufacturer);
        ledger.createBatch(IProvenanceLedger.BatchKind.ITEM, PRODUCT, new bytes32[](0), ITEM_URI);
    }

    function test_DelegatePrefix_RevertsForAnyoneButTheOwner() public {
        address rival = _rival();
        vm.expectRevert(
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotPrefixOwner.selector, rival, BRAND_PREFIX)
        );
        vm.prank(rival);
        ledger.delegatePrefix(BRAND_PREFIX, rival);
        vm.expectRevert(
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotPrefixOwner.selector, rival, BRAND_PREFIX)
        );
        vm.prank(rival);
        ledger.revokePrefixDelegation(BRAND_PREFIX, operator);
        vm.expectRevert(_unauthorized(outsider, Roles.OPERATOR));
        vm.prank(outsider);
        ledger.delegatePrefix(BRAND_PREFIX, outsider);
        assertFalse(ledger.isPrefixHolder(GTIN, rival), "no delegation");
    }

    function test_AssignPrefix_ReassignmentEndsThePreviousOwnersDelegations() public {
        address manufacturer = _rival();
        vm.prank(operator);
        ledger.delegatePrefix(BRAND_PREFIX, manufacturer);
        _assignPrefix(BRAND_PREFIX, outsider);
        assertFalse(ledger.isPrefixHolder(GTIN, operator), "the former owner lost it");
        assertFalse(ledger.isPrefixHolder(GTIN, manufacturer), "and so did its delegate");
        _assignPrefix(BRAND_PREFIX, address(0));
        assertFalse(ledger.isPrefixHolder(GTIN, outsider), "a withdrawn prefix has no holder");
    }

    function test_CreateBatch_TheLongestAssignedPrefixDecides() public {
        address rival = _rival();
        _assignPrefix("95060001", rival); // nests in 9506000 and covers GTIN 09506000134352
        vm.expectRevert(
            abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotPrefixHolder.selector, operator, GTIN)
        );
        _create(LOT_URI);
        vm.prank(rival);
        ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), LOT_URI);
        _create("https://id.gs1.org/01/09506000234359/10/LOT001"); // outside 95060001
    }

    function testFuzz_CreateBatch_OnlyPrefixHoldersCreate(uint64 gtinSeed, uint256 callerSeed) public {
        uint64 gtin = _gtin(bound(gtinSeed, 0, 1e13 - 1));
        address caller = [operator, _rival()][callerSeed % 2];
        string memory uri = string.concat("https://id.gs1.org/01/", _digits14(gtin), "/10/F");
        bool holder = (gtin / 10) % 1e12 / 1e5 == 9506000; // the seven digits after the indicator
        if (!holder || caller != operator) {
            vm.expectRevert(
                abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotPrefixHolder.selector, caller, gtin)
            );
        }
        vm.prank(caller);
        ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), uri);
    }

    function _assignPrefix(string memory prefix, address owner) internal {
        vm.prank(governor);
        ledger.assignPrefix(prefix, owner);
    }

    /// @dev The GTIN-14 whose first 13 digits are `body`, with its check digit.
    function _gtin(uint256 body) internal pure returns (uint64) {
        uint256 weighted;
        uint256 rest = body;
        for (uint256 i; i < 13; ++i) {
            weighted += (i % 2 == 0 ? 3 : 1) * (rest % 10);
            rest /= 10;
        }
        return uint64(body * 10 + (10 - weighted % 10) % 10);
    }

    function _digits14(uint64 gtin) internal pure returns (string memory digits) {
        bytes memory text = new bytes(14);
        for (uint256 i = 14; i > 0; --i) {
            text[i - 1] = bytes1(uint8(0x30 + gtin % 10));
            gtin /= 10;
        }
        return string(text);
    }

    function _create(string memory uri) internal returns (bytes32) {
        vm.prank(operator);
        return ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), uri);
    }

    function _record(bytes32 id, IProvenanceLedger.EventKind kind) internal {
        _record(id, kind, "event");
    }

    function _record(bytes32 id, IProvenanceLedger.EventKind kind, bytes memory payload) internal {
        vm.prank(operator);
        ledger.recordEvents(id, _kinds(kind), _payloads(payload));
    }

    /// @dev A fresh batch brought to `status` through the public functions.
    function _batchIn(IProvenanceLedger.BatchStatus status) internal returns (bytes32 id) {
        id = _create(string.concat(LOT_URI, "-", vm.toString(uint256(status)), "-", vm.toString(_nonce++)));
        if (status == QUARANTINED || status == RELEASED) {
            vm.prank(compliance);
            ledger.quarantine(id, "setup");
        }
        if (status == RELEASED) {
            vm.prank(quality);
            ledger.release(id, "setup");
        }
        if (status == RECALLED) {
            vm.prank(quality);
            ledger.recall(id, "setup");
        }
        if (status == DESTROYED) _record(id, DESTRUCTION);
        assertEq(uint8(ledger.batch(id).status), uint8(status), "_batchIn reached the status");
    }

    function _kinds(IProvenanceLedger.EventKind kind) internal pure returns (IProvenanceLedger.EventKind[] memory k) {
        k = new IProvenanceLedger.EventKind[](1);
        k[0] = kind;
    }

    function _payloads(bytes memory payload) internal pure returns (bytes[] memory p) {
        p = new bytes[](1);
        p[0] = payload;
    }

    /// @dev `length` printable ASCII bytes (like canonical JSON: no zero bytes), distinct per `seed`.
    function _payload(uint256 length, uint256 seed) internal pure returns (bytes memory p) {
        p = new bytes(length);
        bytes32 noise = keccak256(abi.encode(seed));
        for (uint256 i; i < length; ++i) {
            p[i] = bytes1(uint8(0x20 + (uint8(noise[i % 32]) + i) % 95));
        }
    }

    /// @dev What a transaction carrying `data` pays after Prague (EIP-7623): the larger of
    /// standard pricing (4 / 16 gas per zero / non-zero byte, plus execution) and the floor
    /// (10 gas per token, a non-zero byte counting 4 tokens).
    function _txGas(bytes memory data, uint256 execution) internal pure returns (uint256) {
        uint256 zeros;
        for (uint256 i; i < data.length; ++i) {
            if (data[i] == 0) ++zeros;
        }
        uint256 nonZeros = data.length - zeros;
        uint256 standard = 21_000 + 4 * zeros + 16 * nonZeros + execution;
        uint256 floor = 21_000 + 10 * (zeros + 4 * nonZeros);
        return standard > floor ? standard : floor;
    }

    /// @dev Calls without copying `data` again (a high-level `.call` would copy it and pay
    /// quadratic memory growth in this test contract, not in the ledger).
    function _measuredCall(address target, bytes memory data) internal returns (bool ok, uint256 gasUsed) {
        assembly ("memory-safe") {
            let before := gas()
            ok := call(gas(), target, 0, add(data, 0x20), mload(data), 0, 0)
            gasUsed := sub(before, gas())
        }
    }

    function _invalidTransition(bytes32 id, IProvenanceLedger.BatchStatus from, IProvenanceLedger.BatchStatus to)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerInvalidTransition.selector, id, from, to);
    }
}
