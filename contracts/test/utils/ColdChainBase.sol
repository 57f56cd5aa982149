// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ColdChainCompliance} from "../../src/ColdChainCompliance.sol";
import {DeviceRegistry} from "../../src/DeviceRegistry.sol";
import {IColdChainCompliance} from "../../src/interfaces/IColdChainCompliance.sol";
import {IProvenanceLedger} from "../../src/interfaces/IProvenanceLedger.sol";
import {Roles} from "../../src/libraries/Roles.sol";
import {ConsortiumBase} from "./ConsortiumBase.sol";
import {Vm} from "./Vm.sol";

/// @dev The four contracts deployed and wired as in production (the compliance contract
/// holds QUARANTINE_ROLE and is the registry's compliance contract), the actors holding
/// each role, and helpers to sign readings with an EIP-712 digest computed here
/// independently of the contract.
abstract contract ColdChainBase is ConsortiumBase {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant READING_TYPEHASH = keccak256(
        "Reading(address device,bytes32 batchId,uint64 seq,uint64 timestamp,int32 tempMilliC,uint16 humidityPermille)"
    );
    /// @dev secp256k1 group order: s above n / 2 is the malleable twin of a low-s signature.
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    bytes32 internal constant PRODUCT = keccak256("vaccine-2-8C");
    string internal constant LOT_URI = "https://id.gs1.org/01/09506000134352/10/LOT001";
    uint64 internal constant T0 = 1_700_000_000;

    IProvenanceLedger.BatchStatus internal constant ACTIVE = IProvenanceLedger.BatchStatus.ACTIVE;
    IProvenanceLedger.BatchStatus internal constant QUARANTINED = IProvenanceLedger.BatchStatus.QUARANTINED;
    IProvenanceLedger.BatchStatus internal constant RELEASED = IProvenanceLedger.BatchStatus.RELEASED;
    IProvenanceLedger.BatchStatus internal constant RECALLED = IProvenanceLedger.BatchStatus.RECALLED;
    IProvenanceLedger.BatchStatus internal constant DESTROYED = IProvenanceLedger.BatchStatus.DESTROYED;

    DeviceRegistry internal registry;
    ColdChainCompliance internal compliance;

    address internal oracle;

    uint256 private _uriNonce;
    mapping(bytes32 productClass => bool) private _assignedClasses;

    function _deploy() internal {
        _deployConsortium();
        oracle = makeAddr("oracle");
        registry = new DeviceRegistry(membership, ledger);
        compliance = new ColdChainCompliance(membership, ledger, registry);

        _enrol(quality, Roles.QUALITY, "did:pkh:eip155:31337:quality", "Quality Lab");
        _enrol(oracle, Roles.ORACLE, "did:pkh:eip155:31337:oracle", "Oracle Bridge");
        _grant(Roles.QUARANTINE, address(compliance));
        vm.prank(governor);
        registry.setCompliance(address(compliance));
    }

    // ---------------------------------------------------------------- setup helpers

    /// @dev The rule of the fixture's examples: 2–8 °C, hard limits -5 / 25 °C, 30 min, 1 h gap.
    function _defaultRule() internal pure returns (IColdChainCompliance.Rule memory) {
        return IColdChainCompliance.Rule({
            minMilliC: 2000,
            maxMilliC: 8000,
            hardMinMilliC: -5000,
            hardMaxMilliC: 25000,
            allowedExcursionSeconds: 1800,
            maxDataGapSeconds: 3600,
            requireCalibration: false
        });
    }

    /// @dev The governor makes the quality lab the authority of `productClass`.
    function _assignClassAuthority(bytes32 productClass) internal {
        vm.prank(governor);
        compliance.assignClassAuthority(productClass, quality);
        _assignedClasses[productClass] = true;
    }

    /// @dev Sets the rule as the quality lab, assigning it the class first (once: so that after the
    /// first rule of a class the only call made here is setRule, for vm.expectRevert / expectEmit).
    function _setRule(bytes32 productClass, IColdChainCompliance.Rule memory rule) internal {
        if (!_assignedClasses[productClass]) _assignClassAuthority(productClass);
        vm.prank(quality);
        compliance.setRule(productClass, rule);
    }

    function _createBatch(bytes32 productClass) internal returns (bytes32) {
        string memory uri = string.concat(LOT_URI, "-", vm.toString(_uriNonce++));
        vm.prank(operator);
        return ledger.createBatch(IProvenanceLedger.BatchKind.LOT, productClass, new bytes32[](0), uri);
    }

    /// @dev Registers the device of `key` (owned by the operator) and assigns it to `batchId`.
    function _enrolDevice(uint256 key, bytes32 batchId) internal returns (address device) {
        device = vm.addr(key);
        string memory did = string.concat("did:pkh:eip155:31337:", vm.toString(uint256(uint160(device))));
        bytes memory signature = _registrationSignature(key, operator, did, address(registry));
        vm.startPrank(operator);
        registry.registerDevice(device, did, signature);
        registry.assignDevice(device, batchId);
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- readings and signatures

    function _reading(address device, bytes32 batchId, uint64 seq, uint64 timestamp, int32 temp)
        internal
        pure
        returns (IColdChainCompliance.Reading memory)
    {
        return IColdChainCompliance.Reading({
            device: device, batchId: batchId, seq: seq, timestamp: timestamp, tempMilliC: temp, humidityPermille: 550
        });
    }

    /// @dev The EIP-712 digest of `reading` under the domain (chainId, verifyingContract), built
    /// here from the spec rather than taken from the contract.
    function _digest(IColdChainCompliance.Reading memory reading, uint256 chainId, address verifyingContract)
        internal
        pure
        returns (bytes32)
    {
        bytes32 domainSeparator = keccak256(
            abi.encode(DOMAIN_TYPEHASH, keccak256("ColdChainCompliance"), keccak256("1"), chainId, verifyingContract)
        );
        bytes32 structHash = keccak256(
            abi.encode(
                READING_TYPEHASH,
                reading.device,
                reading.batchId,
                reading.seq,
                reading.timestamp,
                reading.tempMilliC,
                reading.humidityPermille
            )
        );
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }

    /// @dev A 65-byte r || s || v signature of `digest` by `key`.
    function _signature(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev `reading` signed by `key` for the deployed compliance contract on this chain.
    function _signed(uint256 key, IColdChainCompliance.Reading memory reading)
        internal
        view
        returns (IColdChainCompliance.SignedReading memory)
    {
        return IColdChainCompliance.SignedReading({
            reading: reading, signature: _signature(key, _digest(reading, block.chainid, address(compliance)))
        });
    }

    /// @dev The malleable twin (s' = n - s, v flipped) of a 65-byte signature: ecrecover accepts it.
    function _highS(bytes memory signature) internal pure returns (bytes memory) {
        (bytes32 r, bytes32 s, uint8 v) = _split(signature);
        return abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));
    }

    /// @dev The EIP-2098 64-byte compact form r || (yParity << 255 | s) of a 65-byte signature.
    function _compact(bytes memory signature) internal pure returns (bytes memory) {
        (bytes32 r, bytes32 s, uint8 v) = _split(signature);
        return abi.encodePacked(r, bytes32(uint256(s) | (uint256(v - 27) << 255)));
    }

    function _split(bytes memory signature) internal pure returns (bytes32 r, bytes32 s, uint8 v) {
        assembly ("memory-safe") {
            r := mload(add(signature, 0x20))
            s := mload(add(signature, 0x40))
            v := byte(0, mload(add(signature, 0x60)))
        }
    }

    function _one(IColdChainCompliance.SignedReading memory signed)
        internal
        pure
        returns (IColdChainCompliance.SignedReading[] memory batch)
    {
        batch = new IColdChainCompliance.SignedReading[](1);
        batch[0] = signed;
    }

    function _submit(IColdChainCompliance.SignedReading memory signed) internal {
        vm.prank(oracle);
        compliance.submitReadings(_one(signed));
    }

    // ---------------------------------------------------------------- reference model

    /// @dev RULES.md's evaluate, for readings that meet the preconditions, written out
    /// independently of the library.
    function _reference(
        IColdChainCompliance.Rule memory rule,
        IColdChainCompliance.ComplianceState memory state,
        IColdChainCompliance.Reading memory reading
    ) internal pure returns (IColdChainCompliance.ComplianceState memory next, IColdChainCompliance.Decision decision) {
        next = IColdChainCompliance.ComplianceState(
            reading.seq, reading.timestamp, state.inExcursion, state.excursionStart
        );
        int256 temp = reading.tempMilliC;
        bool hard = temp < rule.hardMinMilliC || temp > rule.hardMaxMilliC;
        bool missing = state.inExcursion && reading.seq != state.lastSeq + 1;
        bool gap = rule.maxDataGapSeconds > 0 && state.lastSeq != 0 && reading.seq == state.lastSeq + 1
            && uint256(reading.timestamp) - state.lastTimestamp > rule.maxDataGapSeconds;
        bool outOfRange = temp < rule.minMilliC || temp > rule.maxMilliC;
        if (hard) return (_cleared(next), IColdChainCompliance.Decision.QUARANTINE_HARD_LIMIT);
        if (missing) return (_cleared(next), IColdChainCompliance.Decision.QUARANTINE_MISSING_EVIDENCE);
        if (gap) return (_cleared(next), IColdChainCompliance.Decision.QUARANTINE_DATA_GAP);
        if (outOfRange && !state.inExcursion) {
            next.inExcursion = true;
            next.excursionStart = reading.timestamp;
            return (next, IColdChainCompliance.Decision.EXCURSION_STARTED);
        }
        if (outOfRange) {
            if (uint256(reading.timestamp) - state.excursionStart > rule.allowedExcursionSeconds) {
                return (_cleared(next), IColdChainCompliance.Decision.QUARANTINE_EXCURSION);
            }
            return (next, IColdChainCompliance.Decision.EXCURSION_EXTENDED);
        }
        if (state.inExcursion) {
            next.inExcursion = false;
            return (next, IColdChainCompliance.Decision.EXCURSION_ENDED);
        }
        return (next, IColdChainCompliance.Decision.NONE);
    }

    function _cleared(IColdChainCompliance.ComplianceState memory state)
        internal
        pure
        returns (IColdChainCompliance.ComplianceState memory)
    {
        state.inExcursion = false;
        state.excursionStart = 0;
        return state;
    }

    // ---------------------------------------------------------------- logs and errors

    /// @dev The decision of the ComplianceDecision log in `logs` (NONE when there is none).
    function _decisionIn(Vm.Log[] memory logs) internal view returns (IColdChainCompliance.Decision decision) {
        for (uint256 i; i < logs.length; ++i) {
            if (
                logs[i].emitter == address(compliance)
                    && logs[i].topics[0] == IColdChainCompliance.ComplianceDecision.selector
            ) {
                (,, decision) = abi.decode(logs[i].data, (uint64, uint32, IColdChainCompliance.Decision));
            }
        }
    }

    function _countLogs(Vm.Log[] memory logs, address emitter, bytes32 topic0) internal pure returns (uint256 count) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == emitter && logs[i].topics[0] == topic0) ++count;
        }
    }

    /// @dev RULES.md P1 and P2 errors for `reading` refused against `state`.
    function _stale(IColdChainCompliance.Reading memory reading, IColdChainCompliance.ComplianceState memory state)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(
            IColdChainCompliance.ColdChainComplianceStaleSequence.selector,
            reading.batchId,
            reading.device,
            reading.seq,
            state.lastSeq
        );
    }

    function _regression(IColdChainCompliance.Reading memory reading, IColdChainCompliance.ComplianceState memory state)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(
            IColdChainCompliance.ColdChainComplianceTimestampRegression.selector,
            reading.batchId,
            reading.device,
            reading.timestamp,
            state.lastTimestamp
        );
    }

    function _invalidSignature(uint256 index) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IColdChainCompliance.ColdChainComplianceInvalidSignature.selector, index);
    }

    function _status(bytes32 batchId) internal view returns (IProvenanceLedger.BatchStatus) {
        return ledger.batch(batchId).status;
    }
}
