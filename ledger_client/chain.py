"""Connecting to the node, and the chain's two kinds of failure: `ChainUnavailable` (it
cannot be reached; `CHAIN_UNREACHABLE` is what that raises) and `ChainRejected` (it answered
with a refusal: a JSON-RPC error or a revert, which `rpc` and `chain_refusals` raise)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import requests
from web3 import HTTPProvider, Web3
from web3.exceptions import (
    BadFunctionCallOutput,
    ContractLogicError,
    ProviderConnectionError,
    Web3RPCError,
)
from web3.middleware import ExtraDataToPOAMiddleware

from ledger_client.errors import ChainRejected, ChainUnavailable, ConfigurationError
from ledger_client.json_rpc import LeanHTTPProvider, ca_bundle
from ledger_client.reverts import decode_revert

# What a request to the node raises when the node cannot be reached (refused or dropped
# connections, timeouts, HTTP error statuses, bodies that are not JSON: requests' exceptions,
# which the lean transport raises too), as opposed to its refusals (`ChainRejected`). The one
# definition of "the chain is down" for every layer.
CHAIN_UNREACHABLE: tuple[type[Exception], ...] = (
    ChainUnavailable,
    requests.RequestException,
    ProviderConnectionError,
)


def connect(rpc_url: str, *, timeout_s: float = 30.0) -> Web3:
    """A Web3 client for `rpc_url` that has answered `eth_chainId`.

    Raises:
        ConfigurationError: `rpc_url` is not an http(s) URL.
        ChainUnavailable: the node does not answer (one line naming the URL).
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
        raise ChainUnavailable(
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
    formatting (fast path for the hot and bulk calls).

    Raises:
        ChainRejected: the node answered with an error; a revert as its decoded
            `ContractRevert`.
        requests.RequestException: the node cannot be reached (see `CHAIN_UNREACHABLE`).
    """
    response = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    if "error" in response:
        raise _refusal(method, response["error"])
    return response["result"]


def _refusal(method: str, error: object) -> ChainRejected:
    """The exception for a JSON-RPC error response: a revert carries its data as hex."""
    data = error.get("data") if isinstance(error, dict) else None
    if isinstance(data, str) and data.startswith("0x"):
        return decode_revert(data, context=method)
    return ChainRejected(f"{method}: the node refused the request: {error}")


@contextlib.contextmanager
def chain_refusals(context: str) -> Iterator[None]:
    """Raise the node's refusals of web3 calls made inside as `ChainRejected` (a revert as
    its decoded `ContractRevert`), each message starting with `context`, instead of web3's
    exceptions; failures to reach the node pass through (`CHAIN_UNREACHABLE`)."""
    try:
        yield
    except ContractLogicError as exc:
        # web3 passes through a node's nested (dict) error data as is: only hex decodes.
        raise decode_revert(
            exc.data if isinstance(exc.data, str) else None, context=context
        ) from None
    except Web3RPCError as exc:
        error = exc.rpc_response.get("error") if exc.rpc_response else None
        raise _refusal(context, error if error is not None else str(exc)) from None
    except BadFunctionCallOutput as exc:
        raise ChainRejected(
            f"{context}: no contract answered ({exc}); check that the deployment record is "
            "this chain's"
        ) from None


log = logging.getLogger(__name__)
# Nodes that refuse JSON-RPC batches, remembered so each is probed once.
_NO_BATCHES: set[str] = set()


def rpc_many(w3: Web3, calls: list[tuple[str, list]]) -> list[Any]:
    """Results of `calls` in order: one JSON-RPC batch, or one call each where batches fail.

    Raises as `rpc` does, for the first call the node refused.
    """
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
                    raise _refusal(method, response["error"])
                results.append(response["result"])
            return results
        log.info("the node does not answer JSON-RPC batches (%r); calling one by one", responses)
        _NO_BATCHES.add(node)
    return [rpc(w3, method, params) for method, params in calls]
