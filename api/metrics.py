"""Prometheus metrics of one app: requests by route template and status, their latency, and
the node's own figures (readings accepted, dead-lettered, anchored; inbox backlog; indexer
lag) read through the `NodeStatus` port at each scrape.

Each app has its own registry, never prometheus_client's global one, so several apps in one
process (tests, benchmarks) count apart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A request no route matched: one label value, so scans of random paths add no series.
UNMATCHED_ROUTE = "unmatched"
# Up to ~30 s: a batch of readings is ~10 ms; a chain read under load can take seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class NodeSnapshot:
    """The node's figures at one instant; None: not part of this node (no bridge, no
    indexer) or not known right now (its database does not answer)."""

    readings_accepted: int | None = None
    readings_dead_lettered: int | None = None
    readings_anchored: int | None = None
    inbox_backlog: int | None = None
    indexer_lag_blocks: int | None = None


class NodeStatus(Protocol):
    """What `/metrics` asks of the running node (the composition root implements it)."""

    def snapshot(self) -> NodeSnapshot:
        """The node's figures now; must not raise (unknown figures are None)."""
        ...


class _NodeCollector(Collector):
    def __init__(self, node: NodeStatus) -> None:
        self._node = node

    def collect(self) -> Iterator[Metric]:
        now = self._node.snapshot()
        counters = (
            (
                "provenance_readings_accepted",
                "Readings accepted into the inbox",
                now.readings_accepted,
            ),
            (
                "provenance_readings_dead_lettered",
                "Readings refused and kept as dead letters",
                now.readings_dead_lettered,
            ),
            (
                "provenance_readings_anchored",
                "Readings in windows anchored on chain",
                now.readings_anchored,
            ),
        )
        for name, documentation, value in counters:
            if value is not None:
                yield CounterMetricFamily(name, documentation, value=value)
        gauges = (
            (
                "provenance_inbox_backlog",
                "Accepted readings not yet in an anchoring window",
                now.inbox_backlog,
            ),
            (
                "provenance_indexer_lag_blocks",
                "Blocks the read model is behind the chain's head",
                now.indexer_lag_blocks,
            ),
        )
        for name, documentation, value in gauges:
            if value is not None:
                yield GaugeMetricFamily(name, documentation, value=value)


class Metrics:
    """The registry of one app: HTTP request counts and latencies, and the node's figures
    when a `node` is given."""

    def __init__(self, node: NodeStatus | None = None) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "provenance_http_requests",
            "HTTP requests answered, by method, route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "provenance_http_request_duration_seconds",
            "Seconds from a request's arrival to the end of its answer, by route template",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        if node is not None:
            self.registry.register(_NodeCollector(node))

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)


def route_template(routes: Sequence[BaseRoute], scope: Scope) -> str:
    """The path template of the route a handled request went to (`/api/v1/tokens/{id}`):
    FastAPI leaves its API route in the scope; another route (the docs) is matched among
    `routes` (one whose method differs included: it answered 405); `UNMATCHED_ROUTE` if
    none."""
    chosen = scope.get("route")
    if chosen is not None and isinstance(getattr(chosen, "path", None), str):
        return chosen.path
    partial = None
    for route in routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str):
            continue  # an included router: its routes are FastAPI's, found above
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return path
        if match is Match.PARTIAL and partial is None:
            partial = path
    return partial or UNMATCHED_ROUTE


class RequestMetrics:
    """ASGI middleware counting each HTTP request in `metrics` by its route's template, so a
    path's identifiers do not make a series each; an exception counts as a 500."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.metrics = metrics
        # The app's own list: routes included after the middleware was added are seen too.
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.observe(
                method=scope["method"],
                route=route_template(self.routes, scope),
                status=status,
                seconds=time.perf_counter() - started,
            )
