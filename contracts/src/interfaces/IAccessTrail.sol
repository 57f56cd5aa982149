// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Anchors of the members' API access trails.
/// @notice Each member's API server keeps a hash-chained trail of who called it; the member
/// anchors the trail's head here (the last entry's hash and the number of entries), so a
/// trail edited, truncated or rewritten after an anchor no longer matches the chain.
interface IAccessTrail {
    /// @dev The latest head an organization anchored; `anchoredAt` zero: none yet.
    struct Anchor {
        bytes32 head;
        uint64 entryCount;
        uint64 anchoredAt;
    }

    /// @notice The contract was deployed without a Membership to ask.
    error AccessTrailZeroAddress();
    /// @notice A zero head names no trail.
    error AccessTrailZeroHead();
    /// @notice `account` is no registered, active organization holding a consortium role.
    /// @param account the refused caller.
    error AccessTrailUnauthorizedAccount(address account);
    /// @notice A trail only grows: `entryCount` must exceed the count anchored last.
    /// @param organization the anchoring organization.
    /// @param latest the entry count it anchored last.
    /// @param entryCount the entry count it tried to anchor.
    error AccessTrailCountNotIncreasing(address organization, uint64 latest, uint64 entryCount);

    /// @notice `organization` anchored its trail's `head` after `entryCount` entries.
    event TrailAnchored(address indexed organization, bytes32 head, uint64 entryCount);

    /// @notice Anchor the caller's trail head.
    /// @dev Requirements:
    /// - the caller is a registered, active organization holding any consortium role;
    /// - `head` is not zero;
    /// - `entryCount` exceeds the caller's latest anchored count.
    ///
    /// Emits {TrailAnchored}.
    function anchor(bytes32 head, uint64 entryCount) external;

    /// @notice The latest head `organization` anchored (zeroes when none).
    function latest(address organization) external view returns (Anchor memory);
}
