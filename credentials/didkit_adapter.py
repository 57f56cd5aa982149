"""didkit behind the `ProofEngine` port: the only module that imports didkit.

The module itself is the engine (`engine=didkit_adapter`). Every call, sync or async, runs
on one private worker thread, strictly one after another, the async ones on that thread's
own event loop: concurrent didkit calls crashed the interpreter, and callers may be inside
an event loop of their own. At exit the standard library joins the worker, so no call is
in flight, and `_settle` gives didkit's own threads the moment they still need.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

import didkit

from credentials.engine import Jwk, ProofVerification
from credentials.errors import ProofEngineError, ProofEngineUnavailable, UnresolvableDid

CALL_TIMEOUT_S = 60.0
"""How long a caller waits for one didkit call; offline calls take milliseconds."""
EXIT_GRACE_S = 0.1
"""How long an exiting interpreter waits after the last didkit call (see `_settle`)."""

# The single worker is the lock that serialises didkit; its loop runs on no other thread.
_loop = asyncio.new_event_loop()
_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="didkit")
_last_call_done = -EXIT_GRACE_S  # time.monotonic() when the last call returned
# didkit raises its own exception for DID and proof failures, ValueError for bad JSON shapes.
# (didkit's stub declares DIDKitException an Exception instance; it is the class.)
_DIDKIT_ERRORS: tuple[type[Exception], ...] = (didkit.DIDKitException, ValueError)  # type: ignore[assignment]

T = TypeVar("T")


def key_to_did(method_pattern: str, jwk: Jwk) -> str:
    """The DID of `jwk` under a method pattern (`"key"`, `"pkh:eip155:{chainId}"`)."""
    return _run(didkit.key_to_did, method_pattern, _dumps(jwk))


def verification_method(method_pattern: str, jwk: Jwk) -> str:
    """The verification method id (DID URL) of `jwk` under a method pattern."""
    return _run_async(didkit.key_to_verification_method, method_pattern, _dumps(jwk))


def issue_credential(
    credential: Mapping[str, Any], *, proof_options: Mapping[str, Any], jwk: Jwk
) -> dict[str, Any]:
    """`credential` with a Linked Data proof by `jwk`.

    Raises:
        ProofEngineError: didkit refused (e.g. the key is not the verification method's).
    """
    signed = _run_async(
        didkit.issue_credential, _dumps(credential), _dumps(proof_options), _dumps(jwk)
    )
    return _loads_object(signed)


def verify_credential(
    credential: Mapping[str, Any], *, proof_options: Mapping[str, Any]
) -> ProofVerification:
    """The credential's proof checked by didkit. Never raises for a bad credential: any
    failure, including one didkit raises, is an error in the result; a timeout or an answer
    didkit should never give is one with `decided` False."""
    return _verification(didkit.verify_credential, credential, proof_options)


def issue_presentation(
    presentation: Mapping[str, Any], *, proof_options: Mapping[str, Any], jwk: Jwk
) -> dict[str, Any]:
    """`presentation` with a Linked Data proof by `jwk`.

    Raises:
        ProofEngineError: didkit refused.
    """
    signed = _run_async(
        didkit.issue_presentation, _dumps(presentation), _dumps(proof_options), _dumps(jwk)
    )
    return _loads_object(signed)


def verify_presentation(
    presentation: Mapping[str, Any], *, proof_options: Mapping[str, Any]
) -> ProofVerification:
    """The presentation's proof checked by didkit; never raises for a bad presentation."""
    return _verification(didkit.verify_presentation, presentation, proof_options)


def resolve_did(did: str) -> dict[str, Any]:
    """The DID document of `did`.

    Raises:
        UnresolvableDid: didkit could not resolve it (malformed, unknown method, not found).
    """
    try:
        return _loads_object(_run_async(didkit.resolve_did, did, "{}"))
    except ProofEngineError as exc:
        raise UnresolvableDid(f"cannot resolve {did!r} ({exc}); check the DID") from None


def _verification(
    function: Callable[[str, str], Awaitable[str]],
    document: Mapping[str, Any],
    proof_options: Mapping[str, Any],
) -> ProofVerification:
    try:
        answer = _run_async(function, _dumps(document), _dumps(proof_options))
    except ProofEngineUnavailable as exc:
        return ProofVerification(errors=(str(exc),), decided=False)
    except ProofEngineError as exc:  # didkit refused the document
        return ProofVerification(errors=(str(exc),))
    try:
        result = json.loads(answer)
        errors = tuple(str(error) for error in result["errors"])
        warnings = tuple(str(warning) for warning in result.get("warnings", ()))
        checked = "proof" in result.get("checks", ())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        reason = f"didkit answered what it never should ({type(exc).__name__}: {exc})"
        return ProofVerification(errors=(reason,), decided=False)
    if not errors and not checked:
        errors = ("didkit checked no proof",)
    return ProofVerification(errors=errors, warnings=warnings)


def _run(function: Callable[..., T], *args: Any) -> T:
    """A sync didkit call, run on the worker."""
    return _wait(_worker.submit(function, *args))


def _run_async(function: Callable[..., Awaitable[T]], *args: Any) -> T:
    """An async didkit call, run on the worker's event loop."""

    async def call() -> T:
        # didkit builds its future on the running loop, so the call must start inside it.
        return await function(*args)

    return _wait(_worker.submit(_loop.run_until_complete, call()))


def _wait(future: Future[T]) -> T:
    global _last_call_done
    try:
        return future.result(timeout=CALL_TIMEOUT_S)
    except FutureTimeout:
        raise ProofEngineUnavailable(
            f"didkit did not answer within {CALL_TIMEOUT_S:g} s; try again, and restart the "
            "process if it keeps failing"
        ) from None
    except _DIDKIT_ERRORS as exc:
        raise ProofEngineError(f"didkit: {exc}") from None
    finally:
        _last_call_done = time.monotonic()


@atexit.register
def _settle() -> None:
    """Let didkit's runtime threads finish before the interpreter is finalised.

    Right after a call returns, the Rust thread that delivered its result is still
    releasing its Python thread state; finalising the interpreter meanwhile crashed it
    (SIGSEGV / SIGABRT at exit, about half the runs here, even after one sequential call).
    Holding the exit for a moment, with the GIL released, avoids that.
    """
    wait = _last_call_done + EXIT_GRACE_S - time.monotonic()
    if wait > 0:
        time.sleep(wait)
    _loop.close()


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, default=_plain_mapping)
    except (TypeError, ValueError) as exc:
        raise ProofEngineError(f"not a JSON value ({exc}); pass JSON-shaped data") from None


def _plain_mapping(value: object) -> dict[str, Any]:
    # Read-only mappings (e.g. a Signer's MappingProxyType JWK) serialise as objects.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _loads_object(text: str) -> dict[str, Any]:
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ProofEngineError(f"didkit returned {type(value).__name__}, not a JSON object")
    return value
