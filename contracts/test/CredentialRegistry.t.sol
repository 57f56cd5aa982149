// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {CredentialRegistry} from "../src/CredentialRegistry.sol";
import {ICredentialRegistry} from "../src/interfaces/ICredentialRegistry.sol";
import {IMembership} from "../src/interfaces/IMembership.sol";
import {IProvenanceLedger} from "../src/interfaces/IProvenanceLedger.sol";
import {Roles} from "../src/libraries/Roles.sol";
import {ConsortiumBase} from "./utils/ConsortiumBase.sol";

contract CredentialRegistryTest is ConsortiumBase {
    CredentialRegistry internal registry;

    address internal issuer;
    address internal otherIssuer;

    bytes32 internal lot;

    bytes32 internal constant CREDENTIAL = keccak256("vc:calibration:logger-7");
    bytes32 internal constant CALIBRATION = keccak256("CalibrationCertificate");
    bytes32 internal constant FIT_FOR_USE = keccak256("FitForUseCertificate");
    /// @dev The trust-list tests' own type: setUp trusts both issuers for CALIBRATION.
    bytes32 internal constant QUALIFICATION = keccak256("OperatorQualification");
    string internal constant ASSET_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
    bytes32 internal constant SUBJECT = keccak256(bytes(ASSET_DID));
    uint64 internal constant T0 = 1_800_000_000;

    ICredentialRegistry.CredentialStatus internal constant NONE = ICredentialRegistry.CredentialStatus.NONE;
    ICredentialRegistry.CredentialStatus internal constant VALID = ICredentialRegistry.CredentialStatus.VALID;
    ICredentialRegistry.CredentialStatus internal constant REVOKED = ICredentialRegistry.CredentialStatus.REVOKED;
    ICredentialRegistry.CredentialStatus internal constant SUSPENDED = ICredentialRegistry.CredentialStatus.SUSPENDED;
    ICredentialRegistry.CredentialStatus internal constant EXPIRED = ICredentialRegistry.CredentialStatus.EXPIRED;

    function setUp() public {
        _deployConsortium();
        issuer = makeAddr("issuer");
        otherIssuer = makeAddr("other-issuer");
        registry = new CredentialRegistry(membership, ledger);

        _enrol(issuer, Roles.ISSUER, "did:pkh:eip155:31337:issuer", "Calibration Lab");
        _grant(Roles.ISSUER, otherIssuer);
        _grant(Roles.QUALITY, quality);
        _grant(Roles.QUARANTINE, quality);

        vm.warp(T0);
        vm.startPrank(governor);
        registry.setTrusted(issuer, CALIBRATION, true);
        registry.setTrusted(otherIssuer, CALIBRATION, true);
        vm.stopPrank();
        vm.prank(operator);
        lot = ledger.createBatch(
            IProvenanceLedger.BatchKind.LOT,
            keccak256("vaccine"),
            new bytes32[](0),
            "https://id.gs1.org/01/09506000134352/10/1"
        );
    }

    // ---------------------------------------------------------------- anchor

    function test_Anchor_StoresCredentialIssuedByCallerAndEmits() public {
        vm.expectEmit(address(registry));
        emit ICredentialRegistry.CredentialAnchored(CREDENTIAL, issuer, SUBJECT, CALIBRATION, T0 + 365 days, lot);
        vm.prank(issuer);
        registry.anchor(CREDENTIAL, CALIBRATION, SUBJECT, T0 + 365 days, lot);

        ICredentialRegistry.Credential memory c = registry.credential(CREDENTIAL);
        assertEq(c.issuer, issuer, "issuer is the caller");
        assertEq(c.typeHash, CALIBRATION, "typeHash");
        assertEq(c.subjectHash, SUBJECT, "subjectHash");
        assertEq(c.anchoredAt, T0, "anchoredAt");
        assertEq(c.validUntil, T0 + 365 days, "validUntil");
        assertEq(c.suspendsWithBatch, lot, "suspendsWithBatch");
        assertFalse(c.revoked, "not revoked");
        assertFalse(c.suspended, "not suspended");
        _assertStatus(CREDENTIAL, VALID, "valid once anchored");
    }

    function test_Credential_UnknownIsEmptyWithStatusNone() public view {
        ICredentialRegistry.Credential memory c = registry.credential(CREDENTIAL);
        assertEq(c.anchoredAt, 0, "not anchored");
        assertEq(c.issuer, address(0), "no issuer");
        _assertStatus(CREDENTIAL, NONE, "unknown");
    }

    function test_Anchor_WritesFourSlots() public {
        vm.record();
        vm.prank(issuer);
        registry.anchor(CREDENTIAL, CALIBRATION, SUBJECT, T0 + 1 days, lot);
        (, bytes32[] memory writes) = vm.accesses(address(registry));
        assertEq(_distinct(writes), 4, "issuer, timestamps and flags share a slot; one per hash");
    }

    function test_Anchor_RevertsForCallersWithoutIssuerRole() public {
        address[4] memory callers = [outsider, governor, operator, quality];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.ISSUER));
            vm.prank(callers[i]);
            registry.anchor(CREDENTIAL, CALIBRATION, SUBJECT, 0, bytes32(0));
        }
        _assertStatus(CREDENTIAL, NONE, "nothing anchored");
    }

    function test_Anchor_RevertsForDeactivatedIssuer() public {
        _deactivate(issuer);
        vm.expectRevert(_unauthorized(issuer, Roles.ISSUER));
        vm.prank(issuer);
        registry.anchor(CREDENTIAL, CALIBRATION, SUBJECT, 0, bytes32(0));
    }

    function test_Anchor_RevertsOnZeroHashesAndUnknownBatch() public {
        bytes32 missing = keccak256("missing");
        vm.startPrank(issuer);
        vm.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryZeroHash.selector));
        registry.anchor(bytes32(0), CALIBRATION, SUBJECT, 0, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryZeroTypeHash.selector));
        registry.anchor(CREDENTIAL, bytes32(0), SUBJECT, 0, bytes32(0));
        vm.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownBatch.selector, missing));
        registry.anchor(CREDENTIAL, CALIBRATION, SUBJECT, 0, missing);
        vm.stopPrank();
        _assertStatus(CREDENTIAL, NONE, "nothing anchored");
    }

    function test_Anchor_RevertsForAnIssuerNotTrustedForTheType() public {
        vm.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryIssuerNotTrusted.selector, issuer, FIT_FOR_USE)
        );
        vm.prank(issuer);
        registry.anchor(CREDENTIAL, FIT_FOR_USE, SUBJECT, 0, lot);
        _assertStatus(CREDENTIAL, NONE, "nothing anchored");
    }

    /// @dev A credential signed while the issuer was trusted (a backdated issuanceDate looks
    /// the same) cannot be anchored once the governor took the issuer off the list.
    function test_Anchor_RevertsOnceTheIssuerIsTakenOffTheTrustList() public {
        vm.warp(T0 + 1 days);
        vm.prank(governor);
        registry.setTrusted(issuer, CALIBRATION, false);
        vm.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryIssuerNotTrusted.selector, issuer, CALIBRATION)
        );
        vm.prank(issuer);
        registry.anchor(CREDENTIAL, CALIBRATION, SUBJECT, 0, bytes32(0));
        _assertStatus(CREDENTIAL, NONE, "nothing anchored");
    }

    function test_Anchor_AcceptsAnAnonymousSubject() public {
        vm.prank(issuer);
        registry.anchor(CREDENTIAL, CALIBRATION, bytes32(0), 0, bytes32(0));
        assertEq(registry.credential(CREDENTIAL).subjectHash, bytes32(0), "no subject");
        _assertStatus(CREDENTIAL, VALID, "valid");
    }

    function test_Anchor_RevertsWhenAlreadyAnchoredByAnyone() public {
        _anchor(issuer, CREDENTIAL, 0, bytes32(0));
        address[2] memory callers = [issuer, otherIssuer];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    ICredentialRegistry.CredentialRegistryAlreadyAnchored.selector, CREDENTIAL, issuer
                )
            );
            vm.prank(callers[i]);
            registry.anchor(CREDENTIAL, FIT_FOR_USE, SUBJECT, 1, bytes32(0));
        }
        ICredentialRegistry.Credential memory c = registry.credential(CREDENTIAL);
        assertEq(c.issuer, issuer, "first issuer kept");
        assertEq(c.typeHash, CALIBRATION, "first type kept");
    }

    function test_Anchor_RevertsOnValidUntilPast40Bits() public {
        uint64 tooLate = uint64(type(uint40).max) + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                ICredentialRegistry.CredentialRegistryInvalidValidUntil.selector, CREDENTIAL, tooLate
            )
        );
        vm.prank(issuer);
        registry.anchor(CREDENTIAL, CALIBRATION, SUBJECT, tooLate, bytes32(0));

        _anchor(issuer, CREDENTIAL, type(uint40).max, bytes32(0));
        assertEq(registry.credential(CREDENTIAL).validUntil, type(uint40).max, "largest validUntil kept");
    }

    // ---------------------------------------------------------------- revoke

    function test_Revoke_ByIssuerIsFinal() public {
        _anchor(issuer, CREDENTIAL, 0, bytes32(0));
        vm.expectEmit(address(registry));
        emit ICredentialRegistry.CredentialRevoked(CREDENTIAL, issuer, "key compromised");
        vm.prank(issuer);
        registry.revoke(CREDENTIAL, "key compromised");
        assertTrue(registry.credential(CREDENTIAL).revoked, "revoked flag");
        _assertStatus(CREDENTIAL, REVOKED, "revoked");

        bytes memory revoked =
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryRevoked.selector, CREDENTIAL);
        vm.startPrank(issuer);
        vm.expectRevert(revoked);
        registry.revoke(CREDENTIAL, "again");
        vm.expectRevert(revoked);
        registry.suspend(CREDENTIAL, "after revocation");
        vm.expectRevert(revoked);
        registry.unsuspend(CREDENTIAL, "after revocation");
        vm.stopPrank();
        _assertStatus(CREDENTIAL, REVOKED, "still revoked");
    }

    function test_Revoke_RevertsForAnotherIssuerAndOutsiders() public {
        _anchor(issuer, CREDENTIAL, 0, bytes32(0));
        vm.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotIssuer.selector, CREDENTIAL, otherIssuer)
        );
        vm.prank(otherIssuer);
        registry.revoke(CREDENTIAL, "not mine");

        address[3] memory callers = [outsider, governor, operator];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.ISSUER));
            vm.prank(callers[i]);
            registry.revoke(CREDENTIAL, "not mine");
        }
        _assertStatus(CREDENTIAL, VALID, "still valid");
    }

    function test_Revoke_RevertsOnUnknownCredential() public {
        vm.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownCredential.selector, CREDENTIAL)
        );
        vm.prank(issuer);
        registry.revoke(CREDENTIAL, "never anchored");
    }

    function test_Revoke_WinsOverEverySuspension() public {
        _anchor(issuer, CREDENTIAL, T0 + 1 days, lot);
        vm.startPrank(issuer);
        registry.suspend(CREDENTIAL, "under review");
        registry.revoke(CREDENTIAL, "review failed");
        vm.stopPrank();
        _quarantineLot();
        _assertStatus(CREDENTIAL, REVOKED, "revoked beats suspended and quarantined");
        vm.warp(T0 + 2 days);
        _assertStatus(CREDENTIAL, REVOKED, "revoked beats expired");
    }

    // ---------------------------------------------------------------- governor override

    /// @dev An issuer whose role was pulled (say, its key leaked) can no longer revoke; the
    /// governor revokes in its place, with the reason on record.
    function test_GovernorRevoke_RevokesWhenTheIssuerNoLongerCan() public {
        _anchor(issuer, CREDENTIAL, 0, bytes32(0));
        vm.prank(governor);
        membership.revokeRole(Roles.ISSUER, issuer);
        vm.expectRevert(_unauthorized(issuer, Roles.ISSUER));
        vm.prank(issuer);
        registry.revoke(CREDENTIAL, "key compromised");

        vm.expectEmit(address(registry));
        emit ICredentialRegistry.CredentialRevoked(CREDENTIAL, governor, "issuer key compromised");
        vm.prank(governor);
        registry.governorRevoke(CREDENTIAL, "issuer key compromised");
        _assertStatus(CREDENTIAL, REVOKED, "revoked by the governor");

        bytes memory revoked =
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryRevoked.selector, CREDENTIAL);
        vm.startPrank(governor);
        vm.expectRevert(revoked);
        registry.governorRevoke(CREDENTIAL, "again");
        vm.expectRevert(revoked);
        registry.governorSuspend(CREDENTIAL, "after revocation");
        vm.stopPrank();
    }

    function test_GovernorSuspend_OnlyAGovernorLiftsIt() public {
        _anchor(issuer, CREDENTIAL, 0, bytes32(0));
        vm.expectEmit(address(registry));
        emit ICredentialRegistry.CredentialSuspended(CREDENTIAL, governor, "issuer under investigation");
        vm.prank(governor);
        registry.governorSuspend(CREDENTIAL, "issuer under investigation");
        ICredentialRegistry.Credential memory c = registry.credential(CREDENTIAL);
        assertTrue(c.suspendedByGovernor, "governor's flag");
        assertFalse(c.suspended, "not the issuer's");
        _assertStatus(CREDENTIAL, SUSPENDED, "suspended by the governor");

        vm.startPrank(issuer);
        vm.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSuspended.selector, CREDENTIAL));
        registry.unsuspend(CREDENTIAL, "the issuer cannot lift it");
        registry.suspend(CREDENTIAL, "issuer's own review");
        vm.stopPrank();
        vm.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryAlreadySuspended.selector, CREDENTIAL)
        );
        vm.prank(governor);
        registry.governorSuspend(CREDENTIAL, "twice");

        vm.expectEmit(address(registry));
        emit ICredentialRegistry.CredentialUnsuspended(CREDENTIAL, governor, "cleared");
        vm.prank(governor);
        registry.governorUnsuspend(CREDENTIAL, "cleared");
        _assertStatus(CREDENTIAL, SUSPENDED, "the issuer's own suspension stays");
        vm.prank(issuer);
        registry.unsuspend(CREDENTIAL, "review done");
        _assertStatus(CREDENTIAL, VALID, "valid once both are lifted");

        vm.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSuspended.selector, CREDENTIAL));
        vm.prank(governor);
        registry.governorUnsuspend(CREDENTIAL, "not suspended");
    }

    function test_GovernorOverrides_RevertForOthersAndOnUnknownCredentials() public {
        _anchor(issuer, CREDENTIAL, 0, bytes32(0));
        address[4] memory callers = [issuer, otherIssuer, operator, outsider];
        for (uint256 i; i < callers.length; ++i) {
            vm.startPrank(callers[i]);
            vm.expectRevert(_unauthorized(callers[i], Roles.GOVERNOR));
            registry.governorRevoke(CREDENTIAL, "not a governor");
            vm.expectRevert(_unauthorized(callers[i], Roles.GOVERNOR));
            registry.governorSuspend(CREDENTIAL, "not a governor");
            vm.expectRevert(_unauthorized(callers[i], Roles.GOVERNOR));
            registry.governorUnsuspend(CREDENTIAL, "not a governor");
            vm.stopPrank();
        }
        _assertStatus(CREDENTIAL, VALID, "unchanged");

        bytes32 missing = keccak256("missing");
        bytes memory unknown =
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownCredential.selector, missing);
        vm.startPrank(governor);
        vm.expectRevert(unknown);
        registry.governorRevoke(missing, "never anchored");
        vm.expectRevert(unknown);
        registry.governorSuspend(missing, "never anchored");
        vm.expectRevert(unknown);
        registry.governorUnsuspend(missing, "never anchored");
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- suspend / unsuspend

    function test_SuspendAndUnsuspend_ByIssuer() public {
        _anchor(issuer, CREDENTIAL, 0, bytes32(0));
        vm.startPrank(issuer);
        vm.expectEmit(address(registry));
        emit ICredentialRegistry.CredentialSuspended(CREDENTIAL, issuer, "recalibration due");
        registry.suspend(CREDENTIAL, "recalibration due");
        assertTrue(registry.credential(CREDENTIAL).suspended, "suspended flag");
        _assertStatus(CREDENTIAL, SUSPENDED, "suspended");

        vm.expectEmit(address(registry));
        emit ICredentialRegistry.CredentialUnsuspended(CREDENTIAL, issuer, "recalibrated");
        registry.unsuspend(CREDENTIAL, "recalibrated");
        vm.stopPrank();
        assertFalse(registry.credential(CREDENTIAL).suspended, "flag cleared");
        _assertStatus(CREDENTIAL, VALID, "valid again");
    }

    function test_SuspendAndUnsuspend_RevertWhenStateAlreadySet() public {
        _anchor(issuer, CREDENTIAL, 0, bytes32(0));
        vm.startPrank(issuer);
        vm.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotSuspended.selector, CREDENTIAL));
        registry.unsuspend(CREDENTIAL, "not suspended");
        registry.suspend(CREDENTIAL, "review");
        vm.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryAlreadySuspended.selector, CREDENTIAL)
        );
        registry.suspend(CREDENTIAL, "review again");
        vm.stopPrank();
    }

    function test_SuspendAndUnsuspend_RevertForOthers() public {
        _anchor(issuer, CREDENTIAL, 0, bytes32(0));
        bytes memory notIssuer =
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotIssuer.selector, CREDENTIAL, otherIssuer);
        vm.startPrank(otherIssuer);
        vm.expectRevert(notIssuer);
        registry.suspend(CREDENTIAL, "not mine");
        vm.stopPrank();

        vm.prank(issuer);
        registry.suspend(CREDENTIAL, "review");
        vm.expectRevert(notIssuer);
        vm.prank(otherIssuer);
        registry.unsuspend(CREDENTIAL, "not mine");

        address[2] memory callers = [outsider, governor];
        for (uint256 i; i < callers.length; ++i) {
            vm.startPrank(callers[i]);
            vm.expectRevert(_unauthorized(callers[i], Roles.ISSUER));
            registry.unsuspend(CREDENTIAL, "not mine");
            vm.expectRevert(_unauthorized(callers[i], Roles.ISSUER));
            registry.suspend(CREDENTIAL, "not mine");
            vm.stopPrank();
        }
        _assertStatus(CREDENTIAL, SUSPENDED, "still suspended by its issuer");
    }

    function test_SuspendAndUnsuspend_RevertOnUnknownCredential() public {
        bytes memory unknown =
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownCredential.selector, CREDENTIAL);
        vm.startPrank(issuer);
        vm.expectRevert(unknown);
        registry.suspend(CREDENTIAL, "never anchored");
        vm.expectRevert(unknown);
        registry.unsuspend(CREDENTIAL, "never anchored");
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- batch suspension

    function test_Status_FollowsTheBatchQuarantineAndRelease() public {
        _assertStatusFollowsTheLot(ledger.quarantine, "quarantine suspends");
    }

    function test_Status_FollowsTheBatchRecall() public {
        _assertStatusFollowsTheLot(ledger.recall, "recall suspends");
    }

    function test_Status_UnaffectedByOtherBatches() public {
        _anchor(issuer, CREDENTIAL, 0, bytes32(0));
        _quarantineLot();
        _assertStatus(CREDENTIAL, VALID, "tied to no batch");
    }

    function test_Status_IssuerSuspensionOutlastsTheBatchRelease() public {
        _anchor(issuer, CREDENTIAL, 0, lot);
        _quarantineLot();
        vm.prank(issuer);
        registry.suspend(CREDENTIAL, "re-test the lot");
        _releaseLot();
        _assertStatus(CREDENTIAL, SUSPENDED, "the issuer's suspension stands");
        vm.prank(issuer);
        registry.unsuspend(CREDENTIAL, "re-tested");
        _assertStatus(CREDENTIAL, VALID, "valid");
    }

    // ---------------------------------------------------------------- expiry

    function test_Status_ExpiresAfterValidUntil() public {
        _anchor(issuer, CREDENTIAL, T0 + 30 days, bytes32(0));
        vm.warp(T0 + 30 days);
        _assertStatus(CREDENTIAL, VALID, "valid through its last second");
        vm.warp(T0 + 30 days + 1);
        _assertStatus(CREDENTIAL, EXPIRED, "expired after it");
    }

    function test_Status_ExpiredWinsOverSuspended() public {
        _anchor(issuer, CREDENTIAL, T0 + 30 days, lot);
        vm.prank(issuer);
        registry.suspend(CREDENTIAL, "review");
        _quarantineLot();
        vm.warp(T0 + 31 days);
        _assertStatus(CREDENTIAL, EXPIRED, "expiry is final, suspension is not");
    }

    // ---------------------------------------------------------------- statusMany

    function test_StatusMany_ReturnsEachStatusInOrder() public {
        bytes32[] memory hashes = new bytes32[](6);
        for (uint256 i; i < hashes.length; ++i) {
            hashes[i] = keccak256(abi.encode("credential", i));
        }
        _anchor(issuer, hashes[0], 0, bytes32(0));
        _anchor(issuer, hashes[1], 0, bytes32(0));
        _anchor(issuer, hashes[2], 0, bytes32(0));
        _anchor(issuer, hashes[3], T0 + 1, bytes32(0));
        _anchor(issuer, hashes[4], 0, lot);
        vm.startPrank(issuer);
        registry.revoke(hashes[1], "revoked");
        registry.suspend(hashes[2], "suspended");
        vm.stopPrank();
        _quarantineLot();
        vm.warp(T0 + 2);

        ICredentialRegistry.CredentialStatus[] memory statuses = registry.statusMany(hashes);
        assertEq(statuses.length, 6, "one status per hash");
        ICredentialRegistry.CredentialStatus[6] memory expected = [VALID, REVOKED, SUSPENDED, EXPIRED, SUSPENDED, NONE];
        for (uint256 i; i < hashes.length; ++i) {
            assertEq(uint256(statuses[i]), uint256(expected[i]), "status in order");
            assertEq(uint256(statuses[i]), uint256(registry.status(hashes[i])), "same as status()");
        }
        assertEq(registry.statusMany(new bytes32[](0)).length, 0, "empty in, empty out");
    }

    // ---------------------------------------------------------------- trust list

    function test_SetTrusted_KeepsTheHistory() public {
        vm.expectEmit(address(registry));
        emit ICredentialRegistry.TrustChanged(issuer, QUALIFICATION, true, T0 + 100);
        _setTrusted(T0 + 100, true);
        _setTrusted(T0 + 200, false);
        _setTrusted(T0 + 300, true);

        assertFalse(registry.trustedAt(issuer, QUALIFICATION, T0), "before it was trusted");
        assertFalse(registry.trustedAt(issuer, QUALIFICATION, T0 + 99), "the second before");
        assertTrue(registry.trustedAt(issuer, QUALIFICATION, T0 + 100), "from the change on");
        assertTrue(registry.trustedAt(issuer, QUALIFICATION, T0 + 199), "until the next change");
        assertFalse(registry.trustedAt(issuer, QUALIFICATION, T0 + 200), "untrusted");
        assertFalse(registry.trustedAt(issuer, QUALIFICATION, T0 + 299), "still untrusted");
        assertTrue(registry.trustedAt(issuer, QUALIFICATION, T0 + 300), "retrusted");
        assertTrue(registry.trustedAt(issuer, QUALIFICATION, type(uint64).max), "the far future is now");
        assertTrue(registry.trusted(issuer, QUALIFICATION), "trusted now");
        assertFalse(registry.trustedAt(issuer, QUALIFICATION, 0), "the epoch");
    }

    function test_SetTrusted_IsPerIssuerAndType() public {
        _setTrusted(T0 + 1, true);
        assertTrue(registry.trusted(issuer, QUALIFICATION), "the pair set");
        assertFalse(registry.trusted(issuer, FIT_FOR_USE), "another type");
        assertFalse(registry.trusted(otherIssuer, QUALIFICATION), "another issuer");
        assertFalse(registry.trustedAt(otherIssuer, QUALIFICATION, T0 + 1), "another issuer, then");
    }

    function test_SetTrusted_TheLastChangeInASecondDecidesIt() public {
        vm.warp(T0 + 10);
        vm.startPrank(governor);
        registry.setTrusted(issuer, QUALIFICATION, true);
        registry.setTrusted(issuer, QUALIFICATION, false);
        assertFalse(registry.trustedAt(issuer, QUALIFICATION, T0 + 10), "the second ends untrusted");
        registry.setTrusted(issuer, QUALIFICATION, true);
        vm.stopPrank();
        assertTrue(registry.trustedAt(issuer, QUALIFICATION, T0 + 10), "the second ends trusted");
        assertFalse(registry.trustedAt(issuer, QUALIFICATION, T0 + 9), "the second before");
        assertTrue(registry.trusted(issuer, QUALIFICATION), "trusted now");
    }

    /// @dev A gas estimate made in the second of the last change must hold for the next block.
    function test_SetTrusted_CostsTheSameInTheSecondOfTheLastChangeAndAfter() public {
        vm.warp(T0 + 10);
        vm.startPrank(governor);
        registry.setTrusted(issuer, QUALIFICATION, true);
        registry.setTrusted(otherIssuer, QUALIFICATION, true);
        uint256 sameSecond = _gasOfUntrusting(issuer);
        vm.warp(T0 + 11);
        uint256 nextSecond = _gasOfUntrusting(otherIssuer);
        vm.stopPrank();
        assertEq(sameSecond, nextSecond, "same cost");
    }

    function test_SetTrusted_RevertsForNonGovernors() public {
        address[4] memory callers = [issuer, operator, quality, outsider];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.GOVERNOR));
            vm.prank(callers[i]);
            registry.setTrusted(issuer, QUALIFICATION, true);
        }
        assertFalse(registry.trusted(issuer, QUALIFICATION), "trust list unchanged");
    }

    function test_SetTrusted_RevertsOnUnchangedTrustAndZeroValues() public {
        vm.startPrank(governor);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICredentialRegistry.CredentialRegistryTrustUnchanged.selector, issuer, QUALIFICATION, false
            )
        );
        registry.setTrusted(issuer, QUALIFICATION, false);
        registry.setTrusted(issuer, QUALIFICATION, true);
        vm.expectRevert(
            abi.encodeWithSelector(
                ICredentialRegistry.CredentialRegistryTrustUnchanged.selector, issuer, QUALIFICATION, true
            )
        );
        registry.setTrusted(issuer, QUALIFICATION, true);
        vm.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryZeroAddress.selector));
        registry.setTrusted(address(0), QUALIFICATION, true);
        vm.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryZeroTypeHash.selector));
        registry.setTrusted(issuer, bytes32(0), true);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- bindSubject

    function test_BindSubject_BindsAnAssetDidToItsBatch() public {
        vm.expectEmit(address(registry));
        emit ICredentialRegistry.SubjectBound(SUBJECT, lot, ASSET_DID, operator);
        vm.prank(operator);
        registry.bindSubject(ASSET_DID, lot);
        (bytes32 entityId, address boundBy) = registry.boundEntity(SUBJECT);
        assertEq(entityId, lot, "bound to the lot");
        assertEq(boundBy, operator, "by the caller");
    }

    function test_BindSubject_BindsAPersonDidToAnOrganization() public {
        string memory person = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH";
        bytes32 org = bytes32(uint256(uint160(operator)));
        vm.prank(operator);
        registry.bindSubject(person, org);
        (bytes32 entityId,) = registry.boundEntity(keccak256(bytes(person)));
        assertEq(entityId, org, "bound to the organization");
    }

    function test_BoundEntity_UnboundIsZero() public view {
        (bytes32 entityId, address boundBy) = registry.boundEntity(SUBJECT);
        assertEq(entityId, bytes32(0), "no entity");
        assertEq(boundBy, address(0), "nobody");
    }

    function test_BindSubject_RevertsOnRebindingUnknownEntityAndEmptyDid() public {
        bytes32 missing = keccak256("missing");
        bytes32 notAnOrganization = bytes32(uint256(uint160(outsider)));
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownEntity.selector, missing));
        registry.bindSubject(ASSET_DID, missing);
        vm.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownEntity.selector, notAnOrganization)
        );
        registry.bindSubject(ASSET_DID, notAnOrganization);
        vm.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidDid.selector));
        registry.bindSubject("", lot);

        registry.bindSubject(ASSET_DID, lot);
        bytes32 other = ledger.createBatch(
            IProvenanceLedger.BatchKind.LOT, bytes32(0), new bytes32[](0), "https://id.gs1.org/01/09506000134352/10/2"
        );
        vm.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistrySubjectAlreadyBound.selector, SUBJECT, lot)
        );
        registry.bindSubject(ASSET_DID, other);
        vm.stopPrank();
        (bytes32 entityId,) = registry.boundEntity(SUBJECT);
        assertEq(entityId, lot, "the first binding stands");
    }

    function test_BindSubject_RevertsForNonOperators() public {
        address[4] memory callers = [issuer, governor, quality, outsider];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(_unauthorized(callers[i], Roles.OPERATOR));
            vm.prank(callers[i]);
            registry.bindSubject(ASSET_DID, lot);
        }
        (, address boundBy) = registry.boundEntity(SUBJECT);
        assertEq(boundBy, address(0), "unbound");
    }

    /// @dev Found 2 of issue 13: any operator bound any DID to another organization's lot or to
    /// another organization.
    function test_BindSubject_RevertsUnlessTheCallerOwnsTheEntity() public {
        address rival = makeAddr("rival");
        _enrol(rival, Roles.OPERATOR, "did:pkh:eip155:31337:rival", "Rival");
        bytes32 operatorOrg = bytes32(uint256(uint160(operator)));
        vm.startPrank(rival);
        vm.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotEntityOwner.selector, rival, lot)
        );
        registry.bindSubject(ASSET_DID, lot);
        vm.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotEntityOwner.selector, rival, operatorOrg)
        );
        registry.bindSubject(ASSET_DID, operatorOrg);
        vm.stopPrank();
        (, address boundBy) = registry.boundEntity(SUBJECT);
        assertEq(boundBy, address(0), "unbound after the refusals");
    }

    function test_BindSubject_ByTheOwnerEvenAfterCustodyMoved() public {
        address carrier = makeAddr("carrier");
        _enrol(carrier, Roles.OPERATOR, "did:pkh:eip155:31337:carrier", "Carrier");
        vm.prank(operator);
        ledger.offerCustody(lot, carrier);
        vm.prank(carrier);
        ledger.acceptCustody(lot);
        vm.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryNotEntityOwner.selector, carrier, lot)
        );
        vm.prank(carrier);
        registry.bindSubject(ASSET_DID, lot);
        vm.prank(operator);
        registry.bindSubject(ASSET_DID, lot);
        (bytes32 entityId,) = registry.boundEntity(SUBJECT);
        assertEq(entityId, lot, "the owner binds");
    }

    function test_CorrectBinding_GovernorOnlyRebinds() public {
        vm.startPrank(operator);
        registry.bindSubject(ASSET_DID, lot);
        bytes32 other = ledger.createBatch(
            IProvenanceLedger.BatchKind.LOT, bytes32(0), new bytes32[](0), "https://id.gs1.org/01/09506000134352/10/2"
        );
        vm.expectRevert(_unauthorized(operator, Roles.GOVERNOR));
        registry.correctBinding(ASSET_DID, other);
        vm.stopPrank();

        vm.startPrank(governor);
        vm.expectRevert(
            abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryUnknownEntity.selector, keccak256("missing"))
        );
        registry.correctBinding(ASSET_DID, keccak256("missing"));
        vm.expectRevert(abi.encodeWithSelector(ICredentialRegistry.CredentialRegistryInvalidDid.selector));
        registry.correctBinding("", other);
        vm.expectEmit(address(registry));
        emit ICredentialRegistry.SubjectBound(SUBJECT, other, ASSET_DID, governor);
        registry.correctBinding(ASSET_DID, other);
        vm.stopPrank();
        (bytes32 entityId, address boundBy) = registry.boundEntity(SUBJECT);
        assertEq(entityId, other, "corrected");
        assertEq(boundBy, governor, "by the governor");
    }

    /// @dev Found 1 of issue 13: a destroyed lot's credential verified as valid again.
    function test_Status_SuspendedForGoodOnceTheLotIsDestroyed() public {
        _anchor(issuer, CREDENTIAL, 0, lot);
        _quarantineLot();
        IProvenanceLedger.EventKind[] memory kinds = new IProvenanceLedger.EventKind[](1);
        kinds[0] = IProvenanceLedger.EventKind.DESTRUCTION;
        bytes[] memory payloads = new bytes[](1);
        payloads[0] = bytes('{"bizStep":"destroying"}');
        vm.prank(operator);
        ledger.recordEvents(lot, kinds, payloads);
        _assertStatus(CREDENTIAL, SUSPENDED, "a destroyed lot is never fit for use");
        vm.prank(quality);
        vm.expectRevert(
            abi.encodeWithSelector(
                IProvenanceLedger.ProvenanceLedgerInvalidTransition.selector,
                lot,
                IProvenanceLedger.BatchStatus.DESTROYED,
                IProvenanceLedger.BatchStatus.RELEASED
            )
        );
        ledger.release(lot, "try");
        _assertStatus(CREDENTIAL, SUSPENDED, "still suspended");
    }

    // ---------------------------------------------------------------- pause

    function test_Writers_RevertWhilePaused() public {
        _anchor(issuer, CREDENTIAL, 0, bytes32(0));
        _pause();
        bytes memory paused = abi.encodeWithSelector(IMembership.MembershipPaused.selector);

        vm.startPrank(issuer);
        vm.expectRevert(paused);
        registry.anchor(keccak256("another"), CALIBRATION, SUBJECT, 0, bytes32(0));
        vm.expectRevert(paused);
        registry.revoke(CREDENTIAL, "paused");
        vm.expectRevert(paused);
        registry.suspend(CREDENTIAL, "paused");
        vm.stopPrank();
        vm.startPrank(governor);
        vm.expectRevert(paused);
        registry.setTrusted(issuer, CALIBRATION, true);
        vm.expectRevert(paused);
        registry.governorRevoke(CREDENTIAL, "paused");
        vm.expectRevert(paused);
        registry.governorSuspend(CREDENTIAL, "paused");
        vm.stopPrank();
        vm.expectRevert(paused);
        vm.prank(operator);
        registry.bindSubject(ASSET_DID, lot);

        _assertStatus(CREDENTIAL, VALID, "reads go on while paused");
        vm.prank(governor);
        membership.unpause();
        vm.prank(issuer);
        registry.revoke(CREDENTIAL, "resumed");
        _assertStatus(CREDENTIAL, REVOKED, "writes resume");
    }

    // ---------------------------------------------------------------- fuzz

    /// @dev A credential is VALID up to and including `validUntil`, EXPIRED after, never when zero.
    function testFuzz_Status_ExpiresExactlyAfterValidUntil(uint256 validUntil, uint256 readAt) public {
        validUntil = bound(validUntil, 0, type(uint40).max);
        readAt = bound(readAt, T0, uint256(type(uint40).max) + 1);
        _anchor(issuer, CREDENTIAL, uint64(validUntil), bytes32(0));
        vm.warp(readAt);
        bool expired = validUntil != 0 && readAt > validUntil;
        _assertStatus(CREDENTIAL, expired ? EXPIRED : VALID, "expiry boundary");
    }

    /// @dev Against a model of the trust list: after toggles at random times (several in one
    /// second too), trustedAt answers what the last change at or before that second said.
    function testFuzz_TrustedAt_MatchesTheHistory(uint256[8] memory gaps) public {
        uint64[8] memory changedAt;
        uint64 at = T0;
        for (uint256 i; i < gaps.length; ++i) {
            at += uint64(bound(gaps[i], 0, 3));
            _setTrusted(at, i % 2 == 0);
            changedAt[i] = at;
        }
        for (uint64 t = T0 - 1; t <= at + 1; ++t) {
            uint256 changesSoFar;
            for (uint256 i; i < changedAt.length; ++i) {
                if (changedAt[i] <= t) ++changesSoFar;
            }
            assertEq(registry.trustedAt(issuer, QUALIFICATION, t), changesSoFar % 2 == 1, "the model's answer");
        }
        assertFalse(registry.trusted(issuer, QUALIFICATION), "an even number of changes ends untrusted");
    }

    function testFuzz_Writers_RevertForCallersWithoutRoles(address caller) public {
        if (caller == governor || caller == issuer || caller == otherIssuer || caller == operator) caller = outsider;
        _anchor(issuer, CREDENTIAL, 0, bytes32(0));
        vm.startPrank(caller);
        vm.expectRevert(_unauthorized(caller, Roles.ISSUER));
        registry.anchor(keccak256(abi.encode(caller)), CALIBRATION, SUBJECT, 0, bytes32(0));
        vm.expectRevert(_unauthorized(caller, Roles.ISSUER));
        registry.revoke(CREDENTIAL, "fuzz");
        vm.expectRevert(_unauthorized(caller, Roles.ISSUER));
        registry.suspend(CREDENTIAL, "fuzz");
        vm.expectRevert(_unauthorized(caller, Roles.GOVERNOR));
        registry.setTrusted(caller, CALIBRATION, true);
        vm.expectRevert(_unauthorized(caller, Roles.GOVERNOR));
        registry.governorRevoke(CREDENTIAL, "fuzz");
        vm.expectRevert(_unauthorized(caller, Roles.GOVERNOR));
        registry.governorSuspend(CREDENTIAL, "fuzz");
        vm.expectRevert(_unauthorized(caller, Roles.OPERATOR));
        registry.bindSubject(ASSET_DID, lot);
        vm.stopPrank();
        _assertStatus(CREDENTIAL, VALID, "credential unchanged");
    }

    // ---------------------------------------------------------------- helpers

    function _anchor(address by, bytes32 credentialHash, uint64 validUntil, bytes32 batchId) internal {
        vm.prank(by);
        registry.anchor(credentialHash, CALIBRATION, SUBJECT, validUntil, batchId);
    }

    /// @dev The quality lab quarantines the lot, as the compliance contract would on a breach.
    function _quarantineLot() internal {
        vm.prank(quality);
        ledger.quarantine(lot, "excursion");
    }

    function _releaseLot() internal {
        vm.prank(quality);
        ledger.release(lot, "inspected");
    }

    /// @dev A credential tied to the lot reads SUSPENDED while the quality lab holds the lot by
    /// `hold` (quarantine or recall), without a write to the credential, and VALID once released.
    function _assertStatusFollowsTheLot(function(bytes32, string memory) external hold, string memory suspends)
        internal
    {
        _anchor(issuer, CREDENTIAL, 0, lot);
        vm.prank(quality);
        hold(lot, "held by quality");
        _assertStatus(CREDENTIAL, SUSPENDED, suspends);
        assertFalse(registry.credential(CREDENTIAL).suspended, "with no write to the credential");
        _releaseLot();
        _assertStatus(CREDENTIAL, VALID, "release lifts the suspension");
    }

    function _setTrusted(uint64 at, bool trusted) internal {
        vm.warp(at);
        vm.prank(governor);
        registry.setTrusted(issuer, QUALIFICATION, trusted);
    }

    function _gasOfUntrusting(address account) internal returns (uint256 gasUsed) {
        gasUsed = gasleft();
        registry.setTrusted(account, QUALIFICATION, false);
        gasUsed -= gasleft();
    }

    function _assertStatus(bytes32 credentialHash, ICredentialRegistry.CredentialStatus expected, string memory message)
        internal
        view
    {
        assertEq(uint256(registry.status(credentialHash)), uint256(expected), message);
    }

    /// @dev How many different slots `slots` names (a packed slot is written once per field).
    function _distinct(bytes32[] memory slots) internal pure returns (uint256 count) {
        for (uint256 i; i < slots.length; ++i) {
            bool seen;
            for (uint256 j; j < i && !seen; ++j) {
                seen = slots[j] == slots[i];
            }
            if (!seen) ++count;
        }
    }
}
