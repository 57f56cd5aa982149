// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {MembershipGated} from "./MembershipGated.sol";
import {IAccessTrail} from "./interfaces/IAccessTrail.sol";
import {IMembership} from "./interfaces/IMembership.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title Anchors of the members' API access trails (see {IAccessTrail}).
/// @notice Keeps each organization's latest head; every anchor is in its {TrailAnchored} log.
contract AccessTrail is IAccessTrail, MembershipGated {
    mapping(address organization => Anchor) private _latest;

    /// @param membership_ the contract that says who is an active member.
    constructor(IMembership membership_) MembershipGated(membership_) {
        if (address(membership_) == address(0)) revert AccessTrailZeroAddress();
    }

    modifier onlyActiveMember() {
        _checkActiveMember(msg.sender);
        _;
    }

    /// @inheritdoc IAccessTrail
    /// @dev Allowed while the consortium is paused: a pause stops ledger writes, and who
    /// looked at what during one is worth keeping.
    function anchor(bytes32 head, uint64 entryCount) external onlyActiveMember {
        _checkAnchor(msg.sender, head, entryCount);
        _doAnchor(msg.sender, head, entryCount);
    }

    /// @inheritdoc IAccessTrail
    function latest(address organization) external view returns (Anchor memory) {
        return _latest[organization];
    }

    /// @dev A registered organization holding at least one role it may use (`isAuthorized`
    /// is false for every role of a deactivated one). Not `_checkAuthorized`: any role will
    /// do, and the pause does not stop anchoring.
    function _checkActiveMember(address account) internal view {
        if (!_isOrganization(account)) revert AccessTrailUnauthorizedAccount(account);
        IMembership membership = IMembership(_membershipAddress());
        bytes32[6] memory roles =
            [Roles.GOVERNOR, Roles.OPERATOR, Roles.ORACLE, Roles.QUALITY, Roles.ISSUER, Roles.AUDITOR];
        for (uint256 i; i < roles.length; ++i) {
            if (membership.isAuthorized(roles[i], account)) return;
        }
        revert AccessTrailUnauthorizedAccount(account);
    }

    function _checkAnchor(address organization, bytes32 head, uint64 entryCount) internal view {
        if (head == bytes32(0)) revert AccessTrailZeroHead();
        uint64 previous = _latest[organization].entryCount;
        if (entryCount <= previous) revert AccessTrailCountNotIncreasing(organization, previous, entryCount);
    }

    function _doAnchor(address organization, bytes32 head, uint64 entryCount) internal {
        _latest[organization] = Anchor({head: head, entryCount: entryCount, anchoredAt: uint64(block.timestamp)});
        emit TrailAnchored(organization, head, entryCount);
    }
}
