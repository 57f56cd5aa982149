"""The composition root's commands run against the test anvil, with the API's registered
organizations (`members`, shared with tests/api)."""

from __future__ import annotations

from tests.api.conftest import members

__all__ = ["members"]
