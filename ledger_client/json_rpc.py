"""A lean web3 provider: JSON-RPC over one keep-alive `http.client` connection per thread.

web3's `HTTPProvider` sends through requests: ~1.4 ms of CPU a call on this machine, several
times anvil's own answer. `connect` gives every client this provider instead (web3's own
behind an HTTP proxy), so web3's calls and their middleware and the raw calls of the hot
paths (`chain.rpc`, `chain.rpc_many`, which skip web3's formatting) share one transport.
Failures raise requests' exceptions (a subclass of OSError), as `HTTPProvider`'s do, so
every handler written for web3's transport handles them alike.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import threading
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import requests
from web3._utils.encoding import Web3JsonEncoder
from web3.providers import JSONBaseProvider
from web3.types import RPCEndpoint, RPCResponse

# A kept-alive connection the node closed while it sat idle: the request is sent again, once,
# on a new connection (as browsers do; a resent transaction is at worst "already known", which
# the senders resolve from the chain).
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


def ca_bundle() -> str | None:
    """The CA bundle the environment names for HTTPS, as requests reads it (None: the
    system's)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")


class LeanHTTPProvider(JSONBaseProvider):
    """POSTs JSON-RPC payloads to the node at `endpoint_uri`; safe to share between threads."""

    def __init__(self, endpoint_uri: str, *, timeout_s: float) -> None:
        super().__init__()
        parts = urlsplit(endpoint_uri)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) node URL: {endpoint_uri!r}")
        self.endpoint_uri = endpoint_uri
        # One TLS context for every thread's connection (None: plain HTTP).
        self._tls = (
            ssl.create_default_context(cafile=ca_bundle()) if parts.scheme == "https" else None
        )
        self._host = parts.hostname
        self._port = parts.port
        self._path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self._timeout_s = timeout_s
        self._headers = {"Content-Type": "application/json"}
        if parts.username is not None:
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            self._headers["Authorization"] = "Basic " + base64.b64encode(
                credentials.encode()
            ).decode("ascii")
        # web3's own JSON encoder, built once: web3's calls may pass bytes, sent as hex.
        self._json = Web3JsonEncoder()
        self._local = threading.local()

    def __str__(self) -> str:
        return f"RPC connection {self.endpoint_uri}"

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        """The node's response object ("result" or "error") to one call."""
        answer = self._post(self._json.encode(self._request(method, params)).encode())
        if not isinstance(answer, dict):
            raise requests.exceptions.InvalidJSONError(f"{method}: the node answered {answer!r}")
        return cast(RPCResponse, answer)

    def make_batch_request(
        self, batch_requests: list[tuple[RPCEndpoint, Any]]
    ) -> list[RPCResponse] | RPCResponse:
        """The node's answer to a batch of calls: a list of responses in the order asked, or
        an error object where it refuses batches."""
        payload = [self._request(method, params) for method, params in batch_requests]
        answer = self._post(self._json.encode(payload).encode())
        if isinstance(answer, list):
            answer.sort(key=lambda response: response.get("id", 0))
        return cast(list[RPCResponse] | RPCResponse, answer)

    def _request(self, method: RPCEndpoint, params: Any) -> dict[str, Any]:
        return {
            "jsonrpc": "2.0",
            "id": next(self.request_counter),
            "method": method,
            "params": params or [],
        }

    def _post(self, body: bytes) -> Any:
        for attempt in range(2):
            connection = self._connection()
            try:
                connection.request("POST", self._path, body, self._headers)
                response = connection.getresponse()
                data = response.read()
            except _STALE as exc:
                reused = getattr(self._local, "reused", False)
                self._drop()
                if attempt or not reused:
                    raise requests.ConnectionError(f"{self.endpoint_uri}: {exc}") from exc
                continue
            except TimeoutError as exc:
                self._drop()
                raise requests.Timeout(
                    f"{self.endpoint_uri}: no answer in {self._timeout_s:g} s"
                ) from exc
            except OSError as exc:
                self._drop()
                raise requests.ConnectionError(f"{self.endpoint_uri}: {exc}") from exc
            self._local.reused = True
            if response.status != 200:
                raise requests.HTTPError(
                    f"{self.endpoint_uri}: HTTP {response.status} {response.reason}"
                )
            try:
                return json.loads(data)
            except ValueError as exc:
                raise requests.exceptions.InvalidJSONError(
                    f"{self.endpoint_uri}: not JSON"
                ) from exc
        raise AssertionError("unreachable")

    def _connection(self) -> http.client.HTTPConnection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            if self._tls is not None:
                connection = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self._timeout_s, context=self._tls
                )
            else:
                connection = http.client.HTTPConnection(
                    self._host, self._port, timeout=self._timeout_s
                )
            self._local.connection = connection
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
            self._local.reused = False
