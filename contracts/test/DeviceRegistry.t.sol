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

    uint256 internal constant DEVICE_KEY = 0xD1CE;
    uint256 internal constant RIVAL_DEVICE_KEY = 0xD2CE;
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    bytes32 internal constant PRODUCT = keccak256("vaccine-2-8C");
    string internal constant DID = "did:pkh:eip155:31337:0xdevice";
    string internal constant RIVAL_DID = "did:pkh:eip155:31337:0xrival-device";

    function setUp() public {
        _deployConsortium();
        otherOperator = makeAddr("other-operator");
        compliance = makeAddr("compliance");
        device = vm.addr(DEVICE_KEY);
        registry = new DeviceRegistry(membership, ledger);

        _enrol(otherOperator, Roles.OPERATOR, "did:pkh:eip155:31337:other", "Other Operator");
        vm.prank(governor);
        registry.setCompliance(compliance);

        vm.startPrank(operator);
        lot = ledger.createBatch(
            IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), "https://id.gs1.org/01/09506000134352/10/1"
        );
        otherLot = ledger.createBatch(
            IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), "https://id.gs1.org/01/09506000134352/10/2"
        );
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- registerDevice

    function test_RegisterDevice_StoresDeviceOwnedByCallerAndEmits() public {
        vm.warp(1_800_000_000);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceRegistered(device, operator, DID);
        vm.prank(operator);
        registry.registerDevice(device, DID, _signedBy(DEVICE_KEY, operator, DID));

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
            bytes memory signature = _signedBy(DEVICE_KEY, callers[i], DID);
            vm.prank(callers[i]);
            registry.registerDevice(device, DID, signature);
        }
    }

    function test_RegisterDevice_RevertsWhenPausedOrDeactivated() public {
        bytes memory signature = _signedBy(DEVICE_KEY, operator, DID);
        _pause();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipPaused.selector));
        vm.prank(operator);
        registry.registerDevice(device, DID, signature);

        vm.startPrank(governor);
        membership.unpause();
        membership.setOrganizationActive(operator, false);
        vm.stopPrank();
        vm.expectRevert(_unauthorized(operator, Roles.OPERATOR));
        vm.prank(operator);
        registry.registerDevice(device, DID, signature);
    }

    function test_RegisterDevice_RevertsOnZeroAddressExistingDeviceAndEmptyDid() public {
        bytes memory signature = _signedBy(DEVICE_KEY, operator, DID);
        bytes memory takeover = _signedBy(DEVICE_KEY, otherOperator, "did:pkh:eip155:31337:takeover");
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryZeroAddress.selector));
        registry.registerDevice(address(0), DID, signature);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryInvalidDid.selector, device));
        registry.registerDevice(device, "", _signedBy(DEVICE_KEY, operator, ""));
        registry.registerDevice(device, DID, signature);
        vm.stopPrank();

        // Even the device's own consent does not move a registered device to another organization.
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryDeviceExists.selector, device));
        vm.prank(otherOperator);
        registry.registerDevice(device, "did:pkh:eip155:31337:takeover", takeover);
        assertEq(registry.device(device).owner, operator, "the first owner keeps the device");
    }

    /// @dev Found 2: registerDevice took any address, with no proof the registrant holds its key.
    function test_RegisterDevice_RevertsWithoutTheDevicesOwnSignature() public {
        bytes memory valid = _signedBy(DEVICE_KEY, operator, DID);
        bytes memory highS = _highS(valid);
        bytes[6] memory refused = [
            bytes(""),
            _signedBy(0xBAD, operator, DID), // another key
            _signedBy(DEVICE_KEY, otherOperator, DID), // consent to another organization
            _signedBy(DEVICE_KEY, operator, "did:pkh:eip155:31337:other"), // another DID
            _registrationSignature(DEVICE_KEY, operator, DID, address(0xBEEF)), // another registry
            highS // the malleable twin of a valid signature
        ];
        for (uint256 i; i < refused.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotSignedByDevice.selector, device, operator)
            );
            vm.prank(operator);
            registry.registerDevice(device, DID, refused[i]);
        }
        assertEq(registry.device(device).registeredAt, 0, "nothing registered");

        vm.prank(operator);
        registry.registerDevice(device, DID, valid);
        assertEq(registry.device(device).owner, operator, "registered with the device's signature");
    }

    /// @dev A signature the device gave one organization cannot be replayed by another.
    function test_RegisterDevice_ConsentIsNotTransferable() public {
        bytes memory forOperator = _signedBy(DEVICE_KEY, operator, DID);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotSignedByDevice.selector, device, otherOperator)
        );
        vm.prank(otherOperator);
        registry.registerDevice(device, DID, forOperator);
        assertEq(registry.device(device).registeredAt, 0, "nothing registered");
    }

    function testFuzz_RegisterDevice_RefusesEveryOtherKey(uint256 key) public {
        key = bound(key, 1, SECP256K1_N - 1);
        if (key == DEVICE_KEY) key = DEVICE_KEY + 1;
        bytes memory signature = _signedBy(key, operator, DID);
        vm.expectRevert(
            abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotSignedByDevice.selector, device, operator)
        );
        vm.prank(operator);
        registry.registerDevice(device, DID, signature);
    }

    function test_HashRegistration_IsTheDigestTheDeviceSigns() public view {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(DEVICE_KEY, registry.hashRegistration(device, operator, DID));
        assertEq(abi.encodePacked(r, s, v), _signedBy(DEVICE_KEY, operator, DID), "same digest as the spec's");
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
            vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotOwner.selector, device, callers[i]));
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

    /// @dev The device was assigned to any existing batch: another organization's logger put
    /// on the operator's lot could then quarantine it through its readings.
    function test_AssignDevice_RevertsOnABatchItsOwnerDoesNotWrite() public {
        address rivalDevice = _registerRivalDevice();
        vm.expectRevert(_notBatchWriter(rivalDevice, otherOperator, lot));
        vm.prank(otherOperator);
        registry.assignDevice(rivalDevice, lot);
        assertEq(registry.device(rivalDevice).assignedBatch, bytes32(0), "still unassigned");
        assertEq(registry.device(rivalDevice).owner, otherOperator, "owner unchanged");
    }

    function test_AssignDevice_ByAnAuthorizedWriterUntilRevoked() public {
        address rivalDevice = _registerRivalDevice();
        vm.prank(operator);
        ledger.authorizeWriter(lot, otherOperator);
        vm.expectEmit(address(registry));
        emit IDeviceRegistry.DeviceAssigned(rivalDevice, lot, bytes32(0));
        vm.prank(otherOperator);
        registry.assignDevice(rivalDevice, lot);
        assertEq(registry.device(rivalDevice).assignedBatch, lot, "an authorized writer assigns its device");

        vm.expectRevert(_notBatchWriter(rivalDevice, otherOperator, otherLot));
        vm.prank(otherOperator);
        registry.assignDevice(rivalDevice, otherLot);
        assertEq(registry.device(rivalDevice).assignedBatch, lot, "the authorization is per batch");

        vm.prank(operator);
        ledger.revokeWriter(lot, otherOperator);
        vm.expectRevert(_notBatchWriter(rivalDevice, otherOperator, lot));
        vm.prank(otherOperator);
        registry.assignDevice(rivalDevice, lot);
    }

    function test_AssignDevice_ByTheCustodianAfterAnAcceptedTransfer() public {
        address rivalDevice = _registerRivalDevice();
        vm.prank(operator);
        ledger.offerCustody(lot, otherOperator);
        vm.expectRevert(_notBatchWriter(rivalDevice, otherOperator, lot));
        vm.prank(otherOperator);
        registry.assignDevice(rivalDevice, lot);

        vm.startPrank(otherOperator);
        ledger.acceptCustody(lot);
        registry.assignDevice(rivalDevice, lot);
        vm.stopPrank();
        assertEq(registry.device(rivalDevice).assignedBatch, lot, "the custodian assigns its device");

        vm.prank(otherOperator);
        ledger.offerCustody(lot, operator);
        vm.prank(operator);
        ledger.acceptCustody(lot);
        vm.prank(otherOperator);
        registry.assignDevice(rivalDevice, bytes32(0));
        assertEq(registry.device(rivalDevice).assignedBatch, bytes32(0), "unassigning needs no standing");
        vm.expectRevert(_notBatchWriter(rivalDevice, otherOperator, lot));
        vm.prank(otherOperator);
        registry.assignDevice(rivalDevice, lot);
    }

    /// @dev Whatever standing the other operator has on the lot, its device is assigned to the lot
    /// exactly when it owns, holds or was authorized to write the lot.
    function testFuzz_AssignDevice_OnlyToABatchTheOwnerWrites(uint8 standing) public {
        address rivalDevice = _registerRivalDevice();
        standing = uint8(bound(standing, 0, 4));
        vm.startPrank(operator);
        if (standing == 1 || standing == 2) ledger.authorizeWriter(lot, otherOperator);
        if (standing == 2) ledger.revokeWriter(lot, otherOperator);
        if (standing >= 3) ledger.offerCustody(lot, otherOperator);
        vm.stopPrank();
        if (standing == 4) {
            vm.prank(otherOperator);
            ledger.acceptCustody(lot);
        }
        bool writes = standing == 1 || standing == 4;
        assertEq(ledger.isWriter(lot, otherOperator), writes, "the ledger agrees with the scenario");
        if (!writes) vm.expectRevert(_notBatchWriter(rivalDevice, otherOperator, lot));
        vm.prank(otherOperator);
        registry.assignDevice(rivalDevice, lot);
        assertEq(registry.device(rivalDevice).assignedBatch, writes ? lot : bytes32(0), "assigned iff it writes");
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
        bytes memory signature = _signedBy(0xA11CE, caller, DID);
        vm.startPrank(caller);
        vm.expectRevert(_unauthorized(caller, Roles.OPERATOR));
        registry.registerDevice(vm.addr(0xA11CE), DID, signature);
        vm.expectRevert(abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotOwner.selector, device, caller));
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

    /// @dev A device the other operator registered (it owns it) and has not assigned.
    function _registerRivalDevice() internal returns (address rivalDevice) {
        rivalDevice = vm.addr(RIVAL_DEVICE_KEY);
        bytes memory signature = _signedBy(RIVAL_DEVICE_KEY, otherOperator, RIVAL_DID);
        vm.prank(otherOperator);
        registry.registerDevice(rivalDevice, RIVAL_DID, signature);
    }

    function _notBatchWriter(address account, address owner, bytes32 batchId) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotBatchWriter.selector, account, owner, batchId);
    }

    function _register() internal {
        bytes memory signature = _signedBy(DEVICE_KEY, operator, DID);
        vm.prank(operator);
        registry.registerDevice(device, DID, signature);
    }

    /// @dev `signature` with s replaced by n - s and v flipped: the same point, refused as malleable.
    function _highS(bytes memory signature) internal pure returns (bytes memory) {
        bytes32 r;
        bytes32 s;
        uint8 v;
        assembly {
            r := mload(add(signature, 32))
            s := mload(add(signature, 64))
            v := byte(0, mload(add(signature, 96)))
        }
        return abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    function _signedBy(uint256 key, address organization, string memory did) internal view returns (bytes memory) {
        return _registrationSignature(key, organization, did, address(registry));
    }

    function _registerAndAssign() internal {
        _register();
        vm.prank(operator);
        registry.assignDevice(device, lot);
    }
}
