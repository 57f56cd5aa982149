"""The didkit adapter: serialised calls from any thread or event loop, clean exit, and
failures as results or `CredentialError`s, never raw didkit exceptions."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from credentials import didkit_adapter
from credentials.engine import ProofEngine
from credentials.errors import ProofEngineError, UnresolvableDid
from credentials.types import CredentialType
from tests.credentials.credential_factories import issue_sample, outsider, quality

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
OPTIONS = {"proofPurpose": "assertionMethod"}


def test_the_module_is_the_engine() -> None:
    engine: ProofEngine = didkit_adapter
    assert engine.key_to_did(f"pkh:eip155:{1}", quality().jwk).startswith("did:pkh:eip155:1:")


def test_calls_from_many_threads_at_once_are_serialised() -> None:
    credential = issue_sample(CredentialType.FIT_FOR_USE)
    tampered = {**credential, "issuanceDate": "2026-01-02T00:00:00Z"}

    def verify(index: int) -> bool:
        document = credential if index % 2 else tampered
        return didkit_adapter.verify_credential(document, proof_options=OPTIONS).passed

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(verify, range(64)))
    assert results == [index % 2 == 1 for index in range(64)]


def test_calls_from_inside_an_event_loop() -> None:
    credential = issue_sample(CredentialType.FIT_FOR_USE)

    async def handler() -> bool:
        return didkit_adapter.verify_credential(credential, proof_options=OPTIONS).passed

    assert asyncio.run(handler())


EXIT_SCRIPT = """
import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor

from credentials import didkit_adapter
from credentials.identities import mint_asset_did

signer = mint_asset_did()
credential = {
    "@context": ["https://www.w3.org/2018/credentials/v1"],
    "type": ["VerifiableCredential"],
    "issuer": signer.did,
    "issuanceDate": "2026-01-01T00:00:00Z",
    "credentialSubject": {"id": signer.did},
}
options = signer.proof_options(purpose="assertionMethod")
signed = didkit_adapter.issue_credential(credential, proof_options=options, jwk=signer.jwk)


def verify(_):
    return didkit_adapter.verify_credential(signed, proof_options={}).passed


async def main():
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=16) as pool:
        return await asyncio.gather(*(loop.run_in_executor(pool, verify, i) for i in range(100)))


assert all(asyncio.run(main())) if sys.argv[1] == "concurrent" else verify(0)
print("done")
"""


@pytest.mark.parametrize("calls", ["one", "concurrent"])
def test_interpreter_exits_cleanly_right_after_didkit_calls(calls: str) -> None:
    # Without the adapter's exit grace, about half such runs died at exit (SIGSEGV/SIGABRT,
    # "Fatal Python error"), even after a single call; three runs catch that most times.
    for _ in range(3):
        finished = subprocess.run(
            [sys.executable, "-c", EXIT_SCRIPT, calls],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert finished.returncode == 0, (finished.returncode, finished.stderr)
        assert finished.stdout.strip() == "done"
        assert "Fatal Python error" not in finished.stderr


def test_verification_failures_are_results_not_exceptions() -> None:
    for document in ({}, {"@context": "https://unknown.example/context"}, {"a": float("inf")}):
        result = didkit_adapter.verify_credential(document, proof_options=OPTIONS)
        assert not result.passed and result.errors
        result = didkit_adapter.verify_presentation(document, proof_options={})
        assert not result.passed


def test_verification_failures_are_verdicts_and_a_timeout_is_none(didkit_times_out_once) -> None:
    credential = issue_sample(CredentialType.FIT_FOR_USE)
    tampered = {**credential, "issuanceDate": "2026-01-02T00:00:00Z"}
    assert didkit_adapter.verify_credential(tampered, proof_options=OPTIONS).decided
    assert didkit_adapter.verify_credential({}, proof_options=OPTIONS).decided
    didkit_times_out_once.arm()

    timed_out = didkit_adapter.verify_credential(credential, proof_options=OPTIONS)
    didkit_times_out_once.wait()
    answered = didkit_adapter.verify_credential(credential, proof_options=OPTIONS)

    assert not timed_out.passed and not timed_out.decided
    assert "did not answer within" in timed_out.errors[0]
    assert answered.passed and answered.decided


def test_refusals_raise_credential_errors() -> None:
    credential = {k: v for k, v in issue_sample(CredentialType.FIT_FOR_USE).items() if k != "proof"}
    with pytest.raises(ProofEngineError, match="didkit: "):
        didkit_adapter.issue_credential(
            credential,
            proof_options=quality().proof_options(purpose="assertionMethod"),
            jwk=outsider().jwk,
        )
    with pytest.raises(UnresolvableDid, match="did:nope:x"):
        didkit_adapter.resolve_did("did:nope:x")
