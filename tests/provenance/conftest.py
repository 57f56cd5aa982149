"""The token and trail commands' organizations: the consortium's, registered with DIDs."""

from __future__ import annotations

import pytest

from tests.api.api_factories import Members, register_members
from tests.factories import Consortium


@pytest.fixture
def members(consortium: Consortium) -> Members:
    return register_members(consortium)
