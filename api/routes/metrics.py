"""`GET /metrics`: the app's and the node's metrics for Prometheus to scrape."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

from api.metrics import Metrics

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    summary="Metrics in the Prometheus text format",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics(request: Request) -> Response:
    """Requests by route template and status with their latencies; and, on a node, readings
    accepted, dead-lettered and anchored, the inbox backlog and the indexer's lag in blocks.
    Read at each scrape (a thread of the server's pool: the node's figures come from its
    databases)."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.exposition(), media_type=CONTENT_TYPE_LATEST)
