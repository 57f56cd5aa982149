"""A lean JSON-RPC transport for the hot paths' raw calls (`chain.rpc`, `chain.rpc_many`).

web3's provider sends through requests and its middleware: ~1.4 ms of CPU a call on this
machine, several times anvil's own answer. This sends the same JSON over one keep-alive
`http.client` connection per thread. Failures raise requests' exceptions (a subclass of
OSError), so every handler written for web3's transport handles them alike.
"""

from __future__ import annotations

import base64
import http.client
import itertools
import json
import os
import ssl
import threading
from typing import Any
from urllib.parse import unquote, urlsplit

import requests

# A kept-alive connection the node closed while it sat idle: the request is sent again, once,
# on a new connection (as browsers do; a resent transaction is at worst "already known", which
# the senders resolve from the chain).
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


def ca_bundle() -> str | None:
    """The CA bundle the environment names for HTTPS, as requests reads it (None: the
    system's)."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")


class JsonRpcClient:
    """POSTs JSON-RPC payloads to one node URL; safe to share between threads."""

    def __init__(self, url: str, *, timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) node URL: {url!r}")
        self.url = url
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
        self._ids = itertools.count(1)
        self._local = threading.local()

    def call(self, method: str, params: list) -> dict[str, Any]:
        """The node's response object ("result" or "error") to one call."""
        request = {"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params}
        answer = self._post(request)
        if not isinstance(answer, dict):
            raise requests.exceptions.InvalidJSONError(f"{method}: the node answered {answer!r}")
        return answer

    def call_many(self, calls: list[tuple[str, list]]) -> Any:
        """The node's answer to a batch of calls: a list of responses in its own order, or
        an error object where it refuses batches."""
        first = next(self._ids)
        payload = [
            {"jsonrpc": "2.0", "id": first + n, "method": method, "params": params}
            for n, (method, params) in enumerate(calls)
        ]
        for _ in range(len(calls) - 1):
            next(self._ids)
        answer = self._post(payload)
        if isinstance(answer, list):
            answer.sort(key=lambda response: response.get("id", 0))
        return answer

    def _post(self, payload: object) -> Any:
        body = json.dumps(payload).encode()
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
                    raise requests.ConnectionError(f"{self.url}: {exc}") from exc
                continue
            except TimeoutError as exc:
                self._drop()
                raise requests.Timeout(f"{self.url}: no answer in {self._timeout_s:g} s") from exc
            except OSError as exc:
                self._drop()
                raise requests.ConnectionError(f"{self.url}: {exc}") from exc
            self._local.reused = True
            if response.status != 200:
                raise requests.HTTPError(f"{self.url}: HTTP {response.status} {response.reason}")
            try:
                return json.loads(data)
            except ValueError as exc:
                raise requests.exceptions.InvalidJSONError(f"{self.url}: not JSON") from exc
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
