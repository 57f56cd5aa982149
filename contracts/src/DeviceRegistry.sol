// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {MembershipGated} from "./MembershipGated.sol";
import {IDeviceRegistry} from "./interfaces/IDeviceRegistry.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {IProvenanceLedger} from "./interfaces/IProvenanceLedger.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title Registry of the devices that sign cold-chain readings.
/// @notice Operators register (with the device's own signature) and assign their own
/// devices, to batches they write; the governor may also switch any device off and chooses the compliance contract, the only caller that
/// advances a device's sequence counter.
/// @dev The compliance contract is re-settable by the governor, so the consortium can
/// move to a new compliance contract without losing device registrations or counters.
contract DeviceRegistry is IDeviceRegistry, MembershipGated, EIP712 {
    bytes32 private constant REGISTRATION_TYPEHASH =
        keccak256("DeviceRegistration(address device,address organization,string did)");

    IProvenanceLedger private immutable _ledger;

    address private _compliance;
    mapping(address device => Device) private _devices;

    /// @param membership_ the contract that authorizes every writer.
    /// @param ledger_ the ledger whose batches devices are assigned to.
    constructor(IMembership membership_, IProvenanceLedger ledger_)
        MembershipGated(membership_)
        EIP712("DeviceRegistry", "1")
    {
        _ledger = ledger_;
    }

    /// @inheritdoc IDeviceRegistry
    function registerDevice(address account, string calldata did, bytes calldata signature)
        external
        onlyAuthorized(Roles.OPERATOR)
    {
        _checkNewDevice(account, did);
        _checkDeviceSignature(account, did, signature);
        _doRegisterDevice(account, did);
    }

    /// @inheritdoc IDeviceRegistry
    function setDeviceActive(address account, bool active) external {
        _checkOwnerOrGovernor(account);
        _doSetDeviceActive(account, active);
    }

    /// @inheritdoc IDeviceRegistry
    function assignDevice(address account, bytes32 batchId) external onlyAuthorized(Roles.OPERATOR) {
        _checkOwner(account);
        if (batchId != bytes32(0)) _checkBatchWriter(account, batchId);
        _doAssignDevice(account, batchId);
    }

    /// @inheritdoc IDeviceRegistry
    function setCompliance(address newCompliance) external onlyAuthorized(Roles.GOVERNOR) {
        if (newCompliance == address(0)) revert DeviceRegistryZeroAddress();
        _doSetCompliance(newCompliance);
    }

    /// @inheritdoc IDeviceRegistry
    function acceptReading(address account, bytes32 batchId, uint64 seq) external {
        if (msg.sender != _compliance) revert DeviceRegistryNotCompliance(msg.sender);
        Device storage stored = _devices[account];
        _checkReading(stored, account, batchId, seq);
        _doAcceptReading(stored, account, batchId, seq);
    }

    /// @inheritdoc IDeviceRegistry
    function device(address account) external view returns (Device memory) {
        return _devices[account];
    }

    /// @inheritdoc IDeviceRegistry
    function hashRegistration(address account, address organization, string calldata did)
        external
        view
        returns (bytes32)
    {
        return _hashRegistration(account, organization, did);
    }

    /// @inheritdoc IDeviceRegistry
    function compliance() external view returns (address) {
        return _compliance;
    }

    function _checkNewDevice(address account, string calldata did) internal view {
        if (account == address(0)) revert DeviceRegistryZeroAddress();
        if (_devices[account].registeredAt != 0) revert DeviceRegistryDeviceExists(account);
        if (bytes(did).length == 0) revert DeviceRegistryInvalidDid(account);
    }

    /// @dev Malformed, high-s, unrecoverable and foreign signatures are all refused alike.
    function _checkDeviceSignature(address account, string calldata did, bytes calldata signature) internal view {
        (address signer, ECDSA.RecoverError err,) =
            ECDSA.tryRecoverCalldata(_hashRegistration(account, msg.sender, did), signature);
        if (err != ECDSA.RecoverError.NoError || signer != account) {
            revert DeviceRegistryNotSignedByDevice(account, msg.sender);
        }
    }

    function _hashRegistration(address account, address organization, string calldata did)
        internal
        view
        returns (bytes32)
    {
        return _hashTypedDataV4(
            keccak256(abi.encode(REGISTRATION_TYPEHASH, account, organization, keccak256(bytes(did))))
        );
    }

    function _checkRegistered(address account) internal view returns (address owner) {
        Device storage stored = _devices[account];
        if (stored.registeredAt == 0) revert DeviceRegistryUnknownDevice(account);
        return stored.owner;
    }

    function _checkOwner(address account) internal view {
        if (_checkRegistered(account) != msg.sender) revert DeviceRegistryNotOwner(account, msg.sender);
    }

    /// @dev The caller (the device's owner) must write the batch. One ledger call when it does;
    /// the second only tells an unknown batch from a batch of others.
    function _checkBatchWriter(address account, bytes32 batchId) internal view {
        if (_ledger.isWriter(batchId, msg.sender)) return;
        if (_ledger.batch(batchId).status == IProvenanceLedger.BatchStatus.NONE) {
            revert DeviceRegistryUnknownBatch(batchId);
        }
        revert DeviceRegistryNotBatchWriter(account, msg.sender, batchId);
    }

    /// @dev The owner acts through its OPERATOR_ROLE; anyone else must be a governor.
    function _checkOwnerOrGovernor(address account) internal view {
        bool owns = _checkRegistered(account) == msg.sender;
        if (!owns && !_isGovernor(msg.sender)) revert DeviceRegistryNotOwner(account, msg.sender);
        _checkAuthorized(owns ? Roles.OPERATOR : Roles.GOVERNOR);
    }

    function _checkReading(Device storage stored, address account, bytes32 batchId, uint64 seq) internal view {
        if (stored.registeredAt == 0) revert DeviceRegistryUnknownDevice(account);
        if (!stored.active) revert DeviceRegistryInactiveDevice(account);
        bytes32 assigned = stored.assignedBatch;
        if (assigned != batchId) revert DeviceRegistryNotAssigned(account, batchId, assigned);
        uint64 lastSeq = stored.lastSeq;
        if (seq <= lastSeq) revert DeviceRegistryStaleSequence(account, seq, lastSeq);
    }

    function _doRegisterDevice(address account, string calldata did) internal {
        Device storage stored = _devices[account];
        stored.did = did;
        stored.owner = msg.sender;
        stored.active = true;
        stored.registeredAt = uint64(block.timestamp);
        emit DeviceRegistered(account, msg.sender, did);
    }

    function _doSetDeviceActive(address account, bool active) internal {
        _devices[account].active = active;
        emit DeviceActiveChanged(account, active, msg.sender);
    }

    function _doAssignDevice(address account, bytes32 batchId) internal {
        Device storage stored = _devices[account];
        bytes32 previous = stored.assignedBatch;
        stored.assignedBatch = batchId;
        emit DeviceAssigned(account, batchId, previous);
    }

    function _doSetCompliance(address newCompliance) internal {
        address previous = _compliance;
        _compliance = newCompliance;
        emit ComplianceSet(previous, newCompliance);
    }

    function _doAcceptReading(Device storage stored, address account, bytes32 batchId, uint64 seq) internal {
        stored.lastSeq = seq;
        emit ReadingAccepted(account, batchId, seq);
    }
}
