"""The deployment record: which contracts live where on which chain, under `.provenance/`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from ledger_client.artifacts import load_artifact
from ledger_client.errors import DeploymentError


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    addresses: dict[str, ChecksumAddress]
    deploy_block: int
    deployer: str
    deployed_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds")
    )

    def address(self, contract: str) -> ChecksumAddress:
        try:
            return self.addresses[contract]
        except KeyError:
            raise DeploymentError(
                f"the deployment record has no {contract}; run `provenance deploy` again"
            ) from None

    def contract(self, w3: Web3, name: str) -> Contract:
        """The web3 handle of contract `name` at its recorded address, with its compiled ABI."""
        return w3.eth.contract(address=self.address(name), abi=load_artifact(name).abi)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, path: Path) -> Deployment:
        if not path.exists():
            raise DeploymentError(f"no deployment record at {path}: run `provenance deploy` first")
        try:
            deployment = cls(**json.loads(path.read_text()))
        except (ValueError, TypeError) as exc:
            raise DeploymentError(f"the deployment record {path} is malformed: {exc}") from exc
        except OSError as exc:
            raise DeploymentError(
                f"cannot read the deployment record {path}: {exc.strerror}"
            ) from None
        problem = deployment._problem()
        if problem:
            raise DeploymentError(
                f"the deployment record {path} is malformed: {problem}; "
                "run `provenance deploy` again"
            )
        return deployment

    def _problem(self) -> str | None:
        """What makes this record unusable (a field of the wrong type), or None."""
        for name in ("chain_id", "deploy_block"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                return f"{name} is {value!r}, not a non-negative integer"
        if not isinstance(self.addresses, dict):
            return f"addresses is {type(self.addresses).__name__}, not an object"
        for contract, address in self.addresses.items():
            if not isinstance(address, str) or not Web3.is_address(address):
                return f"the address of {contract} is {address!r}, not an account address"
        return None

    def check_chain(self, w3: Web3) -> None:
        """Refuse a node of another chain, or one on which the contracts are missing."""
        chain_id = w3.eth.chain_id
        if chain_id != self.chain_id:
            raise DeploymentError(
                f"the deployment record is for chain {self.chain_id} but the node at the RPC URL "
                f"is chain {chain_id}: point PROVENANCE_RPC_URL at the right node or deploy again"
            )
        for name, address in self.addresses.items():
            if not w3.eth.get_code(Web3.to_checksum_address(address)):
                raise DeploymentError(
                    f"{name} has no code at {address} on chain {chain_id}: "
                    "the chain was reset; run `provenance deploy` again"
                )
