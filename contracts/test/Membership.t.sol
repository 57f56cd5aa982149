// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {Membership} from "../src/Membership.sol";
import {IMembership} from "../src/interfaces/IMembership.sol";
import {Test} from "./utils/Test.sol";

contract MembershipTest is Test {
    Membership internal membership;

    address internal governor;
    address internal operator;
    address internal outsider;

    bytes32 internal constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    bytes32 internal constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    function setUp() public {
        governor = makeAddr("governor");
        operator = makeAddr("operator");
        outsider = makeAddr("outsider");
        membership = new Membership(governor);
        vm.prank(governor);
        membership.grantRole(OPERATOR_ROLE, operator);
    }

    // ---------------------------------------------------------------- constructor & roles

    function test_RoleConstants_AreKeccakOfTheirNames() public view {
        assertEq(membership.GOVERNOR_ROLE(), keccak256("GOVERNOR_ROLE"), "GOVERNOR_ROLE");
        assertEq(membership.OPERATOR_ROLE(), keccak256("OPERATOR_ROLE"), "OPERATOR_ROLE");
        assertEq(membership.ORACLE_ROLE(), keccak256("ORACLE_ROLE"), "ORACLE_ROLE");
        assertEq(membership.QUALITY_ROLE(), keccak256("QUALITY_ROLE"), "QUALITY_ROLE");
        assertEq(membership.ISSUER_ROLE(), keccak256("ISSUER_ROLE"), "ISSUER_ROLE");
        assertEq(membership.AUDITOR_ROLE(), keccak256("AUDITOR_ROLE"), "AUDITOR_ROLE");
        assertEq(membership.QUARANTINE_ROLE(), keccak256("QUARANTINE_ROLE"), "QUARANTINE_ROLE");
    }

    function test_Constructor_MakesGovernorAdminOfEveryRole() public view {
        assertTrue(membership.hasRole(GOVERNOR_ROLE, governor), "governor holds GOVERNOR_ROLE");
        assertFalse(membership.hasRole(membership.DEFAULT_ADMIN_ROLE(), governor), "nobody holds DEFAULT_ADMIN_ROLE");
        bytes32[7] memory roles = _allRoles();
        for (uint256 i; i < roles.length; ++i) {
            assertEq(membership.getRoleAdmin(roles[i]), GOVERNOR_ROLE, "GOVERNOR_ROLE administers every role");
        }
        assertFalse(membership.paused(), "starts unpaused");
    }

    function test_Constructor_RevertsOnZeroGovernor() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipZeroAddress.selector));
        new Membership(address(0));
    }

    function test_GrantRole_ByGovernorEmitsRoleGranted() public {
        address quality = makeAddr("quality");
        bytes32 role = membership.QUALITY_ROLE();
        vm.expectEmit(address(membership));
        emit IAccessControl.RoleGranted(role, quality, governor);
        vm.prank(governor);
        membership.grantRole(role, quality);
        assertTrue(membership.hasRole(role, quality), "role granted");
    }

    function test_GrantRole_GovernorCanAddGovernor() public {
        address second = makeAddr("second governor");
        vm.prank(governor);
        membership.grantRole(GOVERNOR_ROLE, second);
        vm.prank(second);
        membership.pause();
        assertTrue(membership.paused(), "second governor can pause");
    }

    function test_GrantRole_RevertsForNonGovernor() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, operator, GOVERNOR_ROLE)
        );
        vm.prank(operator);
        membership.grantRole(OPERATOR_ROLE, outsider);
    }

    function test_GrantRole_RevertsForDeactivatedGovernorOrganization() public {
        _registerAndDeactivate(governor);
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, governor, GOVERNOR_ROLE)
        );
        vm.prank(governor);
        membership.grantRole(OPERATOR_ROLE, outsider);
    }

    function test_RevokeRole_ByGovernorEmitsRoleRevoked() public {
        vm.expectEmit(address(membership));
        emit IAccessControl.RoleRevoked(OPERATOR_ROLE, operator, governor);
        vm.prank(governor);
        membership.revokeRole(OPERATOR_ROLE, operator);
        assertFalse(membership.isAuthorized(OPERATOR_ROLE, operator), "revoked role no longer authorizes");
    }

    function test_RevokeRole_RevertsForNonGovernor() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, outsider, GOVERNOR_ROLE)
        );
        vm.prank(outsider);
        membership.revokeRole(OPERATOR_ROLE, operator);
    }

    function test_GrantRole_UnlistedRoleHasNoAdmin() public {
        bytes32 unlisted = keccak256("UNLISTED_ROLE");
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, governor, membership.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(governor);
        membership.grantRole(unlisted, outsider);
    }

    // ---------------------------------------------------------------- organizations

    function test_RegisterOrganization_StoresAndEmits() public {
        vm.warp(1_700_000_000);
        vm.expectEmit(address(membership));
        emit IMembership.OrganizationRegistered(operator, "did:pkh:eip155:31337:0xabc", "Acme Pharma");
        vm.prank(governor);
        membership.registerOrganization(operator, "did:pkh:eip155:31337:0xabc", "Acme Pharma");

        IMembership.Organization memory org = membership.organization(operator);
        assertEq(org.did, "did:pkh:eip155:31337:0xabc", "did stored");
        assertEq(org.name, "Acme Pharma", "name stored");
        assertTrue(org.active, "registered active");
        assertEq(org.registeredAt, 1_700_000_000, "registeredAt is the block time");
    }

    function test_Organization_UnknownHasEmptyDid() public view {
        IMembership.Organization memory org = membership.organization(outsider);
        assertEq(bytes(org.did).length, 0, "empty did");
        assertFalse(org.active, "not active");
        assertEq(org.registeredAt, 0, "never registered");
    }

    function test_RegisterOrganization_RevertsForNonGovernor() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, operator, GOVERNOR_ROLE)
        );
        vm.prank(operator);
        membership.registerOrganization(outsider, "did:x", "X");
    }

    function test_RegisterOrganization_RevertsOnZeroAccount() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipZeroAddress.selector));
        vm.prank(governor);
        membership.registerOrganization(address(0), "did:x", "X");
    }

    function test_RegisterOrganization_RevertsOnEmptyDid() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidDid.selector, outsider));
        vm.prank(governor);
        membership.registerOrganization(outsider, "", "X");
    }

    function test_RegisterOrganization_RevertsWhenAlreadyRegistered() public {
        vm.startPrank(governor);
        membership.registerOrganization(outsider, "did:x", "X");
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipOrganizationExists.selector, outsider));
        membership.registerOrganization(outsider, "did:y", "Y");
        vm.stopPrank();
    }

    function test_SetOrganizationActive_TogglesAndEmits() public {
        vm.startPrank(governor);
        membership.registerOrganization(operator, "did:op", "Operator");
        vm.expectEmit(address(membership));
        emit IMembership.OrganizationStatusChanged(operator, false);
        membership.setOrganizationActive(operator, false);
        assertFalse(membership.organization(operator).active, "deactivated");
        assertTrue(membership.hasRole(OPERATOR_ROLE, operator), "roles stay on record");

        vm.expectEmit(address(membership));
        emit IMembership.OrganizationStatusChanged(operator, true);
        membership.setOrganizationActive(operator, true);
        vm.stopPrank();
        assertTrue(membership.organization(operator).active, "reactivated");
        assertTrue(membership.isAuthorized(OPERATOR_ROLE, operator), "authorized again");
    }

    function test_SetOrganizationActive_RevertsForNonGovernor() public {
        vm.prank(governor);
        membership.registerOrganization(operator, "did:op", "Operator");
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, operator, GOVERNOR_ROLE)
        );
        vm.prank(operator);
        membership.setOrganizationActive(operator, true);
    }

    function test_SetOrganizationActive_RevertsForUnknownOrganization() public {
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnknownOrganization.selector, outsider));
        vm.prank(governor);
        membership.setOrganizationActive(outsider, true);
    }

    // ---------------------------------------------------------------- pause

    function test_Pause_ByGovernorEmitsAndBlocksWriters() public {
        vm.expectEmit(address(membership));
        emit Pausable.Paused(governor);
        vm.prank(governor);
        membership.pause();
        assertTrue(membership.paused(), "paused");

        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipPaused.selector));
        membership.authorize(OPERATOR_ROLE, operator);
        assertTrue(membership.isAuthorized(OPERATOR_ROLE, operator), "isAuthorized ignores the pause");
    }

    function test_Unpause_ByGovernorEmitsAndResumesWriters() public {
        vm.startPrank(governor);
        membership.pause();
        vm.expectEmit(address(membership));
        emit Pausable.Unpaused(governor);
        membership.unpause();
        vm.stopPrank();
        assertFalse(membership.paused(), "unpaused");
        membership.authorize(OPERATOR_ROLE, operator);
    }

    function test_Pause_RevertsForNonGovernor() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, outsider, GOVERNOR_ROLE)
        );
        vm.prank(outsider);
        membership.pause();
    }

    function test_Unpause_RevertsForNonGovernor() public {
        vm.prank(governor);
        membership.pause();
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, operator, GOVERNOR_ROLE)
        );
        vm.prank(operator);
        membership.unpause();
    }

    function test_Pause_RevertsForDeactivatedGovernorOrganization() public {
        _registerAndDeactivate(governor);
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, governor, GOVERNOR_ROLE)
        );
        vm.prank(governor);
        membership.pause();
    }

    function test_Pause_RevertsWhenAlreadyPaused() public {
        vm.startPrank(governor);
        membership.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        membership.pause();
        vm.stopPrank();
    }

    function test_Unpause_RevertsWhenNotPaused() public {
        vm.expectRevert(abi.encodeWithSelector(Pausable.ExpectedPause.selector));
        vm.prank(governor);
        membership.unpause();
    }

    function test_GovernanceStillWorksWhilePaused() public {
        vm.startPrank(governor);
        membership.pause();
        membership.registerOrganization(outsider, "did:x", "X");
        membership.grantRole(OPERATOR_ROLE, outsider);
        vm.stopPrank();
        assertTrue(membership.isAuthorized(OPERATOR_ROLE, outsider), "granted while paused");
    }

    // ---------------------------------------------------------------- authorize

    function test_Authorize_PassesForRoleHolder() public view {
        membership.authorize(OPERATOR_ROLE, operator);
        assertTrue(membership.isAuthorized(OPERATOR_ROLE, operator), "operator authorized");
    }

    function test_Authorize_PassesForUnregisteredContractWithRole() public {
        address compliance = address(this);
        bytes32 role = membership.QUARANTINE_ROLE();
        vm.prank(governor);
        membership.grantRole(role, compliance);
        membership.authorize(role, compliance);
    }

    function test_Authorize_RevertsWithoutRole() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, outsider, OPERATOR_ROLE)
        );
        membership.authorize(OPERATOR_ROLE, outsider);
        assertFalse(membership.isAuthorized(OPERATOR_ROLE, outsider), "outsider not authorized");
    }

    function test_Authorize_RevertsForDeactivatedOrganization() public {
        _registerAndDeactivate(operator);
        vm.expectRevert(
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, operator, OPERATOR_ROLE)
        );
        membership.authorize(OPERATOR_ROLE, operator);
        assertFalse(membership.isAuthorized(OPERATOR_ROLE, operator), "deactivated org not authorized");
    }

    function test_Authorize_PassesForActiveOrganization() public {
        vm.prank(governor);
        membership.registerOrganization(operator, "did:op", "Operator");
        membership.authorize(OPERATOR_ROLE, operator);
    }

    function test_Authorize_PauseCheckedBeforeRole() public {
        vm.prank(governor);
        membership.pause();
        vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipPaused.selector));
        membership.authorize(OPERATOR_ROLE, outsider);
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_IsAuthorized_MatchesRoleAndOrganizationStatus(
        address account,
        uint256 roleSeed,
        bool grant,
        bool registered,
        bool active,
        bool paused
    ) public {
        account = address(uint160(bound(uint160(account), 1, type(uint160).max)));
        bytes32 role = _allRoles()[bound(roleSeed, 1, 6)];
        vm.startPrank(governor);
        if (grant) membership.grantRole(role, account);
        if (paused) membership.pause();
        if (registered) {
            membership.registerOrganization(account, "did:fuzz", "Fuzz");
            membership.setOrganizationActive(account, active);
        }
        vm.stopPrank();

        bool holds = membership.hasRole(role, account);
        bool expected = holds && (!registered || active);
        assertEq(membership.isAuthorized(role, account), expected, "isAuthorized = role && (unregistered || active)");

        if (paused) {
            vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipPaused.selector));
        } else if (!expected) {
            vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, account, role));
        }
        membership.authorize(role, account);
    }

    function testFuzz_RegisterOrganization_StoresAnyDidAndName(
        address account,
        string calldata did,
        string calldata name
    ) public {
        account = address(uint160(bound(uint160(account), 1, type(uint160).max)));
        if (bytes(did).length == 0) {
            vm.expectRevert(abi.encodeWithSelector(IMembership.MembershipInvalidDid.selector, account));
        }
        vm.prank(governor);
        membership.registerOrganization(account, did, name);
        if (bytes(did).length == 0) return;
        IMembership.Organization memory org = membership.organization(account);
        assertEq(org.did, did, "did round-trips");
        assertEq(org.name, name, "name round-trips");
        assertTrue(org.active, "active on registration");
    }

    function testFuzz_GovernorOnly_RevertsForAnyOtherCaller(address caller) public {
        if (caller == governor) caller = outsider;
        bytes memory unauthorized =
            abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, caller, GOVERNOR_ROLE);
        vm.startPrank(caller);
        vm.expectRevert(unauthorized);
        membership.pause();
        vm.expectRevert(unauthorized);
        membership.registerOrganization(outsider, "did:x", "X");
        vm.expectRevert(unauthorized);
        membership.setOrganizationActive(outsider, false);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- helpers

    function _allRoles() internal view returns (bytes32[7] memory) {
        return [
            membership.GOVERNOR_ROLE(),
            membership.OPERATOR_ROLE(),
            membership.ORACLE_ROLE(),
            membership.QUALITY_ROLE(),
            membership.ISSUER_ROLE(),
            membership.AUDITOR_ROLE(),
            membership.QUARANTINE_ROLE()
        ];
    }

    function _registerAndDeactivate(address account) internal {
        vm.startPrank(governor);
        membership.registerOrganization(account, "did:org", "Org");
        membership.setOrganizationActive(account, false);
        vm.stopPrank();
    }
}
