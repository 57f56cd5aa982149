// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IColdChainCompliance} from "../src/interfaces/IColdChainCompliance.sol";
import {IProvenanceLedger} from "../src/interfaces/IProvenanceLedger.sol";
import {ColdChainComplianceHandler} from "./handlers/ColdChainComplianceHandler.sol";
import {InvariantTest} from "./utils/Test.sol";

contract ColdChainComplianceInvariantTest is InvariantTest {
    ColdChainComplianceHandler internal handler;

    function setUp() public {
        handler = new ColdChainComplianceHandler();
        bytes4[] memory selectors = new bytes4[](10);
        // submit is listed several times: most calls should be readings.
        selectors[0] = ColdChainComplianceHandler.submit.selector;
        selectors[1] = ColdChainComplianceHandler.submit.selector;
        selectors[2] = ColdChainComplianceHandler.submit.selector;
        selectors[3] = ColdChainComplianceHandler.submit.selector;
        selectors[4] = ColdChainComplianceHandler.intrude.selector;
        selectors[5] = ColdChainComplianceHandler.assign.selector;
        selectors[6] = ColdChainComplianceHandler.setDeviceActive.selector;
        selectors[7] = ColdChainComplianceHandler.release.selector;
        selectors[8] = ColdChainComplianceHandler.setRule.selector;
        selectors[9] = ColdChainComplianceHandler.anchor.selector;
        _targetFunctions(address(handler), selectors);
    }

    /// @dev Every call was accepted or refused (with the exact error) as the model predicted,
    /// and every accepted reading emitted the reference decision.
    function invariant_OutcomesMatchTheModel() public view {
        assertEq(handler.unexpectedOutcomes(), 0, "an outcome differed from the model");
    }

    function invariant_NeverQuarantinedWithoutABreachingSignedReading() public view {
        assertEq(handler.quarantinesWithoutBreach(), 0, "a batch was quarantined by something else than a breach");
        for (uint256 b; b < handler.LOTS(); ++b) {
            bytes32 lot = handler.lots(b);
            if (handler.chainStatus(lot) == IProvenanceLedger.BatchStatus.QUARANTINED) {
                assertGe(handler.breaches(lot), 1, "a quarantined batch has a breaching signed reading");
            }
        }
    }

    function invariant_BatchStatusMatchesTheModel() public view {
        for (uint256 b; b < handler.LOTS(); ++b) {
            bytes32 lot = handler.lots(b);
            assertEq(uint256(handler.chainStatus(lot)), uint256(handler.ghostStatus(lot)), "batch status");
        }
    }

    function invariant_LastSeqOnlyGrows() public view {
        assertEq(handler.lastSeqDecreases(), 0, "a device's or a compliance state's lastSeq decreased");
    }

    function invariant_StatesMatchTheModel() public view {
        for (uint256 d; d < handler.DEVICES(); ++d) {
            address device = handler.devices(d);
            assertEq(handler.chainDeviceSeq(device), handler.ghostDeviceSeq(device), "device lastSeq");
            for (uint256 b; b < handler.LOTS(); ++b) {
                bytes32 lot = handler.lots(b);
                IColdChainCompliance.ComplianceState memory actual = handler.chainState(lot, device);
                IColdChainCompliance.ComplianceState memory expected = handler.ghostState(lot, device);
                assertEq(actual.lastSeq, expected.lastSeq, "lastSeq");
                assertEq(actual.lastTimestamp, expected.lastTimestamp, "lastTimestamp");
                assertEq(actual.inExcursion, expected.inExcursion, "inExcursion");
                assertEq(actual.excursionStart, expected.excursionStart, "excursionStart");
            }
        }
    }
}
