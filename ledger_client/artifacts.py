"""Compile the Solidity sources with solc-js (through py-solc-x) into cached build artifacts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ledger_client.config import REPO_ROOT
from ledger_client.errors import ToolchainError

CONTRACTS_DIR = REPO_ROOT / "contracts"
SOURCES_DIR = CONTRACTS_DIR / "src"
SOLC_WRAPPER = CONTRACTS_DIR / "tools" / "solc"
NODE_MODULES = REPO_ROOT / "node_modules"
ARTIFACTS_DIR = REPO_ROOT / "build" / "artifacts"


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict]
    bytecode: str


def _sources() -> dict[str, Path]:
    return {
        f"src/{p.relative_to(SOURCES_DIR).as_posix()}": p
        for p in sorted(SOURCES_DIR.rglob("*.sol"))
    }


def _standard_input(sources: dict[str, Path]) -> dict:
    # Same settings as foundry.toml so forge and Python build the same bytecode.
    return {
        "language": "Solidity",
        "sources": {key: {"content": path.read_text()} for key, path in sources.items()},
        "settings": {
            "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
            "optimizer": {"enabled": True, "runs": 10_000},
            "evmVersion": "prague",
            "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object"]}},
        },
    }


def _fingerprint(standard_input: dict) -> str:
    return hashlib.sha256(json.dumps(standard_input, sort_keys=True).encode()).hexdigest()


def compile_contracts(*, force: bool = False) -> Path:
    """Compile `contracts/src` unless the artifacts already match the sources; returns their dir."""
    standard_input = _standard_input(_sources())
    stamp = ARTIFACTS_DIR / ".fingerprint"
    fingerprint = _fingerprint(standard_input)
    if not force and stamp.exists() and stamp.read_text() == fingerprint:
        return ARTIFACTS_DIR
    if not (NODE_MODULES / "solc").exists():
        raise ToolchainError(
            "solc-js is not installed: run `make install` (or `npm install`) first"
        )

    import solcx  # imported here: only compilation needs it

    try:
        output = solcx.compile_standard(
            standard_input,
            solc_binary=SOLC_WRAPPER,
            base_path=str(REPO_ROOT),
            allow_paths=[str(REPO_ROOT)],
        )
    except solcx.exceptions.SolcError as exc:
        raise ToolchainError(f"compilation failed: {exc}") from exc
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for source, source_contracts in output.get("contracts", {}).items():
        if not source.startswith("src/"):
            continue  # OpenZeppelin's own contracts are not ours to deploy
        for name, compiled in source_contracts.items():
            bytecode = compiled["evm"]["bytecode"]["object"]
            artifact = {"contractName": name, "abi": compiled["abi"], "bytecode": "0x" + bytecode}
            (ARTIFACTS_DIR / f"{name}.json").write_text(json.dumps(artifact, indent=1))
    stamp.write_text(fingerprint)
    load_artifact.cache_clear()
    return ARTIFACTS_DIR


@cache
def load_artifact(name: str) -> Artifact:
    """The compiled ABI and bytecode of contract `name`, compiling first if needed."""
    path = ARTIFACTS_DIR / f"{name}.json"
    if not path.exists():
        compile_contracts()
    if not path.exists():
        raise ToolchainError(f"no contract named {name} in contracts/src")
    data = json.loads(path.read_text())
    return Artifact(name=name, abi=data["abi"], bytecode=data["bytecode"])
