"""The command line's one printer of refusals (`ledger_client.terminal`): every package's error
root is one line, the same way; the node's outages and refusals are told apart."""

from __future__ import annotations

import pytest
import requests
import typer
from typer.testing import CliRunner
from web3.exceptions import ContractLogicError, ProviderConnectionError

from api.errors import ApiError, AuditorRefused
from credentials.errors import CredentialError
from ledger_client.errors import (
    ChainRejected,
    ChainUnavailable,
    ConfigurationError,
    LedgerError,
    ProvenanceError,
    revert_class,
)
from ledger_client.terminal import clear_errors, problem_of
from oracle_bridge.errors import BridgeError, StoreUnavailable

pytestmark = pytest.mark.unit

REFUSALS = [
    LedgerError("the ledger refuses"),
    ConfigurationError("set PROVENANCE_RPC_URL"),
    ChainUnavailable("no Ethereum node answers at http://127.0.0.1:1"),
    ChainRejected("eth_call: the node refused the request: unauthorized"),
    revert_class("ProvenanceLedgerUnknownBatch")("ProvenanceLedgerUnknownBatch", {}, "no batch"),
    BridgeError("the bridge refuses"),
    StoreUnavailable("the bridge database is full"),
    CredentialError("the credential is malformed"),
    ApiError("the API refuses"),
    AuditorRefused("no valid auditor session", status=401),
]


@pytest.mark.parametrize("exc", REFUSALS, ids=lambda exc: type(exc).__name__)
def test_every_package_s_refusal_is_its_message(exc):
    assert isinstance(exc, ProvenanceError)
    assert problem_of(exc) == str(exc)


@pytest.mark.parametrize("exc", REFUSALS, ids=lambda exc: type(exc).__name__)
def test_a_command_prints_any_refusal_as_one_line_and_exits_1(exc):
    app = typer.Typer()

    @app.command()
    @clear_errors
    def refuse() -> None:
        raise exc

    result = CliRunner().invoke(app, [])
    assert result.exit_code == 1
    assert result.stderr == f"error: {exc}\n"


@pytest.mark.parametrize(
    "exc",
    [requests.ConnectionError("refused"), requests.Timeout("slow"), ProviderConnectionError("x")],
    ids=lambda exc: type(exc).__name__,
)
def test_a_node_that_cannot_be_reached_is_said_to_stop_answering(exc):
    assert (problem_of(exc) or "").startswith("the Ethereum node stopped answering")


def test_a_refusal_web3_raises_untranslated_is_said_to_be_a_refusal():
    problem = problem_of(ContractLogicError("execution reverted"))
    assert (problem or "").startswith("the Ethereum node refused a request: ")
    assert "execution reverted" in (problem or "")


def test_a_bug_keeps_its_traceback():
    assert problem_of(KeyError("x")) is None
