"""The shared table of rule cases (contracts/test/fixtures/rule_cases.json), which the contract's
forge tests also run: the Python engine must make every decision and raise every error listed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from oracle_bridge import errors
from oracle_bridge.rules import ComplianceState, Decision, Rule, evaluate
from tests.factories import REPO_ROOT
from tests.oracle_bridge.bridge_factories import reading

pytestmark = pytest.mark.unit

FIXTURE = REPO_ROOT / "contracts/test/fixtures/rule_cases.json"
CASES: list[dict[str, Any]] = json.loads(FIXTURE.read_text())["cases"]
ERRORS = {"StaleSequence", "TimestampRegression"}


def test_the_table_has_cases_with_unique_names() -> None:
    names = [case["name"] for case in CASES]
    assert names and len(set(names)) == len(names)


def test_the_table_makes_every_decision() -> None:
    made = {decision for case in CASES for decision in case["decisions"]}
    assert made == {decision.value for decision in Decision}


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_rule_case(case: dict[str, Any]) -> None:
    rule = Rule.from_json_object(case["rule"])
    error = case["error"]
    assert len(case["decisions"]) == len(case["readings"]), "one decision per reading"
    if error is not None:
        assert error["name"] in ERRORS, f"unknown error {error['name']}"
    state = ComplianceState()
    for index, (fields, expected) in enumerate(
        zip(case["readings"], case["decisions"], strict=True)
    ):
        r = reading(
            fields["seq"],
            fields["timestamp"],
            fields["tempMilliC"],
            humidity_permille=fields["humidityPermille"],
        )
        if error is not None and index == error["at"]:
            with pytest.raises(getattr(errors, error["name"])):
                evaluate(rule=rule, state=state, reading=r)
            assert expected == Decision.NONE, "the rejected reading's decision slot holds 0"
            continue  # a rejected reading leaves the state as it was
        state, decision = evaluate(rule=rule, state=state, reading=r)
        assert decision == Decision(expected), f"reading {index} (seq {fields['seq']})"
