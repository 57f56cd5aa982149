"""Revert data decoded into exceptions named after the custom error, explained in words."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import function_signature_to_4byte_selector

from ledger_client.errors import revert_class
from ledger_client.reverts import decode_revert

pytestmark = pytest.mark.unit

ACCOUNT = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
BATCH = bytes(range(32))
BATCH_HEX = "0x" + BATCH.hex()


@pytest.mark.parametrize(
    ("signature", "values", "explanation"),
    [
        (
            "ProvenanceLedgerUnknownBatch(bytes32)",
            [BATCH],
            f"batch {BATCH_HEX} is not on the ledger",
        ),
        (
            "ProvenanceLedgerNotBatchHolder(address,bytes32)",
            [ACCOUNT, BATCH],
            f"account {ACCOUNT} is neither the owner nor the custodian of batch {BATCH_HEX}",
        ),
        (
            "ProvenanceLedgerNotBatchWriter(address,bytes32)",
            [ACCOUNT, BATCH],
            f"account {ACCOUNT} is not the owner or the custodian of batch {BATCH_HEX}, nor a "
            "writer one of them authorized",
        ),
        (
            "ProvenanceLedgerNotCustodian(address,bytes32)",
            [ACCOUNT, BATCH],
            f"account {ACCOUNT} is not the custodian of batch {BATCH_HEX}, so it cannot offer "
            "its custody",
        ),
        (
            "ProvenanceLedgerNoCustodyOffer(address,bytes32)",
            [ACCOUNT, BATCH],
            f"no offer of batch {BATCH_HEX}'s custody stands for account {ACCOUNT}",
        ),
        (
            "ProvenanceLedgerNotPrefixOwner(address,string)",
            [ACCOUNT, "9506000"],
            f"account {ACCOUNT} does not own the GS1 company prefix 9506000",
        ),
        (
            "ProvenanceLedgerNotPrefixHolder(address,uint64)",
            [ACCOUNT, 9506000134352],
            f"account {ACCOUNT} neither owns nor holds by delegation the GS1 company prefix of "
            "GTIN 09506000134352",
        ),
        (
            "ColdChainComplianceNotClassAuthority(address,bytes32)",
            [ACCOUNT, BATCH],
            f"account {ACCOUNT} is not the quality organization the governor assigned to set "
            f"the rule of product class {BATCH_HEX}",
        ),
    ],
)
def test_an_ownership_refusal_says_who_lacks_what(compiled, signature, values, explanation):
    name, _, types = signature.partition("(")
    data = function_signature_to_4byte_selector(signature) + encode(
        types.rstrip(")").split(","), values
    )

    error = decode_revert(data, context="call")

    assert isinstance(error, revert_class(name))
    assert str(error) == f"call: {name}: {explanation}"


def test_a_zero_bytes32_is_a_role_name_only_where_the_error_names_a_role():
    zero = bytes(32)
    no_events = function_signature_to_4byte_selector("ProvenanceLedgerNoEvents(bytes32)")
    unauthorized = function_signature_to_4byte_selector(
        "MembershipUnauthorizedAccount(address,bytes32)"
    )
    assert decode_revert(no_events + encode(["bytes32"], [zero])).error_args == {
        "batchId": "0x" + zero.hex()
    }
    assert decode_revert(
        unauthorized + encode(["address", "bytes32"], [ACCOUNT, zero])
    ).error_args == {"account": ACCOUNT, "role": "DEFAULT_ADMIN_ROLE"}
