"""Connecting to the node: one place that turns an unreachable RPC into a clear error."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import requests
from web3 import HTTPProvider, Web3
from web3.middleware import ExtraDataToPOAMiddleware

from ledger_client.errors import ConfigurationError, RpcUnavailable
from ledger_client.json_rpc import LeanHTTPProvider, ca_bundle


def connect(rpc_url: str, *, timeout_s: float = 30.0) -> Web3:
    """A Web3 client for `rpc_url` that has answered `eth_chainId`.

    Raises:
        ConfigurationError: `rpc_url` is not an http(s) URL.
        RpcUnavailable: the node does not answer (one line naming the URL).
    """
    _check_node_url(rpc_url)
    session = _session(rpc_url)
    # The lean transport cannot go through a proxy: web3's own then.
    w3 = Web3(
        LeanHTTPProvider(rpc_url, timeout_s=timeout_s)
        if not session.proxies
        else HTTPProvider(rpc_url, request_kwargs={"timeout": timeout_s}, session=session)
    )
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


def node_is_anvil(w3: Web3) -> bool:
    """Whether the node says it is anvil (`web3_clientVersion`): asked, not judged by chain
    id, since any chain may use anvil's 31337."""
    return str(w3.client_version).lower().startswith("anvil")


def _check_node_url(rpc_url: str) -> None:
    try:
        parts = urlsplit(rpc_url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"PROVENANCE_RPC_URL {rpc_url!r} is not an http(s) URL of a node; "
            "set it to one, e.g. http://127.0.0.1:8545"
        )


def _session(rpc_url: str) -> requests.Session:
    """The node's HTTP session, shared by every thread, with the environment's proxy and CA
    settings read once: left to trust the environment, requests re-reads it and looks for
    ~/.netrc on every call (~0.8 ms a call on a busy machine, more than anvil's answer).
    Credentials for a node go in its URL (https://user:password@host), which still works."""
    session = requests.Session()
    session.proxies = requests.utils.get_environ_proxies(rpc_url)
    session.verify = ca_bundle() or True
    session.trust_env = False
    return session


def rpc(w3: Web3, method: str, params: list) -> object:
    """A raw JSON-RPC call through `w3`'s provider, skipping web3's middleware and result
    formatting (fast path for the hot and bulk calls)."""
    response = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    if "error" in response:
        raise RpcUnavailable(f"{method} failed: {response['error']}")
    return response["result"]


log = logging.getLogger(__name__)
# Nodes that refuse JSON-RPC batches, remembered so each is probed once.
_NO_BATCHES: set[str] = set()


def rpc_many(w3: Web3, calls: list[tuple[str, list]]) -> list[Any]:
    """Results of `calls` in order: one JSON-RPC batch, or one call each where batches fail."""
    node = str(getattr(w3.provider, "endpoint_uri", id(w3.provider)))
    if node not in _NO_BATCHES and len(calls) > 1:
        try:
            # Not every provider class batches: those without it raise AttributeError here.
            responses = w3.provider.make_batch_request(calls)  # type: ignore[attr-defined]
        except (AttributeError, NotImplementedError, ValueError) as exc:
            responses = exc
        if isinstance(responses, list) and len(responses) == len(calls):
            results = []
            for (method, _), response in zip(calls, responses, strict=True):
                if "error" in response:
                    raise RpcUnavailable(f"{method} failed: {response['error']}")
                results.append(response["result"])
            return results
        log.info("the node does not answer JSON-RPC batches (%r); calling one by one", responses)
        _NO_BATCHES.add(node)
    return [rpc(w3, method, params) for method, params in calls]
