"""Credential types, the JSON-LD context they share, and their schemas.

Every credential is a W3C VC data model 1.1 document. Its `@context` is the bundled VC v1
context plus one inline object whose `@vocab` gives every custom term an IRI, so nothing
is fetched and every claim is covered by the proof; array-valued claims are `@list`s, so
their order is signed too. The schemas (JSON Schema draft 2020-12, `schemas/*.json`) check
the envelope and, per type, the `credentialSubject`; a few rules JSON Schema cannot say
(dates in order, a conclusion that matches the tests, canonical Digital Links) are checked
here. Problems are reported as `"<JSON path>: <what is wrong>"`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from credentials.errors import InvalidCredential, UnknownCredentialType
from credentials.identities import is_supported_did
from ledger_client.identifiers import DigitalLink, InvalidIdentifier


class CredentialType(StrEnum):
    """The credential types of the system; each value is the VC `type` and schema name."""

    CALIBRATION_CERTIFICATE = "CalibrationCertificate"
    """Lab → device: an instrument's calibration (range, uncertainty, reference, validity)."""
    CERTIFICATE_OF_ANALYSIS = "CertificateOfAnalysis"
    """Quality → lot: test results against specifications, and a conclusion."""
    OPERATOR_QUALIFICATION = "OperatorQualification"
    """Organization → person: a qualification and its scope."""
    COLD_CHAIN_COMPLIANCE = "ColdChainComplianceCredential"
    """Bridge's organization → shipment / lot: temperature summary and its anchors."""
    FIT_FOR_USE = "FitForUse"
    """Quality → lot: fit for use; its on-chain status follows the lot's quarantine."""


VC_CONTEXT_V1 = "https://www.w3.org/2018/credentials/v1"
VOCABULARY = "urn:provenance-ledger:vocab#"
"""The IRI prefix of every custom term (a URN: nothing to dereference, nothing to fetch)."""
PROVENANCE_CONTEXT: dict[str, Any] = {
    "@vocab": VOCABULARY,
    "tests": {"@container": "@list"},
    "scope": {"@container": "@list"},
    "anchorTransactions": {"@container": "@list"},
    "basis": {"@container": "@list"},
}
"""The inline context: JSON-LD treats arrays as unordered sets unless they are lists."""

_INSTANT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_INSTANT_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_IDENTIFIER = re.compile(r"[A-Za-z_@][A-Za-z0-9_@-]*")


def credential_context() -> list[Any]:
    """A fresh copy of the `@context` every credential of the system carries."""
    return [VC_CONTEXT_V1, json.loads(json.dumps(PROVENANCE_CONTEXT))]


def credential_type(value: str) -> CredentialType:
    """`value` as a `CredentialType`.

    Raises:
        UnknownCredentialType: it names none.
    """
    try:
        return CredentialType(value)
    except ValueError:
        known = ", ".join(member.value for member in CredentialType)
        raise UnknownCredentialType(
            f"unknown credential type {value!r}; use one of: {known}"
        ) from None


def format_instant(moment: datetime) -> str:
    """A timezone-aware datetime as the credentials' UTC form, `YYYY-MM-DDTHH:MM:SSZ`
    (sub-second digits are dropped).

    Raises:
        ValueError: `moment` is naive.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment!r} has no timezone; pass an aware datetime (e.g. UTC)")
    return moment.astimezone(UTC).strftime(_INSTANT_FORMAT)


def parse_instant(text: object) -> datetime:
    """A credential instant (`YYYY-MM-DDTHH:MM:SSZ`) as an aware UTC datetime.

    Raises:
        ValueError: `text` is not one (wrong form or no such date).
    """
    if not isinstance(text, str) or not _INSTANT.fullmatch(text):
        # Named, not quoted, unless short text: the value came from outside, of any size.
        shown = repr(text) if isinstance(text, str) and len(text) <= 40 else _kind_of(text)
        raise ValueError(f"{shown} is not a UTC instant of the form YYYY-MM-DDTHH:MM:SSZ")
    return datetime.strptime(text, _INSTANT_FORMAT).replace(tzinfo=UTC)


def _kind_of(value: object) -> str:
    if (
        value is None
        or isinstance(value, bool | float)
        or (isinstance(value, int) and value.bit_length() <= 64)
    ):
        return repr(value)
    if isinstance(value, str):
        return f"a {len(value)}-character string"
    return f"a JSON {_JSON_KINDS.get(type(value), type(value).__name__)}"


_JSON_KINDS: dict[type, str] = {int: "number", list: "array", dict: "object"}


def schema_problems(credential: object) -> list[str]:
    """Everything wrong with a credential's shape: envelope, subject and cross-field rules.

    Empty when the credential matches; the proof is not checked here.
    """
    if not isinstance(credential, Mapping):
        return [f"$: a credential is a JSON object, not {type(credential).__name__}"]
    problems = _validate(_validator("credential"), credential, ())
    if not problems:
        problems = _envelope_rules(credential)
    subject = credential.get("credentialSubject")
    kind = _declared_type(credential)
    if kind is not None and isinstance(subject, Mapping):
        problems += subject_problems(kind, subject)
    return problems


def subject_problems(kind: CredentialType, subject: Mapping[str, Any]) -> list[str]:
    """Everything wrong with a `credentialSubject` of type `kind`."""
    path = ("credentialSubject",)
    problems = _validate(_validator(kind.value), subject, path)
    if problems:
        return problems
    return [f"{_json_path(path + where)}: {what}" for where, what in _SUBJECT_RULES[kind](subject)]


def require_valid(credential: Mapping[str, Any]) -> None:
    """Raise when `schema_problems(credential)` finds anything.

    Raises:
        InvalidCredential: listing every problem, each with its JSON path.
    """
    problems = schema_problems(credential)
    if problems:
        raise InvalidCredential(
            f"credential does not match its schema: {'; '.join(problems)}", problems
        )


def schema(kind: CredentialType) -> Mapping[str, Any]:
    """The JSON Schema of a type's `credentialSubject` (as shipped in `schemas/`)."""
    return _schemas()[kind.value]


def _declared_type(credential: Mapping[str, Any]) -> CredentialType | None:
    types = credential.get("type")
    if isinstance(types, list) and len(types) == 2 and isinstance(types[1], str):
        try:
            return CredentialType(types[1])
        except ValueError:
            return None
    return None


def _envelope_rules(credential: Mapping[str, Any]) -> list[str]:
    problems = []
    if credential["@context"] != credential_context():
        problems.append(
            f"$.@context: must be exactly {json.dumps(credential_context())} (no other "
            "context can be loaded offline)"
        )
    if not is_supported_did(credential["issuer"]):
        problems.append("$.issuer: a did:pkh address must be EIP-55 checksummed")
    for field in ("issuanceDate", "expirationDate"):
        if field in credential:
            problems += [f"$.{field}: {what}" for what in _instant_problems(credential[field])]
    if not problems and "expirationDate" in credential:
        issued = parse_instant(credential["issuanceDate"])
        if parse_instant(credential["expirationDate"]) <= issued:
            problems.append("$.expirationDate: must be after issuanceDate")
    return problems


Problems = Iterable[tuple[tuple[str | int, ...], str]]
"""(path inside the subject, what is wrong) pairs from a type's cross-field rules."""


def _calibration_rules(subject: Mapping[str, Any]) -> Problems:
    yield from _accepted_subject(subject)
    dates = [_instant_problems(subject[field]) for field in ("calibratedAt", "validUntil")]
    for field, found in zip(("calibratedAt", "validUntil"), dates, strict=True):
        yield from (((field,), what) for what in found)
    if not any(dates):
        if parse_instant(subject["validUntil"]) <= parse_instant(subject["calibratedAt"]):
            yield ("validUntil",), "must be after calibratedAt"
    if subject["range"]["minMilliC"] >= subject["range"]["maxMilliC"]:
        yield ("range", "maxMilliC"), "must be above minMilliC"


def _analysis_rules(subject: Mapping[str, Any]) -> Problems:
    yield from _accepted_subject(subject)
    yield from _lot_rules(subject)
    all_passed = all(test["passed"] for test in subject["tests"])
    if subject["conclusion"] == "conforms" and not all_passed:
        yield ("conclusion",), "is 'conforms' but a test did not pass"
    if subject["conclusion"] == "does-not-conform" and all_passed:
        yield ("conclusion",), "is 'does-not-conform' but every test passed"


def _qualification_rules(subject: Mapping[str, Any]) -> Problems:
    return ()


def _cold_chain_rules(subject: Mapping[str, Any]) -> Problems:
    yield from _accepted_subject(subject)
    yield from _lot_rules(subject)
    low, high = subject["minTempMilliC"], subject["maxTempMilliC"]
    if low > high:
        yield ("maxTempMilliC",), "must not be below minTempMilliC"
    elif not low <= subject["mktMilliC"] <= high:
        # A mean kinetic temperature always lies between the extremes it is computed from.
        yield ("mktMilliC",), "must lie between minTempMilliC and maxTempMilliC"


def _fit_for_use_rules(subject: Mapping[str, Any]) -> Problems:
    yield from _accepted_subject(subject)
    yield from _lot_rules(subject)


def _accepted_subject(subject: Mapping[str, Any]) -> Problems:
    if not is_supported_did(subject["id"]):
        yield ("id",), "a did:pkh address must be EIP-55 checksummed"


def _lot_rules(subject: Mapping[str, Any]) -> Problems:
    try:
        link = DigitalLink.parse(subject["lot"])
    except InvalidIdentifier as exc:
        yield ("lot",), str(exc)
        return
    if link.kind != "lot":
        yield ("lot",), "must name a lot (AI 10), not a serialized item"
    elif link.uri != subject["lot"]:
        yield ("lot",), f"is not in canonical form; use {link.uri}"


_SUBJECT_RULES: dict[CredentialType, Callable[[Mapping[str, Any]], Problems]] = {
    CredentialType.CALIBRATION_CERTIFICATE: _calibration_rules,
    CredentialType.CERTIFICATE_OF_ANALYSIS: _analysis_rules,
    CredentialType.OPERATOR_QUALIFICATION: _qualification_rules,
    CredentialType.COLD_CHAIN_COMPLIANCE: _cold_chain_rules,
    CredentialType.FIT_FOR_USE: _fit_for_use_rules,
}


def _instant_problems(text: object) -> list[str]:
    try:
        parse_instant(text)
    except ValueError as exc:
        return [str(exc)]
    return []


def _validate(
    validator: Draft202012Validator, instance: object, base: tuple[str | int, ...]
) -> list[str]:
    errors = sorted(validator.iter_errors(instance), key=lambda error: _json_path(error.path))
    return [f"{_json_path(base + tuple(error.absolute_path))}: {error.message}" for error in errors]


def _json_path(parts: Iterable[str | int]) -> str:
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            path += f".{part}"
        else:
            path += f"[{json.dumps(part)}]"
    return path


@cache
def _validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(_schemas()[name], registry=_registry())


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    """Every schema file by name (file stem)."""
    folder = resources.files("credentials") / "schemas"
    return {
        entry.name.removesuffix(".json"): json.loads(entry.read_text("utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".json")
    }


@cache
def _registry() -> Registry[Any]:
    return Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in _schemas().values()
    )
