"""The demo's organizations calling the node's HTTP API, each with its own bearer token, as any
client of the API would."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from ledger_client.errors import ProvenanceError

T = TypeVar("T")


class DemoStepFailed(ProvenanceError):
    """A step of the story did not come out as told; the message says which and why."""


class NodeClient:
    """HTTP calls to the node at `base_url` as the holder of `token`."""

    def __init__(self, base_url: str, token: str | None, *, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = requests.Session()
        if token is not None:
            self._session.headers["Authorization"] = f"Bearer {token}"
        self._timeout_s = timeout_s

    def get(self, path: str, **params: Any) -> Any:
        return self._answer("GET", path, params=params or None)

    def post(self, path: str, body: Any, *, expect: int = 200) -> Any:
        return self._answer("POST", path, json=body, expect=expect)

    def capture(self, document: dict[str, Any], *, timeout_s: float = 120.0) -> dict[str, Any]:
        """POST the EPCIS document to /api/v1/capture and poll its job until it finished;
        the finished job (`state` SUCCESS or FAILED, with its `errors`)."""
        answer = self._session.post(
            self.base_url + "/api/v1/capture",
            json=document,
            headers={"Content-Type": "application/ld+json"},
            timeout=self._timeout_s,
        )
        if answer.status_code != 202:
            raise DemoStepFailed(f"capture answered {answer.status_code}: {answer.text[:300]}")
        job_path = answer.headers["Location"]
        return wait_until(
            lambda: _finished(self.get(job_path)), f"capture job {job_path}", timeout_s
        )

    def page(self, path: str) -> tuple[int, str]:
        """(status, text) of a public page, following redirects as a browser does."""
        answer = requests.get(self.base_url + path, timeout=self._timeout_s)
        return answer.status_code, answer.text

    def _answer(self, method: str, path: str, *, expect: int = 200, **kwargs: Any) -> Any:
        answer = self._session.request(
            method, self.base_url + path, timeout=self._timeout_s, **kwargs
        )
        if answer.status_code != expect:
            raise DemoStepFailed(
                f"{method} {path} answered {answer.status_code}: {answer.text[:300]}"
            )
        return answer.json()


def _finished(job: dict[str, Any]) -> dict[str, Any] | None:
    return None if job["state"] == "RUNNING" else job


def wait_until(probe: Callable[[], T | None], what: str, timeout_s: float = 120.0) -> T:
    """The first answer of `probe` that is not None (or falsy), asked every 0.25 s.

    Raises:
        DemoStepFailed: none came within `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            raise DemoStepFailed(f"timed out after {timeout_s:.0f} s waiting for {what}")
        time.sleep(0.25)


def quoted(identifier: str) -> str:
    """An identifier (URI, event id) as one path segment."""
    return quote(identifier, safe="")
