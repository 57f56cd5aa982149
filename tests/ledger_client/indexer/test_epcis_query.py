"""`GET /events` query parameters over GS1's official examples indexed into a read model
(stored with the indexer's own row builder), each expectation worked out by hand from the
example documents under ../shared/conformance."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from ledger_client.db import table_of
from ledger_client.epcis.canonical import canonicalize, self_describing
from ledger_client.epcis_query.events import query_events
from ledger_client.epcis_query.parameters import (
    InvalidQueryParameter,
    QueryTooLarge,
    parse_query,
)
from ledger_client.indexer.decoding import EventRecorded, LogRef
from ledger_client.indexer.event_rows import event_rows
from ledger_client.ledger import EventKind
from tests.ledger_client.epcis.official_epcis_examples import (
    EXAMPLE_FILES,
    event_list,
    example_id,
    needs_examples,
)

pytestmark = [needs_examples]

BLOCK_TIME = int(datetime(2024, 1, 1, tzinfo=UTC).timestamp())
ASSOC = "AssociationEvent/AssociationEvent-{}.jsonld#0"
QUERY_DOC = "EPCISQueryDocument.jsonld#{}"
SBDH = "Example_9.6.1-ObjectEvent-with-pseudo-SBDH-headers.jsonld#{}"
OBJECT = "Example_9.6.1-ObjectEvent.jsonld#{}"
COMMENT = "Example_9.6.1-with-comment.jsonld#{}"
DL_OBJECT = "WithDigitalLinkID/Example_9.6.1-ObjectEventWithDigitalLink.jsonld#{}"
ERROR_OBJECT = "WithErrorDeclaration/Example_9.6.1-ObjectEvent-with-error-declaration.jsonld#{}"
OBJECT_962 = "Example_9.6.2-ObjectEvent.jsonld#0"
DL_OBJECT_962 = "WithDigitalLinkID/Example_9.6.2-ObjectEventWithDigitalLink.jsonld#0"
AGGREGATION = "Example_9.6.3-AggregationEvent.jsonld#0"
DL_AGGREGATION = "WithDigitalLinkID/Example_9.6.3-AggregationEventWithDigitalLink.jsonld#0"
TRANSFORMATION = "Example_9.6.4-TransformationEvent.jsonld#0"
DL_TRANSFORMATION = "WithDigitalLinkID/Example_9.6.4-TransformationEventWithDigitalLink.jsonld#0"
CORRECTED = "WithErrorDeclaration/ErrorDeclarationAndCorrectiveEvent.jsonld#{}"
TYPES = "Example-Type-sourceOrDestination,measurement,bizTransaction.jsonld#0"
RAIL = "Example-TransactionEvents-2020_07_03y.jsonld#{}"
PERSISTENT = "PersistentDisposition-example.jsonld#{}"
SENSOR = "WithSensorData/SensorDataExample{}.jsonld#0"

FIRST_2005 = [f.format(0) for f in (QUERY_DOC, SBDH, OBJECT, COMMENT, DL_OBJECT, ERROR_OBJECT)]
SECOND_2005 = [f.format(1) for f in (QUERY_DOC, SBDH, OBJECT, COMMENT, DL_OBJECT, ERROR_OBJECT)]
WITH_MY_FIELD = [
    *(f.format(1) for f in (QUERY_DOC, SBDH, OBJECT, COMMENT, DL_OBJECT, ERROR_OBJECT)),
    TYPES,
    OBJECT_962,
    DL_OBJECT_962,
    AGGREGATION,
    DL_AGGREGATION,
    TRANSFORMATION,
    DL_TRANSFORMATION,
]

EXPECTED: list[tuple[dict[str, str], list[str]]] = [
    (
        {"eventType": "TransformationEvent"},
        [TRANSFORMATION, DL_TRANSFORMATION, *map(CORRECTED.format, (0, 1))],
    ),
    (
        {"eventType": "AssociationEvent|TransformationEvent"},
        [
            *map(ASSOC.format, "abcdefgh"),
            TYPES,
            TRANSFORMATION,
            DL_TRANSFORMATION,
            *map(CORRECTED.format, (0, 1)),
        ],
    ),
    (
        {"GE_eventTime": "2020-01-01T00:00:00Z"},
        [*map(PERSISTENT.format, (0, 1)), *map(CORRECTED.format, (0, 1))],
    ),
    ({"LT_eventTime": "2006-01-01T01:00:00+01:00"}, FIRST_2005 + SECOND_2005),
    ({"LT_recordTime": "2020-01-01T00:00:00Z"}, [ASSOC.format("f"), TYPES]),
    (
        {"GE_recordTime": "2019-11-06T13:05:00Z", "LT_recordTime": "2019-11-06T13:05:00.001Z"},
        [ASSOC.format("f"), TYPES],
    ),
    ({"EQ_action": "DELETE"}, list(map(ASSOC.format, "cdgh"))),
    ({"EQ_bizStep": "http://epcis.example.org/hc/bizstep/summarising_discharge"}, [RAIL.format(0)]),
    ({"EQ_bizStep": "https://ref.gs1.org/cbv/BizStep-packing"}, [SENSOR.format(8)]),
    ({"EQ_disposition": "in_transit"}, [*FIRST_2005, RAIL.format(1)]),
    ({"EQ_persistentDisposition_set": "completeness_inferred"}, [PERSISTENT.format(0)]),
    ({"EQ_persistentDisposition_set": "completeness_verified"}, [PERSISTENT.format(1)]),
    ({"EQ_persistentDisposition_unset": "completeness_inferred"}, [PERSISTENT.format(1)]),
    ({"EQ_readPoint": "urn:epc:id:sgln:4012345.00002.0"}, list(map(ASSOC.format, "bcdgh"))),
    ({"WD_readPoint": "urn:epc:id:sgln:4012345.00002.0"}, list(map(ASSOC.format, "bcdgh"))),
    ({"EQ_bizLocation": "urn:epc:id:sgln:952005385.011.scA"}, [RAIL.format(1)]),
    (
        {"WD_bizLocation": "urn:epc:id:sgln:952005385.011.scA|urn:epc:id:sgln:0614141.00888.0"},
        [RAIL.format(1), OBJECT_962, DL_OBJECT_962, AGGREGATION, DL_AGGREGATION],
    ),
    (
        {"EQ_bizTransaction_desadv": "urn:epcglobal:cbv:bt:0614141073467:1152"},
        [*SECOND_2005, TYPES],
    ),
    ({"EQ_source_location": "urn:epc:id:sgln:952005385.481.0"}, [RAIL.format(1)]),
    (
        {"EQ_destination_owning_party": "urn:epc:id:sgln:0614141.00001.0"},
        [OBJECT_962, DL_OBJECT_962],
    ),
    ({"EQ_transformationID": "urn:uuid:00000000-0000-0000-0000-000000000000"}, []),
    ({"EQ_eventID": "urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"}, [CORRECTED.format(1)]),
    (
        {"EXISTS_errorDeclaration": "true"},
        [ASSOC.format("g"), CORRECTED.format(0), ERROR_OBJECT.format(0)],
    ),
    (
        {"EQ_errorReason": "incorrect_data"},
        [ASSOC.format("g"), CORRECTED.format(0), ERROR_OBJECT.format(0)],
    ),
    (
        {"GE_errorDeclarationTime": "2020-01-01T00:00:00Z"},
        [CORRECTED.format(0), ERROR_OBJECT.format(0)],
    ),
    ({"LT_errorDeclarationTime": "2020-01-01T00:00:00Z"}, [ASSOC.format("g")]),
    (
        {"EQ_correctiveEventID": "urn:uuid:404d95fc-9457-4a51-bd6a-0bba133845a8"},
        [CORRECTED.format(0)],
    ),
    # The URN of one serialized item matches it in epcList and childEPCs.
    (
        {"MATCH_epc": "urn:epc:id:sgtin:0614141.107346.2018"},
        [*FIRST_2005[:4], FIRST_2005[5], *SECOND_2005[:4], SECOND_2005[5], AGGREGATION],
    ),
    # An EPC URN and the Digital Link of the same item match each other.
    (
        {"MATCH_epc": "urn:epc:id:sgtin:0614141.712345.2018"},
        [DL_OBJECT.format(0), DL_OBJECT.format(1), DL_AGGREGATION],
    ),
    (
        {"MATCH_epc": "https://example.com/01/70614141123451/21/2017"},
        [DL_OBJECT.format(0), DL_AGGREGATION],
    ),
    (
        {"MATCH_epc": "urn:epc:idpat:sgtin:0614141.107346.*"},
        [*FIRST_2005[:4], FIRST_2005[5], *SECOND_2005[:4], SECOND_2005[5], AGGREGATION],
    ),
    (
        {"MATCH_epc": "urn:epc:idpat:sgtin:0614141.*.*"},
        [*FIRST_2005[:4], FIRST_2005[5], *SECOND_2005[:4], SECOND_2005[5], AGGREGATION],
    ),
    ({"MATCH_parentID": "urn:epc:id:sscc:0614141.1234567890"}, [AGGREGATION, DL_AGGREGATION]),
    (
        {"MATCH_inputEPC": "urn:epc:id:sgtin:4012345.011111.987"},
        list(map(CORRECTED.format, (0, 1))),
    ),
    (
        {"MATCH_outputEPC": "urn:epc:id:sgtin:4012345.077889.25"},
        [TRANSFORMATION, DL_TRANSFORMATION],
    ),
    ({"MATCH_anyEPC": "urn:epc:id:grai:4012345.55555.987"}, list(map(ASSOC.format, "acdegh"))),
    (
        {"MATCH_epcClass": "urn:epc:class:lgtin:4012345.012345.998877"},
        [OBJECT_962, AGGREGATION, DL_AGGREGATION],
    ),
    ({"MATCH_epcClass": "urn:epc:idpat:sgtin:4012345.098765.*"}, [AGGREGATION, DL_AGGREGATION]),
    (
        {"MATCH_inputEPCClass": "urn:epc:idpat:sgtin:0614141.077777.*"},
        [TRANSFORMATION, DL_TRANSFORMATION],
    ),
    (
        {"MATCH_outputEPCClass": "urn:epc:idpat:sgtin:4012345.044444.*"},
        list(map(CORRECTED.format, (0, 1))),
    ),
    (
        {"MATCH_anyEPCClass": "urn:epc:idpat:sgtin:4023333.002000.*"},
        [ASSOC.format("e"), ASSOC.format("f"), TYPES, SENSOR.format(4), SENSOR.format(6)],
    ),
    ({"EQ_quantity": "150"}, [SENSOR.format(4), SENSOR.format(6)]),
    ({"GT_quantity": "450"}, [ASSOC.format("e"), *map(CORRECTED.format, (0, 1))]),
    ({"GE_quantity": "500", "LE_quantity": "500"}, list(map(CORRECTED.format, (0, 1)))),
    ({"LT_quantity": "5"}, [ASSOC.format("f"), TYPES]),
    ({"EQ_type": "Temperature"}, [SENSOR.format(n) for n in ("1", "1b", 2, 3, 4, 5, 6, 7, 8)]),
    (
        {"EQ_deviceID": "urn:epc:id:giai:4000001.111"},
        [SENSOR.format(n) for n in ("1", "1b", 2, 4, 5, 7, 8)],
    ),
    ({"GT_value_CEL": "26.2"}, [SENSOR.format(5)]),
    ({"GE_value_CEL": "26.1"}, [SENSOR.format(n) for n in ("1", "1b", 5)]),
    ({"EQ_booleanValue": "true"}, [SENSOR.format(7)]),
    ({"EQ_stringValue": "SomeString"}, [SENSOR.format(7)]),
    ({"GE_startTime": "2019-04-02T00:00:00Z"}, [SENSOR.format(2), ASSOC.format("f"), TYPES]),
    (
        {"EQ_http://ns.example.com/epcis/myField": "Example of a vendor/user extension"},
        WITH_MY_FIELD,
    ),
    ({"EXISTS_http://ns.example.com/epcis/myField": ""}, WITH_MY_FIELD),
    (
        {"EXISTS_ERROR_DECLARATION_http://ns.example.com/epcis/vendorExtension": ""},
        [CORRECTED.format(0)],
    ),
    (
        {"EXISTS_ILMD_http://ns.example.com/epcis/bestBeforeDate": "true"},
        [TRANSFORMATION, DL_TRANSFORMATION],
    ),
    # Filters combine with AND.
    (
        {
            "EQ_action": "DELETE",
            "EQ_readPoint": "urn:epc:id:sgln:4012345.00002.0",
            "EXISTS_errorDeclaration": "true",
        },
        [ASSOC.format("g")],
    ),
    (
        {"MATCH_epc": "urn:epc:id:sgtin:0614141.107346.2018", "EQ_disposition": "in_progress"},
        [*SECOND_2005[:4], SECOND_2005[5], AGGREGATION],
    ),
]


def _examples() -> dict[str, str]:
    """label → canonical payload of every event in the official examples."""
    payloads = {}
    for path in EXAMPLE_FILES:
        document = json.loads(path.read_text(encoding="utf-8"))
        for index, event in enumerate(event_list(document)):
            anchored = self_describing(event, context=document["@context"])
            payloads[f"{example_id(path)}#{index}"] = canonicalize(anchored).decode()
    return payloads


PAYLOADS = _examples()


def _store(engine: Engine) -> None:
    rows: dict[Any, list[dict[str, Any]]] = {}
    for number, payload in enumerate(PAYLOADS.values()):
        recorded = EventRecorded(
            ref=LogRef(
                100 + number // 3, f"0x{number:064x}", f"0x{number:064x}", number % 3, "0x0"
            ),
            batch_id=f"0x{number % 5:064x}",
            payload_hash=f"0x{number:064x}",
            recorder="0x" + "11" * 20,
            event_index=number,
            kind=EventKind.OTHER,
            position=number % 3,
        )
        for table, table_rows in event_rows(recorded, payload, BLOCK_TIME).items():
            rows.setdefault(table, []).extend(table_rows)
    with engine.begin() as connection:
        for table, table_rows in rows.items():
            if table_rows:
                connection.execute(insert(table_of(table)), table_rows)


@pytest.fixture
def read_model(engine: Engine) -> Engine:
    _store(engine)
    return engine


def _all(engine: Engine, parameters: dict[str, str]) -> list[str]:
    query = parse_query([*parameters.items(), ("perPage", "1000")])
    page = query_events(engine, query)
    assert page.next_page_token is None
    return page.payloads


def test_every_example_event_is_indexed(read_model: Engine) -> None:
    assert sorted(_all(read_model, {})) == sorted(PAYLOADS.values())


@pytest.mark.parametrize(("parameters", "labels"), EXPECTED, ids=[str(p) for p, _ in EXPECTED])
def test_parameter_selects_what_the_examples_say(
    read_model: Engine, parameters: dict[str, str], labels: list[str]
) -> None:
    assert set(labels) <= set(PAYLOADS), "a label names no example event"
    assert sorted(_all(read_model, parameters)) == sorted(PAYLOADS[label] for label in labels)


@pytest.mark.parametrize(
    "order",
    [[], [("orderBy", "eventTime")], [("orderBy", "recordTime"), ("orderDirection", "ASC")]],
)
def test_paging_returns_every_event_exactly_once(
    read_model: Engine, order: list[tuple[str, str]]
) -> None:
    seen: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        parameters = [*order, ("perPage", "7")] + ([("nextPageToken", token)] if token else [])
        page = query_events(read_model, parse_query(parameters))
        assert len(page.payloads) <= 7
        seen += page.payloads
        pages += 1
        token = page.next_page_token
        if token is None:
            break
    assert sorted(seen) == sorted(PAYLOADS.values())
    assert pages == -(-len(PAYLOADS) // 7)
    if order and order[0] == ("orderBy", "eventTime"):
        times = [datetime.fromisoformat(json.loads(p)["eventTime"]) for p in seen]
        assert times == sorted(times, reverse=True)


def test_event_count_limit_takes_the_first_events_in_order(read_model: Engine) -> None:
    query = [("orderBy", "eventTime"), ("orderDirection", "ASC"), ("eventCountLimit", "5")]
    first = query_events(read_model, parse_query([*query, ("perPage", "3")]))
    assert first.next_page_token is not None
    second = query_events(
        read_model,
        parse_query([*query, ("perPage", "3"), ("nextPageToken", first.next_page_token)]),
    )
    assert second.next_page_token is None
    assert len(first.payloads + second.payloads) == 5
    assert set(first.payloads + second.payloads) <= {PAYLOADS[label] for label in FIRST_2005}


def test_max_event_count_refuses_a_larger_result(read_model: Engine) -> None:
    with pytest.raises(QueryTooLarge):
        query_events(
            read_model, parse_query([("eventType", "TransformationEvent"), ("maxEventCount", "3")])
        )
    page = query_events(
        read_model, parse_query([("eventType", "TransformationEvent"), ("maxEventCount", "4")])
    )
    assert len(page.payloads) == 4


def test_a_token_belongs_to_its_query(read_model: Engine) -> None:
    page = query_events(read_model, parse_query([("perPage", "2")]))
    assert page.next_page_token is not None
    with pytest.raises(InvalidQueryParameter) as raised:
        query_events(
            read_model,
            parse_query(
                [("perPage", "2"), ("EQ_action", "ADD"), ("nextPageToken", page.next_page_token)]
            ),
        )
    assert raised.value.parameter == "nextPageToken"
    with pytest.raises(InvalidQueryParameter):
        query_events(read_model, parse_query([("nextPageToken", "not-a-token")]))


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ([("EQ_action", "ADD"), ("EQ_action", "DELETE")], "EQ_action"),
        ([("EQ_colour", "red")], "EQ_colour"),
        ([("GE_eventTime", "yesterday")], "GE_eventTime"),
        ([("GE_eventTime", "2024-01-01T00:00:00")], "GE_eventTime"),
        ([("EQ_action", "MOVE")], "EQ_action"),
        ([("EQ_bizStep", "shipping|")], "EQ_bizStep"),
        ([("GT_quantity", "many")], "GT_quantity"),
        ([("EQ_booleanValue", "yes")], "EQ_booleanValue"),
        ([("perPage", "0")], "perPage"),
        ([("orderBy", "bizStep")], "orderBy"),
        ([("orderBy", "eventTime"), ("orderDirection", "UP")], "orderDirection"),
        ([("eventCountLimit", "3")], "eventCountLimit"),
        (
            [("orderBy", "eventTime"), ("eventCountLimit", "3"), ("maxEventCount", "3")],
            "eventCountLimit",
        ),
        (
            [("GT_http://ns.example.com/epcis/myField", "abc")],
            "GT_http://ns.example.com/epcis/myField",
        ),
    ],
)
def test_a_bad_parameter_is_named(parameters: list[tuple[str, str]], named: str) -> None:
    with pytest.raises(InvalidQueryParameter) as raised:
        parse_query(parameters)
    assert raised.value.parameter == named
