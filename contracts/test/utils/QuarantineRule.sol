// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IProvenanceLedger} from "../../src/interfaces/IProvenanceLedger.sol";

/// @dev Stands for the cold-chain rule contract where only "a contract quarantined the batch"
/// matters: it forwards a quarantine to the ledger as itself.
contract QuarantineRule {
    IProvenanceLedger private immutable _ledger;

    constructor(IProvenanceLedger ledger_) {
        _ledger = ledger_;
    }

    function quarantine(bytes32 batchId, string calldata reason) external {
        _ledger.quarantine(batchId, reason);
    }
}
