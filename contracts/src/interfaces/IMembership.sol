// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Consortium membership: organizations, their DIDs, roles and the pause switch.
/// @notice Roles follow DESIGN.md §4. `GOVERNOR_ROLE` administers every role
/// (itself included); every grant and revoke emits the AccessControl events.
interface IMembership {
    struct Organization {
        string did;
        string name;
        bool active;
        uint64 registeredAt;
    }

    /// @notice `account` may not act with `role`: it lacks the role, or its organization is deactivated.
    /// @param account the refused caller.
    /// @param role the role the call needs.
    error MembershipUnauthorizedAccount(address account, bytes32 role);
    /// @notice The consortium is paused: every writer is refused until a governor unpauses it.
    error MembershipPaused();
    /// @notice An organization is registered at `account` already.
    /// @param account the address to register.
    error MembershipOrganizationExists(address account);
    /// @notice No organization is registered at `account`.
    /// @param account the organization to activate or deactivate.
    error MembershipUnknownOrganization(address account);
    /// @notice The organization to register at `account` was given an empty DID.
    /// @param account the address to register.
    error MembershipInvalidDid(address account);
    /// @notice The zero address can be neither the first governor nor an organization.
    error MembershipZeroAddress();

    event OrganizationRegistered(address indexed account, string did, string name);
    event OrganizationStatusChanged(address indexed account, bool active);

    /**
     * @notice Registers `account` as an organization with its DID and name.
     * Requirements: caller holds GOVERNOR_ROLE; `account` is non-zero and not
     * registered; `did` is non-empty.
     * Emits {OrganizationRegistered}.
     */
    function registerOrganization(address account, string calldata did, string calldata name) external;

    /**
     * @notice Activates or deactivates an organization; a deactivated
     * organization keeps its roles on record but cannot use them.
     * Requirements: caller holds GOVERNOR_ROLE; `account` is registered.
     * Emits {OrganizationStatusChanged}.
     */
    function setOrganizationActive(address account, bool active) external;

    /// @notice The organization registered at `account` (empty `did` when none).
    function organization(address account) external view returns (Organization memory);

    /**
     * @notice Reverts unless `account` may write with `role` right now:
     * it holds `role`, is not a deactivated organization, and the consortium
     * is not paused. Other contracts call this once per transaction.
     */
    function authorize(bytes32 role, address account) external view;

    /// @notice Whether {authorize} would pass (ignoring the pause switch).
    function isAuthorized(bytes32 role, address account) external view returns (bool);

    /// @notice Stops every writer. Requirements: caller holds GOVERNOR_ROLE.
    function pause() external;

    /// @notice Resumes writers. Requirements: caller holds GOVERNOR_ROLE.
    function unpause() external;

    /// @notice Whether writers are stopped.
    function paused() external view returns (bool);
}
