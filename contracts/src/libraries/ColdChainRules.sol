// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IColdChainCompliance} from "../interfaces/IColdChainCompliance.sol";

/// @title The cold-chain rule evaluation of RULES.md, as one pure function.
/// @notice Mirrors `evaluate(rule, state, reading)` of the Python rule engine line by
/// line: precondition violations revert, everything else is a decision.
library ColdChainRules {
    /// @notice Whether `rule` is valid: hardMin <= min < max <= hardMax.
    function isValid(IColdChainCompliance.Rule memory rule) internal pure returns (bool) {
        return
            rule.hardMinMilliC <= rule.minMilliC && rule.minMilliC < rule.maxMilliC
                && rule.maxMilliC <= rule.hardMaxMilliC;
    }

    /**
     * @notice The compliance state after `reading` and the decision it causes.
     * Reverts with the precondition errors P1 (StaleSequence) and P2 (TimestampRegression),
     * checked in that order; then the first of rules 1-5 that matches decides.
     */
    function evaluate(
        IColdChainCompliance.Rule memory rule,
        IColdChainCompliance.ComplianceState memory state,
        IColdChainCompliance.Reading memory reading
    ) internal pure returns (IColdChainCompliance.ComplianceState memory next, IColdChainCompliance.Decision decision) {
        checkPreconditions(state, reading);
        next = IColdChainCompliance.ComplianceState({
            lastSeq: reading.seq,
            lastTimestamp: reading.timestamp,
            inExcursion: state.inExcursion,
            excursionStart: state.excursionStart
        });
        int32 temp = reading.tempMilliC;
        // P1 keeps lastSeq + 1 from overflowing; P2 (and excursionStart <= lastTimestamp) keeps the subtractions >= 0.
        if (temp < rule.hardMinMilliC || temp > rule.hardMaxMilliC) {
            decision = IColdChainCompliance.Decision.QUARANTINE_HARD_LIMIT;
        } else if (state.inExcursion && reading.seq != state.lastSeq + 1) {
            // A reading withheld during an excursion quarantines: it could have shown anything.
            decision = IColdChainCompliance.Decision.QUARANTINE_MISSING_EVIDENCE;
        } else if (
            rule.maxDataGapSeconds != 0 && state.lastSeq != 0 && reading.seq == state.lastSeq + 1
                && reading.timestamp - state.lastTimestamp > rule.maxDataGapSeconds
        ) {
            decision = IColdChainCompliance.Decision.QUARANTINE_DATA_GAP;
        } else if (temp < rule.minMilliC || temp > rule.maxMilliC) {
            if (!state.inExcursion) {
                next.inExcursion = true;
                next.excursionStart = reading.timestamp;
                decision = IColdChainCompliance.Decision.EXCURSION_STARTED;
            } else if (reading.timestamp - state.excursionStart > rule.allowedExcursionSeconds) {
                decision = IColdChainCompliance.Decision.QUARANTINE_EXCURSION;
            } else {
                decision = IColdChainCompliance.Decision.EXCURSION_EXTENDED;
            }
        } else if (state.inExcursion) {
            // RULES.md leaves excursionStart as it was when an excursion ends; only a quarantine zeroes it.
            next.inExcursion = false;
            decision = IColdChainCompliance.Decision.EXCURSION_ENDED;
        }
        if (isQuarantine(decision)) {
            next.inExcursion = false;
            next.excursionStart = 0;
        }
    }

    /// @notice Reverts unless `reading` may follow `state` (RULES.md P1, then P2).
    function checkPreconditions(
        IColdChainCompliance.ComplianceState memory state,
        IColdChainCompliance.Reading memory reading
    ) internal pure {
        if (reading.seq <= state.lastSeq) {
            revert IColdChainCompliance.ColdChainComplianceStaleSequence(
                reading.batchId, reading.device, reading.seq, state.lastSeq
            );
        }
        if (reading.timestamp < state.lastTimestamp) {
            revert IColdChainCompliance.ColdChainComplianceTimestampRegression(
                reading.batchId, reading.device, reading.timestamp, state.lastTimestamp
            );
        }
    }

    /// @notice Whether `decision` is one of the QUARANTINE_* decisions.
    function isQuarantine(IColdChainCompliance.Decision decision) internal pure returns (bool) {
        return decision >= IColdChainCompliance.Decision.QUARANTINE_EXCURSION;
    }
}
