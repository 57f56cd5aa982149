// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {Membership} from "../../src/Membership.sol";
import {ProvenanceLedger} from "../../src/ProvenanceLedger.sol";
import {IMembership} from "../../src/interfaces/IMembership.sol";
import {IProvenanceLedger} from "../../src/interfaces/IProvenanceLedger.sol";
import {QuarantineRule} from "../utils/QuarantineRule.sol";
import {Test} from "../utils/Test.sol";

/// @dev Drives the ledger from several actors (some holding roles, some not) and keeps an
/// independent model of roles, organization status, the pause switch and every batch.
/// Each write predicts its exact outcome (success or the precise revert data) from the
/// model, and updates the model only when the prediction was success and the call succeeded.
/// Ownership and custody are modelled too: owner and custodian per batch, the writers they
/// authorized and the standing custody offer. So are GS1 company prefixes: three prefixes
/// (one nested in another) over three GTINs, their owners and delegates. So are excursion
/// holds: a contract among the actors quarantines (an automated quarantine), quality acknowledges.
/// Violations are counted rather than asserted: the invariant runner ignores handler reverts.
contract ProvenanceLedgerHandler is Test {
    struct GhostBatch {
        IProvenanceLedger.BatchStatus status;
        uint64 eventCount;
        address owner;
        address custodian;
    }

    bytes32 internal constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 internal constant QUALITY_ROLE = keccak256("QUALITY_ROLE");
    bytes32 internal constant QUARANTINE_ROLE = keccak256("QUARANTINE_ROLE");
    bytes32 internal constant GOVERNOR_ROLE = keccak256("GOVERNOR_ROLE");
    uint256 internal constant PREFIX_COUNT = 3;
    uint256 internal constant GTIN_COUNT = 3;
    uint256 internal constant MAX_EVENTS = 5;
    bytes32 internal constant PRODUCT = keccak256("vaccine-2-8C");

    IProvenanceLedger.BatchStatus internal constant NONE = IProvenanceLedger.BatchStatus.NONE;
    IProvenanceLedger.BatchStatus internal constant ACTIVE = IProvenanceLedger.BatchStatus.ACTIVE;
    IProvenanceLedger.BatchStatus internal constant QUARANTINED = IProvenanceLedger.BatchStatus.QUARANTINED;
    IProvenanceLedger.BatchStatus internal constant RELEASED = IProvenanceLedger.BatchStatus.RELEASED;
    IProvenanceLedger.BatchStatus internal constant DESTROYED = IProvenanceLedger.BatchStatus.DESTROYED;
    IProvenanceLedger.BatchStatus internal constant RECALLED = IProvenanceLedger.BatchStatus.RECALLED;
    IProvenanceLedger.ExcursionHold internal constant HOLD_NONE = IProvenanceLedger.ExcursionHold.NONE;
    IProvenanceLedger.ExcursionHold internal constant UNACKNOWLEDGED = IProvenanceLedger.ExcursionHold.UNACKNOWLEDGED;
    IProvenanceLedger.ExcursionHold internal constant ACKNOWLEDGED = IProvenanceLedger.ExcursionHold.ACKNOWLEDGED;

    Membership public immutable membership;
    ProvenanceLedger public immutable ledger;
    address public immutable governor;

    address[] internal _actors;
    bytes32[] internal _batchIds;
    mapping(bytes32 batchId => string) internal _uris;
    mapping(bytes32 batchId => uint256 gtin) internal _gtinOf;
    mapping(bytes32 batchId => bool) internal _itemOf;
    mapping(bytes32 batchId => GhostBatch) internal _ghost;
    mapping(bytes32 batchId => GhostBatch) internal _lastSeen;
    /// @dev The stored hold; it counts only while the batch is QUARANTINED or RECALLED.
    mapping(bytes32 batchId => IProvenanceLedger.ExcursionHold) internal _ghostHolds;
    mapping(bytes32 batchId => IProvenanceLedger.ExcursionHold) internal _lastSeenHold;
    mapping(address actor => mapping(bytes32 role => bool)) internal _ghostRoles;
    mapping(address actor => bool) internal _ghostRegistered;
    mapping(address actor => bool) internal _ghostActive;
    mapping(bytes32 batchId => mapping(address writer => address grantedBy)) internal _ghostWriters;
    mapping(bytes32 batchId => address receiver) internal _ghostOffers;
    mapping(uint256 prefix => address owner) internal _ghostPrefixOwners;
    mapping(uint256 prefix => mapping(address delegate => address grantedBy)) internal _ghostPrefixDelegates;
    bool internal _ghostPaused;
    uint256 internal _nonce;
    /// @dev The custody change the current action made through an accepted offer, if any.
    bytes32 internal _acceptedBatch;
    address internal _acceptedBy;

    /// @dev A write whose outcome differed from the model's prediction.
    uint256 public unexpectedOutcomes;
    /// @dev A write refused by the model for authorization that still changed some batch.
    uint256 public unauthorizedStateChanges;
    /// @dev An OTHER event accepted on a batch the ledger itself reported quarantined or recalled.
    uint256 public heldBatchAcceptedOther;
    uint256 public eventCountDecreases;
    uint256 public destroyedBatchChanges;
    /// @dev Events accepted from an account the model says is not a writer of the batch.
    uint256 public eventsByNonWriters;
    /// @dev A custodian that changed other than by an accepted offer.
    uint256 public custodyChangesWithoutAcceptance;
    /// @dev A batch created by an account the model says neither owns its GTIN's prefix nor
    /// holds it by delegation.
    uint256 public batchesByNonPrefixHolders;
    /// @dev A batch released while its automated quarantine was unacknowledged.
    uint256 public unacknowledgedReleases;
    uint256 public acceptedWrites;
    uint256 public refusedWrites;

    constructor() {
        governor = makeAddr("governor");
        membership = new Membership(governor);
        ledger = new ProvenanceLedger(membership);

        _addActor("operator", true, true, false, false);
        _addActor("quality", true, false, true, false);
        _addActor("compliance", false, false, false, true); // a contract-like account: no organization
        _addActor("all-roles", true, true, true, true);
        _addActor("outsider", false, false, false, false);
        _actors.push(governor); // governs membership but holds no ledger role
        address rule = address(new QuarantineRule(ledger)); // a contract: its quarantines are holds
        _actors.push(rule);
        vm.prank(governor);
        membership.grantRole(QUARANTINE_ROLE, rule);
        _ghostRoles[rule][QUARANTINE_ROLE] = true;

        vm.prank(governor);
        ledger.assignPrefix(_prefix(0), _actors[0]);
        _ghostPrefixOwners[0] = _actors[0];

        // Two batches from the start, so status changes and events have targets at depth 1.
        for (uint256 i; i < 2; ++i) {
            string memory uri = string.concat("https://id.gs1.org/01/", _gtin(0), "/10/SEED", vm.toString(i));
            vm.prank(_actors[0]);
            bytes32 id = ledger.createBatch(IProvenanceLedger.BatchKind.LOT, PRODUCT, new bytes32[](0), uri);
            _batchIds.push(id);
            _uris[id] = uri;
            _ghost[id] = GhostBatch(ACTIVE, 0, _actors[0], _actors[0]);
            _lastSeen[id] = GhostBatch(ACTIVE, 0, _actors[0], _actors[0]);
        }
    }

    // ---------------------------------------------------------------- ledger writes

    /// @dev One time in eight the URI of a known batch, one time in sixteen a URI whose
    /// application identifier does not match `item`; else a new lot or item of one of the GTINs.
    function createBatch(uint256 actorSeed, uint256 uriSeed, uint256 parentSeed, bool item) external {
        address actor = _actorFor(actorSeed, OPERATOR_ROLE);
        uint256 gtin = (uriSeed >> 8) % GTIN_COUNT;
        bool linkMatchesKind = (uriSeed >> 16) % 16 != 0;
        string memory uri = string.concat(
            "https://id.gs1.org/01/", _gtin(gtin), item == linkMatchesKind ? "/21/S" : "/10/L", vm.toString(_nonce++)
        );
        if (_batchIds.length != 0 && uriSeed % 8 == 0) {
            bytes32 known = _batchIds[uriSeed % _batchIds.length];
            (uri, gtin, linkMatchesKind) = (_uris[known], _gtinOf[known], _itemOf[known] == item);
        }
        bytes32 id = keccak256(bytes(uri));
        bytes32[] memory parents = _parents(parentSeed);
        IProvenanceLedger.BatchKind kind = item ? IProvenanceLedger.BatchKind.ITEM : IProvenanceLedger.BatchKind.LOT;
        bool holder = _ghostHoldsPrefix(gtin, actor);

        bytes memory expected = _authorizationError(actor, OPERATOR_ROLE);
        bool authorized = expected.length == 0;
        if (authorized && !linkMatchesKind) {
            expected = abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotDigitalLink.selector, kind, uri);
        } else if (authorized && !holder) {
            expected = abi.encodeWithSelector(
                IProvenanceLedger.ProvenanceLedgerNotPrefixHolder.selector, actor, _gtinNumber(gtin)
            );
        } else if (authorized) {
            expected = _expectedCreateError(id, parents);
        }

        bytes32 digestBefore = _digest(id);
        vm.prank(actor);
        try ledger.createBatch(kind, PRODUCT, parents, uri) returns (bytes32 returned) {
            if (!holder) ++batchesByNonPrefixHolders;
            if (_settle(true, "", expected, authorized && holder, digestBefore, id)) {
                if (returned != id) ++unexpectedOutcomes;
                _batchIds.push(id);
                _uris[id] = uri;
                _gtinOf[id] = gtin;
                _itemOf[id] = item;
                _ghost[id] = GhostBatch(ACTIVE, 0, actor, actor);
                _lastSeen[id] = GhostBatch(ACTIVE, 0, actor, actor);
            }
        } catch (bytes memory reason) {
            _settle(false, reason, expected, authorized && holder, digestBefore, id);
        }
        _observe();
    }

    /// @dev Three times in four by the governor, else by any actor; one owner in eight is zero.
    function assignPrefix(uint256 actorSeed, uint256 prefixSeed, uint256 ownerSeed) external {
        address actor = actorSeed % 4 == 0 ? _actor(actorSeed / 4) : governor;
        uint256 prefix = prefixSeed % PREFIX_COUNT;
        address owner = ownerSeed % 8 == 0 ? address(0) : _actor(ownerSeed / 8);
        bytes memory expected;
        if (_ghostPaused) expected = abi.encodeWithSelector(IMembership.MembershipPaused.selector);
        else if (actor != governor) expected = _unauthorizedError(actor, GOVERNOR_ROLE);
        bytes32 digestBefore = _digest(bytes32(0));
        vm.prank(actor);
        try ledger.assignPrefix(_prefix(prefix), owner) {
            if (_settle(true, "", expected, expected.length == 0, digestBefore, bytes32(0))) {
                _ghostPrefixOwners[prefix] = owner;
            }
        } catch (bytes memory reason) {
            _settle(false, reason, expected, expected.length == 0, digestBefore, bytes32(0));
        }
        _observe();
    }

    /// @dev Half the time by the prefix's owner (when it has one), so delegations happen.
    function delegatePrefix(uint256 actorSeed, uint256 prefixSeed, uint256 delegateSeed, bool revoke) external {
        uint256 prefix = prefixSeed % PREFIX_COUNT;
        address owner = _ghostPrefixOwners[prefix];
        address actor = actorSeed % 2 == 0 && owner != address(0) ? owner : _actorFor(actorSeed / 2, OPERATOR_ROLE);
        address delegate = _actor(delegateSeed);
        bytes memory expected = _authorizationError(actor, OPERATOR_ROLE);
        if (expected.length == 0 && actor != owner) {
            expected = abi.encodeWithSelector(
                IProvenanceLedger.ProvenanceLedgerNotPrefixOwner.selector, actor, _prefix(prefix)
            );
        }
        bytes32 digestBefore = _digest(bytes32(0));
        vm.prank(actor);
        bool ok;
        bytes memory reason;
        if (revoke) {
            try ledger.revokePrefixDelegation(_prefix(prefix), delegate) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        } else {
            try ledger.delegatePrefix(_prefix(prefix), delegate) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        }
        if (_settle(ok, reason, expected, expected.length == 0, digestBefore, bytes32(0))) {
            _ghostPrefixDelegates[prefix][delegate] = revoke ? address(0) : actor;
        }
        _observe();
    }

    function recordEvents(uint256 actorSeed, uint256 batchSeed, uint256 countSeed, uint256 kindSeed, uint256 flawSeed)
        external
    {
        address actor = _actorFor(actorSeed, OPERATOR_ROLE);
        bytes32 id = _batchOrUnknown(batchSeed);
        (IProvenanceLedger.EventKind[] memory kinds, bytes[] memory payloads) = _events(countSeed, kindSeed, flawSeed);

        bytes memory expected = _authorizationError(actor, OPERATOR_ROLE);
        bool authorized = expected.length == 0;
        IProvenanceLedger.BatchStatus statusAfter;
        if (authorized) (expected, statusAfter) = _expectedRecordOutcome(actor, id, kinds, payloads);
        bool writer = _isGhostWriter(id, actor);

        IProvenanceLedger.BatchStatus statusBefore = ledger.batch(id).status;
        bytes32 digestBefore = _digest(id);
        vm.prank(actor);
        try ledger.recordEvents(id, kinds, payloads) {
            if (statusBefore == QUARANTINED || statusBefore == RECALLED) {
                for (uint256 i; i < kinds.length; ++i) {
                    if (kinds[i] == IProvenanceLedger.EventKind.OTHER) ++heldBatchAcceptedOther;
                }
            }
            if (!writer) ++eventsByNonWriters;
            if (_settle(true, "", expected, authorized, digestBefore, id)) {
                _ghost[id].status = statusAfter;
                _ghost[id].eventCount += uint64(kinds.length);
            }
        } catch (bytes memory reason) {
            _settle(false, reason, expected, authorized, digestBefore, id);
        }
        _observe();
    }

    function quarantine(uint256 actorSeed, uint256 batchSeed) external {
        _changeStatus(_actorFor(actorSeed, QUARANTINE_ROLE), _batchOrUnknown(batchSeed), QUARANTINE_ROLE, QUARANTINED);
    }

    /// @dev One release in eight without a reason.
    function release(uint256 actorSeed, uint256 batchSeed) external {
        _changeStatus(_actorFor(actorSeed, QUALITY_ROLE), _batchOrUnknown(batchSeed), QUALITY_ROLE, RELEASED);
    }

    /// @dev One acknowledgement in six without a comment.
    function acknowledgeExcursion(uint256 actorSeed, uint256 batchSeed) external {
        address actor = _actorFor(actorSeed, QUALITY_ROLE);
        bytes32 id = _batchOrUnknown(batchSeed);
        string memory comment = (batchSeed >> 128) % 6 == 0 ? "" : "seen";
        bytes memory expected = _authorizationError(actor, QUALITY_ROLE);
        bool authorized = expected.length == 0;
        IProvenanceLedger.BatchStatus status = _ghost[id].status;
        if (authorized && status == NONE) {
            expected = abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnknownBatch.selector, id);
        } else if (authorized && _ghostHold(id) == HOLD_NONE) {
            expected = abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNoExcursion.selector, id, status);
        } else if (authorized && bytes(comment).length == 0) {
            expected = abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerEmptyComment.selector, id);
        }
        bytes32 digestBefore = _digest(id);
        vm.prank(actor);
        try ledger.acknowledgeExcursion(id, comment) {
            if (_settle(true, "", expected, authorized, digestBefore, id)) _ghostHolds[id] = ACKNOWLEDGED;
        } catch (bytes memory reason) {
            _settle(false, reason, expected, authorized, digestBefore, id);
        }
        _observe();
    }

    /// @dev The hold the ledger should report: the stored one while the batch is held.
    function ghostHold(bytes32 id) external view returns (IProvenanceLedger.ExcursionHold) {
        return _ghostHold(id);
    }

    function recall(uint256 actorSeed, uint256 batchSeed) external {
        _changeStatus(_actorFor(actorSeed, QUALITY_ROLE), _batchOrUnknown(batchSeed), QUALITY_ROLE, RECALLED);
    }

    function authorizeWriter(uint256 actorSeed, uint256 batchSeed, uint256 writerSeed, bool revoke) external {
        address actor = _actorFor(actorSeed, OPERATOR_ROLE);
        bytes32 id = _batchOrUnknown(batchSeed);
        address writer = _actor(writerSeed);
        bytes memory expected = _authorizationError(actor, OPERATOR_ROLE);
        bool authorized = expected.length == 0;
        GhostBatch storage ghost = _ghost[id];
        if (authorized && ghost.status == NONE) {
            expected = abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnknownBatch.selector, id);
        } else if (authorized && actor != ghost.owner && actor != ghost.custodian) {
            expected = abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotBatchHolder.selector, actor, id);
        }
        bytes32 digestBefore = _digest(id);
        vm.prank(actor);
        bool ok;
        bytes memory reason;
        if (revoke) {
            try ledger.revokeWriter(id, writer) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        } else {
            try ledger.authorizeWriter(id, writer) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        }
        if (_settle(ok, reason, expected, authorized, digestBefore, id)) {
            _ghostWriters[id][writer] = revoke ? address(0) : actor;
        }
        _observe();
    }

    function offerCustody(uint256 actorSeed, uint256 batchSeed, uint256 toSeed) external {
        address actor = _actorFor(actorSeed, OPERATOR_ROLE);
        bytes32 id = _batchOrUnknown(batchSeed);
        address to = _actor(toSeed);
        bytes memory expected = _authorizationError(actor, OPERATOR_ROLE);
        bool authorized = expected.length == 0;
        if (authorized) expected = _expectedMoveError(id);
        if (authorized && expected.length == 0 && actor != _ghost[id].custodian) {
            expected = abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotCustodian.selector, actor, id);
        }
        bytes32 digestBefore = _digest(id);
        vm.prank(actor);
        try ledger.offerCustody(id, to) {
            if (_settle(true, "", expected, authorized, digestBefore, id)) _ghostOffers[id] = to;
        } catch (bytes memory reason) {
            _settle(false, reason, expected, authorized, digestBefore, id);
        }
        _observe();
    }

    /// @dev Half the time by the account the batch is offered to, so transfers happen.
    function acceptCustody(uint256 actorSeed, uint256 batchSeed) external {
        bytes32 id = _batchOrUnknown(batchSeed);
        address actor = actorSeed % 2 == 0 && _ghostOffers[id] != address(0)
            ? _ghostOffers[id]
            : _actorFor(actorSeed / 2, OPERATOR_ROLE);
        bytes memory expected = _authorizationError(actor, OPERATOR_ROLE);
        bool authorized = expected.length == 0;
        if (authorized) expected = _expectedMoveError(id);
        if (authorized && expected.length == 0 && _ghostOffers[id] != actor) {
            expected = abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNoCustodyOffer.selector, actor, id);
        }
        bytes32 digestBefore = _digest(id);
        vm.prank(actor);
        try ledger.acceptCustody(id) {
            if (_settle(true, "", expected, authorized, digestBefore, id)) {
                _ghost[id].custodian = actor;
                _ghostOffers[id] = address(0);
                (_acceptedBatch, _acceptedBy) = (id, actor);
            }
        } catch (bytes memory reason) {
            _settle(false, reason, expected, authorized, digestBefore, id);
        }
        _observe();
        (_acceptedBatch, _acceptedBy) = (bytes32(0), address(0));
    }

    // ---------------------------------------------------------------- governance (always by the governor)

    /// @dev Unpauses at once but pauses only one time in eight, so runs keep making progress.
    function togglePause(uint256 seed) external {
        if (_ghostPaused) {
            vm.prank(governor);
            membership.unpause();
            _ghostPaused = false;
        } else if (seed % 8 == 0) {
            vm.prank(governor);
            membership.pause();
            _ghostPaused = true;
        }
        _observe();
    }

    function setOrganizationActive(uint256 actorSeed, bool active) external {
        address actor = _actor(actorSeed);
        if (!_ghostRegistered[actor]) return;
        vm.prank(governor);
        membership.setOrganizationActive(actor, active);
        _ghostActive[actor] = active;
        _observe();
    }

    function toggleRole(uint256 actorSeed, uint256 roleSeed) external {
        address actor = _actor(actorSeed);
        if (actor == governor) return;
        bytes32 role = [OPERATOR_ROLE, QUALITY_ROLE, QUARANTINE_ROLE][roleSeed % 3];
        vm.prank(governor);
        if (_ghostRoles[actor][role]) membership.revokeRole(role, actor);
        else membership.grantRole(role, actor);
        _ghostRoles[actor][role] = !_ghostRoles[actor][role];
        _observe();
    }

    // ---------------------------------------------------------------- views for the invariants

    function batchCount() external view returns (uint256) {
        return _batchIds.length;
    }

    function batchIdAt(uint256 index) external view returns (bytes32) {
        return _batchIds[index];
    }

    function ghostBatch(bytes32 id) external view returns (IProvenanceLedger.BatchStatus, uint64) {
        return (_ghost[id].status, _ghost[id].eventCount);
    }

    function ghostCustody(bytes32 id) external view returns (address owner, address custodian) {
        return (_ghost[id].owner, _ghost[id].custodian);
    }

    function uriOf(bytes32 id) external view returns (string memory) {
        return _uris[id];
    }

    function prefixCount() external pure returns (uint256) {
        return PREFIX_COUNT;
    }

    function prefixAt(uint256 index) external pure returns (string memory) {
        return _prefix(index);
    }

    function ghostPrefixOwner(uint256 index) external view returns (address) {
        return _ghostPrefixOwners[index];
    }

    // ---------------------------------------------------------------- model

    /// @dev Empty when `actor` may write with `role` right now; else the exact revert data.
    function _authorizationError(address actor, bytes32 role) internal view returns (bytes memory) {
        if (_ghostPaused) return abi.encodeWithSelector(IMembership.MembershipPaused.selector);
        bool usable = _ghostRoles[actor][role] && (!_ghostRegistered[actor] || _ghostActive[actor]);
        if (!usable) return _unauthorizedError(actor, role);
        return "";
    }

    function _unauthorizedError(address actor, bytes32 role) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IMembership.MembershipUnauthorizedAccount.selector, actor, role);
    }

    /// @dev Prefix 2 (8 digits) nests in prefix 0 and covers GTIN 0 but not GTIN 2.
    function _prefix(uint256 index) internal pure returns (string memory) {
        return ["9506000", "0614141", "95060001"][index];
    }

    function _gtin(uint256 index) internal pure returns (string memory) {
        return ["09506000134352", "00614141123452", "09506000234359"][index];
    }

    function _gtinNumber(uint256 index) internal pure returns (uint64) {
        return [uint64(9506000134352), 614141123452, 9506000234359][index];
    }

    /// @dev The GTIN's prefixes, longest first: its prefix is the longest one assigned.
    function _prefixesOf(uint256 gtin) internal pure returns (uint256[] memory prefixes) {
        if (gtin == 0) {
            prefixes = new uint256[](2);
            (prefixes[0], prefixes[1]) = (2, 0);
        } else {
            prefixes = new uint256[](1);
            prefixes[0] = gtin == 1 ? 1 : 0;
        }
    }

    function _ghostHoldsPrefix(uint256 gtin, address actor) internal view returns (bool) {
        uint256[] memory prefixes = _prefixesOf(gtin);
        for (uint256 i; i < prefixes.length; ++i) {
            address owner = _ghostPrefixOwners[prefixes[i]];
            if (owner != address(0)) return actor == owner || _ghostPrefixDelegates[prefixes[i]][actor] == owner;
        }
        return false;
    }

    function _expectedCreateError(bytes32 id, bytes32[] memory parents) internal view returns (bytes memory) {
        if (_ghost[id].status != NONE) {
            return abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchExists.selector, id);
        }
        for (uint256 i; i < parents.length; ++i) {
            if (_ghost[parents[i]].status == NONE) {
                return abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnknownParent.selector, id, parents[i]);
            }
        }
        return "";
    }

    function _isGhostWriter(bytes32 id, address actor) internal view returns (bool) {
        GhostBatch storage ghost = _ghost[id];
        if (actor == ghost.owner || actor == ghost.custodian) return true;
        address grantedBy = _ghostWriters[id][actor];
        return grantedBy != address(0) && (grantedBy == ghost.owner || grantedBy == ghost.custodian);
    }

    function _expectedMoveError(bytes32 id) internal view returns (bytes memory) {
        if (_ghost[id].status == NONE) {
            return abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnknownBatch.selector, id);
        }
        if (_ghost[id].status == DESTROYED) {
            return abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchDestroyed.selector, id);
        }
        return "";
    }

    function _expectedRecordOutcome(
        address actor,
        bytes32 id,
        IProvenanceLedger.EventKind[] memory kinds,
        bytes[] memory payloads
    ) internal view returns (bytes memory expected, IProvenanceLedger.BatchStatus status) {
        status = _ghost[id].status;
        if (status == NONE) {
            return (abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnknownBatch.selector, id), status);
        }
        if (status == DESTROYED) {
            return (abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchDestroyed.selector, id), status);
        }
        if (kinds.length != payloads.length) {
            return (
                abi.encodeWithSelector(
                    IProvenanceLedger.ProvenanceLedgerLengthMismatch.selector, kinds.length, payloads.length
                ),
                status
            );
        }
        if (kinds.length == 0) {
            return (abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNoEvents.selector, id), status);
        }
        if (!_isGhostWriter(id, actor)) {
            return
                (abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotBatchWriter.selector, actor, id), status);
        }
        bool holder = actor == _ghost[id].owner || actor == _ghost[id].custodian;
        for (uint256 i; i < kinds.length; ++i) {
            if (status == DESTROYED) {
                return (abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerBatchDestroyed.selector, id), status);
            }
            if ((status == QUARANTINED || status == RECALLED) && kinds[i] == IProvenanceLedger.EventKind.OTHER) {
                return (
                    abi.encodeWithSelector(
                        IProvenanceLedger.ProvenanceLedgerBatchQuarantined.selector, id, status, kinds[i]
                    ),
                    status
                );
            }
            if (payloads[i].length == 0) {
                return (abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerEmptyPayload.selector, id, i), status);
            }
            if (kinds[i] == IProvenanceLedger.EventKind.DESTRUCTION) {
                if (!holder) {
                    return (
                        abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerNotBatchHolder.selector, actor, id),
                        status
                    );
                }
                status = DESTROYED;
            }
        }
        return ("", status);
    }

    /// @dev The statuses each target may be entered from, as a bitmask over BatchStatus.
    function _allowedFrom(IProvenanceLedger.BatchStatus to) internal pure returns (uint256) {
        if (to == QUARANTINED) return (1 << uint8(ACTIVE)) | (1 << uint8(RELEASED));
        if (to == RELEASED) return (1 << uint8(QUARANTINED)) | (1 << uint8(RECALLED));
        return (1 << uint8(ACTIVE)) | (1 << uint8(RELEASED)) | (1 << uint8(QUARANTINED));
    }

    function _changeStatus(address actor, bytes32 id, bytes32 role, IProvenanceLedger.BatchStatus to) internal {
        bytes memory expected = _authorizationError(actor, role);
        bool authorized = expected.length == 0;
        IProvenanceLedger.BatchStatus from = _ghost[id].status;
        string memory reason_ = to == RELEASED && uint256(keccak256(abi.encode(id, _nonce++))) % 8 == 0 ? "" : "handler";
        if (authorized && from == NONE) {
            expected = abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerUnknownBatch.selector, id);
        } else if (authorized && _allowedFrom(to) & (1 << uint8(from)) == 0) {
            expected =
                abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerInvalidTransition.selector, id, from, to);
        } else if (authorized && to == RELEASED && bytes(reason_).length == 0) {
            expected = abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerEmptyReason.selector, id);
        } else if (authorized && to == RELEASED && _ghostHold(id) == UNACKNOWLEDGED) {
            expected = abi.encodeWithSelector(IProvenanceLedger.ProvenanceLedgerExcursionNotAcknowledged.selector, id);
        }

        bytes32 digestBefore = _digest(id);
        vm.prank(actor);
        bool ok;
        bytes memory reason;
        if (to == QUARANTINED) {
            try ledger.quarantine(id, reason_) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        } else if (to == RELEASED) {
            try ledger.release(id, reason_) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        } else {
            try ledger.recall(id, reason_) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        }
        if (_settle(ok, reason, expected, authorized, digestBefore, id)) {
            _ghost[id].status = to;
            if (to == QUARANTINED) _ghostHolds[id] = actor.code.length != 0 ? UNACKNOWLEDGED : HOLD_NONE;
            if (to == RELEASED) _ghostHolds[id] = HOLD_NONE;
        }
        _observe();
    }

    function _ghostHold(bytes32 id) internal view returns (IProvenanceLedger.ExcursionHold) {
        IProvenanceLedger.BatchStatus status = _ghost[id].status;
        return status == QUARANTINED || status == RECALLED ? _ghostHolds[id] : HOLD_NONE;
    }

    /// @dev Compares an outcome with its prediction; true when both say success.
    function _settle(
        bool ok,
        bytes memory reason,
        bytes memory expected,
        bool authorized,
        bytes32 digestBefore,
        bytes32 id
    ) internal returns (bool) {
        bool predictedOk = expected.length == 0;
        if (ok != predictedOk || (!ok && keccak256(reason) != keccak256(expected))) ++unexpectedOutcomes;
        if (!authorized && _digest(id) != digestBefore) ++unauthorizedStateChanges;
        if (ok) ++acceptedWrites;
        else ++refusedWrites;
        return ok && predictedOk;
    }

    // ---------------------------------------------------------------- observation

    /// @dev Ledger state of every known batch plus `extra` (a batch a call may be about to create).
    function _digest(bytes32 extra) internal view returns (bytes32 digest) {
        digest = keccak256(abi.encode(extra, _state(extra), _prefixState()));
        for (uint256 i; i < _batchIds.length; ++i) {
            digest = keccak256(abi.encode(digest, _batchIds[i], _state(_batchIds[i])));
        }
    }

    /// @dev Everything the ledger holds about a batch, writers of the known actors included.
    function _state(bytes32 id) internal view returns (bytes memory state) {
        (address owner, address custodian) = ledger.custody(id);
        state = abi.encode(ledger.batch(id), owner, custodian, ledger.custodyOffer(id), ledger.excursionHold(id));
        for (uint256 i; i < _actors.length; ++i) {
            state = abi.encode(state, ledger.isWriter(id, _actors[i]));
        }
    }

    /// @dev Every prefix's owner and who may create batches of every GTIN.
    function _prefixState() internal view returns (bytes memory state) {
        for (uint256 p; p < PREFIX_COUNT; ++p) {
            state = abi.encode(state, ledger.prefixOwner(_prefix(p)));
        }
        for (uint256 g; g < GTIN_COUNT; ++g) {
            for (uint256 i; i < _actors.length; ++i) {
                state = abi.encode(state, ledger.isPrefixHolder(_gtinNumber(g), _actors[i]));
            }
        }
    }

    /// @dev Checks every batch against what was seen after the previous action.
    function _observe() internal {
        for (uint256 i; i < _batchIds.length; ++i) {
            bytes32 id = _batchIds[i];
            IProvenanceLedger.Batch memory b = ledger.batch(id);
            GhostBatch storage last = _lastSeen[id];
            if (b.eventCount < last.eventCount) ++eventCountDecreases;
            if (last.status == DESTROYED && (b.status != DESTROYED || b.eventCount != last.eventCount)) {
                ++destroyedBatchChanges;
            }
            (, address custodian) = ledger.custody(id);
            if (custodian != last.custodian && !(id == _acceptedBatch && custodian == _acceptedBy)) {
                ++custodyChangesWithoutAcceptance;
            }
            IProvenanceLedger.ExcursionHold hold = ledger.excursionHold(id);
            if (_lastSeenHold[id] == UNACKNOWLEDGED && b.status == RELEASED) ++unacknowledgedReleases;
            _lastSeenHold[id] = hold;
            last.status = b.status;
            last.eventCount = b.eventCount;
            last.custodian = custodian;
        }
    }

    // ---------------------------------------------------------------- inputs

    function _addActor(string memory name, bool organization, bool operator, bool quality, bool quarantine) internal {
        address actor = makeAddr(name);
        _actors.push(actor);
        vm.startPrank(governor);
        if (organization) {
            membership.registerOrganization(actor, string.concat("did:pkh:eip155:31337:", name), name);
            _ghostRegistered[actor] = true;
            _ghostActive[actor] = true;
        }
        if (operator) membership.grantRole(OPERATOR_ROLE, actor);
        if (quality) membership.grantRole(QUALITY_ROLE, actor);
        if (quarantine) membership.grantRole(QUARANTINE_ROLE, actor);
        vm.stopPrank();
        _ghostRoles[actor][OPERATOR_ROLE] = operator;
        _ghostRoles[actor][QUALITY_ROLE] = quality;
        _ghostRoles[actor][QUARANTINE_ROLE] = quarantine;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % _actors.length];
    }

    /// @dev Two times in three an actor the model says may use `role` (when one exists), so
    /// runs make progress; otherwise any actor, authorized or not.
    function _actorFor(uint256 seed, bytes32 role) internal view returns (address) {
        if (seed % 3 == 0) return _actor(seed / 3);
        address[] memory usable = new address[](_actors.length);
        uint256 count;
        for (uint256 i; i < _actors.length; ++i) {
            address actor = _actors[i];
            if (_ghostRoles[actor][role] && (!_ghostRegistered[actor] || _ghostActive[actor])) usable[count++] = actor;
        }
        return count == 0 ? _actor(seed / 3) : usable[(seed / 3) % count];
    }

    /// @dev A known batch, or one time in ten (and while none exist) an id never created.
    function _batchOrUnknown(uint256 seed) internal view returns (bytes32) {
        if (_batchIds.length == 0 || seed % 10 == 0) return keccak256(abi.encode("unknown", seed));
        return _batchIds[(seed / 10) % _batchIds.length];
    }

    /// @dev Up to three known parents, and one time in six an unknown one at the end.
    function _parents(uint256 seed) internal view returns (bytes32[] memory parents) {
        uint256 known = _batchIds.length == 0 ? 0 : seed % 4;
        bool unknown = (seed >> 8) % 6 == 0;
        parents = new bytes32[](known + (unknown ? 1 : 0));
        for (uint256 i; i < known; ++i) {
            parents[i] = _batchIds[uint256(keccak256(abi.encode(seed, i))) % _batchIds.length];
        }
        if (unknown) parents[known] = keccak256(abi.encode("unknown parent", seed));
    }

    /// @dev 0–5 events, mostly OTHER, some INSPECTION, a few DESTRUCTION; now and then an
    /// empty payload or one payload too many.
    function _events(uint256 countSeed, uint256 kindSeed, uint256 flawSeed)
        internal
        returns (IProvenanceLedger.EventKind[] memory kinds, bytes[] memory payloads)
    {
        uint256 count = bound(countSeed, 0, MAX_EVENTS);
        bool extraPayload = flawSeed % 16 == 0;
        kinds = new IProvenanceLedger.EventKind[](count);
        payloads = new bytes[](count + (extraPayload ? 1 : 0));
        for (uint256 i; i < payloads.length; ++i) {
            payloads[i] = bytes(string.concat('{"type":"ObjectEvent","n":', vm.toString(_nonce++), "}"));
        }
        for (uint256 i; i < count; ++i) {
            uint256 k = uint8(kindSeed >> (8 * i)) % 16;
            kinds[i] = k == 15
                ? IProvenanceLedger.EventKind.DESTRUCTION
                : k >= 10 ? IProvenanceLedger.EventKind.INSPECTION : IProvenanceLedger.EventKind.OTHER;
        }
        // One call in four ends with a destruction, so destroyed batches show up in short runs.
        if (count != 0 && (flawSeed >> 24) % 4 == 0) kinds[count - 1] = IProvenanceLedger.EventKind.DESTRUCTION;
        if (count != 0 && (flawSeed >> 8) % 12 == 0) payloads[(flawSeed >> 16) % count] = "";
    }
}
