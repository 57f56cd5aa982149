// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IDeviceRegistry} from "../src/interfaces/IDeviceRegistry.sol";
import {DeviceRegistryHandler} from "./handlers/DeviceRegistryHandler.sol";
import {InvariantTest} from "./utils/Test.sol";

contract DeviceRegistryInvariantTest is InvariantTest {
    DeviceRegistryHandler internal handler;

    function setUp() public {
        handler = new DeviceRegistryHandler();
        bytes4[] memory selectors = new bytes4[](8);
        // Registry calls listed twice: most calls should be on devices.
        selectors[0] = DeviceRegistryHandler.registerDevice.selector;
        selectors[1] = DeviceRegistryHandler.assignDevice.selector;
        selectors[2] = DeviceRegistryHandler.assignDevice.selector;
        selectors[3] = DeviceRegistryHandler.setDeviceActive.selector;
        selectors[4] = DeviceRegistryHandler.setDeviceActive.selector;
        selectors[5] = DeviceRegistryHandler.setWriter.selector;
        selectors[6] = DeviceRegistryHandler.moveCustody.selector;
        selectors[7] = DeviceRegistryHandler.setOrganizationActive.selector;
        _targetFunctions(address(handler), selectors);
    }

    /// @dev Every registry call was accepted or refused (with the exact error) as the model predicted.
    function invariant_OutcomesMatchTheModel() public view {
        assertEq(handler.unexpectedOutcomes(), 0, "a registry call's outcome differed from the model");
    }

    function invariant_DevicesMatchTheModel() public view {
        for (uint256 d; d < handler.DEVICES(); ++d) {
            address device = handler.devices(d);
            IDeviceRegistry.Device memory stored = handler.registry().device(device);
            DeviceRegistryHandler.GhostDevice memory ghost = handler.ghostDevice(device);
            assertEq(stored.owner, ghost.owner, "owner differs from the model");
            assertEq(stored.assignedBatch, ghost.assigned, "assignment differs from the model");
            assertEq(stored.active, ghost.active, "active differs from the model");
            assertEq(stored.registeredAt != 0, ghost.owner != address(0), "registration differs from the model");
        }
    }

    function invariant_ADevicesOwnerNeverChanges() public view {
        assertEq(handler.ownerChanges(), 0, "a registered device changed owner");
    }

    function invariant_OnlyItsOwnerAssignsADevice() public view {
        assertEq(handler.assignmentsNotByTheOwner(), 0, "a device's assignment changed other than by its owner");
    }

    function invariant_OnlyItsOwnerOrTheGovernorSwitchesADevice() public view {
        assertEq(
            handler.switchesNotByTheOwnerOrGovernor(),
            0,
            "a device was switched other than by its owner or the governor"
        );
    }

    function invariant_ADeviceGoesOnlyOnALotItsOwnerWrites() public view {
        assertEq(handler.assignmentsToLotsNotWritten(), 0, "a device was put on a lot its owner does not write");
    }
}
