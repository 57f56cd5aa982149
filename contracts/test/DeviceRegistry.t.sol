// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {DeviceRegistry} from "../src/DeviceRegistry.sol";
import {IDeviceRegistry} from "../src/interfaces/IDeviceRegistry.sol";
import {IMembership} from "../src/interfaces/IMembership.sol";
import {IProvenanceLedger} from "../src/interfaces/IProvenanceLedger.sol";
import {Roles} from "../src/libraries/Roles.sol";
import {ConsortiumBase} from "./utils/ConsortiumBase.sol";

contract DeviceRegistryTest is ConsortiumBase {
    DeviceRegistry internal registry;

    address internal otherOperator;
    address internal compliance;
    address internal device;

    bytes32 internal lot;
    bytes32 internal otherLot;

    bytes32 internal constant PRODUCT = keccak256("vaccine-2-8C");
    string internal constant DID = "did:pkh:eip155:31337:0xdevice";

    function setUp() public {
        _deployConsortium();
        otherOperator = makeAddr("other-operator");
        compliance = makeAddr("compliance");
        device = makeAddr("device");
        registry = new DeviceRegistry(membership, ledger);

        _enrol(otherOperator, Roles.OPERATOR, "did:pkh:eip155:31337:other", "Other Operator");
        vm.prank(governor);
        registry.setCompliance(compliance);

        vm.startPrank(operator);
        lot = ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), "https://id.gs1.org/01/09506000134352/10/1");
        otherLot = ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), "https://id.gs1.org/01/09506000134352/10/2");
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- registerDevice

    function test_RegisterDevice_StoresDeviceOwnedByCallerAndEmits() public {
        vm.warp(1_800_000_000);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceRegistered(device, operator, DID);
        vm.prank(operator);
        registry.registerDevice(device, DID);

        IDeviceRegistry.Device memory d = registry.device(device);
        assertEq(d.did, DID, "did");
        assertEq(d.owner, operator, "owner is the caller");
        assertEq(d.assignedBatch, bytes32(0), "unassigned");
        assertTrue(d.active, "starts active");
        assertEq(d.lastSeq, 0, "no reading yet");
        assertEq(d.registeredAt, 1_800_000_000, "registeredAt");
    }

    function test_Device_UnknownIsEmpty() public view {
        IDeviceRegistry.Device memory d = registry.device(device);
        assertEq(d.registeredAt, 0, "not registered");
        assertEq(d.owner, address(0), "no owner");
    }

    function test_RegisterDevice_RevertsForUnauthorizedCallers() public {
        address[3] memory callers = [outsider, governor, compliance];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.OPERATOR));
            vm.prank(callers[i]);
            registry.registerDevice(device, DID);
        }
    }

    function test_RegisterDevice_RevertsWhenPausedOrDeactivated() public {
        _pause();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipPaused.selector));
        vm.prank(operator);
        registry.registerDevice(device, DID);

        vm.startPrank(governor);
        membership.unpause();
        membership.setOrganizationActive(operator, false);
        vm.stopPrank();
        vm.expectRevert(_unauthorized(operator, Roles.OPERATOR));
        vm.prank(operator);
        registry.registerDevice(device, DID);
    }

    function test_RegisterDevice_RevertsOnZeroAddressExistingDeviceAndEmptyDid() public {
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryZeroAddress.selector));
        registry.registerDevice(address(0), DID);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidDid.selector, device));
        registry.registerDevice(device, "");
        registry.registerDevice(device, DID);
        vm.stopPrank();

        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryDeviceExists.selector, device));
        vm.prank(otherOperator);
        registry.registerDevice(device, "did:pkh:eip155:31337:takeover");
        assertEq(registry.device(device).owner, operator, "the first owner keeps the device");
    }

    // ---------------------------------------------------------------- setDeviceActive

    function test_SetDeviceActive_ByOwnerAndByGovernor() public {
        _register();
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceActiveChanged(device, false, operator);
        vm.prank(operator);
        registry.setDeviceActive(device, false);
        assertFalse(registry.device(device).active, "owner deactivated");

        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceActiveChanged(device, true, governor);
        vm.prank(governor);
        registry.setDeviceActive(device, true);
        assertTrue(registry.device(device).active, "governor reactivated");
    }

    function test_SetDeviceActive_RevertsForOtherCallers() public {
        _register();
        address[3] memory callers = [otherOperator, outsider, compliance];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.GOVERNOR));
            vm.prank(callers[i]);
            registry.setDeviceActive(device, false);
        }
        assertTrue(registry.device(device).active, "still active");
    }

    function test_SetDeviceActive_OwnerNeedsAUsableOperatorRole() public {
        _register();
        _deactivate(operator);
        vm.expectRevert(_unauthorized(operator, Roles.OPERATOR));
        vm.prank(operator);
        registry.setDeviceActive(device, false);
    }

    function test_SetDeviceActive_RevertsOnUnknownDevice() public {
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownDevice.selector, device));
        vm.prank(governor);
        registry.setDeviceActive(device, false);
    }

    // ---------------------------------------------------------------- assignDevice

    function test_AssignDevice_AssignsReassignsAndUnassigns() public {
        _register();
        vm.startPrank(operator);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceAssigned(device, lot, bytes32(0));
        registry.assignDevice(device, lot);
        assertEq(registry.device(device).assignedBatch, lot, "assigned");

        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceAssigned(device, otherLot, lot);
        registry.assignDevice(device, otherLot);
        assertEq(registry.device(device).assignedBatch, otherLot, "reassigned");

        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceAssigned(device, bytes32(0), otherLot);
        registry.assignDevice(device, bytes32(0));
        assertEq(registry.device(device).assignedBatch, bytes32(0), "unassigned");
        vm.stopPrank();
    }

    function test_AssignDevice_RevertsOnUnknownBatchOrDevice() public {
        _register();
        bytes32 missing = keccak256("missing");
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownBatch.selector, missing));
        registry.assignDevice(device, missing);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownDevice.selector, outsider));
        registry.assignDevice(outsider, lot);
        vm.stopPrank();
    }

    function test_AssignDevice_OnlyTheOwner() public {
        _register();
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotOwner.selector, device, otherOperator));
        vm.prank(otherOperator);
        registry.assignDevice(device, lot);

        address[3] memory callers = [governor, outsider, compliance];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.OPERATOR));
            vm.prank(callers[i]);
            registry.assignDevice(device, lot);
        }
        assertEq(registry.device(device).assignedBatch, bytes32(0), "still unassigned");
    }

    // ---------------------------------------------------------------- setCompliance

    function test_SetCompliance_GovernorMaySetItAgain() public {
        assertEq(registry.compliance(), compliance, "set in setUp");
        address next = makeAddr("next-compliance");
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.ComplianceSet(compliance, next);
        vm.prank(governor);
        registry.setCompliance(next);
        assertEq(registry.compliance(), next, "replaced");

        _registerAndAssign();
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotCompliance.selector, compliance));
        vm.prank(compliance);
        registry.acceptReading(device, lot, 1);
    }

    function test_SetCompliance_RevertsForOthersAndZeroAddress() public {
        address[3] memory callers = [operator, outsider, compliance];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.GOVERNOR));
            vm.prank(callers[i]);
            registry.setCompliance(outsider);
        }
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryZeroAddress.selector));
        vm.prank(governor);
        registry.setCompliance(address(0));
        assertEq(registry.compliance(), compliance, "unchanged");
    }

    // ---------------------------------------------------------------- acceptReading

    function test_AcceptReading_StoresLastSeqAndEmits() public {
        _registerAndAssign();
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.ReadingAccepted(device, lot, 7);
        vm.prank(compliance);
        registry.acceptReading(device, lot, 7);
        assertEq(registry.device(device).lastSeq, 7, "lastSeq stored");
    }

    function test_AcceptReading_OnlyTheComplianceContract() public {
        _registerAndAssign();
        address[4] memory callers = [governor, operator, outsider, device];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotCompliance.selector, callers[i]));
            vm.prank(callers[i]);
            registry.acceptReading(device, lot, 1);
        }
        assertEq(registry.device(device).lastSeq, 0, "nothing accepted");
    }

    function test_AcceptReading_RevertsOnUnknownInactiveAndUnassignedDevices() public {
        vm.startPrank(compliance);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownDevice.selector, device));
        registry.acceptReading(device, lot, 1);
        vm.stopPrank();

        _register();
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotAssigned.selector, device, lot, 0));
        vm.prank(compliance);
        registry.acceptReading(device, lot, 1);

        vm.prank(operator);
        registry.assignDevice(device, otherLot);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotAssigned.selector, device, lot, otherLot)
        );
        vm.prank(compliance);
        registry.acceptReading(device, lot, 1);

        vm.prank(operator);
        registry.setDeviceActive(device, false);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInactiveDevice.selector, device));
        vm.prank(compliance);
        registry.acceptReading(device, otherLot, 1);
        assertEq(registry.device(device).lastSeq, 0, "nothing accepted");
    }

    function test_AcceptReading_RevertsOnReplayedAndLowerSeq() public {
        _registerAndAssign();
        vm.startPrank(compliance);
        registry.acceptReading(device, lot, 5);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryStaleSequence.selector, device, 5, 5));
        registry.acceptReading(device, lot, 5);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryStaleSequence.selector, device, 4, 5));
        registry.acceptReading(device, lot, 4);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryStaleSequence.selector, device, 0, 5));
        registry.acceptReading(device, lot, 0);
        vm.stopPrank();
        assertEq(registry.device(device).lastSeq, 5, "lastSeq kept");
    }

    function test_AcceptReading_SeqCarriesOverReassignment() public {
        _registerAndAssign();
        vm.prank(compliance);
        registry.acceptReading(device, lot, 10);
        vm.prank(operator);
        registry.assignDevice(device, otherLot);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryStaleSequence.selector, device, 3, 10));
        vm.prank(compliance);
        registry.acceptReading(device, otherLot, 3);
        vm.prank(compliance);
        registry.acceptReading(device, otherLot, 11);
        assertEq(registry.device(device).lastSeq, 11, "one counter per device");
    }

    // ---------------------------------------------------------------- fuzz

    /// @dev Whatever sequence numbers are offered, lastSeq is their running maximum and only grows.
    function testFuzz_AcceptReading_LastSeqOnlyGrows(uint64[8] memory seqs) public {
        _registerAndAssign();
        uint64 expected;
        for (uint256 i; i < seqs.length; ++i) {
            uint64 seq = uint64(bound(seqs[i], 0, 20));
            if (seq <= expected) {
                vm.expectRevert(
                    abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryStaleSequence.selector, device, seq, expected)
                );
            }
            vm.prank(compliance);
            registry.acceptReading(device, lot, seq);
            if (seq > expected) expected = seq;
            assertEq(registry.device(device).lastSeq, expected, "lastSeq is the running maximum");
        }
    }

    function testFuzz_Writers_RevertForCallersWithoutRoles(address caller) public {
        if (caller == operator || caller == otherOperator || caller == governor || caller == compliance) {
            caller = outsider;
        }
        _registerAndAssign();
        vm.startPrank(caller);
        vm.expectRevert(_unauthorized(caller, Roles.OPERATOR));
        registry.registerDevice(makeAddr("another-device"), DID);
        vm.expectRevert(_unauthorized(caller, Roles.GOVERNOR));
        registry.setDeviceActive(device, false);
        vm.expectRevert(_unauthorized(caller, Roles.OPERATOR));
        registry.assignDevice(device, otherLot);
        vm.expectRevert(_unauthorized(caller, Roles.GOVERNOR));
        registry.setCompliance(caller);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotCompliance.selector, caller));
        registry.acceptReading(device, lot, 1);
        vm.stopPrank();

        IDeviceRegistry.Device memory d = registry.device(device);
        assertTrue(d.active && d.assignedBatch == lot && d.lastSeq == 0, "device unchanged");
        assertEq(registry.compliance(), compliance, "compliance unchanged");
    }

    // ---------------------------------------------------------------- helpers

    function _register() internal {
        vm.prank(operator);
        registry.registerDevice(device, DID);
    }

    function _registerAndAssign() internal {
        _register();
        vm.prank(operator);
        registry.assignDevice(device, lot);
    }
}
