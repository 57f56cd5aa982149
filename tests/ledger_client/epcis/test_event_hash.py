"""The CBV 2.0 event hash id, checked against GS1's reference implementation: its published
test vectors, the ids it computes for the official EPCIS 2.0 examples, and the cases of its
Digital Link normaliser's own tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from official_epcis_examples import EXAMPLES_DIR, event_list, load, needs_examples

from ledger_client.epcis.event_hash import event_hash_ids, hash_id, pre_hash_strings
from ledger_client.epcis.hash_identifiers import hash_form
from ledger_client.epcis.hash_vocabulary import (
    CONTEXT_PREFIXES,
    IRI_PROPERTIES,
    VOCABULARY_TERMS,
)
from ledger_client.epcis.validation import InvalidEpcisEvent

pytestmark = pytest.mark.unit

VECTORS = Path(__file__).parent / "hash_vectors"
VECTOR_FILES = sorted(VECTORS.glob("*.jsonld"))
OFFICIAL = [
    tuple(line.split("\t"))
    for line in (VECTORS / "official-examples.tsv").read_text(encoding="utf-8").splitlines()
    if not line.startswith("#")
]
CONTEXT_DIR = EXAMPLES_DIR.parent / "context"


def read(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


# --- GS1's published vectors -------------------------------------------------------------


@pytest.mark.parametrize("path", VECTOR_FILES, ids=lambda path: path.stem)
def test_published_vectors(path: Path) -> None:
    expected = path.with_suffix(".hashes").read_text(encoding="utf-8").split()
    document = read(path)
    assert event_hash_ids(document) == expected
    prehashes = path.with_suffix(".prehashes")
    if prehashes.exists():
        for ours, theirs, id_ in zip(
            pre_hash_strings(document), prehashes.read_text().splitlines(), expected, strict=True
        ):
            if hash_id(theirs) == id_:  # some published pre-hash files are older than the ids
                assert ours == theirs


def test_the_vectors_cover_what_the_reference_tests() -> None:
    assert len(VECTOR_FILES) >= 20
    assert sum(len(event_hash_ids(read(path))) for path in VECTOR_FILES) >= 40


@needs_examples
@pytest.mark.parametrize(("name", "ids"), OFFICIAL, ids=[name for name, _ in OFFICIAL])
def test_official_examples_hash_as_the_reference_hashes_them(name: str, ids: str) -> None:
    assert event_hash_ids(load(name)) == ids.split()


@needs_examples
def test_the_official_examples_event_ids_are_placeholders_not_their_hashes() -> None:
    document = load("Example_9.6.1-ObjectEvent.jsonld")
    written = [event["eventID"] for event in event_list(document)]
    assert all(id_.startswith("ni:///sha-256;") for id_ in written)
    assert set(event_hash_ids(document)).isdisjoint(written)


@needs_examples
def test_an_example_the_reference_cannot_hash_still_gets_ids() -> None:
    # An object term definition in @context and a business transaction without a type make
    # the reference raise; every event here still gets a stable id.
    document = load("Example-TransactionEvents-2020_07_03y.jsonld")
    ids = event_hash_ids(document)
    assert len(ids) == len(event_list(document)) == 2
    assert ids == event_hash_ids(copy.deepcopy(document))
    assert all(id_.startswith("ni:///sha-256;") and id_.endswith("?ver=CBV2.0") for id_ in ids)


# --- One document's ids do not depend on what was hashed before ----------------------------


def test_hashing_keeps_no_state_between_documents() -> None:
    # PyPI's epcis-event-hash-generator 1.9.3 keeps the namespaces of every document it has
    # read, so a later document's undeclared prefix took an earlier document's namespace.
    declares = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"ex": "https://a.example/"}],
        "epcisBody": {"eventList": [{"type": "ObjectEvent", "ex:f": "1"}]},
    }  # fmt: skip
    undeclared = {
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "epcisBody": {"eventList": [{"type": "ObjectEvent", "ex:f": "1"}]},
    }
    alone = event_hash_ids(undeclared)
    event_hash_ids(declares)
    assert event_hash_ids(undeclared) == alone
    assert pre_hash_strings(undeclared) == ["eventType=ObjectEventex:f=1"]
    assert pre_hash_strings(declares) == ["eventType=ObjectEvent{https://a.example/}f=1"]
    before = [event_hash_ids(read(path)) for path in VECTOR_FILES]
    assert [event_hash_ids(read(path)) for path in reversed(VECTOR_FILES)] == before[::-1]


# --- What changes the id and what does not ---------------------------------------------------

BASE = {
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    "type": "EPCISDocument",
    "epcisBody": {
        "eventList": [
            {
                "type": "ObjectEvent",
                "eventTime": "2020-03-04T11:00:30.000+01:00",
                "eventTimeZoneOffset": "+01:00",
                "epcList": [
                    "urn:epc:id:sgtin:0614141.107346.2017",
                    "urn:epc:id:sgtin:0614141.107346.2018",
                ],
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
            }
        ]
    },
}


def event_id(**changes: Any) -> str:
    document = copy.deepcopy(BASE)
    event = document["epcisBody"]["eventList"][0]
    for key, value in changes.items():
        if value is None:
            del event[key]
        else:
            event[key] = value
    [id_] = event_hash_ids(document)
    return id_


@pytest.mark.parametrize(
    "same",
    [
        {"eventID": "urn:uuid:1", "recordTime": "2021-01-01T00:00:00Z"},
        {
            "errorDeclaration": {
                "declarationTime": "2021-01-01T00:00:00Z",
                "reason": "did_not_occur",
            }
        },
        {"eventTime": "2020-03-04T10:00:30Z"},
        {"eventTime": "2020-03-04T05:00:30.0004-05:00"},
        {
            "epcList": [
                "https://example.com/01/10614141073464/21/2018",
                "urn:epc:id:sgtin:0614141.107346.2017",
            ]
        },
        {"bizStep": "https://ref.gs1.org/cbv/BizStep-shipping"},
        {"bizStep": "urn:epcglobal:cbv:bizstep:shipping"},
        {"disposition": "urn:epcglobal:cbv:disp:in_transit"},
        {"readPoint": {"id": "https://id.gs1.org/414/0614141073467/254/1234"}},
        {"rdfs:comment": "a note"},
    ],
)
def test_another_writing_of_the_same_event_has_the_same_id(same: dict[str, Any]) -> None:
    assert event_id(**same) == event_id()


@pytest.mark.parametrize(
    "other",
    [
        {"action": "ADD"},
        {"bizStep": "receiving"},
        {"epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]},
        {"eventTime": "2020-03-04T11:00:30.001+01:00"},
        {"eventTimeZoneOffset": "+02:00"},
        {"disposition": None},
        {"example:f": "1"},
    ],
)
def test_any_change_of_the_event_changes_its_id(other: dict[str, Any]) -> None:
    assert event_id(**other) != event_id()


@pytest.mark.parametrize(
    ("written", "pre_hash"),
    [
        ("2023-01-18T11:04:03.1415Z", "2023-01-18T11:04:03.142Z"),  # the README's example
        ("2023-01-18T11:04:03.1425Z", "2023-01-18T11:04:03.142Z"),  # half to even, as round()
        ("2023-01-18T11:04:03.14251Z", "2023-01-18T11:04:03.143Z"),
        ("2023-01-18T11:04:03.12345678Z", "2023-01-18T11:04:03.123Z"),  # past µs: cut
        ("2023-12-31T23:59:59.9996Z", "2024-01-01T00:00:00.000Z"),  # the reference fails here
        ("2023-01-18t12:04:03+01:00", "2023-01-18T11:04:03.000Z"),
        ("2023-01-18T11:04:03", "2023-01-18T11:04:03.000Z"),  # no offset: read as UTC
        ("yesterday", "yesterday"),
    ],
)
def test_timestamps_are_utc_milliseconds(written: str, pre_hash: str) -> None:
    document = copy.deepcopy(BASE)
    document["epcisBody"]["eventList"][0] = {"type": "ObjectEvent", "eventTime": written}
    assert pre_hash_strings(document) == [f"eventType=ObjectEventeventTime={pre_hash}"]


@pytest.mark.parametrize(
    ("quantity", "written"),
    [(10, "10"), (10.0, "10"), ("10.50", "10.5"), (0.1, "0.1"), ("NaN", "NaN"), (True, "True")],
)
def test_numbers_lose_trailing_zeros(quantity: Any, written: str) -> None:
    document = copy.deepcopy(BASE)
    document["epcisBody"]["eventList"][0] = {
        "type": "ObjectEvent",
        "quantityList": [
            {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": quantity}
        ],
    }
    assert pre_hash_strings(document) == [
        "eventType=ObjectEventquantityListquantityElement"
        f"epcClass=https://id.gs1.org/01/04012345123456/10/998877quantity={written}"
    ]


def test_a_document_without_events_is_refused() -> None:
    with pytest.raises(InvalidEpcisEvent, match=r"\$\.epcisBody\.eventList"):
        event_hash_ids({"type": "EPCISDocument", "epcisBody": {}})


def test_the_document_is_not_changed() -> None:
    document = copy.deepcopy(BASE)
    event_hash_ids(document)
    assert document == BASE


# --- The reference normaliser's own cases (its tests/dl_normaliser_test.py) ------------------

NORMALISED = [
    ("urn:epc:id:sgtin:4012345.011111.98%22", "https://id.gs1.org/01/04012345111118/21/98%22"),
    ("urn:epc:id:sgtin:0614141.812345.6789%2F%26%25%22!%3F()", "https://id.gs1.org/01/80614141123458/21/6789%2F%26%25%22%21%3F%28%29"),
    ("urn:epc:id:sgln:4012345.00005.0", "https://id.gs1.org/414/4012345000054"),
    ("urn:epc:id:grai:4012345.00022.334455", "https://id.gs1.org/8003/04012345000221334455"),
    ("urn:epc:id:giai:4012345.ABC345", "https://id.gs1.org/8004/4012345ABC345"),
    ("urn:epc:id:gdti:4012345.00009.PO-4711", "https://id.gs1.org/253/4012345000092PO-4711"),
    ("urn:epc:id:cpi:0614141.11111111111111-A%23%2F.1234", "https://id.gs1.org/8010/061414111111111111111-A%23%2F/8011/1234"),
    ("urn:epc:id:upui:1234567.098765.51qIgY)%3C%26Jp3*j7SDB", "https://id.gs1.org/01/01234567987651/235/51qIgY%29%3C%26Jp3%2Aj7SDB"),
    ("urn:epc:id:pgln:999999999999.", "https://id.gs1.org/417/9999999999994"),
    ("urn:epc:idpat:itip:4012345.012345.01.02.*", "https://id.gs1.org/8006/040123451234560102"),
    ("https://example.com/gtin/09780345418913/21/765tz?abc=211121", "https://id.gs1.org/01/09780345418913/21/765tz"),
    ("http://example.de/gtin-8/01/97803111", "https://id.gs1.org/01/00000097803111"),
    ("https://id.gs1.org/01/9780345418913/22/344/10/1223/21/765tz", "https://id.gs1.org/01/09780345418913/21/765tz"),
    ("https://fashion-corp.com/8006/040123451234560102/10/Lot-123/21/ser987", "https://id.gs1.org/8006/040123451234560102/21/ser987"),
    ("https://example.co.uk/party/4226350800008", "https://id.gs1.org/417/4226350800008"),
    ("urn:epc:id:sscc:4012345.0000000011", "https://id.gs1.org/00/040123450000000115"),
    ("urn:epc:id:gsin:4012345.999987654", "https://id.gs1.org/402/40123459999876541"),
    ("http://example.org/123/4012345ABC987/456/4711", None),
    ("http://id.gs1.org/01/9780345418913/99/utfgf", None),
    ("http://example.de/01/97803", None),
    ("https://id.gs1.org/8006/04012345123456/22/ABCD/10/XYZ", None),
    ("42", None),
    ("Hello World!", None),
]  # fmt: skip


@pytest.mark.parametrize(("text", "form"), NORMALISED)
def test_identifiers_are_written_as_the_reference_writes_them(text: str, form: str | None) -> None:
    # Unlike parse_identifier, the hash keeps check digits as given (97803111 is not a
    # valid GTIN-8) and escapes only what the reference escapes.
    assert hash_form(text) == form


# --- The vocabulary written out here is the EPCIS context's ---------------------------------


def context_terms(name: str) -> dict[str, str]:
    context = read(CONTEXT_DIR / name)["@context"]
    base = {key: value for key, value in context.items() if not key.startswith("@")}
    prefix_of = {"cbv": "https://ref.gs1.org/cbv/", "gs1": "https://gs1.org/voc/"}
    return {
        term: prefix_of[curie.split(":")[0]] + curie.split(":")[1]
        for term, curie in base.items()
        if term not in prefix_of
    }


@needs_examples
@pytest.mark.parametrize(
    ("key", "file"),
    [
        ((None, "bizStep"), "cbv-context-bizstep.jsonld"),
        ((None, "disposition"), "cbv-context-disposition.jsonld"),
        (("persistentDisposition", "set"), "cbv-context-disposition.jsonld"),
        (("bizTransactionList", "type"), "cbv-context-biztransaction-type.jsonld"),
        (("sourceList", "type"), "cbv-context-sourcedest-type.jsonld"),
        (("destinationList", "type"), "cbv-context-sourcedest-type.jsonld"),
        (("sensorReport", "type"), "gs1-context-measurement-type.jsonld"),
        (("sensorReport", "exception"), "gs1-context-sensor-alert-type.jsonld"),
        (("sensorReport", "component"), "cbv-context-component.jsonld"),
        (("errorDeclaration", "reason"), "cbv-context-error-reason.jsonld"),
    ],
)
def test_vocabulary_terms_are_the_contexts(key: tuple[str | None, str], file: str) -> None:
    assert VOCABULARY_TERMS[key] == context_terms(file)


def root_context() -> dict[str, Any]:
    context: dict[str, Any] = read(CONTEXT_DIR / "epcis-context-root.jsonld")["@context"]
    return context


def definitions(context: dict[str, Any]) -> Any:
    for key, value in context.items():
        yield key, value
        scoped = value.get("@context") if isinstance(value, dict) else None
        for nested in scoped if isinstance(scoped, list) else [scoped]:
            if isinstance(nested, dict):
                yield from definitions(nested)


@needs_examples
def test_prefixes_and_iri_properties_are_the_contexts() -> None:
    context = root_context()
    prefixes = {
        k: v for k, v in context.items() if isinstance(v, str) and v.endswith(("/", "#", ":"))
    }
    assert prefixes == CONTEXT_PREFIXES
    iri = {
        key
        for key, value in definitions(context)
        if value == "@id" or (isinstance(value, dict) and value.get("@type") == "@id")
    }  # noqa: E501
    vocab = {
        key
        for key, value in definitions(context)
        if isinstance(value, dict) and value.get("@type") == "@vocab"
    }  # noqa: E501
    assert iri | {"type"} == IRI_PROPERTIES
    assert vocab == {key for _, key in VOCABULARY_TERMS} | {"type"}
