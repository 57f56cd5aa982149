"""The CBV 2.0 event hash id (`ni:///sha-256;…?ver=CBV2.0`, CBV 2.0 §8.9) of EPCIS events.

Capture gives an event that has no `eventID` this id, so it must be the one GS1's reference
implementation (github.com/RalphTro/epcis-event-hash-generator, MIT licence) computes for the
same document, byte for byte: other EPCIS systems match events by it. Its pre-hash string
differs from the prose of the standard in places (bizTransaction, source and destination
lists go last, sorted with the user extensions; `rdfs:comment` is left out; a bare string is
spelled out wherever it is the tail of a vocabulary URI the document uses), and it is the
reference, with its published test vectors, that other systems reproduce. So this is a port
of its algorithm (json_to_py, json_xml_model_mismatch_correction, hash_generator), tested
against those vectors, with these differences where the reference has no answer:

- namespaces come from the document alone (the reference's PyPI release 1.9.3 keeps those of
  earlier documents hashed in the same process, and so gives other ids for later ones);
- where it raises and gives no id (a business transaction or source without a type, a
  timestamp that rounds up to the next second, an infinite number, a term defined by an
  object in `@context`) this gives one;
- a timestamp without an offset is read as UTC (the reference reads it in the machine's zone).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger_client.epcis.hash_identifiers import hash_form
from ledger_client.epcis.hash_vocabulary import spell_out_vocabulary
from ledger_client.epcis.validation import InvalidEpcisEvent

Node = tuple[Any, Any, list[Any]]
"""The reference's event tree: (name, text, children); the pair lists hold 2-tuples of nodes."""

_QUANTITY = [("quantityElement", [("epcClass", None), ("quantity", None), ("uom", None)])]

PROPERTY_ORDER: list[tuple[Any, Any]] = [
    ("eventTime", None),
    ("eventTimeZoneOffset", None),
    ("certificationInfo", None),
    ("parentID", None),
    ("epcList", [("epc", None)]),
    ("inputEPCList", [("epc", None)]),
    ("childEPCs", [("epc", None)]),
    ("quantityList", _QUANTITY),
    ("childQuantityList", _QUANTITY),
    ("inputQuantityList", _QUANTITY),
    ("outputEPCList", [("epc", None)]),
    ("outputQuantityList", _QUANTITY),
    ("action", None),
    ("transformationID", None),
    ("bizStep", None),
    ("disposition", None),
    ("persistentDisposition", [("set", None), ("unset", None)]),
    ("readPoint", [("id", None)]),
    ("bizLocation", [("id", None)]),
    # As in the reference, these three entries match nothing (their pairs are not named
    # "type"), so the lists are hashed with the extensions at the end.
    ("bizTransactionList", [(("type", None), ("bizTransaction", None))]),
    ("sourceList", [(("type", None), ("source", None))]),
    ("destinationList", [(("type", None), ("destination", None))]),
    ("sensorElementList", [("sensorElement", [
        ("sensorMetadata", [
            ("time", None), ("startTime", None), ("endTime", None), ("deviceID", None),
            ("deviceMetadata", None), ("rawData", None), ("dataProcessingMethod", None),
            ("bizRules", None),
        ]),
        ("sensorReport", [
            ("type", None), ("exception", None), ("deviceID", None), ("deviceMetadata", None),
            ("rawData", None), ("dataProcessingMethod", None), ("time", None),
            ("microorganism", None), ("chemicalSubstance", None), ("value", None),
            ("component", None), ("stringValue", None), ("booleanValue", None),
            ("hexBinaryValue", None), ("uriValue", None), ("minValue", None),
            ("maxValue", None), ("meanValue", None), ("sDev", None), ("percRank", None),
            ("percValue", None), ("uom", None), ("coordinateReferenceSystem", None),
        ]),
    ])]),
]  # fmt: skip
"""The canonical property order of the reference (its `PROP_ORDER`)."""

_PAIR_LISTS = ("sourceList", "destinationList", "bizTransactionList")
_UNSORTED_KEYS = ("bizTransaction", "source", "destination")
_NOT_HASHED = ("recordTime", "eventID", "type", "errorDeclaration")
_LEFT_OUT = ("#text", "rdfs:comment", "comment")
_REPOSITORY = "{https://repository-x.example.com/}"
_CBV_URNS = (
    ("urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-"),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
)


def event_hash_ids(document: Mapping[str, Any]) -> list[str]:
    """The CBV 2.0 event hash id of each event of an EPCISDocument or EPCISQueryDocument, in
    the document's order (whether or not the event has an `eventID`, which is not hashed).

    Raises:
        InvalidEpcisEvent: `document` holds no event list.
    """
    return [hash_id(pre_hash) for pre_hash in pre_hash_strings(document)]


def hash_id(pre_hash: str) -> str:
    """The `ni` URI (RFC 6920) of a pre-hash string's SHA-256."""
    return f"ni:///sha-256;{hashlib.sha256(pre_hash.encode('utf-8')).hexdigest()}?ver=CBV2.0"


def pre_hash_strings(document: Mapping[str, Any]) -> list[str]:
    """The reference's pre-hash string of each event of `document` (what is hashed).

    Raises:
        InvalidEpcisEvent: `document` holds no event list.
    """
    _event_list(document)
    spelled = spell_out_vocabulary(document)
    context = spelled.get("@context")
    namespaces = _namespaces(context if isinstance(context, list) else [context])
    ignored = _ignored_fields(spelled, namespaces)
    return [
        _pre_hash(_structure(_tree(event, namespaces, ignored))) for event in _event_list(spelled)
    ]


def _event_list(document: Mapping[str, Any]) -> list[Any]:
    body = document.get("epcisBody") if isinstance(document, Mapping) else None
    if isinstance(body, Mapping):
        results = body.get("queryResults")
        if isinstance(results, Mapping) and isinstance(results.get("resultsBody"), Mapping):
            body = results["resultsBody"]
        events = body.get("eventList")
        if isinstance(events, list) and all(isinstance(event, Mapping) for event in events):
            return events
    raise InvalidEpcisEvent([("$.epcisBody.eventList", "is required: an array of events to hash")])


def _ignored_fields(document: Mapping[str, Any], namespaces: Mapping[str, str]) -> list[Any]:
    """The event fields a document excludes with the reference's `ignoreFields` extension: a
    list under `{prefix}:ignoreFields`, the prefix bound to its example repository namespace
    (on the document, or on `queryResults` in a query document)."""
    prefix = next((key for key, value in namespaces.items() if value == _REPOSITORY), "")
    body = document["epcisBody"]
    holder = body["queryResults"] if "eventList" not in body else document
    fields = holder.get(prefix + ":ignoreFields")
    return fields if isinstance(fields, list) else []


def _namespaces(contexts: list[Any]) -> dict[str, str]:
    """Prefix -> "{namespace}" from the document's `@context` (a context URI names itself)."""
    namespaces: dict[str, str] = {}
    for entry in contexts:
        if isinstance(entry, str):
            namespaces[entry] = "{" + entry + "}"
        elif isinstance(entry, Mapping):
            for key, value in entry.items():
                if isinstance(value, str):
                    namespaces[key] = "{" + value + "}"
    return namespaces


def _with_namespace(text: Any, namespaces: Mapping[str, str], *, value: bool = False) -> Any:
    if not isinstance(text, str):
        return text
    prefix, colon, rest = text.partition(":")
    if colon and prefix in namespaces:
        namespace = namespaces[prefix]
        return (namespace.replace("{", "").replace("}", "") if value else namespace) + rest
    return text


def _tree(json: Any, namespaces: Mapping[str, str], ignored: Collection[Any] = ()) -> Node:
    """The reference's `_json_to_py`: a (name, text, children) tree, children sorted except
    in business transactions, sources and destinations; scalars as Python's `str` writes
    them (JSON true is "True")."""
    if isinstance(json, list):
        node: Node = ("", "", [_tree(element, namespaces) for element in json])
    elif isinstance(json, Mapping):
        node = (json.get("type", ""), json.get("#text", ""), [])
        for key, value in json.items():
            if key in _LEFT_OUT or key in ignored:
                continue
            child = _tree(value, namespaces)
            name = _with_namespace(key, namespaces)
            if isinstance(value, list):
                node[2].extend((name, element[1], element[2]) for element in child[2])
            else:
                node[2].append((name, child[1], child[2]))
    else:
        return "", str(_with_namespace(json, namespaces, value=True)), []
    if not any(key in json for key in _UNSORTED_KEYS):
        node[2].sort()
    return node


def _structure(node: Node) -> Node:
    """The reference's `deep_structure_correction`: JSON lists regrouped as XML has them
    (`epcList` of `epc`, `quantityList` of `quantityElement`, …)."""
    children = node[2]
    lists: dict[str, list[Any]] = {}
    for element in [e for e in children if isinstance(e[0], str) and e[0].endswith("List")]:
        lists.setdefault(element[0], []).append((element[0][:-4], element[1], element[2]))
        children.remove(element)
    for name, elements in lists.items():
        if name in _PAIR_LISTS:
            # (type, id) in the order written; the reference fails on a lone id.
            children.append((name, "", [tuple(element[2][:2]) for element in elements]))
        else:
            children.append((name, "", elements))
    child_epcs: list[Node] = [
        ("epc", element[1], []) for element in children if element[0] == "childEPCs"
    ]
    children[:] = [element for element in children if element[0] != "childEPCs"]
    if child_epcs:
        children.append(("childEPCs", "", child_epcs))
    corrected = [e if e[0] in _PAIR_LISTS else _structure(e) for e in children]
    return _renamed((node[0], node[1], corrected))


def _renamed(node: Node) -> Node:
    name, text, children = node
    if name in ("inputEPC", "outputEPC"):
        return "epc", text, children
    if name in ("inputQuantity", "outputQuantity", "childQuantity") or (
        name == "quantity" and children
    ):
        return "quantityElement", text, children
    return node


def _pre_hash(event: Node) -> str:
    name, _, children = event
    ordered = _in_order(children, PROPERTY_ORDER)
    rest = [child for child in children if child[0] not in _NOT_HASHED]
    return f"eventType={name}{ordered}{_generic(rest) if rest else ''}"


def _in_order(children: list[Any], order: list[tuple[Any, Any]]) -> str:
    """Children named in `order`, in that order (each name's values sorted); what it hashes
    is removed from `children`, so the rest can be hashed generically afterwards."""
    pre_hash = ""
    extensions = _extensions(children)
    for name, sub_order in order:
        values = []
        for child in [child for child in children if child[0] == name]:
            text = _child_pre_hash(child, sub_order)
            if text:
                values.append(text)
            if not child[2]:
                children.remove(child)
        values.sort()
        if "".join(values):
            pre_hash = pre_hash + "".join(values)
    if extensions:
        pre_hash += _generic(extensions)
    return pre_hash


def _extensions(children: list[Any]) -> list[Any]:
    """The namespaced children of a standard field (not of the event itself), taken out."""
    if len(children) <= 1 or any(
        "eventTime" in child[0] or "action" in child[0] for child in children
    ):
        return []
    found = [c for c in children if isinstance(c, tuple) and "{" in c[0] and "/}" in c[0]]
    for child in found:
        children.remove(child)
    return found


def _child_pre_hash(child: Node, sub_order: Any) -> str:
    name, text, grandchildren = child
    nested = _in_order(grandchildren, sub_order) if sub_order else ""
    written = ""
    if text:
        written = text.strip()
        if "time" in name.lower() and "offset" not in name.lower():
            written = _timestamp(written)
        else:
            written = canonical_value(written)
        if written:
            written = "=" + written
    return name + written + nested if written or nested else ""


def _generic(children: list[Any]) -> str:
    """The reference's `_generic_child_list_to_prehash_string`, for everything not in the
    property order: "name=value" and nested children, sorted unless a pair list."""
    values = []
    for child in children:
        if isinstance(child, tuple) and (not child or isinstance(child[0], tuple)):
            values.append(_generic(list(child)))  # a (type, id) pair
        else:
            text = child[1].strip()
            if text:
                text = "=" + canonical_value(text)
            values.append(child[0] + text + _generic(child[2]))
    if len(children) > 1 and not any(child[0] in _UNSORTED_KEYS for child in children):
        values.sort()
    return "".join(values)


def canonical_value(text: str) -> str:
    """A value as the pre-hash string writes it: CBV URNs as web URIs, numbers without
    trailing zeros, GS1 identifiers as constrained canonical Digital Links."""
    for urn, uri in _CBV_URNS:
        text = text.replace(urn, uri)
    text = _number(text)
    return hash_form(text) or text


def _number(text: str) -> str:
    try:
        number = float(text)
    except ValueError:
        return text
    try:
        if int(number) == number:
            return str(int(number))
    except ValueError:  # NaN: the reference keeps the text
        return text
    except OverflowError:  # an infinity, on which the reference fails
        pass
    return str(number)


def _timestamp(text: str) -> str:
    """UTC with milliseconds, "Z": the sub-millisecond part rounded half to even, as the
    reference's `round(microsecond, -3)` does; text that is no timestamp stays as written."""
    try:
        moment = datetime.fromisoformat(text.upper())
    except ValueError:
        return text
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    rounded = round(moment.microsecond, -3)
    moment = moment.replace(microsecond=0) + timedelta(microseconds=rounded)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
