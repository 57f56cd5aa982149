// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Membership} from "../../src/Membership.sol";
import {ProvenanceLedger} from "../../src/ProvenanceLedger.sol";
import {IMembership} from "../../src/interfaces/IMembership.sol";
import {Roles} from "../../src/libraries/Roles.sol";
import {Test} from "./Test.sol";

/// @dev Membership and the ledger on it, with the actors every suite shares. Each suite grants
/// the rest of its roles itself, so that no account holds a role its tests do not expect.
/// Role identifiers come from Roles.sol; Membership.t.sol pins them to keccak256("<NAME>").
abstract contract ConsortiumBase is Test {
    /// @dev The GS1 company prefix of GTIN 09506000134352 (GS1's example prefix 9506000).
    string internal constant BRAND_PREFIX = "9506000";

    Membership internal membership;
    ProvenanceLedger internal ledger;

    address internal governor;
    /// @dev Holds OPERATOR_ROLE, is a registered organization and owns the company prefix
    /// `BRAND_PREFIX` of every GTIN the suites use.
    address internal operator;
    /// @dev Holds no role until a suite grants it one.
    address internal quality;
    address internal outsider;

    function _deployConsortium() internal {
        governor = makeAddr("governor");
        operator = makeAddr("operator");
        quality = makeAddr("quality");
        outsider = makeAddr("outsider");

        membership = new Membership(governor);
        ledger = new ProvenanceLedger(membership);
        _enrol(operator, Roles.OPERATOR, "did:pkh:eip155:31337:operator", "Operator");
        vm.prank(governor);
        ledger.assignPrefix(BRAND_PREFIX, operator);
    }

    /// @dev As the governor: grants `role` to `account` and registers it as an organization.
    function _enrol(address account, bytes32 role, string memory did, string memory name) internal {
        vm.startPrank(governor);
        membership.grantRole(role, account);
        membership.registerOrganization(account, did, name);
        vm.stopPrank();
    }

    /// @dev As the governor: grants `role` to `account` without registering it (an account that
    /// is no organization keeps every role it holds usable).
    function _grant(bytes32 role, address account) internal {
        vm.prank(governor);
        membership.grantRole(role, account);
    }

    function _pause() internal {
        vm.prank(governor);
        membership.pause();
    }

    function _deactivate(address account) internal {
        vm.prank(governor);
        membership.setOrganizationActive(account, false);
    }

    function _unauthorized(address account, bytes32 role) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, account, role);
    }

    /// @dev The device of `key`'s signature over its registration by `organization` with `did`
    /// at `registry` on this chain, its EIP-712 digest built here from the spec.
    function _registrationSignature(uint256 key, address organization, string memory did, address registry)
        internal
        view
        returns (bytes memory)
    {
        bytes32 domainSeparator = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("DeviceRegistry"),
                keccak256("1"),
                block.chainid,
                registry
            )
        );
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("DeviceRegistration(address device,address organization,string did)"),
                vm.addr(key),
                organization,
                keccak256(bytes(did))
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash)));
        return abi.encodePacked(r, s, v);
    }
}
