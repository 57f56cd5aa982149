// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {IProvenanceLedger} from "./interfaces/IProvenanceLedger.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title Registry of the devices that sign cold-chain readings.
/// @notice Operators register and assign their own devices; the governor may also
/// switch any device off and chooses the compliance contract, the only caller that
/// advances a device's sequence counter.
/// @dev The compliance contract is re-settable by the governor, so the consortium can
/// move to a new compliance contract without losing device registrations or counters.
contract DeviceRegistry is IDeviceRegistry {
    IMembership private immutable _membership;
    IProvenanceLedger private immutable _ledger;

    address private _compliance;
    mapping(address device => Device) private _devices;

    /// @param membership_ the contract that authorizes every writer.
    /// @param ledger_ the ledger whose batches devices are assigned to.
    constructor(IMembership membership_, IProvenanceLedger ledger_) {
        _membership = membership_;
        _ledger = ledger_;
    }

    modifier onlyAuthorized(bytes32 role) {
        _membership.authorize(role, msg.sender);
        _;
    }

    /// @inheritdoc IDeviceRegistry
    function registerDevice(address device, string calldata did) external onlyAuthorized(Roles.OPERATOR) {
        _checkNewDevice(device, did);
        _doRegisterDevice(device, did);
    }

    /// @inheritdoc IDeviceRegistry
    function setDeviceActive(address device, bool active) external {
        _checkOwnerOrGovernor(device);
        _doSetDeviceActive(device, active);
    }

    /// @inheritdoc IDeviceRegistry
    function assignDevice(address device, bytes32 batchId) external onlyAuthorized(Roles.OPERATOR) {
        _checkOwner(device);
        if (batchId != bytes32(0) && _ledger.batch(batchId).status == IProvenanceLedger.BatchStatus.NONE) {
            revert DeviceRegistryUnknownBatch(batchId);
        }
        _doAssignDevice(device, batchId);
    }

    /// @inheritdoc IDeviceRegistry
    function setCompliance(address compliance_) external onlyAuthorized(Roles.GOVERNOR) {
        if (compliance_ == address(0)) revert DeviceRegistryZeroAddress();
        _doSetCompliance(compliance_);
    }

    /// @inheritdoc IDeviceRegistry
    function acceptReading(address device, bytes32 batchId, uint64 seq) external {
        if (msg.sender != _compliance) revert DeviceRegistryNotCompliance(msg.sender);
        Device storage stored = _devices[device];
        _checkReading(stored, device, batchId, seq);
        _doAcceptReading(stored, device, batchId, seq);
    }

    /// @inheritdoc IDeviceRegistry
    function device(address device_) external view returns (Device memory) {
        return _devices[device_];
    }

    /// @inheritdoc IDeviceRegistry
    function compliance() external view returns (address) {
        return _compliance;
    }

    function _checkNewDevice(address device, string calldata did) internal view {
        if (device == address(0)) revert DeviceRegistryZeroAddress();
        if (_devices[device].registeredAt != 0) revert DeviceRegistryDeviceExists(device);
        if (bytes(did).length == 0) revert DeviceRegistryInvalidDid(device);
    }

    function _checkRegistered(address device) internal view returns (address owner) {
        Device storage stored = _devices[device];
        if (stored.registeredAt == 0) revert DeviceRegistryUnknownDevice(device);
        return stored.owner;
    }

    function _checkOwner(address device) internal view {
        if (_checkRegistered(device) != msg.sender) revert DeviceRegistryNotOwner(device, msg.sender);
    }

    /// @dev The owner acts through its OPERATOR_ROLE; anyone else must be a governor.
    function _checkOwnerOrGovernor(address device) internal view {
        bytes32 role = _checkRegistered(device) == msg.sender ? Roles.OPERATOR : Roles.GOVERNOR;
        _membership.authorize(role, msg.sender);
    }

    function _checkReading(Device storage stored, address device, bytes32 batchId, uint64 seq) internal view {
        if (stored.registeredAt == 0) revert DeviceRegistryUnknownDevice(device);
        if (!stored.active) revert DeviceRegistryInactiveDevice(device);
        bytes32 assigned = stored.assignedBatch;
        if (assigned != batchId) revert DeviceRegistryNotAssigned(device, batchId, assigned);
        uint64 lastSeq = stored.lastSeq;
        if (seq <= lastSeq) revert DeviceRegistryStaleSequence(device, seq, lastSeq);
    }

    function _doRegisterDevice(address device, string calldata did) internal {
        Device storage stored = _devices[device];
        stored.did = did;
        stored.owner = msg.sender;
        stored.active = true;
        stored.registeredAt = uint64(block.timestamp);
        emit DeviceRegistered(device, msg.sender, did);
    }

    function _doSetDeviceActive(address device, bool active) internal {
        _devices[device].active = active;
        emit DeviceActiveChanged(device, active, msg.sender);
    }

    function _doAssignDevice(address device, bytes32 batchId) internal {
        Device storage stored = _devices[device];
        bytes32 previous = stored.assignedBatch;
        stored.assignedBatch = batchId;
        emit DeviceAssigned(device, batchId, previous);
    }

    function _doSetCompliance(address compliance_) internal {
        address previous = _compliance;
        _compliance = compliance_;
        emit ComplianceSet(previous, compliance_);
    }

    function _doAcceptReading(Device storage stored, address device, bytes32 batchId, uint64 seq) internal {
        stored.lastSeq = seq;
        emit ReadingAccepted(device, batchId, seq);
    }
}
