"""The node's listening socket: connections accepted on it send at once (TCP_NODELAY), so a
keep-alive client does not wait ~40 ms per answer for its delayed ACK (bench/api.py found
every answer after a connection's first taking 44-48 ms)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from ledger_client.errors import ConfigurationError
from provenance.node import listening_socket


def _accepted_nodelay(listening: socket.socket) -> int:
    """TCP_NODELAY of a connection asyncio accepts on `listening` (as uvicorn serves it)."""

    async def accept_one() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
        async with server:
            host, port = listening.getsockname()[:2]
            _, writer = await asyncio.open_connection(host, port)
            try:
                return await asyncio.wait_for(accepted, timeout=10)
            finally:
                writer.close()

    return asyncio.run(accept_one())


def test_connections_accepted_on_the_listening_socket_send_without_delay() -> None:
    listening = listening_socket("127.0.0.1", 0)
    try:
        assert _accepted_nodelay(listening) != 0
    finally:
        listening.close()


def test_an_address_in_use_is_refused_naming_the_option() -> None:
    taken = listening_socket("127.0.0.1", 0)
    taken.listen()
    port = taken.getsockname()[1]
    try:
        with pytest.raises(ConfigurationError, match=rf"127\.0\.0\.1:{port}.*pass another --port"):
            listening_socket("127.0.0.1", port, option="--port")
    finally:
        taken.close()
