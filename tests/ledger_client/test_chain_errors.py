"""The chain's two kinds of failure: a node that cannot be reached (`ChainUnavailable`,
`CHAIN_UNREACHABLE`) and a node that answers with a refusal (`ChainRejected`, a revert's
`ContractRevert`), never one mistaken for the other."""

from __future__ import annotations

import pytest
from web3 import HTTPProvider, Web3

from ledger_client.artifacts import load_artifact
from ledger_client.chain import CHAIN_UNREACHABLE, chain_refusals, connect, rpc, rpc_many
from ledger_client.errors import (
    ChainRejected,
    ChainUnavailable,
    ContractRevert,
    LedgerError,
    revert_class,
)
from ledger_client.local_chain import free_port, start_anvil
from ledger_client.roles import Role
from tests.node_proxy import gateway_error_node, refusing_node

pytestmark = pytest.mark.integration

UNAUTHORIZED = revert_class("AccessControlUnauthorizedAccount")


def grant_call(consortium) -> dict[str, str]:
    """An eth_call of Membership.grantRole by an account without the governor's role: it
    reverts with AccessControlUnauthorizedAccount."""
    membership = consortium.w3.eth.contract(
        address=consortium.deployment.address("Membership"), abi=load_artifact("Membership").abi
    )
    data = membership.encode_abi("grantRole", [Role.AUDITOR.id, consortium.outsider.address])
    return {"from": consortium.outsider.address, "to": membership.address, "data": data}


def test_a_revert_of_a_raw_call_raises_its_named_error_not_unavailable(consortium):
    with pytest.raises(UNAUTHORIZED) as refused:
        rpc(consortium.w3, "eth_call", [grant_call(consortium), "latest"])
    assert isinstance(refused.value, ChainRejected)
    assert not isinstance(refused.value, ChainUnavailable)
    assert not isinstance(refused.value, CHAIN_UNREACHABLE)
    assert "GOVERNOR_ROLE" in str(refused.value)


def test_a_revert_in_a_batch_of_calls_raises_its_named_error(consortium):
    calls = [("eth_blockNumber", []), ("eth_call", [grant_call(consortium), "latest"])]
    with pytest.raises(UNAUTHORIZED):
        rpc_many(consortium.w3, calls)


def test_a_json_rpc_error_without_revert_data_is_a_rejection(w3):
    with pytest.raises(ChainRejected, match="eth_noSuchMethod") as refused:
        rpc(w3, "eth_noSuchMethod", [])
    assert not isinstance(refused.value, (ContractRevert, ChainUnavailable))


def test_a_node_that_answers_with_errors_refuses_it_is_not_down():
    with refusing_node(message="unauthorized: bad credentials") as url:
        w3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 2}))
        for read in (
            lambda: rpc(w3, "eth_blockNumber", []),
            lambda: rpc_many(w3, [("eth_blockNumber", []), ("eth_chainId", [])]),
        ):
            with pytest.raises(ChainRejected, match="bad credentials") as refused:
                read()
            assert not isinstance(refused.value, (ContractRevert, ChainUnavailable))
        with pytest.raises(ChainRejected, match="^eth_blockNumber: .*bad credentials"):
            with chain_refusals("eth_blockNumber"):
                w3.eth.block_number  # noqa: B018 - the read itself


def test_a_reverting_web3_call_raises_the_decoded_revert_inside_chain_refusals(consortium):
    membership = consortium.w3.eth.contract(
        address=consortium.deployment.address("Membership"), abi=load_artifact("Membership").abi
    )
    grant = membership.functions.grantRole(Role.AUDITOR.id, consortium.outsider.address)
    with pytest.raises(UNAUTHORIZED, match="^Membership.grantRole: "):
        with chain_refusals("Membership.grantRole"):
            grant.call({"from": consortium.outsider.address})


def test_a_call_to_an_address_without_a_contract_is_a_rejection_naming_the_deployment(
    consortium,
):
    ledger = consortium.w3.eth.contract(
        address=consortium.outsider.address, abi=load_artifact("ProvenanceLedger").abi
    )
    with pytest.raises(ChainRejected, match="deployment record") as refused:
        with chain_refusals("ProvenanceLedger.batch"):
            ledger.functions.batch(b"\x01" * 32).call()
    assert not isinstance(refused.value, ChainUnavailable)


def test_a_killed_node_is_unreachable_not_a_rejection(compiled):
    chain = start_anvil()
    w3 = connect(chain.rpc_url, timeout_s=2)
    assert rpc(w3, "eth_blockNumber", []) == "0x0"
    chain.stop()
    for read in (
        lambda: rpc(w3, "eth_blockNumber", []),
        lambda: rpc_many(w3, [("eth_blockNumber", []), ("eth_chainId", [])]),
        lambda: w3.eth.block_number,
    ):
        with pytest.raises(CHAIN_UNREACHABLE) as raised:
            read()
        assert not isinstance(raised.value, (ChainRejected, LedgerError))


def test_web3_transport_to_no_node_is_unreachable():
    w3 = Web3(HTTPProvider(f"http://127.0.0.1:{free_port()}", request_kwargs={"timeout": 2}))
    with pytest.raises(CHAIN_UNREACHABLE):
        with chain_refusals("eth_blockNumber"):
            w3.eth.block_number  # noqa: B018 - the read itself


def test_connecting_to_no_node_raises_chain_unavailable():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainUnavailable, match=url):
        connect(url, timeout_s=2)


def test_an_http_error_from_the_node_is_unreachable_not_a_rejection(w3):
    with gateway_error_node() as url:
        broken = Web3(HTTPProvider(url, request_kwargs={"timeout": 2}))
        with pytest.raises(CHAIN_UNREACHABLE) as raised:
            rpc(broken, "eth_blockNumber", [])
        assert not isinstance(raised.value, ChainRejected)
        with pytest.raises(ChainUnavailable, match=url):
            connect(url, timeout_s=2)
