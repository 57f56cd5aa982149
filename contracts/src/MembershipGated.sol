// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IMembership} from "./interfaces/IMembership.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title The membership check, written once for the contracts the consortium writes to.
/// @notice After OpenZeppelin's `AccessManaged`: the Membership is fixed at construction and
/// every question about roles and organizations goes to it, through this contract alone.
/// A refused writer gets Membership's own errors ({IMembership-MembershipUnauthorizedAccount},
/// {IMembership-MembershipPaused}), passed through unchanged.
abstract contract MembershipGated {
    IMembership private immutable _membership;

    /// @param membership_ the contract that authorizes every writer.
    constructor(IMembership membership_) {
        _membership = membership_;
    }

    /// @dev The caller holds `role`, is not a deactivated organization, and the consortium is
    /// not paused. The call is written out, not `_checkAuthorized(role)`: the optimizer leaves
    /// that jump in, ~25 gas on every anchoring and every reading submission.
    modifier onlyAuthorized(bytes32 role) {
        _membership.authorize(role, msg.sender);
        _;
    }

    /// @dev {onlyAuthorized} for a role known only at run time.
    function _checkAuthorized(bytes32 role) internal view {
        _membership.authorize(role, msg.sender);
    }

    /// @dev Whether `account` holds GOVERNOR_ROLE and is not a deactivated organization (the
    /// pause switch aside).
    function _isGovernor(address account) internal view returns (bool) {
        return _membership.isAuthorized(Roles.GOVERNOR, account);
    }

    /// @dev Whether `account` is a registered organization, active or not.
    function _isOrganization(address account) internal view returns (bool) {
        return _membership.organization(account).registeredAt != 0;
    }

    /// @dev The Membership, for a contract whose interface names it.
    function _membershipAddress() internal view returns (address) {
        return address(_membership);
    }
}
