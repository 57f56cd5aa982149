// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {DeviceRegistry} from "../../src/DeviceRegistry.sol";
import {IDeviceRegistry} from "../../src/interfaces/IDeviceRegistry.sol";
import {IProvenanceLedger} from "../../src/interfaces/IProvenanceLedger.sol";
import {Roles} from "../../src/libraries/Roles.sol";
import {ConsortiumBase} from "../utils/ConsortiumBase.sol";

/// @dev Drives DeviceRegistry from three operators, the governor and an outsider: registrations
/// (with the device's consent, consent given to another organization, or another key's
/// signature), assignments to the operators' lots, an unknown id or zero, switching devices on
/// and off, and the ledger moves that give or take standing on a lot (authorizing and revoking
/// writers, offering and accepting custody), with operators now and then deactivated.
/// An independent model (devices' owners, assignments and switches; each lot's owner, custodian
/// and writers' grants; organizations' status) predicts each registry call's exact outcome and
/// changes only on a predicted and observed success. Ledger moves are taken as the ledger
/// reports them (ProvenanceLedgerHandler checks those). After every action the registry's
/// devices are compared with what the action was allowed to change; violations are counted for
/// the invariants to assert (the runner ignores handler reverts).
contract DeviceRegistryHandler is ConsortiumBase {
    struct GhostDevice {
        address owner;
        bytes32 assigned;
        bool active;
    }

    struct GhostLot {
        address owner;
        address custodian;
        address offeredTo;
    }

    /// @dev What the current action may change on a device: only `device`, only what `by` did.
    struct Action {
        bytes4 selector;
        address by;
        address device;
    }

    uint256 public constant DEVICES = 4;
    uint256 public constant LOTS = 3;
    /// @dev The operators are the first three actors.
    uint256 internal constant OPERATORS = 3;
    uint256 internal constant FOREIGN_KEY = 0xBADD1CE;
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    DeviceRegistry public registry;

    address[] internal _actors;
    uint256[DEVICES] internal _keys;
    address[DEVICES] public devices;
    bytes32[LOTS] public lots;
    bytes32 internal _unknownLot;

    mapping(address device => GhostDevice) internal _ghostDevices;
    mapping(bytes32 batchId => GhostLot) internal _ghostLots;
    mapping(bytes32 batchId => mapping(address writer => address grantedBy)) internal _ghostGrants;
    mapping(address account => bool) internal _ghostInactive;
    mapping(address device => GhostDevice) internal _lastSeen;
    Action internal _action;

    uint256 public unexpectedOutcomes;
    /// @dev A device whose owner changed once set (no call may move a device to another organization).
    uint256 public ownerChanges;
    /// @dev A device assignment changed other than by its owner's own assignDevice.
    uint256 public assignmentsNotByTheOwner;
    /// @dev A device switched on or off other than by its owner's or the governor's setDeviceActive.
    uint256 public switchesNotByTheOwnerOrGovernor;
    /// @dev A device put on a lot its owner did not write at that moment (by the model).
    uint256 public assignmentsToLotsNotWritten;
    uint256 public acceptedCalls;
    uint256 public refusedCalls;

    constructor() {
        _deployConsortium();
        registry = new DeviceRegistry(membership, ledger);
        address carrier = makeAddr("carrier");
        address lab = makeAddr("lab");
        _enrol(carrier, Roles.OPERATOR, "did:pkh:eip155:31337:carrier", "Carrier");
        _enrol(lab, Roles.OPERATOR, "did:pkh:eip155:31337:lab", "Lab");
        vm.prank(operator);
        ledger.delegatePrefix(BRAND_PREFIX, carrier);
        _actors.push(operator);
        _actors.push(carrier);
        _actors.push(lab);
        _actors.push(governor);
        _actors.push(outsider);

        // Lots of the brand (operator) and of the carrier, its delegate; the lab owns none.
        for (uint256 b; b < LOTS; ++b) {
            address maker = b == 1 ? carrier : operator;
            string memory uri = string.concat("https://id.gs1.org/01/09506000134352/10/DEV", vm.toString(b));
            vm.prank(maker);
            lots[b] =
                ledger.createBatch(IProvenanceLedger.BatchKind.LOT, keccak256("vaccine-2-8C"), new bytes32[](0), uri);
            _ghostLots[lots[b]] = GhostLot({owner: maker, custodian: maker, offeredTo: address(0)});
        }
        _unknownLot = keccak256("never created");
        for (uint256 d; d < DEVICES; ++d) {
            _keys[d] = uint256(keccak256(abi.encode("registry-invariant-device", d))) % (SECP256K1_N - 1) + 1;
            devices[d] = vm.addr(_keys[d]);
        }
    }

    // ---------------------------------------------------------------- registry calls

    /// @dev Mostly with the device's consent to the caller; else consent to another actor, or a
    /// signature by another key.
    function registerDevice(uint256 actorSeed, uint256 deviceSeed, uint256 consentSeed) external {
        address actor = _actor(actorSeed);
        uint256 d = deviceSeed % DEVICES;
        address device = devices[d];
        string memory did = _did(device);
        uint256 mode = consentSeed % 6;
        address consentTo = mode == 4 ? _actor(consentSeed / 6) : actor;
        bytes memory signature =
            _registrationSignature(mode == 5 ? FOREIGN_KEY : _keys[d], consentTo, did, address(registry));

        bytes memory expected = _operatorError(actor);
        if (expected.length == 0 && _ghostDevices[device].owner != address(0)) {
            expected = abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryDeviceExists.selector, device);
        } else if (expected.length == 0 && (mode == 5 || consentTo != actor)) {
            expected = abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotSignedByDevice.selector, device, actor);
        }
        _action = Action(IDeviceRegistry.registerDevice.selector, actor, device);
        vm.prank(actor);
        try registry.registerDevice(device, did, signature) {
            if (_settle(true, "", expected)) _ghostDevices[device] = GhostDevice(actor, bytes32(0), true);
        } catch (bytes memory reason) {
            _settle(false, reason, expected);
        }
        _observe();
    }

    /// @dev Mostly by the device's owner, so that assignments happen; to a lot, zero or an unknown id.
    function assignDevice(uint256 actorSeed, uint256 deviceSeed, uint256 lotSeed) external {
        address device = devices[deviceSeed % DEVICES];
        address owner = _ghostDevices[device].owner;
        address actor = actorSeed % 3 != 0 && owner != address(0) ? owner : _actor(actorSeed / 3);
        uint256 pick = lotSeed % (LOTS + 2);
        bytes32 lot = pick < LOTS ? lots[pick] : pick == LOTS ? bytes32(0) : _unknownLot;
        bool writes = lot != bytes32(0) && _ghostWrites(lot, actor);

        bytes memory expected = _operatorError(actor);
        if (expected.length == 0) expected = _ownerError(device, actor);
        if (expected.length == 0 && lot == _unknownLot) {
            expected = abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownBatch.selector, lot);
        } else if (expected.length == 0 && lot != bytes32(0) && !writes) {
            expected = abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotBatchWriter.selector, device, actor, lot);
        }
        _action = Action(IDeviceRegistry.assignDevice.selector, actor, device);
        vm.prank(actor);
        try registry.assignDevice(device, lot) {
            if (lot != bytes32(0) && !_ghostWrites(lot, _ghostDevices[device].owner)) ++assignmentsToLotsNotWritten;
            if (_settle(true, "", expected)) _ghostDevices[device].assigned = lot;
        } catch (bytes memory reason) {
            _settle(false, reason, expected);
        }
        _observe();
    }

    /// @dev Half the time by the device's owner, else by any actor (the governor among them).
    function setDeviceActive(uint256 actorSeed, uint256 deviceSeed, bool active) external {
        address device = devices[deviceSeed % DEVICES];
        address owner = _ghostDevices[device].owner;
        address actor = actorSeed % 2 == 0 && owner != address(0) ? owner : _actor(actorSeed / 2);

        bytes memory expected;
        if (owner == address(0)) {
            expected = abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownDevice.selector, device);
        } else if (actor != owner && actor != governor) {
            expected = abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotOwner.selector, device, actor);
        } else if (actor == owner) {
            expected = _operatorError(actor);
        }
        _action = Action(IDeviceRegistry.setDeviceActive.selector, actor, device);
        vm.prank(actor);
        try registry.setDeviceActive(device, active) {
            if (_settle(true, "", expected)) _ghostDevices[device].active = active;
        } catch (bytes memory reason) {
            _settle(false, reason, expected);
        }
        _observe();
    }

    // ---------------------------------------------------------------- standing on lots

    /// @dev Mostly by the lot's owner or custodian; `writerSeed` picks the operator let in or out.
    function setWriter(uint256 actorSeed, uint256 lotSeed, uint256 writerSeed, bool revoke) external {
        bytes32 lot = lots[lotSeed % LOTS];
        GhostLot storage ghost = _ghostLots[lot];
        address actor = actorSeed % 3 == 0 ? _actor(actorSeed / 3) : actorSeed % 3 == 1 ? ghost.owner : ghost.custodian;
        address writer = _actors[writerSeed % OPERATORS];
        _action = Action(bytes4(0), actor, address(0));
        vm.prank(actor);
        if (revoke) {
            try ledger.revokeWriter(lot, writer) {
                delete _ghostGrants[lot][writer];
            } catch {}
        } else {
            try ledger.authorizeWriter(lot, writer) {
                _ghostGrants[lot][writer] = actor;
            } catch {}
        }
        _observe();
    }

    /// @dev The custodian offers the lot to an operator, which then (mostly) accepts it.
    function moveCustody(uint256 lotSeed, uint256 toSeed, bool accept) external {
        bytes32 lot = lots[lotSeed % LOTS];
        GhostLot storage ghost = _ghostLots[lot];
        address to = _actors[toSeed % OPERATORS];
        _action = Action(bytes4(0), ghost.custodian, address(0));
        vm.prank(ghost.custodian);
        try ledger.offerCustody(lot, to) {
            ghost.offeredTo = to;
        } catch {}
        if (accept && ghost.offeredTo != address(0)) {
            _action = Action(bytes4(0), ghost.offeredTo, address(0));
            vm.prank(ghost.offeredTo);
            try ledger.acceptCustody(lot) {
                (ghost.custodian, ghost.offeredTo) = (ghost.offeredTo, address(0));
            } catch {}
        }
        _observe();
    }

    /// @dev The governor switches an operator's organization off or on (its role stays, unusable).
    function setOrganizationActive(uint256 operatorSeed, bool active) external {
        address account = _actors[operatorSeed % OPERATORS];
        _action = Action(bytes4(0), governor, address(0));
        vm.prank(governor);
        membership.setOrganizationActive(account, active);
        _ghostInactive[account] = !active;
        _observe();
    }

    // ---------------------------------------------------------------- views for the invariants

    function ghostDevice(address device) external view returns (GhostDevice memory) {
        return _ghostDevices[device];
    }

    // ---------------------------------------------------------------- model

    /// @dev As ProvenanceLedger.isWriter: the owner, the custodian, or a writer whose grant was
    /// made by the current owner or custodian.
    function _ghostWrites(bytes32 lot, address account) internal view returns (bool) {
        GhostLot storage ghost = _ghostLots[lot];
        if (ghost.owner == address(0)) return false;
        address grantedBy = _ghostGrants[lot][account];
        return account == ghost.owner || account == ghost.custodian
            || (grantedBy != address(0) && (grantedBy == ghost.owner || grantedBy == ghost.custodian));
    }

    /// @dev Only the operators hold OPERATOR_ROLE; a deactivated one cannot use it.
    function _operatorError(address actor) internal view returns (bytes memory) {
        if (_isOperator(actor) && !_ghostInactive[actor]) return "";
        return _unauthorized(actor, Roles.OPERATOR);
    }

    function _ownerError(address device, address actor) internal view returns (bytes memory) {
        address owner = _ghostDevices[device].owner;
        if (owner == address(0)) {
            return abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryUnknownDevice.selector, device);
        }
        if (owner != actor) {
            return abi.encodeWithSelector(IDeviceRegistry.DeviceRegistryNotOwner.selector, device, actor);
        }
        return "";
    }

    /// @return applied whether the call succeeded as predicted (the model may then change).
    function _settle(bool ok, bytes memory reason, bytes memory expected) internal returns (bool applied) {
        if (ok) ++acceptedCalls;
        else ++refusedCalls;
        if (ok != (expected.length == 0) || (!ok && keccak256(reason) != keccak256(expected))) {
            ++unexpectedOutcomes;
            return false;
        }
        return ok;
    }

    /// @dev Compares every device with what it was and with what the current action may change.
    function _observe() internal {
        for (uint256 d; d < DEVICES; ++d) {
            address device = devices[d];
            IDeviceRegistry.Device memory stored = registry.device(device);
            GhostDevice storage last = _lastSeen[device];
            bool mine = _action.device == device;
            if (last.owner != address(0) && stored.owner != last.owner) ++ownerChanges;
            if (
                stored.assignedBatch != last.assigned
                    && !(mine && _action.selector == IDeviceRegistry.assignDevice.selector && _action.by == last.owner)
            ) ++assignmentsNotByTheOwner;
            bool switched = last.owner != address(0) && stored.active != last.active;
            if (
                switched
                    && !(mine
                        && _action.selector == IDeviceRegistry.setDeviceActive.selector
                        && (_action.by == last.owner || _action.by == governor))
            ) ++switchesNotByTheOwnerOrGovernor;
            (last.owner, last.assigned, last.active) = (stored.owner, stored.assignedBatch, stored.active);
        }
    }

    // ---------------------------------------------------------------- inputs

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % _actors.length];
    }

    function _isOperator(address account) internal view returns (bool) {
        for (uint256 i; i < OPERATORS; ++i) {
            if (_actors[i] == account) return true;
        }
        return false;
    }

    function _did(address device) internal pure returns (string memory) {
        return string.concat("did:pkh:eip155:31337:", vm.toString(uint256(uint160(device))));
    }
}
