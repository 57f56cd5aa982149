"""The embedded default's parts: when it is chosen, what it refuses before starting anything,
the dev consortium completed idempotently, and the dev tokens kept while valid."""

from __future__ import annotations

import json
import socket
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from api.store.database import create_api_tables
from api.store.tokens import TokenStore
from ledger_client.db import make_engine
from ledger_client.errors import ConfigurationError
from ledger_client.keys import ANVIL_DEV_KEYS
from ledger_client.local_chain import LocalChain
from ledger_client.membership import MembershipView
from ledger_client.roles import Role
from oracle_bridge.config import BridgeSettings
from provenance import embedded

pytestmark = pytest.mark.unit

CHAIN_ID = 31337
DIDS = {
    "operator": f"did:pkh:eip155:{CHAIN_ID}:0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "quality": f"did:pkh:eip155:{CHAIN_ID}:0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "auditor": f"did:pkh:eip155:{CHAIN_ID}:0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
}


@pytest.fixture
def closing_listener() -> Iterator[str]:
    """The URL of a port that accepts connections and closes them at once."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except OSError:
                return
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        server.close()
        thread.join(5)


@pytest.mark.integration
def test_only_a_node_answering_eth_chain_id_counts(anvil: LocalChain, closing_listener: str):
    assert embedded.rpc_answers(anvil.rpc_url)
    assert not embedded.rpc_answers(closing_listener)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    assert not embedded.rpc_answers(f"http://127.0.0.1:{port}")


def test_a_set_rpc_url_is_never_the_embedded_chain(tmp_path: Path):
    environ = {"PROVENANCE_RPC_URL": "http://10.0.0.5:8545"}
    assert not embedded.wants_embedded_chain(tmp_path, environ)


@pytest.mark.integration
def test_a_node_at_the_default_url_is_used_only_for_a_deployment_made_there(
    anvil: LocalChain, closing_listener: str, tmp_path: Path
):
    def embedded_chain(default_url: str) -> bool:
        return embedded.wants_embedded_chain(tmp_path, {}, default_url=default_url)

    assert embedded_chain(anvil.rpc_url)  # a fresh state directory: never another's anvil
    (tmp_path / "deployment.json").write_text("{}")
    assert not embedded_chain(anvil.rpc_url)  # `provenance chain`, `deploy`, then serve
    assert embedded_chain(closing_listener)  # no node answers: the embedded chain
    (tmp_path / "chain-state.json").write_text("{}")
    assert embedded_chain(anvil.rpc_url)  # a saved dev chain is always resumed


def test_the_default_keys_are_the_embedded_chains():
    embedded.require_dev_keys(BridgeSettings())


@pytest.mark.parametrize(
    ("variable", "settings"),
    [
        (
            "PROVENANCE_PRIVATE_KEY",
            lambda: BridgeSettings(ledger={"private_key": ANVIL_DEV_KEYS[7]}),
        ),
        (
            "PROVENANCE_BRIDGE_ORACLE_PRIVATE_KEY",
            lambda: BridgeSettings(oracle_private_key=SecretStr("0x" + "42" * 32)),
        ),
    ],
)
def test_a_key_of_another_account_is_refused_without_an_rpc_url(variable, settings):
    with pytest.raises(ConfigurationError) as refused:
        embedded.require_dev_keys(settings())
    assert str(refused.value) == (
        f"{variable} is set but PROVENANCE_RPC_URL is not: the embedded dev chain runs on "
        "anvil's development accounts; unset it, or set PROVENANCE_RPC_URL to the network "
        "your key belongs to"
    )
    assert "42" * 32 not in str(refused.value)


def test_a_deployment_record_without_its_saved_chain_is_refused_before_anything_starts(
    tmp_path: Path,
):
    state_dir = tmp_path / "state"
    state_dir.mkdir()
    (state_dir / "deployment.json").write_text("{}")
    with pytest.raises(ConfigurationError) as refused:
        embedded.start_dev_chain(state_dir)
    assert str(refused.value) == (
        f"{state_dir / 'deployment.json'} records a deployment but the dev chain's saved state "
        f"{state_dir / 'chain-state.json'} is missing: remove {state_dir} to start a fresh dev "
        "chain, or set PROVENANCE_RPC_URL to the node of that deployment"
    )
    assert sorted(p.name for p in state_dir.iterdir()) == ["deployment.json"]


@pytest.mark.integration
def test_the_dev_consortium_is_completed_once(consortium):
    w3, deployment = consortium.w3, consortium.deployment
    oracle = consortium.outsider.address
    dids = embedded.dev_consortium(w3, deployment, oracle_address=oracle)
    assert dids == DIDS
    view = MembershipView(w3, deployment)
    for name, member in embedded.DEV_MEMBERS.items():
        address = dids[name].rsplit(":", 1)[1]
        organization = view.organization(address)
        assert organization is not None and organization.did == dids[name]
        assert organization.name == member.name
        assert all(view.has_role(role, address) for role in member.roles)
    assert view.has_role(Role.ORACLE, oracle)
    block = w3.eth.block_number
    assert embedded.dev_consortium(w3, deployment, oracle_address=oracle) == DIDS
    assert w3.eth.block_number == block  # nothing left to do: no transaction sent


@pytest.fixture
def tokens(tmp_path: Path) -> TokenStore:
    engine = make_engine(f"sqlite:///{tmp_path / 'api.db'}")
    create_api_tables(engine)
    return TokenStore(engine)


def test_dev_tokens_are_written_owner_only_and_work(tokens: TokenStore, tmp_path: Path):
    path = tmp_path / "state" / "dev-tokens.json"
    assert embedded.dev_tokens(tokens, path, dids=DIDS, chain_id=CHAIN_ID)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = json.loads(path.read_text())
    assert set(written) == {"operator", "auditor", "quality"}
    for name, token in written.items():
        record = tokens.find(token)
        assert record is not None
        assert (record.organization, record.role) == (
            DIDS[name],
            embedded.DEV_MEMBERS[name].token_role,
        )
    assert embedded.DEV_MEMBERS["auditor"].token_role is Role.AUDITOR


def test_valid_dev_tokens_are_kept(tokens: TokenStore, tmp_path: Path):
    path = tmp_path / "dev-tokens.json"
    embedded.dev_tokens(tokens, path, dids=DIDS, chain_id=CHAIN_ID)
    first = path.read_text()
    assert not embedded.dev_tokens(tokens, path, dids=DIDS, chain_id=CHAIN_ID)
    assert path.read_text() == first
    assert len(tokens.all()) == 3


@pytest.mark.parametrize("spoil", ["revoke", "garbage", "missing_member"])
def test_dev_tokens_that_no_longer_work_are_replaced(tokens: TokenStore, tmp_path: Path, spoil):
    path = tmp_path / "dev-tokens.json"
    embedded.dev_tokens(tokens, path, dids=DIDS, chain_id=CHAIN_ID)
    written = json.loads(path.read_text())
    if spoil == "revoke":
        record = tokens.find(written["auditor"])
        assert record is not None
        tokens.revoke(record.id)
    elif spoil == "garbage":
        path.write_text("{not json")
    else:
        path.write_text(json.dumps({"operator": written["operator"]}))
    assert embedded.dev_tokens(tokens, path, dids=DIDS, chain_id=CHAIN_ID)
    replaced = json.loads(path.read_text())
    now = datetime.now(UTC)
    for token in replaced.values():
        record = tokens.find(token)
        assert record is not None and record.state(now) == "active"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert replaced["auditor"] != written["auditor"]
