"""The embedded default of `provenance serve`: with no PROVENANCE_RPC_URL (see
`wants_embedded_chain`), a local anvil whose state lives under the state directory, the
contracts deployed on its first start, a small development consortium and API tokens for
it, so a newcomer can call the API at once.

Everything here uses anvil's public development keys, so it runs on that local anvil only;
a node on a configured network never comes here.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import requests
from eth_account import Account
from web3 import Web3

from api.config import ApiSettings
from api.store.database import api_engine
from api.store.tokens import TokenStore
from ledger_client.chain import connect, rpc
from ledger_client.config import ANVIL_DEV_KEY, LedgerSettings
from ledger_client.deploy import deploy_contracts
from ledger_client.deployment import Deployment
from ledger_client.errors import ConfigurationError
from ledger_client.keys import ANVIL_DEV_KEYS, write_private_file
from ledger_client.local_chain import LocalChain, free_port, start_anvil
from ledger_client.membership import MembershipClient
from ledger_client.roles import Role
from ledger_client.transactions import TransactionSender
from oracle_bridge.config import ANVIL_ORACLE_KEY, BridgeSettings

log = logging.getLogger(__name__)

DEFAULT_RPC_URL = LedgerSettings.model_fields["rpc_url"].default
DEFAULT_RPC_PORT = 8545
CHAIN_STATE_FILE = "chain-state.json"
DEV_TOKENS_FILE = "dev-tokens.json"
# PoA-like blocks, as on the consortium's network.
BLOCK_TIME_S = 1


@dataclass(frozen=True)
class DevMember:
    """An organization of the development consortium: its anvil key, name and roles; its
    API token carries `token_role`."""

    key: str
    name: str
    roles: tuple[Role, ...]
    token_role: Role


# The operator is the node's own organization (PROVENANCE_PRIVATE_KEY's default, the
# governor that deploys), so the node anchors its access trail as a member. Named as the
# parts they play in `provenance demo`: manufacturer, quality authority, auditor.
DEV_MEMBERS = {
    "operator": DevMember(ANVIL_DEV_KEY, "Nordvax Biologics", (Role.OPERATOR,), Role.OPERATOR),
    "quality": DevMember(
        ANVIL_DEV_KEYS[1],
        "Meridian Quality Authority",
        (Role.QUALITY, Role.QUARANTINE),
        Role.QUALITY,
    ),
    "auditor": DevMember(ANVIL_DEV_KEYS[2], "Argus Audit", (Role.AUDITOR,), Role.AUDITOR),
}


def rpc_answers(url: str, *, timeout_s: float = 1.0) -> bool:
    """Whether a JSON-RPC node answers `eth_chainId` at `url` (a listener that answers
    anything else is no node)."""
    try:
        answer = requests.post(
            url,
            json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
            timeout=timeout_s,
        )
        return answer.ok and isinstance(answer.json().get("result"), str)
    except (requests.RequestException, ValueError, AttributeError):
        return False


def wants_embedded_chain(
    state_dir: Path,
    environ: Mapping[str, str] | None = None,
    *,
    default_url: str = DEFAULT_RPC_URL,
) -> bool:
    """Whether `serve` runs the embedded dev chain: not when PROVENANCE_RPC_URL is set, nor
    when a node answers at the default URL for a deployment recorded in `state_dir` that is
    not a saved dev chain's (`provenance chain` then `deploy`). A saved dev chain is always
    resumed, and a fresh state directory always starts one: either way another anvil that
    happens to listen at the default URL is never used by accident."""
    environ = os.environ if environ is None else environ
    if "PROVENANCE_RPC_URL" in environ:
        return False
    if (state_dir / CHAIN_STATE_FILE).exists() or not (state_dir / "deployment.json").exists():
        return True
    return not rpc_answers(default_url)


def require_dev_keys(settings: BridgeSettings) -> None:
    """The embedded chain's organizations are anvil's development accounts: refuse keys set
    for another account, which would hold no ether and no role there.

    Raises:
        ConfigurationError: naming the variable, never the key.
    """
    for variable, key, dev_key in (
        ("PROVENANCE_PRIVATE_KEY", settings.ledger.private_key, ANVIL_DEV_KEY),
        ("PROVENANCE_BRIDGE_ORACLE_PRIVATE_KEY", settings.oracle_private_key, ANVIL_ORACLE_KEY),
    ):
        if key.get_secret_value() != dev_key:
            raise ConfigurationError(
                f"{variable} is set but PROVENANCE_RPC_URL is not: the embedded dev chain runs "
                "on anvil's development accounts; unset it, or set PROVENANCE_RPC_URL to the "
                "network your key belongs to"
            )


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        # As anvil binds: a port left in TIME_WAIT by the last stop is free to it.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def start_dev_chain(state_dir: Path) -> LocalChain:
    """A local anvil with 1 s blocks, on 8545 if free (else any free port), resuming the state
    saved under `state_dir` if there is one and saving it there when stopped.

    Raises:
        ConfigurationError: a deployment record is there but no saved chain (nothing started).
        ToolchainError: anvil is missing or did not start.
    """
    state = state_dir / CHAIN_STATE_FILE
    loaded = state.exists()
    record = state_dir / "deployment.json"
    if record.exists() and not loaded:
        raise ConfigurationError(
            f"{record} records a deployment but the dev chain's saved state {state} is missing:"
            f" remove {state_dir} to start a fresh dev chain, or set PROVENANCE_RPC_URL to the"
            " node of that deployment"
        )
    state_dir.mkdir(parents=True, exist_ok=True)
    port = DEFAULT_RPC_PORT if _port_free(DEFAULT_RPC_PORT) else free_port()
    chain = start_anvil(
        port=port,
        block_time=BLOCK_TIME_S,
        dump_state=state,
        load_state=state if loaded else None,
        log_path=state_dir / "anvil.log",
        tied_to_owner=True,
    )
    if loaded:
        log.info("dev chain loaded from %s, at %s", state, chain.rpc_url)
    else:
        log.info("dev chain started afresh at %s (state saved to %s on exit)", chain.rpc_url, state)
    return chain


@contextmanager
def mined_at_once(w3: Web3) -> Iterator[None]:
    """Each transaction mined as it arrives while the dev chain is set up (its ~30 would
    take half a minute at one block a second), then back to 1 s blocks."""
    rpc(w3, "evm_setAutomine", [True])
    try:
        yield
    finally:
        rpc(w3, "evm_setIntervalMining", [BLOCK_TIME_S])


def dev_deployment(w3: Web3, ledger: LedgerSettings) -> Deployment:
    """The deployment of the dev chain: the record under the state directory, or the
    contracts deployed now (first start) and recorded there.

    Raises:
        DeploymentError: the record's contracts are not on the chain its state was saved from.
    """
    path = ledger.deployment_path
    if path.exists():
        deployment = Deployment.load(path)
        deployment.check_chain(w3)
        return deployment
    log.info("deploying the contracts on the dev chain (first start)…")
    deployment = deploy_contracts(w3, governor_key=ANVIL_DEV_KEY)
    deployment.save(path)
    log.info(
        "deployed: %s; record at %s",
        ", ".join(f"{name} {address}" for name, address in deployment.addresses.items()),
        path,
    )
    return deployment


def dev_consortium(w3: Web3, deployment: Deployment, *, oracle_address: str) -> dict[str, str]:
    """Register each of `DEV_MEMBERS` with its did:pkh and roles, and grant the bridge's
    oracle its role, where not done yet (a start interrupted halfway is completed); the
    members' DIDs by name."""
    governor = MembershipClient(TransactionSender(w3, Account.from_key(ANVIL_DEV_KEY)), deployment)
    dids = {}
    for name, member in DEV_MEMBERS.items():
        address = Account.from_key(member.key).address
        dids[name] = f"did:pkh:eip155:{deployment.chain_id}:{address}"
        if governor.organization(address) is None:
            governor.register_organization(address, did=dids[name], name=member.name)
            log.info("dev consortium: %s registered as %s", member.name, dids[name])
        for role in member.roles:
            if not governor.has_role(role, address):
                governor.grant_role(role, address)
    if not governor.has_role(Role.ORACLE, oracle_address):
        governor.grant_role(Role.ORACLE, oracle_address)
    return dids


def dev_tokens(store: TokenStore, path: Path, *, dids: dict[str, str], chain_id: int) -> bool:
    """Make sure `path` holds a valid API token per dev member (`{"operator": ..., "auditor":
    ..., "quality": ...}`, owner-only): kept when each is still active in `store`, else a
    fresh set is issued and written. True when written now."""
    if path.exists():
        try:
            kept = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            kept = None
        now = datetime.now(UTC)
        if isinstance(kept, dict) and set(kept) == set(DEV_MEMBERS):
            records = [store.find(str(kept[name])) for name in DEV_MEMBERS]
            if all(r is not None and r.state(now) == "active" for r in records):
                return False
        path.unlink()
    tokens = {
        name: store.issue(organization=dids[name], role=member.token_role, chain_id=chain_id).token
        for name, member in DEV_MEMBERS.items()
    }
    write_private_file(path, (json.dumps(tokens, indent=2) + "\n").encode())
    log.info("dev API tokens written to %s (operator, auditor, quality)", path)
    return True


def set_up_dev_chain(settings: BridgeSettings, chain: LocalChain) -> BridgeSettings:
    """`settings` pointed at the running dev `chain`, once it holds the contracts (deployed
    on its first start), the complete dev consortium, and valid dev tokens in
    `DEV_TOKENS_FILE` under the state directory.

    Raises:
        DeploymentError: the deployment record's contracts are not on the saved chain.
    """
    ledger = settings.ledger.model_copy(update={"rpc_url": chain.rpc_url})
    w3 = connect(chain.rpc_url, timeout_s=ledger.rpc_timeout_s)
    oracle = Account.from_key(settings.oracle_private_key.get_secret_value())
    with mined_at_once(w3):
        deployment = dev_deployment(w3, ledger)
        dids = dev_consortium(w3, deployment, oracle_address=oracle.address)
    dev_tokens(
        TokenStore(api_engine(ApiSettings(ledger=ledger))),
        ledger.state_dir / DEV_TOKENS_FILE,
        dids=dids,
        chain_id=deployment.chain_id,
    )
    return settings.model_copy(update={"ledger": ledger})
