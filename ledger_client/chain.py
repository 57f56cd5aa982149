"""Connecting to the node: one place that turns an unreachable RPC into a clear error."""

from __future__ import annotations

import requests
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from ledger_client.errors import RpcUnavailable


def connect(rpc_url: str, *, timeout_s: float = 30.0) -> Web3:
    """A Web3 client for `rpc_url` that has answered `eth_chainId`.

    Raises `RpcUnavailable` with one line naming the URL when the node does not answer.
    """
    w3 = Web3(HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}))
    # QBFT/Clique blocks carry long extraData; harmless on anvil.
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    try:
        w3.eth.chain_id  # noqa: B018 - the probe itself
    except (requests.RequestException, OSError, ValueError) as exc:
        raise RpcUnavailable(
            f"no Ethereum node answers at {rpc_url} ({type(exc).__name__}); "
            "start one with `provenance chain` or set PROVENANCE_RPC_URL"
        ) from exc
    return w3


def rpc(w3: Web3, method: str, params: list) -> object:
    """A raw JSON-RPC call, skipping web3's result formatting (fast path for bulk reads)."""
    response = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    if "error" in response:
        raise RpcUnavailable(f"{method} failed: {response['error']}")
    return response["result"]
