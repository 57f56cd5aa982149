// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IMembership} from "./interfaces/IMembership.sol";
import {Roles} from "./libraries/Roles.sol";

/// @title Consortium membership: organizations, roles and the pause switch.
/// @notice GOVERNOR_ROLE administers every role, itself included; nobody holds
/// DEFAULT_ADMIN_ROLE. A deactivated organization keeps its roles on record but
/// can use none of them, governance included.
contract Membership is IMembership, AccessControl, Pausable {
    bytes32 public constant GOVERNOR_ROLE = Roles.GOVERNOR;
    bytes32 public constant OPERATOR_ROLE = Roles.OPERATOR;
    bytes32 public constant ORACLE_ROLE = Roles.ORACLE;
    bytes32 public constant QUALITY_ROLE = Roles.QUALITY;
    bytes32 public constant ISSUER_ROLE = Roles.ISSUER;
    bytes32 public constant AUDITOR_ROLE = Roles.AUDITOR;
    bytes32 public constant QUARANTINE_ROLE = Roles.QUARANTINE;

    mapping(address account => Organization) private _organizations;

    /// @param governor the first consortium administrator.
    constructor(address governor) {
        if (governor == address(0)) revert MembershipZeroAddress();
        _setRoleAdmin(GOVERNOR_ROLE, GOVERNOR_ROLE);
        _setRoleAdmin(OPERATOR_ROLE, GOVERNOR_ROLE);
        _setRoleAdmin(ORACLE_ROLE, GOVERNOR_ROLE);
        _setRoleAdmin(QUALITY_ROLE, GOVERNOR_ROLE);
        _setRoleAdmin(ISSUER_ROLE, GOVERNOR_ROLE);
        _setRoleAdmin(AUDITOR_ROLE, GOVERNOR_ROLE);
        _setRoleAdmin(QUARANTINE_ROLE, GOVERNOR_ROLE);
        _grantRole(GOVERNOR_ROLE, governor);
    }

    modifier onlyGovernor() {
        _checkGovernor();
        _;
    }

    /// @inheritdoc IMembership
    function registerOrganization(address account, string calldata did, string calldata name) external onlyGovernor {
        _checkNewOrganization(account, did);
        _doRegisterOrganization(account, did, name);
    }

    /// @inheritdoc IMembership
    function setOrganizationActive(address account, bool active) external onlyGovernor {
        if (_organizations[account].registeredAt == 0) revert MembershipUnknownOrganization(account);
        _organizations[account].active = active;
        emit OrganizationStatusChanged(account, active);
    }

    /// @inheritdoc IMembership
    function pause() external onlyGovernor {
        _pause();
    }

    /// @inheritdoc IMembership
    function unpause() external onlyGovernor {
        _unpause();
    }

    /// @inheritdoc IMembership
    function paused() public view override(IMembership, Pausable) returns (bool) {
        return super.paused();
    }

    /// @inheritdoc IMembership
    function organization(address account) external view returns (Organization memory) {
        return _organizations[account];
    }

    /// @inheritdoc IMembership
    function authorize(bytes32 role, address account) external view {
        if (paused()) revert MembershipPaused();
        if (!isAuthorized(role, account)) revert MembershipUnauthorizedAccount(account, role);
    }

    /// @inheritdoc IMembership
    function isAuthorized(bytes32 role, address account) public view returns (bool) {
        if (!hasRole(role, account)) return false;
        // Accounts that are not organizations (e.g. the compliance contract) stand on their role alone.
        Organization storage org = _organizations[account];
        return org.active || org.registeredAt == 0;
    }

    /// @dev Role administration (grantRole / revokeRole) is refused to deactivated organizations too.
    function _checkRole(bytes32 role, address account) internal view override {
        if (!isAuthorized(role, account)) revert AccessControlUnauthorizedAccount(account, role);
    }

    function _checkGovernor() internal view {
        if (!isAuthorized(GOVERNOR_ROLE, msg.sender)) revert MembershipUnauthorizedAccount(msg.sender, GOVERNOR_ROLE);
    }

    function _checkNewOrganization(address account, string calldata did) internal view {
        if (account == address(0)) revert MembershipZeroAddress();
        if (_organizations[account].registeredAt != 0) revert MembershipOrganizationExists(account);
        if (bytes(did).length == 0) revert MembershipInvalidDid(account);
    }

    function _doRegisterOrganization(address account, string calldata did, string calldata name) internal {
        // registeredAt doubles as the "registered" flag: block timestamps are never zero.
        _organizations[account] =
            Organization({did: did, name: name, active: true, registeredAt: uint64(block.timestamp)});
        emit OrganizationRegistered(account, did, name);
    }
}
