"""Dependencies of the HTTP routes, as `Annotated` aliases; `create_app` fills `app.state`."""

from __future__ import annotations

from typing import Annotated, Protocol, runtime_checkable

from fastapi import Depends, Request

from oracle_bridge.sources import ReadingIngestor


class HealthProbe(Protocol):
    """What `/healthz` asks of the running bridge."""

    def database_reachable(self) -> bool: ...

    def chain_reachable(self) -> bool: ...

    def inbox_backlog(self) -> int:
        """Accepted readings not yet taken into an anchoring window."""
        ...


@runtime_checkable
class ServedBridge(HealthProbe, Protocol):
    """A running bridge (`oracle_bridge.bridge.Bridge`): its ingestor and its health."""

    ingestor: ReadingIngestor


def _ingestor(request: Request) -> ReadingIngestor:
    return request.app.state.ingestor


def _health_probe(request: Request) -> HealthProbe | None:
    return request.app.state.health_probe


def _max_body_bytes(request: Request) -> int:
    return request.app.state.max_body_bytes


IngestorDep = Annotated[ReadingIngestor, Depends(_ingestor)]
HealthProbeDep = Annotated[HealthProbe | None, Depends(_health_probe)]
MaxBodyBytesDep = Annotated[int, Depends(_max_body_bytes)]
