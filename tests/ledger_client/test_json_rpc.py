"""The lean provider answers as web3's own does, and fails the way web3's fails."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast

import pytest
import requests
from web3 import HTTPProvider, Web3
from web3.middleware import Web3Middleware
from web3.types import RPCEndpoint

from ledger_client.chain import rpc, rpc_many
from ledger_client.json_rpc import LeanHTTPProvider

Handler = Callable[[BaseHTTPRequestHandler, bytes], None]


@contextmanager
def node(handle: Handler) -> Iterator[tuple[str, list[BaseHTTPRequestHandler]]]:
    """A local HTTP server whose POSTs `handle` answers; yields its URL and the requests."""
    seen: list[BaseHTTPRequestHandler] = []

    class Node(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            seen.append(self)
            handle(self, self.rfile.read(int(self.headers["Content-Length"])))

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Node)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def answer(handler: BaseHTTPRequestHandler, body: bytes, *, status: int = 200) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def echo(handler: BaseHTTPRequestHandler, body: bytes) -> None:
    """Answers every call with its own method name."""
    request = json.loads(body)
    calls = request if isinstance(request, list) else [request]
    responses = [{"jsonrpc": "2.0", "id": c["id"], "result": c["method"]} for c in calls]
    answer(handler, json.dumps(responses if isinstance(request, list) else responses[0]).encode())


def test_calls_on_a_connected_node_take_the_lean_provider_and_agree_with_web3(w3: Web3) -> None:
    assert isinstance(w3.provider, LeanHTTPProvider)
    lean = rpc(w3, "eth_chainId", [])
    web3s = HTTPProvider(w3.provider.endpoint_uri)
    plain = web3s.make_request(RPCEndpoint("eth_chainId"), [])["result"]

    assert lean == plain == hex(w3.eth.chain_id)
    nobody = "0x" + os.urandom(20).hex()  # an address no test has paid
    batch = [("eth_chainId", []), ("eth_getBalance", [nobody, "latest"])]
    assert rpc_many(w3, batch) == [plain, "0x0"]


def test_web3s_own_calls_take_the_lean_provider_through_the_middleware(w3: Web3) -> None:
    seen: list[str] = []

    class Recording(Web3Middleware):
        def request_processor(self, method: RPCEndpoint, params: object) -> object:
            seen.append(method)
            return method, params

    client = Web3(LeanHTTPProvider(w3.provider.endpoint_uri, timeout_s=5))
    client.middleware_onion.add(Recording)

    assert client.eth.block_number == int(cast(str, rpc(w3, "eth_blockNumber", [])), 16)
    assert seen == ["eth_blockNumber"]


def test_a_batch_comes_back_in_the_order_asked_whatever_order_the_node_answers() -> None:
    def reversed_echo(handler: BaseHTTPRequestHandler, body: bytes) -> None:
        calls = json.loads(body)
        responses = [{"jsonrpc": "2.0", "id": c["id"], "result": c["method"]} for c in calls]
        answer(handler, json.dumps(responses[::-1]).encode())

    with node(reversed_echo) as (url, _):
        client = LeanHTTPProvider(url, timeout_s=5)
        answers = client.make_batch_request([("a", []), ("b", []), ("c", [])])

    assert [a["result"] for a in answers] == ["a", "b", "c"]


def test_one_connection_is_kept_alive_and_a_closed_one_is_replaced() -> None:
    closing = {"next": False}

    def echo_then_maybe_close(handler: BaseHTTPRequestHandler, body: bytes) -> None:
        echo(handler, body)
        if closing["next"]:
            closing["next"] = False
            handler.close_connection = True  # closed without telling the client

    with node(echo_then_maybe_close) as (url, seen):
        client = LeanHTTPProvider(url, timeout_s=5)
        assert client.make_request("one", [])["result"] == "one"
        assert client.make_request("two", [])["result"] == "two"
        first_connection = {id(h.connection) for h in seen}
        closing["next"] = True
        assert client.make_request("three", [])["result"] == "three"
        assert client.make_request("four", [])["result"] == "four"  # on a new connection

    assert len(first_connection) == 1  # "one" and "two" shared one connection
    assert len({id(h.connection) for h in seen}) == 2


def test_a_node_that_does_not_answer_raises_requests_connection_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = LeanHTTPProvider(f"http://127.0.0.1:{port}", timeout_s=2)

    with pytest.raises(requests.ConnectionError) as raised:
        client.make_request("eth_chainId", [])
    assert isinstance(raised.value, OSError)  # as the bridge's chain-error handlers expect


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (lambda h, _: answer(h, b'{"error": "busy"}', status=503), requests.HTTPError),
        (lambda h, _: answer(h, b"<html>not json</html>"), requests.exceptions.InvalidJSONError),
        (lambda h, _: answer(h, b"[1, 2]"), requests.exceptions.InvalidJSONError),
    ],
)
def test_an_unusable_answer_raises_a_requests_error(reply: Handler, error: type) -> None:
    with node(reply) as (url, _), pytest.raises(error):
        LeanHTTPProvider(url, timeout_s=5).make_request("eth_chainId", [])


def test_credentials_in_the_url_are_sent_as_basic_auth() -> None:
    with node(echo) as (url, seen):
        authenticated = url.replace("http://", "http://oracle:s%3Acret@")
        LeanHTTPProvider(authenticated + "/rpc?key=1", timeout_s=5).make_request("eth_chainId", [])

    assert seen[0].headers["Authorization"] == "Basic b3JhY2xlOnM6Y3JldA=="  # oracle:s:cret
    assert seen[0].path == "/rpc?key=1"


def test_bytes_in_the_params_are_sent_as_hex_as_web3s_own_provider_sends_them() -> None:
    bodies: list[bytes] = []

    def keep(handler: BaseHTTPRequestHandler, body: bytes) -> None:
        bodies.append(body)
        echo(handler, body)

    with node(keep) as (url, _):
        LeanHTTPProvider(url, timeout_s=5).make_request(
            RPCEndpoint("eth_sendRawTransaction"), [b"\x02\xf8"]
        )

    assert json.loads(bodies[0])["params"] == ["0x02f8"]


def test_a_url_that_is_not_http_is_refused() -> None:
    with pytest.raises(ValueError, match="not an http"):
        LeanHTTPProvider("ws://127.0.0.1:8545", timeout_s=5)
