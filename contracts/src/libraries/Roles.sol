// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Consortium role identifiers (DESIGN.md §4), shared by every contract.
/// @dev Each role is `keccak256("<NAME>")`, as the Python side computes it.
library Roles {
    bytes32 internal constant GOVERNOR = keccak256("GOVERNOR_ROLE");
    bytes32 internal constant OPERATOR = keccak256("OPERATOR_ROLE");
    bytes32 internal constant ORACLE = keccak256("ORACLE_ROLE");
    bytes32 internal constant QUALITY = keccak256("QUALITY_ROLE");
    bytes32 internal constant ISSUER = keccak256("ISSUER_ROLE");
    bytes32 internal constant AUDITOR = keccak256("AUDITOR_ROLE");
    bytes32 internal constant QUARANTINE = keccak256("QUARANTINE_ROLE");
}
