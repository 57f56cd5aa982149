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

    error AccessTrailZeroAddress();
    error AccessTrailZeroHead();
    /// @dev `account` is no active organization holding a role.
    error AccessTrailUnauthorizedAccount(address account);
    /// @dev A trail only grows: `entryCount` must exceed the count anchored last (`latest`).
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
