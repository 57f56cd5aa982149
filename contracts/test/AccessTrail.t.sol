// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessTrail} from "../src/AccessTrail.sol";
import {IAccessTrail} from "../src/interfaces/IAccessTrail.sol";
import {IMembership} from "../src/interfaces/IMembership.sol";
import {Roles} from "../src/libraries/Roles.sol";
import {ConsortiumBase} from "./utils/ConsortiumBase.sol";

contract AccessTrailTest is ConsortiumBase {
    AccessTrail internal trail;

    address internal auditor;
    bytes32 internal constant HEAD = keccak256("head after 10 entries");
    uint64 internal constant T0 = 1_800_000_000;

    event TrailAnchored(address indexed organization, bytes32 head, uint64 entryCount);

    function setUp() public {
        _deployConsortium();
        trail = new AccessTrail(membership);
        auditor = makeAddr("auditor");
        _enrol(auditor, Roles.AUDITOR, "did:pkh:eip155:31337:auditor", "Auditor");
        vm.warp(T0);
    }

    function test_AnchorStoresTheLatestHeadAndEmits() public {
        vm.expectEmit(address(trail));
        emit TrailAnchored(operator, HEAD, 10);
        vm.prank(operator);
        trail.anchor(HEAD, 10);

        IAccessTrail.Anchor memory latest = trail.latest(operator);
        assertEq(latest.head, HEAD, "head");
        assertEq(latest.entryCount, 10, "count");
        assertEq(latest.anchoredAt, T0, "anchored at");
        assertEq(trail.latest(auditor).anchoredAt, 0, "another organization's is untouched");
    }

    function test_EachOrganizationKeepsItsOwnHead() public {
        vm.prank(operator);
        trail.anchor(HEAD, 10);
        vm.prank(auditor);
        trail.anchor(keccak256("auditor head"), 3);
        assertEq(trail.latest(operator).entryCount, 10, "operator's count");
        assertEq(trail.latest(auditor).entryCount, 3, "auditor's count");
    }

    function test_RevertWhen_CountDoesNotIncrease() public {
        vm.startPrank(operator);
        trail.anchor(HEAD, 10);
        vm.expectRevert(abi.encodeWithSelector(IAccessTrail.AccessTrailCountNotIncreasing.selector, operator, 10, 10));
        trail.anchor(keccak256("rewritten"), 10);
        vm.expectRevert(abi.encodeWithSelector(IAccessTrail.AccessTrailCountNotIncreasing.selector, operator, 10, 9));
        trail.anchor(keccak256("truncated"), 9);
        vm.stopPrank();
        assertEq(trail.latest(operator).head, HEAD, "the first anchor stands");
    }

    function test_RevertWhen_HeadIsZero() public {
        vm.prank(operator);
        vm.expectRevert(IAccessTrail.AccessTrailZeroHead.selector);
        trail.anchor(bytes32(0), 1);
    }

    function test_RevertWhen_CallerIsNoOrganization() public {
        _grant(Roles.OPERATOR, outsider); // a role, but no organization
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(IAccessTrail.AccessTrailUnauthorizedAccount.selector, outsider));
        trail.anchor(HEAD, 1);
    }

    function test_RevertWhen_OrganizationIsDeactivated() public {
        _deactivate(operator);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(IAccessTrail.AccessTrailUnauthorizedAccount.selector, operator));
        trail.anchor(HEAD, 1);
    }

    function test_RevertWhen_OrganizationHoldsNoRole() public {
        vm.prank(governor);
        membership.revokeRole(Roles.AUDITOR, auditor);
        vm.prank(auditor);
        vm.expectRevert(abi.encodeWithSelector(IAccessTrail.AccessTrailUnauthorizedAccount.selector, auditor));
        trail.anchor(HEAD, 1);
    }

    function test_AnchoringGoesOnWhileThePauseStopsTheLedger() public {
        _pause();
        vm.prank(operator);
        trail.anchor(HEAD, 1);
        assertEq(trail.latest(operator).entryCount, 1, "anchored during a pause");
    }

    function test_RevertWhen_MembershipIsZero() public {
        vm.expectRevert(IAccessTrail.AccessTrailZeroAddress.selector);
        new AccessTrail(IMembership(address(0)));
    }

    function testFuzz_OnlyGrowingCountsAreAnchored(uint64 first, uint64 second) public {
        first = uint64(bound(first, 1, type(uint64).max));
        vm.startPrank(operator);
        trail.anchor(HEAD, first);
        if (second <= first) {
            vm.expectRevert(
                abi.encodeWithSelector(IAccessTrail.AccessTrailCountNotIncreasing.selector, operator, first, second)
            );
        }
        trail.anchor(keccak256("next"), second);
        vm.stopPrank();
        assertEq(trail.latest(operator).entryCount, second > first ? second : first, "latest count");
    }
}
