"""A node that says it is another client: anvil behind a tiny JSON-RPC proxy that answers
`web3_clientVersion` itself, for the checks that ask the node what it is (anvil or not)."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BESU = "besu/v24.12.2/linux-x86_64/openjdk-java-21"


@contextlib.contextmanager
def disguised_node(rpc_url: str, *, client_version: str = BESU) -> Iterator[str]:
    """The URL of a proxy to the node at `rpc_url` that answers `web3_clientVersion` with
    `client_version` and passes every other call through; stopped on exit."""

    def forward(handler: BaseHTTPRequestHandler, payload: object) -> tuple[int, bytes]:
        calls = payload if isinstance(payload, list) else [payload]
        request = urllib.request.Request(
            rpc_url, json.dumps(payload).encode(), {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            answers = json.loads(answer.read())
        for call, result in zip(
            calls, answers if isinstance(answers, list) else [answers], strict=True
        ):
            if call["method"] == "web3_clientVersion":
                result["result"] = client_version
        return 200, json.dumps(answers).encode()

    with _node(forward) as url:
        yield url


@contextlib.contextmanager
def refusing_node(*, code: int = -32001, message: str = "unauthorized") -> Iterator[str]:
    """The URL of a node that answers every call with a JSON-RPC error (`code`, `message`),
    as one behind an access proxy that refuses the bridge's credentials: it answers, so it is
    not down; stopped on exit."""

    def answer(payload: object) -> object:
        calls = payload if isinstance(payload, list) else [payload]
        errors = [
            {"jsonrpc": "2.0", "id": call["id"], "error": {"code": code, "message": message}}
            for call in calls
        ]
        return errors if isinstance(payload, list) else errors[0]

    with _node(lambda handler, payload: (200, json.dumps(answer(payload)).encode())) as url:
        yield url


@contextlib.contextmanager
def gateway_error_node(status: int = 502) -> Iterator[str]:
    """The URL of an HTTP server that answers every POST with `status` and no body, as a
    proxy in front of a node that is down; stopped on exit."""
    with _node(lambda handler, payload: (status, b"")) as url:
        yield url


@contextlib.contextmanager
def _node(respond) -> Iterator[str]:
    class Node(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            payload = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            status, body = respond(self, payload)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Node)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
