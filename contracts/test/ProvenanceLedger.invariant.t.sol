// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IProvenanceLedger} from "../src/interfaces/IProvenanceLedger.sol";
import {ProvenanceLedgerHandler} from "./handlers/ProvenanceLedgerHandler.sol";
import {InvariantTest} from "./utils/Test.sol";

contract ProvenanceLedgerInvariantTest is InvariantTest {
    ProvenanceLedgerHandler internal handler;

    function setUp() public {
        handler = new ProvenanceLedgerHandler();
        bytes4[] memory selectors = new bytes4[](14);
        selectors[0] = ProvenanceLedgerHandler.createBatch.selector;
        selectors[1] = ProvenanceLedgerHandler.recordEvents.selector;
        selectors[2] = ProvenanceLedgerHandler.quarantine.selector;
        selectors[3] = ProvenanceLedgerHandler.release.selector;
        selectors[4] = ProvenanceLedgerHandler.recall.selector;
        selectors[5] = ProvenanceLedgerHandler.togglePause.selector;
        selectors[6] = ProvenanceLedgerHandler.setOrganizationActive.selector;
        selectors[7] = ProvenanceLedgerHandler.toggleRole.selector;
        selectors[8] = ProvenanceLedgerHandler.authorizeWriter.selector;
        selectors[9] = ProvenanceLedgerHandler.offerCustody.selector;
        selectors[10] = ProvenanceLedgerHandler.acceptCustody.selector;
        selectors[11] = ProvenanceLedgerHandler.assignPrefix.selector;
        selectors[12] = ProvenanceLedgerHandler.delegatePrefix.selector;
        selectors[13] = ProvenanceLedgerHandler.acknowledgeExcursion.selector;
        _targetFunctions(address(handler), selectors);
    }

    /// @dev Every write succeeded exactly when the model (roles, organization status, pause,
    /// status machine) said it would, and otherwise reverted with the predicted error.
    function invariant_OutcomesMatchTheModel() public view {
        assertEq(handler.unexpectedOutcomes(), 0, "a write's outcome differed from the model");
    }

    function invariant_LedgerStateMatchesTheModel() public view {
        IProvenanceLedger ledger = handler.ledger();
        for (uint256 i; i < handler.batchCount(); ++i) {
            bytes32 id = handler.batchIdAt(i);
            (IProvenanceLedger.BatchStatus status, uint64 eventCount) = handler.ghostBatch(id);
            IProvenanceLedger.Batch memory stored = ledger.batch(id);
            assertEq(uint8(stored.status), uint8(status), "status differs from the model");
            assertEq(stored.eventCount, eventCount, "eventCount differs from the model");
            (address owner, address custodian) = ledger.custody(id);
            (address ghostOwner, address ghostCustodian) = handler.ghostCustody(id);
            assertEq(owner, ghostOwner, "owner differs from the model");
            assertEq(custodian, ghostCustodian, "custodian differs from the model");
            assertEq(uint8(ledger.excursionHold(id)), uint8(handler.ghostHold(id)), "excursion hold differs");
            assertEq(id, keccak256(bytes(handler.uriOf(id))), "batch id is keccak256 of its uri");
        }
        for (uint256 i; i < handler.prefixCount(); ++i) {
            assertEq(ledger.prefixOwner(handler.prefixAt(i)), handler.ghostPrefixOwner(i), "prefix owner differs");
        }
    }

    function invariant_OnlyRoleHoldersChangeState() public view {
        assertEq(handler.unauthorizedStateChanges(), 0, "a caller without a usable role changed a batch");
    }

    function invariant_HeldBatchesAcceptOnlyInspectionAndDestruction() public view {
        assertEq(handler.heldBatchAcceptedOther(), 0, "an OTHER event was accepted on a quarantined/recalled batch");
    }

    function invariant_EventCountsOnlyGrow() public view {
        assertEq(handler.eventCountDecreases(), 0, "a batch's eventCount decreased");
    }

    function invariant_OnlyOwnerCustodianOrAuthorizedWritersRecord() public view {
        assertEq(handler.eventsByNonWriters(), 0, "an event was accepted from a non-writer of the batch");
    }

    function invariant_CustodyMovesOnlyByAnAcceptedTransfer() public view {
        assertEq(handler.custodyChangesWithoutAcceptance(), 0, "custody changed without an accepted offer");
    }

    function invariant_OnlyThePrefixOwnerOrItsDelegateCreatesBatches() public view {
        assertEq(handler.batchesByNonPrefixHolders(), 0, "a batch was created by a non-holder of its GTIN's prefix");
    }

    function invariant_NoReleaseWhileAnAutomatedQuarantineIsUnacknowledged() public view {
        assertEq(handler.unacknowledgedReleases(), 0, "a batch left an unacknowledged automated quarantine");
    }

    function invariant_DestroyedBatchesNeverChange() public view {
        assertEq(handler.destroyedBatchChanges(), 0, "a destroyed batch changed");
    }
}
