// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MembershipGated} from "./MembershipGated.sol";
import {ICredentialRegistry} from "./interfaces/ICredentialRegistry.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {IProvenanceLedger} from "./interfaces/IProvenanceLedger.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title Anchors, status and trust list of the consortium's verifiable credentials.
/// @notice Trusted issuers anchor, revoke and suspend their own credentials; the governor
/// keeps the trust list and may revoke or suspend any credential; operators bind asset and
/// person DIDs to ledger entities.
/// @dev A credential's batch suspension is read from ProvenanceLedger at each status
/// lookup, so a quarantine and its release move the status with no write here.
contract CredentialRegistry is ICredentialRegistry, MembershipGated {
    /// @dev Issuer, both timestamps, the revoked flag and the suspensions share one slot; the
    /// three hashes take one each. 40-bit timestamps last until the year 36812.
    struct StoredCredential {
        address issuer;
        uint40 anchoredAt;
        uint40 validUntil;
        bool revoked;
        // Bits _BY_ISSUER and _BY_GOVERNOR: two bools would not fit the slot.
        uint8 suspendedBy;
        bytes32 typeHash;
        bytes32 subjectHash;
        bytes32 suspendsWithBatch;
    }

    struct Binding {
        bytes32 entityId;
        address boundBy;
    }

    uint8 private constant _BY_ISSUER = 1;
    uint8 private constant _BY_GOVERNOR = 2;

    IProvenanceLedger private immutable _ledger;

    mapping(bytes32 credentialHash => StoredCredential) private _credentials;
    /// @dev Times of the changes, ascending; they alternate (on, off, on...), so the issuer is
    /// trusted while the count is odd. Appended even within one second, so the gas does not
    /// depend on the block's timestamp and an estimate holds for the block that includes it.
    mapping(address issuer => mapping(bytes32 typeHash => uint64[] changedAt)) private _trustChanges;
    mapping(bytes32 didHash => Binding) private _bindings;

    /// @param membership_ the contract that authorizes every writer.
    /// @param ledger_ the ledger whose batches credentials are tied to and DIDs bound to.
    constructor(IMembership membership_, IProvenanceLedger ledger_) MembershipGated(membership_) {
        _ledger = ledger_;
    }

    /// @inheritdoc ICredentialRegistry
    function anchor(
        bytes32 credentialHash,
        bytes32 typeHash,
        bytes32 subjectHash,
        uint64 validUntil,
        bytes32 suspendsWithBatch
    ) external onlyAuthorized(Roles.ISSUER) {
        _checkNewCredential(credentialHash, typeHash, validUntil, suspendsWithBatch);
        _doAnchor(credentialHash, typeHash, subjectHash, validUntil, suspendsWithBatch);
    }

    /// @inheritdoc ICredentialRegistry
    function revoke(bytes32 credentialHash, string calldata reason) external onlyAuthorized(Roles.ISSUER) {
        StoredCredential storage stored = _checkIssuerOf(credentialHash);
        _doRevoke(stored, credentialHash, reason);
    }

    /// @inheritdoc ICredentialRegistry
    function suspend(bytes32 credentialHash, string calldata reason) external onlyAuthorized(Roles.ISSUER) {
        StoredCredential storage stored = _checkIssuerOf(credentialHash);
        _checkSuspension(stored, credentialHash, _BY_ISSUER, false);
        _doSetSuspended(stored, credentialHash, _BY_ISSUER, true, reason);
    }

    /// @inheritdoc ICredentialRegistry
    function unsuspend(bytes32 credentialHash, string calldata reason) external onlyAuthorized(Roles.ISSUER) {
        StoredCredential storage stored = _checkIssuerOf(credentialHash);
        _checkSuspension(stored, credentialHash, _BY_ISSUER, true);
        _doSetSuspended(stored, credentialHash, _BY_ISSUER, false, reason);
    }

    /// @inheritdoc ICredentialRegistry
    function governorRevoke(bytes32 credentialHash, string calldata reason) external onlyAuthorized(Roles.GOVERNOR) {
        StoredCredential storage stored = _checkOverridable(credentialHash);
        _doRevoke(stored, credentialHash, reason);
    }

    /// @inheritdoc ICredentialRegistry
    function governorSuspend(bytes32 credentialHash, string calldata reason) external onlyAuthorized(Roles.GOVERNOR) {
        StoredCredential storage stored = _checkOverridable(credentialHash);
        _checkSuspension(stored, credentialHash, _BY_GOVERNOR, false);
        _doSetSuspended(stored, credentialHash, _BY_GOVERNOR, true, reason);
    }

    /// @inheritdoc ICredentialRegistry
    function governorUnsuspend(bytes32 credentialHash, string calldata reason) external onlyAuthorized(Roles.GOVERNOR) {
        StoredCredential storage stored = _checkOverridable(credentialHash);
        _checkSuspension(stored, credentialHash, _BY_GOVERNOR, true);
        _doSetSuspended(stored, credentialHash, _BY_GOVERNOR, false, reason);
    }

    /// @inheritdoc ICredentialRegistry
    function setTrusted(address issuer, bytes32 typeHash, bool trusted_) external onlyAuthorized(Roles.GOVERNOR) {
        _checkTrustChange(issuer, typeHash, trusted_);
        _doSetTrusted(issuer, typeHash, trusted_);
    }

    /// @inheritdoc ICredentialRegistry
    function bindSubject(string calldata did, bytes32 entityId) external onlyAuthorized(Roles.OPERATOR) {
        bytes32 didHash = keccak256(bytes(did));
        _checkNewBinding(did, didHash, entityId);
        _doBindSubject(did, didHash, entityId);
    }

    /// @inheritdoc ICredentialRegistry
    function correctBinding(string calldata did, bytes32 entityId) external onlyAuthorized(Roles.GOVERNOR) {
        if (bytes(did).length == 0) revert CredentialRegistryInvalidDid();
        if (_entityOwner(entityId) == address(0)) revert CredentialRegistryUnknownEntity(entityId);
        _doBindSubject(did, keccak256(bytes(did)), entityId);
    }

    /// @inheritdoc ICredentialRegistry
    function credential(bytes32 credentialHash) external view returns (Credential memory) {
        StoredCredential storage stored = _credentials[credentialHash];
        return Credential({
            issuer: stored.issuer,
            typeHash: stored.typeHash,
            subjectHash: stored.subjectHash,
            anchoredAt: stored.anchoredAt,
            validUntil: stored.validUntil,
            suspendsWithBatch: stored.suspendsWithBatch,
            revoked: stored.revoked,
            suspended: stored.suspendedBy & _BY_ISSUER != 0,
            suspendedByGovernor: stored.suspendedBy & _BY_GOVERNOR != 0
        });
    }

    /// @inheritdoc ICredentialRegistry
    function status(bytes32 credentialHash) external view returns (CredentialStatus) {
        return _status(credentialHash);
    }

    /// @inheritdoc ICredentialRegistry
    function statusMany(bytes32[] calldata credentialHashes)
        external
        view
        returns (CredentialStatus[] memory statuses)
    {
        uint256 count = credentialHashes.length;
        statuses = new CredentialStatus[](count);
        for (uint256 i; i < count; ++i) {
            statuses[i] = _status(credentialHashes[i]);
        }
    }

    /// @inheritdoc ICredentialRegistry
    function trusted(address issuer, bytes32 typeHash) external view returns (bool) {
        return _isTrusted(issuer, typeHash);
    }

    /// @inheritdoc ICredentialRegistry
    function trustedAt(address issuer, bytes32 typeHash, uint64 timestamp) external view returns (bool) {
        return _changesUpTo(_trustChanges[issuer][typeHash], timestamp) % 2 == 1;
    }

    /// @inheritdoc ICredentialRegistry
    function boundEntity(bytes32 didHash) external view returns (bytes32 entityId, address boundBy) {
        Binding storage binding = _bindings[didHash];
        return (binding.entityId, binding.boundBy);
    }

    function _checkNewCredential(bytes32 credentialHash, bytes32 typeHash, uint64 validUntil, bytes32 batchId)
        internal
        view
    {
        if (credentialHash == bytes32(0)) revert CredentialRegistryZeroHash();
        if (typeHash == bytes32(0)) revert CredentialRegistryZeroTypeHash();
        StoredCredential storage stored = _credentials[credentialHash];
        if (stored.anchoredAt != 0) revert CredentialRegistryAlreadyAnchored(credentialHash, stored.issuer);
        if (validUntil > type(uint40).max) revert CredentialRegistryInvalidValidUntil(credentialHash, validUntil);
        if (batchId != bytes32(0) && !_batchExists(batchId)) revert CredentialRegistryUnknownBatch(batchId);
        if (!_isTrusted(msg.sender, typeHash)) revert CredentialRegistryIssuerNotTrusted(msg.sender, typeHash);
    }

    /// @return stored the credential, when it is anchored, not revoked and issued by the caller.
    function _checkIssuerOf(bytes32 credentialHash) internal view returns (StoredCredential storage stored) {
        stored = _credentials[credentialHash];
        if (stored.anchoredAt == 0) revert CredentialRegistryUnknownCredential(credentialHash);
        if (stored.issuer != msg.sender) revert CredentialRegistryNotIssuer(credentialHash, msg.sender);
        if (stored.revoked) revert CredentialRegistryRevoked(credentialHash);
    }

    /// @return stored the credential, when it is anchored and not revoked (whoever issued it).
    function _checkOverridable(bytes32 credentialHash) internal view returns (StoredCredential storage stored) {
        stored = _credentials[credentialHash];
        if (stored.anchoredAt == 0) revert CredentialRegistryUnknownCredential(credentialHash);
        if (stored.revoked) revert CredentialRegistryRevoked(credentialHash);
    }

    /// @dev Reverts unless the suspension bit `by` is set exactly when `expected` says.
    function _checkSuspension(StoredCredential storage stored, bytes32 credentialHash, uint8 by, bool expected)
        internal
        view
    {
        bool suspended = stored.suspendedBy & by != 0;
        if (suspended && !expected) revert CredentialRegistryAlreadySuspended(credentialHash);
        if (!suspended && expected) revert CredentialRegistryNotSuspended(credentialHash);
    }

    function _checkTrustChange(address issuer, bytes32 typeHash, bool trusted_) internal view {
        if (issuer == address(0)) revert CredentialRegistryZeroAddress();
        if (typeHash == bytes32(0)) revert CredentialRegistryZeroTypeHash();
        if (_isTrusted(issuer, typeHash) == trusted_) {
            revert CredentialRegistryTrustUnchanged(issuer, typeHash, trusted_);
        }
    }

    function _checkNewBinding(string calldata did, bytes32 didHash, bytes32 entityId) internal view {
        if (bytes(did).length == 0) revert CredentialRegistryInvalidDid();
        Binding storage binding = _bindings[didHash];
        if (binding.boundBy != address(0)) revert CredentialRegistrySubjectAlreadyBound(didHash, binding.entityId);
        address owner = _entityOwner(entityId);
        if (owner == address(0)) revert CredentialRegistryUnknownEntity(entityId);
        if (owner != msg.sender) revert CredentialRegistryNotEntityOwner(msg.sender, entityId);
    }

    function _status(bytes32 credentialHash) internal view returns (CredentialStatus) {
        StoredCredential storage stored = _credentials[credentialHash];
        if (stored.anchoredAt == 0) return CredentialStatus.NONE;
        if (stored.revoked) return CredentialStatus.REVOKED;
        uint40 validUntil = stored.validUntil;
        if (validUntil != 0 && block.timestamp > validUntil) return CredentialStatus.EXPIRED;
        // The ledger is asked only when nothing closer to hand decides.
        if (stored.suspendedBy != 0 || _batchHeld(stored.suspendsWithBatch)) return CredentialStatus.SUSPENDED;
        return CredentialStatus.VALID;
    }

    function _isTrusted(address issuer, bytes32 typeHash) internal view returns (bool) {
        return _trustChanges[issuer][typeHash].length % 2 == 1;
    }

    /// @return count how many of `changes` (ascending) happened at or before `timestamp`.
    function _changesUpTo(uint64[] storage changes, uint64 timestamp) internal view returns (uint256 count) {
        uint256 high = changes.length;
        while (count < high) {
            uint256 mid = (count + high) / 2;
            if (changes[mid] > timestamp) {
                high = mid;
            } else {
                count = mid + 1;
            }
        }
    }

    function _batchExists(bytes32 batchId) internal view returns (bool) {
        return _ledger.batch(batchId).status != IProvenanceLedger.BatchStatus.NONE;
    }

    /// @dev Whether `batchId` is set and its batch is QUARANTINED, RECALLED or DESTROYED
    /// (a destroyed lot is never fit for use again).
    function _batchHeld(bytes32 batchId) internal view returns (bool) {
        if (batchId == bytes32(0)) return false;
        IProvenanceLedger.BatchStatus batchStatus = _ledger.batch(batchId).status;
        return batchStatus == IProvenanceLedger.BatchStatus.QUARANTINED
            || batchStatus == IProvenanceLedger.BatchStatus.RECALLED
            || batchStatus == IProvenanceLedger.BatchStatus.DESTROYED;
    }

    /// @dev The owner of batch `entityId`, or the organization `entityId` names; zero when
    /// it is neither.
    function _entityOwner(bytes32 entityId) internal view returns (address) {
        (address batchOwner,) = _ledger.custody(entityId);
        if (batchOwner != address(0)) return batchOwner;
        // An organization's entity id is its address, left-padded with zeros.
        if (uint256(entityId) >> 160 != 0) return address(0);
        address organization = address(uint160(uint256(entityId)));
        return _isOrganization(organization) ? organization : address(0);
    }

    function _doAnchor(
        bytes32 credentialHash,
        bytes32 typeHash,
        bytes32 subjectHash,
        uint64 validUntil,
        bytes32 suspendsWithBatch
    ) internal {
        _credentials[credentialHash] = StoredCredential({
            issuer: msg.sender,
            anchoredAt: uint40(block.timestamp),
            // Checked below 2^40 by _checkNewCredential.
            validUntil: uint40(validUntil),
            revoked: false,
            suspendedBy: 0,
            typeHash: typeHash,
            subjectHash: subjectHash,
            suspendsWithBatch: suspendsWithBatch
        });
        emit CredentialAnchored(credentialHash, msg.sender, subjectHash, typeHash, validUntil, suspendsWithBatch);
    }

    function _doRevoke(StoredCredential storage stored, bytes32 credentialHash, string calldata reason) internal {
        stored.revoked = true;
        emit CredentialRevoked(credentialHash, msg.sender, reason);
    }

    function _doSetSuspended(
        StoredCredential storage stored,
        bytes32 credentialHash,
        uint8 by,
        bool suspended,
        string calldata reason
    ) internal {
        stored.suspendedBy = suspended ? stored.suspendedBy | by : stored.suspendedBy & ~by;
        if (suspended) {
            emit CredentialSuspended(credentialHash, msg.sender, reason);
        } else {
            emit CredentialUnsuspended(credentialHash, msg.sender, reason);
        }
    }

    function _doSetTrusted(address issuer, bytes32 typeHash, bool trusted_) internal {
        // Changes in the same second all stay; the last of them decides that second.
        _trustChanges[issuer][typeHash].push(uint64(block.timestamp));
        emit TrustChanged(issuer, typeHash, trusted_, uint64(block.timestamp));
    }

    function _doBindSubject(string calldata did, bytes32 didHash, bytes32 entityId) internal {
        _bindings[didHash] = Binding({entityId: entityId, boundBy: msg.sender});
        emit SubjectBound(didHash, entityId, did, msg.sender);
    }
}
