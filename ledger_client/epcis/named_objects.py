"""The lots, items and other objects an EPCIS 2.0 event names, each with its role.

Capture files an event under everything it names, and the query interface's `MATCH_`
parameters select events by the field that names an object (`MATCH_epc` looks in
`epcList` and `childEPCs`, `MATCH_parentID` in `parentID`, …); so each object comes with
the field it was found in. Identifiers are normalised by `identifiers.parse_identifier`,
so an EPC URN and a Digital Link of the same lot are one object.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ledger_client.epcis.identifiers import (
    Gs1Identifier,
    InvalidIdentifier,
    NotGs1Identifier,
    parse_identifier,
)
from ledger_client.epcis.validation import InvalidEpcisEvent, Problem


class Role(StrEnum):
    """The event field that names an object; the value is the field's EPCIS 2.0 name."""

    EPC = "epcList"
    QUANTITY = "quantityList"
    PARENT = "parentID"
    CHILD = "childEPCs"
    CHILD_QUANTITY = "childQuantityList"
    INPUT = "inputEPCList"
    INPUT_QUANTITY = "inputQuantityList"
    OUTPUT = "outputEPCList"
    OUTPUT_QUANTITY = "outputQuantityList"

    @property
    def by_class(self) -> bool:
        """True for the quantity lists, which name classes (a lot, every item of a product)
        rather than instances."""
        return self.value.lower().endswith("quantitylist")


_INSTANCE_LISTS = (Role.EPC, Role.CHILD, Role.INPUT, Role.OUTPUT)
_QUANTITY_LISTS = (Role.QUANTITY, Role.CHILD_QUANTITY, Role.INPUT_QUANTITY, Role.OUTPUT_QUANTITY)


@dataclass(frozen=True)
class NamedObject:
    """One object an event names.

    `uri` is the canonical Digital Link of a GS1 identifier, or the URI as written when it is
    not one (another agency's EPC, a company's own URI), which EPCIS allows and which is then
    compared as written. `identifier` is the parsed GS1 identifier, None in that case.
    `written` is the text as the event gives it.
    """

    role: Role
    uri: str
    written: str
    identifier: Gs1Identifier | None


def objects_named(event: Mapping[str, Any]) -> list[NamedObject]:
    """Every object `event` names in `epcList`, `quantityList`, `parentID`, `childEPCs`,
    `childQuantityList`, the input / output EPC and quantity lists (Object, Aggregation,
    Transaction, Transformation and Association events alike).

    In field order, then list order; an object named twice in one role (e.g. by its URN and
    its Digital Link) is listed once, as first written.

    Raises:
        InvalidEpcisEvent: listing every malformed GS1 identifier (with its value and what is
            wrong) and every field that is not of the shape EPCIS gives it, by JSON path.
    """
    problems: list[Problem] = []
    named: dict[tuple[Role, str], NamedObject] = {}
    for role, path, written in _written_identifiers(event, problems):
        try:
            identifier: Gs1Identifier | None = parse_identifier(written)
        except NotGs1Identifier:
            identifier = None
        except InvalidIdentifier as error:
            problems.append((path, str(error)))
            continue
        uri = written if identifier is None else identifier.uri
        named.setdefault((role, uri), NamedObject(role, uri, written, identifier))
    if problems:
        raise InvalidEpcisEvent(problems)
    return list(named.values())


def _written_identifiers(
    event: Mapping[str, Any], problems: list[Problem]
) -> Iterator[tuple[Role, str, str]]:
    """(role, JSON path, text) of each identifier in the naming fields, in field order."""
    for role in Role:
        if role.value not in event:
            continue
        value = event[role.value]
        path = f"$.{role.value}"
        if role is Role.PARENT:
            if isinstance(value, str):
                yield role, path, value
            else:
                problems.append((path, "is not a string (a URI)"))
        elif not isinstance(value, list):
            problems.append((path, "is not an array"))
        elif role in _INSTANCE_LISTS:
            for index, epc in enumerate(value):
                if isinstance(epc, str):
                    yield role, f"{path}[{index}]", epc
                else:
                    problems.append((f"{path}[{index}]", "is not a string (a URI)"))
        else:
            assert role in _QUANTITY_LISTS
            for index, element in enumerate(value):
                epc_class = element.get("epcClass") if isinstance(element, Mapping) else None
                if isinstance(epc_class, str):
                    yield role, f"{path}[{index}].epcClass", epc_class
                else:
                    problems.append((f"{path}[{index}].epcClass", "is required and must be a URI"))
