// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Registry of the devices (sensors, loggers) that sign cold-chain readings.
/// @notice Each device is its own secp256k1 account (`did:pkh:eip155:{chainId}:{device}`),
/// owned by the organization that registered it (which alone assigns and retires it, the
/// governor aside for switching it off, and assigns it only to batches it writes), registered only with its own EIP-712 signature over
/// that registration, assigned to at most one batch at a time, and carries the last sequence
/// number the compliance contract accepted from it.
interface IDeviceRegistry {
    /// @dev `registeredAt` doubles as the "registered" flag (block timestamps are never zero).
    struct Device {
        string did;
        address owner;
        bytes32 assignedBatch;
        bool active;
        uint64 lastSeq;
        uint64 registeredAt;
    }

    /// @notice The zero address can be neither a device nor the compliance contract.
    error DeviceRegistryZeroAddress();
    /// @notice A device is registered at `device` already.
    /// @param device the device account to register.
    error DeviceRegistryDeviceExists(address device);
    /// @notice The device to register at `device` was given an empty DID.
    /// @param device the device account to register.
    error DeviceRegistryInvalidDid(address device);
    /// @notice No device is registered at `device`.
    /// @param device the device account.
    error DeviceRegistryUnknownDevice(address device);
    /// @notice The device is switched off: its readings are refused.
    /// @param device the device account.
    error DeviceRegistryInactiveDevice(address device);
    /// @notice Only the organization that registered `device` may assign it or (with the
    /// governor) switch it on or off; `account` is not that organization.
    /// @param device the device account.
    /// @param account the refused caller.
    error DeviceRegistryNotOwner(address device, address account);
    /// @notice `signature` is not `device`'s own signature over its registration by `account`
    /// (malformed, high s, unrecoverable, or signed by another key).
    /// @param device the device account to register.
    /// @param account the registering organization.
    error DeviceRegistryNotSignedByDevice(address device, address account);
    /// @notice The ledger has no batch `batchId` to assign the device to.
    /// @param batchId the batch asked for.
    error DeviceRegistryUnknownBatch(bytes32 batchId);
    /// @notice `account`, the owner of `device`, is not the owner, custodian or an authorized
    /// writer of `batchId` ({IProvenanceLedger-isWriter}), so it may not put its device on that batch.
    /// @param device the device account.
    /// @param account the refused caller.
    /// @param batchId the batch asked for.
    error DeviceRegistryNotBatchWriter(address device, address account, bytes32 batchId);
    /// @notice The device is assigned to another batch, or to none, not to `batchId`.
    /// @param device the device account.
    /// @param batchId the batch of the reading.
    /// @param assigned the batch the device is assigned to (zero when unassigned).
    error DeviceRegistryNotAssigned(address device, bytes32 batchId, bytes32 assigned);
    /// @notice `seq` is not above the device's last accepted sequence number.
    /// @param device the device account.
    /// @param seq the reading's sequence number.
    /// @param lastSeq the last one accepted.
    error DeviceRegistryStaleSequence(address device, uint64 seq, uint64 lastSeq);
    /// @notice Only the compliance contract set by the governor may accept readings.
    /// @param account the refused caller.
    error DeviceRegistryNotCompliance(address account);

    event DeviceRegistered(address indexed device, address indexed owner, string did);
    event DeviceActiveChanged(address indexed device, bool active, address indexed by);
    /// @param batchId the new assignment (zero: unassigned); `previousBatchId` the one it replaces.
    event DeviceAssigned(address indexed device, bytes32 indexed batchId, bytes32 previousBatchId);
    event ComplianceSet(address indexed previousCompliance, address indexed compliance);
    /// @dev The compliance contract accepted reading `seq` of `device` for `batchId`.
    event ReadingAccepted(address indexed device, bytes32 indexed batchId, uint64 seq);

    /**
     * @notice Registers the device whose account (signing address) is `account`, with
     * its DID, owned by the caller's organization. The device starts active, unassigned,
     * with no accepted reading. `signature` is the device's own EIP-712 signature of
     * `DeviceRegistration(address device,address organization,string did)` (domain
     * "DeviceRegistry", version "1", this chain and contract), so a key is registered only
     * with its holder's consent and only to the organization it names.
     * Requirements: caller authorized as OPERATOR_ROLE; `account` non-zero and not
     * registered; `did` non-empty; `signature` by `account` over (account, caller, did).
     * Emits {DeviceRegistered}.
     */
    function registerDevice(address account, string calldata did, bytes calldata signature) external;

    /**
     * @notice Activates or deactivates device `account`; an inactive device's readings
     * are refused.
     * Requirements: `account` registered; caller is its owner (still authorized as
     * OPERATOR_ROLE) or is authorized as GOVERNOR_ROLE, else {DeviceRegistryNotOwner}.
     * Emits {DeviceActiveChanged}.
     */
    function setDeviceActive(address account, bool active) external;

    /**
     * @notice Assigns device `account` to `batchId` (replacing any earlier assignment),
     * or unassigns it when `batchId` is zero. The device's sequence counter carries over.
     * Requirements: caller authorized as OPERATOR_ROLE; `account` registered and owned
     * by the caller; `batchId` zero, or a batch of the ledger the caller writes (its owner,
     * custodian or a writer one of them authorized), so that an organization's device never
     * reports, and so never quarantines, a batch that organization has no standing on.
     * Emits {DeviceAssigned}.
     */
    function assignDevice(address account, bytes32 batchId) external;

    /**
     * @notice Sets the compliance contract, the only caller of {acceptReading}. The
     * governor may set it again later (to move to a new compliance contract).
     * Requirements: caller authorized as GOVERNOR_ROLE; `newCompliance` non-zero.
     * Emits {ComplianceSet}.
     */
    function setCompliance(address newCompliance) external;

    /**
     * @notice Accepts reading `seq` of device `account` for `batchId` and records `seq`
     * as the device's last sequence number.
     * Requirements: caller is the compliance contract; `account` registered, active and
     * assigned to `batchId`; `seq` above the device's last accepted sequence number.
     * Emits {ReadingAccepted}.
     */
    function acceptReading(address account, bytes32 batchId, uint64 seq) external;

    /// @notice The device registered at `account` (`registeredAt` zero when unknown).
    function device(address account) external view returns (Device memory);

    /// @notice The EIP-712 digest device `account` signs to be registered by `organization` with `did`.
    function hashRegistration(address account, address organization, string calldata did)
        external
        view
        returns (bytes32);

    /// @notice The compliance contract allowed to accept readings (zero until set).
    function compliance() external view returns (address);
}
