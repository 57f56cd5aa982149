"""Exceptions of the ledger client: one root, specific subclasses, messages that say what to do."""

from __future__ import annotations


class ProvenanceError(Exception):
    """The root of every package's error root (`LedgerError`, `BridgeError`,
    `CredentialError`, `ApiError`): a refusal whose message says what to do, as opposed to a
    bug. The command line prints one as a single line without a traceback."""


class LedgerError(ProvenanceError):
    """Root of every error raised by `ledger_client`."""


class ConfigurationError(LedgerError):
    """A setting is missing or wrong; the message names the variable."""


class ToolchainError(LedgerError):
    """The compiler or the local chain could not be run."""


class ChainUnavailable(LedgerError):
    """The chain's node cannot be reached: the connection is refused or dropped, it does not
    answer in time, or its HTTP server answers with an error status or not in JSON. An outage:
    the caller retries later (a sender redelivers, a loop backs off)."""


class ChainRejected(LedgerError):
    """The chain's node answered and refused the request: a JSON-RPC error response, a revert
    (`ContractRevert`), or no answer from a contract that should be there. Not an outage: the
    same request fails the same way until the request, the chain or the deployment record
    changes, so the message says which."""


class DeploymentError(LedgerError):
    """No deployment record, or one that does not match the node."""


class TransactionTimeout(LedgerError):
    """A transaction was sent but no receipt arrived in time."""


class ContractRevert(ChainRejected):
    """A call reverted. `error` is the custom error's name, `args` its decoded values.

    Subclasses are created per custom error name (see `revert_class`), so callers can
    catch e.g. `errors.revert_class("ProvenanceLedgerUnknownBatch")` precisely.
    """

    def __init__(self, error: str, args: dict[str, object], message: str) -> None:
        super().__init__(message)
        self.error = error
        self.error_args = args


_REVERT_CLASSES: dict[str, type[ContractRevert]] = {}


def revert_class(error_name: str) -> type[ContractRevert]:
    """The `ContractRevert` subclass named after a Solidity custom error."""
    cls = _REVERT_CLASSES.get(error_name)
    if cls is None:
        cls = type(error_name, (ContractRevert,), {"__module__": __name__})
        _REVERT_CLASSES[error_name] = cls
    return cls
