// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Anchors, status and trust list of the consortium's verifiable credentials.
/// @notice A credential is anchored by the `keccak256` of the VC its issuer signed, with
/// its type (`keccak256` of the type name, e.g. "CalibrationCertificate") and subject
/// (`keccak256` of the subject's DID), by an issuer on the trust list for that type. Its
/// issuer revokes or suspends it, and so may a governor (say, once the issuer's key is
/// compromised); a credential tied to a ledger batch reads as SUSPENDED while that batch
/// is quarantined or recalled, with no transaction of its own. The governor's trust list
/// of (issuer, type) keeps its whole history, so a verifier can ask who was trusted when.
/// Asset and person DIDs are bound here to the ledger entity they name.
interface ICredentialRegistry {
    /// @dev NONE marks a hash never anchored. A revoked credential reads REVOKED whatever
    /// else holds; then EXPIRED past `validUntil`; then SUSPENDED (by its issuer, by a
    /// governor, or while its `suspendsWithBatch` is held); otherwise VALID.
    enum CredentialStatus {
        NONE,
        VALID,
        REVOKED,
        SUSPENDED,
        EXPIRED
    }

    /// @dev `anchoredAt` doubles as the "anchored" flag (block timestamps are never zero).
    /// `validUntil` zero: no expiry; `suspendsWithBatch` zero: tied to no batch.
    /// `suspended` is the issuer's own suspension, `suspendedByGovernor` a governor's (see
    /// {status} for the batch's).
    struct Credential {
        address issuer;
        bytes32 typeHash;
        bytes32 subjectHash;
        uint64 anchoredAt;
        uint64 validUntil;
        bytes32 suspendsWithBatch;
        bool revoked;
        bool suspended;
        bool suspendedByGovernor;
    }

    /// @notice The credential hash is zero.
    error CredentialRegistryZeroHash();
    /// @notice The credential type hash is zero.
    error CredentialRegistryZeroTypeHash();
    /// @notice The zero address cannot be put on or taken off the trust list.
    error CredentialRegistryZeroAddress();
    /// @notice The credential is anchored already.
    /// @param credentialHash the credential.
    /// @param issuer who anchored it.
    error CredentialRegistryAlreadyAnchored(bytes32 credentialHash, address issuer);
    /// @notice `validUntil` is past the largest stored timestamp (2^40 - 1, in the year 36812).
    /// @param credentialHash the credential to anchor.
    /// @param validUntil the refused expiry.
    error CredentialRegistryInvalidValidUntil(bytes32 credentialHash, uint64 validUntil);
    /// @notice No credential was anchored with this hash.
    /// @param credentialHash the credential asked for.
    error CredentialRegistryUnknownCredential(bytes32 credentialHash);
    /// @notice Only the credential's issuer may revoke, suspend or unsuspend it (a governor has
    /// functions of its own).
    /// @param credentialHash the credential.
    /// @param account the refused caller.
    error CredentialRegistryNotIssuer(bytes32 credentialHash, address account);
    /// @notice `issuer` is not on the trust list for `typeHash` now, so it may not anchor one.
    /// @param issuer the refused caller.
    /// @param typeHash the credential's type.
    error CredentialRegistryIssuerNotTrusted(address issuer, bytes32 typeHash);
    /// @notice Revocation is final: a revoked credential takes no further change.
    /// @param credentialHash the revoked credential.
    error CredentialRegistryRevoked(bytes32 credentialHash);
    /// @notice The caller's side (the issuer, or a governor) suspended the credential already.
    /// @param credentialHash the credential.
    error CredentialRegistryAlreadySuspended(bytes32 credentialHash);
    /// @notice The caller's side (the issuer, or a governor) has no suspension of the credential to lift.
    /// @param credentialHash the credential.
    error CredentialRegistryNotSuspended(bytes32 credentialHash);
    /// @notice The ledger has no batch `batchId` to tie the credential to.
    /// @param batchId the batch given as `suspendsWithBatch`.
    error CredentialRegistryUnknownBatch(bytes32 batchId);
    /// @notice `issuer` is already (un)trusted for `typeHash` as `trusted` asks.
    /// @param issuer the issuer.
    /// @param typeHash the credential type.
    /// @param trusted the trust asked for.
    error CredentialRegistryTrustUnchanged(address issuer, bytes32 typeHash, bool trusted);
    /// @notice The DID to bind is empty.
    error CredentialRegistryInvalidDid();
    /// @notice The DID was bound before; only a governor's {correctBinding} moves a binding.
    /// @param didHash `keccak256` of the DID.
    /// @param entityId the entity it is bound to.
    error CredentialRegistrySubjectAlreadyBound(bytes32 didHash, bytes32 entityId);
    /// @notice `entityId` is neither a ledger batch nor a registered organization's address.
    /// @param entityId the entity to bind to.
    error CredentialRegistryUnknownEntity(bytes32 entityId);
    /// @notice `account` neither owns the batch `entityId` nor is the organization it names.
    /// @param account the refused caller.
    /// @param entityId the entity to bind to.
    error CredentialRegistryNotEntityOwner(address account, bytes32 entityId);

    event CredentialAnchored(
        bytes32 indexed credentialHash,
        address indexed issuer,
        bytes32 indexed subjectHash,
        bytes32 typeHash,
        uint64 validUntil,
        bytes32 suspendsWithBatch
    );
    /// @param by the credential's issuer, or the governor who overrode it.
    event CredentialRevoked(bytes32 indexed credentialHash, address indexed by, string reason);
    /// @param by the credential's issuer, or a governor (whose suspension only a governor lifts).
    event CredentialSuspended(bytes32 indexed credentialHash, address indexed by, string reason);
    /// @param by the credential's issuer, or a governor lifting a governor's suspension.
    event CredentialUnsuspended(bytes32 indexed credentialHash, address indexed by, string reason);
    /// @param at the block timestamp from which the new trust holds.
    event TrustChanged(address indexed issuer, bytes32 indexed typeHash, bool trusted, uint64 at);
    event SubjectBound(bytes32 indexed didHash, bytes32 indexed entityId, string did, address boundBy);

    /**
     * @notice Anchors the credential whose VC hashes to `credentialHash`, issued by the
     * caller, of type `typeHash` about subject `subjectHash` (zero when the VC names no
     * subject), valid until `validUntil` (zero: no expiry). While ledger batch
     * `suspendsWithBatch` (zero: none) is QUARANTINED or RECALLED, the credential reads
     * as SUSPENDED.
     * Requirements: caller authorized as ISSUER_ROLE; `credentialHash` and `typeHash`
     * non-zero; `credentialHash` not anchored; `validUntil` below 2^40;
     * `suspendsWithBatch` zero or a batch of the ledger; caller on the trust list for
     * `typeHash` now (so a verifier judges trust at `anchoredAt`, not at a date the
     * issuer wrote).
     * Emits {CredentialAnchored}.
     */
    function anchor(
        bytes32 credentialHash,
        bytes32 typeHash,
        bytes32 subjectHash,
        uint64 validUntil,
        bytes32 suspendsWithBatch
    ) external;

    /**
     * @notice Revokes credential `credentialHash`, for good.
     * Requirements: caller authorized as ISSUER_ROLE and the credential's issuer; the
     * credential anchored and not revoked.
     * Emits {CredentialRevoked}.
     */
    function revoke(bytes32 credentialHash, string calldata reason) external;

    /**
     * @notice Suspends credential `credentialHash` until its issuer lifts the suspension.
     * Requirements: caller authorized as ISSUER_ROLE and the credential's issuer; the
     * credential anchored, not revoked and not suspended by its issuer.
     * Emits {CredentialSuspended}.
     */
    function suspend(bytes32 credentialHash, string calldata reason) external;

    /**
     * @notice Lifts the issuer's suspension of credential `credentialHash` (a suspension
     * through its batch lasts as long as the batch's quarantine or recall).
     * Requirements: caller authorized as ISSUER_ROLE and the credential's issuer; the
     * credential anchored, not revoked and suspended by its issuer.
     * Emits {CredentialUnsuspended}.
     */
    function unsuspend(bytes32 credentialHash, string calldata reason) external;

    /**
     * @notice Revokes credential `credentialHash` for good, over its issuer (a compromised
     * or departed issuer cannot be left the only one able to).
     * Requirements: caller authorized as GOVERNOR_ROLE; the credential anchored and not
     * revoked; `reason` says why, for the record.
     * Emits {CredentialRevoked}.
     */
    function governorRevoke(bytes32 credentialHash, string calldata reason) external;

    /**
     * @notice Suspends credential `credentialHash` until a governor lifts it; its issuer
     * cannot.
     * Requirements: caller authorized as GOVERNOR_ROLE; the credential anchored, not
     * revoked and not suspended by a governor.
     * Emits {CredentialSuspended}.
     */
    function governorSuspend(bytes32 credentialHash, string calldata reason) external;

    /**
     * @notice Lifts a governor's suspension of credential `credentialHash` (its issuer's own
     * suspension, if any, stays).
     * Requirements: caller authorized as GOVERNOR_ROLE; the credential anchored, not revoked
     * and suspended by a governor.
     * Emits {CredentialUnsuspended}.
     */
    function governorUnsuspend(bytes32 credentialHash, string calldata reason) external;

    /**
     * @notice Puts `issuer` on the trust list for credentials of type `typeHash`, or
     * takes it off, from this block's timestamp on; earlier times keep their answer.
     * Requirements: caller authorized as GOVERNOR_ROLE; `issuer` non-zero; `typeHash`
     * non-zero; the trust actually changes.
     * Emits {TrustChanged}.
     */
    function setTrusted(address issuer, bytes32 typeHash, bool trusted) external;

    /**
     * @notice Binds DID `did` (an asset's `did:key` minted at commissioning, or a
     * person's DID) to the ledger entity it names: for an asset the id of its lot or
     * item, for a person the address of its organization as `bytes32(uint256(uint160(org)))`.
     * Requirements: caller authorized as OPERATOR_ROLE; `did` non-empty and never bound;
     * `entityId` a batch of the ledger the caller owns, or the caller's own organization.
     * Emits {SubjectBound}.
     */
    function bindSubject(string calldata did, bytes32 entityId) external;

    /**
     * @notice Corrects a mistaken binding: binds `did` to `entityId`, whether or not it
     * was bound before.
     * Requirements: caller authorized as GOVERNOR_ROLE; `did` non-empty; `entityId` a
     * batch of the ledger or a registered organization.
     * Emits {SubjectBound}.
     */
    function correctBinding(string calldata did, bytes32 entityId) external;

    /// @notice The stored credential (`anchoredAt` zero when unknown).
    function credential(bytes32 credentialHash) external view returns (Credential memory);

    /// @notice The status of credential `credentialHash` now (see {CredentialStatus}).
    function status(bytes32 credentialHash) external view returns (CredentialStatus);

    /// @notice {status} of each of `credentialHashes`, in order, in one call.
    function statusMany(bytes32[] calldata credentialHashes) external view returns (CredentialStatus[] memory);

    /// @notice Whether `issuer` is on the trust list for `typeHash` now.
    function trusted(address issuer, bytes32 typeHash) external view returns (bool);

    /// @notice Whether `issuer` was on the trust list for `typeHash` at `timestamp`, as it
    /// stood at the end of that second (a later timestamp gets today's answer).
    function trustedAt(address issuer, bytes32 typeHash, uint64 timestamp) external view returns (bool);

    /// @notice The entity DID `keccak256(bytes(did)) == didHash` is bound to, and who bound
    /// it (both zero when unbound).
    function boundEntity(bytes32 didHash) external view returns (bytes32 entityId, address boundBy);
}
