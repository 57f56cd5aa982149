"""Validation of EPCIS 2.0 documents and single events, with the JSON path of each problem.

`Validator()` checks the project's own schema (`schema.EPCIS_SCHEMA`);
`Validator(official_schema_dir=...)` also checks GS1's official EPCIS 2.0 JSON Schema,
read from that directory and resolved offline.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import jsonschema_rs
from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from ledger_client.epcis.schema import EPCIS_SCHEMA
from ledger_client.errors import ConfigurationError, LedgerError
from ledger_client.json_input import InvalidJson, check_depth

OFFICIAL_ROOT_ID = "https://gs1.github.io/EPCIS/JSON-Schema/EPCIS-JSON-Schema.json"

Problem = tuple[str, str]
"""(JSON path such as `$.epcisBody.eventList[2].eventTime`, what is wrong there)."""

_URI = re.compile(
    r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})*"
)
_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-]([0-9]{2}):([0-9]{2}))"
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SHOWN_LENGTH = 60

# jsonschema checks "uri" and "date-time" only with optional packages; these are ours.
FORMATS = FormatChecker(formats=())


@FORMATS.checks("uri")
def is_uri(value: object) -> bool:
    """An absolute URI (RFC 3986: scheme, then only URI characters and %XX escapes)."""
    return not isinstance(value, str) or _URI.fullmatch(value) is not None


@FORMATS.checks("date-time")
def is_date_time(value: object) -> bool:
    """An RFC 3339 date-time, which always carries `Z` or a ±hh:mm offset."""
    if not isinstance(value, str):
        return True
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return False
    year, month, day, hour, minute, second, offset_h, offset_m = match.groups()
    try:
        # Second 60 is a leap second, which datetime cannot hold.
        datetime(int(year), int(month), int(day), int(hour), int(minute), min(int(second), 59))
    except ValueError:
        return False
    return int(second) <= 60 and int(offset_h or 0) <= 23 and int(offset_m or 0) <= 59


def _compiled(schema: Any, registry: Registry[Any] | None = None) -> jsonschema_rs.Validator:
    """`schema` compiled by jsonschema-rs with these formats: it tells a valid document from an
    invalid one ~20x faster than `Draft7Validator`, which then words the problems."""
    resources = [] if registry is None else [(uri, registry.contents(uri)) for uri in registry]
    return jsonschema_rs.Draft7Validator(
        schema,
        formats={"uri": is_uri, "date-time": is_date_time},
        validate_formats=True,
        registry=jsonschema_rs.Registry(resources) if resources else None,
    )


class InvalidEpcisEvent(LedgerError):
    """An EPCIS document or event breaks the schema. `problems` lists every (path, message)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {path}: {message}" for path, message in problems)
        count = f"{len(problems)} problem" + ("s" if len(problems) != 1 else "")
        super().__init__(f"EPCIS input is invalid ({count}); fix:\n{lines}")


class Validator:
    """Checks EPCIS 2.0 documents and single self-describing events.

    `official_schema_dir` is a directory holding GS1's EPCIS 2.0 JSON Schema files
    (`EPCIS-JSON-Schema-root.json` and the files it `$ref`s, found recursively); they
    are loaded once, so `$ref`s resolve offline.
    """

    def __init__(self, official_schema_dir: Path | None = None) -> None:
        self._own = Draft7Validator(EPCIS_SCHEMA, format_checker=FORMATS)
        # What the validators check, compiled: a document all of them accept needs no words.
        self._fast = [_compiled(EPCIS_SCHEMA)]
        self._official: Draft7Validator | None = None
        if official_schema_dir is not None:
            root, registry = _official_schema(official_schema_dir)
            self._official = Draft7Validator(root, registry=registry, format_checker=FORMATS)
            self._fast.append(_compiled(root, registry))

    def validate(self, document_or_event: Any) -> None:
        """Accept an EPCISDocument, or one event that carries its own `@context`.

        Raises:
            InvalidEpcisEvent: listing every problem, ordered by JSON path. The
                official schema's problems at or above a path the project's schema
                already reported are left out: they restate it less clearly. Input
                nested deeper than `json_input.MAX_DEPTH` is refused unchecked.
        """
        try:
            check_depth(document_or_event)
        except InvalidJson as exc:
            raise InvalidEpcisEvent([("$", str(exc))]) from None
        if all(fast.is_valid(document_or_event) for fast in self._fast):
            return
        found = dict.fromkeys(_problems(self._own, document_or_event))
        if self._official is not None:
            explained = {path[:depth] for path, _ in found for depth in range(len(path) + 1)}
            for problem in _problems(self._official, document_or_event):
                if problem[0] not in explained:
                    found.setdefault(problem)
        if found:
            problems = sorted(found, key=lambda problem: _path_order(problem[0]))
            raise InvalidEpcisEvent([(_json_path(path), message) for path, message in problems])

    def validate_query_document(self, document: Any) -> None:
        """Accept an EPCISQueryDocument (what `GET /events` answers) by the official schema,
        which alone defines it.

        Raises:
            ConfigurationError: this validator has no official schema.
            InvalidEpcisEvent: listing every problem, ordered by JSON path.
        """
        if self._official is None:
            raise ConfigurationError("an EPCISQueryDocument is checked by the official schema")
        try:
            check_depth(document)
        except InvalidJson as exc:
            raise InvalidEpcisEvent([("$", str(exc))]) from None
        found = sorted(
            dict.fromkeys(_problems(self._official, document)),
            key=lambda problem: _path_order(problem[0]),
        )
        if found:
            raise InvalidEpcisEvent([(_json_path(path), message) for path, message in found])


def _official_schema(directory: Path) -> tuple[Any, Registry[Any]]:
    """The official root schema, its `$ref`s inlined, and the registry of every file."""
    resources = []
    for path in sorted(Path(directory).rglob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(contents, dict) and "$id" in contents:
            resource = Resource.from_contents(contents, default_specification=DRAFT7)
            resources.append((contents["$id"], resource))
    registry: Registry[Any] = Registry().with_resources(resources)
    try:
        registry.contents(OFFICIAL_ROOT_ID)
    except LookupError:
        raise ConfigurationError(
            f"{directory} holds no schema with $id {OFFICIAL_ROOT_ID} "
            "(GS1's EPCIS-JSON-Schema-root.json); point official_schema_dir at its folder"
        ) from None
    return _inline_refs({"$ref": OFFICIAL_ROOT_ID}, OFFICIAL_ROOT_ID, registry, set()), registry


def _inline_refs(node: Any, base: str, registry: Registry[Any], seen: set[str]) -> Any:
    # jsonschema resolves a $ref on every use; resolving each once up front makes the
    # official schema about 4x faster. A recursive $ref is left in place, made absolute.
    if isinstance(node, list):
        return [_inline_refs(item, base, registry, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:  # draft-07: keywords beside $ref are ignored
        target = urljoin(base, node["$ref"])
        if target in seen:
            return {"$ref": target}
        contents = registry.resolver().lookup(target).contents
        return _inline_refs(contents, urldefrag(target).url, registry, seen | {target})
    return {key: _inline_refs(value, base, registry, seen) for key, value in node.items()}


def _problems(validator: Draft7Validator, instance: Any) -> Iterator[tuple[tuple[Any, ...], str]]:
    for error in validator.iter_errors(instance):
        path = tuple(error.absolute_path)
        if "propertyNames" in error.absolute_schema_path:
            # jsonschema reports a bad property name at its object; point at the name.
            yield (
                (*path, error.instance),
                (
                    "is not a property EPCIS defines; name extensions by URI or compact IRI "
                    f"(e.g. 'example:{error.instance}')"
                ),
            )
        elif error.validator == "required" and isinstance(error.instance, dict):
            # One problem per missing property, at the property's own path.
            for name in error.validator_value:
                if name not in error.instance:
                    yield (*path, name), "is required but missing"
        else:
            yield path, _message(error)


def _message(error: ValidationError) -> str:
    shown = _show(error.instance)
    rule, expected = error.validator, error.validator_value
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    if custom:
        return f"{shown} {custom}"
    if rule == "format":
        return f"{shown} is not a valid {expected}"
    if rule == "type":
        return f"{shown} is not of type {_choices(expected)}"
    if rule == "enum":
        return f"{shown} is not one of {_choices(expected)}"
    if rule == "const":
        return f"{shown} is not {expected!r}"
    if rule == "pattern":
        return f"{shown} does not match {expected}"
    if rule in ("anyOf", "oneOf") and error.context:
        detail = best_match(error.context)
        if detail.validator == "required":
            missing = [name for name in detail.validator_value if name not in detail.instance]
            return f"{shown} matches none of the allowed forms; e.g. it lacks {_choices(missing)}"
        return f"{shown} matches none of the allowed forms; e.g. {_message(detail)}"
    return error.message if len(error.message) <= 200 else error.message[:199] + "…"


def _show(instance: Any) -> str:
    if isinstance(instance, dict):
        return "the object"
    if isinstance(instance, list):
        return "the array"
    if instance is None or isinstance(instance, bool):
        return json.dumps(instance)
    text = repr(instance)
    return text if len(text) <= _SHOWN_LENGTH else text[: _SHOWN_LENGTH - 1] + "…"


def _choices(values: Any) -> str:
    if not isinstance(values, list | tuple):
        return str(values)
    names = sorted(str(value) for value in values)
    if len(names) > 8:
        names = [*names[:8], "…"]
    return ", ".join(names)


def _json_path(parts: tuple[Any, ...]) -> str:
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            path += f".{part}"
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            path += f"['{escaped}']"
    return path


def _path_order(parts: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    return tuple((0, part) if isinstance(part, int) else (1, str(part)) for part in parts)
