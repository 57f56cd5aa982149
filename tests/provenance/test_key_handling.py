"""Keys in settings: a refused key is never echoed, and anvil's ten public development keys
are refused on any node that is not anvil (asked of the node, not judged by chain id)."""

from __future__ import annotations

import re

import pytest
from eth_account import Account

from ledger_client.chain import connect, node_is_anvil
from ledger_client.config import LedgerSettings
from ledger_client.errors import ConfigurationError
from ledger_client.keys import ANVIL_DEV_KEYS, ANVIL_DEV_MNEMONIC, SECP256K1_ORDER
from ledger_client.local_chain import free_port
from oracle_bridge.config import BridgeSettings
from tests.provenance.cli_process import run_cli

pytestmark = pytest.mark.integration

DIGITS = "3f9a0c81d4e7b26c5a90f1e38d2b47c6e0a59f13b8d7c24e6f01a9b3c58d7e2f"
MALFORMED_KEYS = {
    "one digit short": "0x" + DIGITS[:-1],
    "not hex": "0x" + DIGITS[:-1] + "z",
    "zero": "0x" + "00" * 32,
    "the curve order": f"0x{SECP256K1_ORDER:064x}",
}


def leaked_runs(key: str, output: str) -> list[str]:
    """Runs of 8+ of the key's hex digits, or of its decimal value, found in `output`."""
    digits = key.removeprefix("0x").lower()
    text = output.lower()
    runs = {digits[i : i + 8] for i in range(len(digits) - 7)}
    if re.fullmatch("[0-9a-f]+", digits):
        decimal = str(int(digits, 16))
        runs |= {decimal[i : i + 12] for i in range(len(decimal) - 11)}
    return sorted(run for run in runs if run in text and run.strip("0"))


def test_the_dev_keys_are_anvils_ten_default_accounts():
    Account.enable_unaudited_hdwallet_features()
    derived = tuple(
        Account.from_mnemonic(
            ANVIL_DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}"
        ).key.to_0x_hex()
        for i in range(10)
    )
    assert derived == ANVIL_DEV_KEYS


@pytest.mark.parametrize(
    ("command", "variable"),
    [
        (["deploy"], "PROVENANCE_PRIVATE_KEY"),
        (["index", "run"], "PROVENANCE_PRIVATE_KEY"),
        (["bridge", "run", "--no-mqtt"], "PROVENANCE_BRIDGE_ORACLE_PRIVATE_KEY"),
        (["serve", "--no-mqtt"], "PROVENANCE_PRIVATE_KEY"),
    ],
    ids=["deploy", "index run", "bridge run", "serve"],
)
@pytest.mark.parametrize("key", MALFORMED_KEYS.values(), ids=MALFORMED_KEYS.keys())
def test_a_malformed_key_is_one_line_that_never_shows_it(command, variable, key, anvil, tmp_path):
    env = {"PROVENANCE_RPC_URL": anvil.rpc_url, variable: key}
    options = {"bridge": ["--http-port", str(free_port())], "serve": ["--port", str(free_port())]}
    result = run_cli(*command, *options.get(command[0], []), env=env, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert leaked_runs(key, result.stderr + result.stdout) == [], result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"error: {variable}: {variable} must be a secp256k1 private")


def test_settings_errors_never_carry_the_key_even_as_a_traceback(monkeypatch):
    key = MALFORMED_KEYS["one digit short"]
    monkeypatch.setenv("PROVENANCE_PRIVATE_KEY", key)
    with pytest.raises(ValueError) as caught:
        LedgerSettings()
    assert leaked_runs(key, str(caught.value) + repr(caught.value)) == []
    monkeypatch.delenv("PROVENANCE_PRIVATE_KEY")
    monkeypatch.setenv("PROVENANCE_BRIDGE_ORACLE_PRIVATE_KEY", key)
    with pytest.raises(ValueError) as caught:
        BridgeSettings()
    assert leaked_runs(key, str(caught.value) + repr(caught.value)) == []


def test_a_valid_key_never_shows_in_the_settings_repr():
    settings = BridgeSettings(oracle_private_key="0x" + DIGITS, ledger=LedgerSettings(
        private_key="0x" + DIGITS
    ))  # fmt: skip
    assert leaked_runs(DIGITS, repr(settings) + str(settings)) == []


# End to end for the first key, the bridge's oracle key and the last (see below for all ten).
@pytest.mark.parametrize("number", [0, 4, 9])
def test_anvil_dev_keys_are_refused_by_deploy_off_anvil(number, besu_node, tmp_path):
    result = run_cli(
        "deploy",
        env={"PROVENANCE_RPC_URL": besu_node, "PROVENANCE_PRIVATE_KEY": ANVIL_DEV_KEYS[number]},
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout
    assert result.stderr.startswith(
        f"error: PROVENANCE_PRIVATE_KEY is anvil's public development key of account {number}"
    ), result.stderr
    assert not (tmp_path / ".provenance" / "deployment.json").exists()


def test_every_anvil_dev_key_is_refused_off_anvil_and_accepted_on_it(besu_node, anvil):
    on_anvil = node_is_anvil(connect(anvil.rpc_url))
    off_anvil = node_is_anvil(connect(besu_node))
    for number, key in enumerate(ANVIL_DEV_KEYS):
        for settings, check in (
            (ledger := LedgerSettings(private_key=key), ledger.require_real_key),
            (bridge := BridgeSettings(oracle_private_key=key), bridge.require_real_key),
        ):
            check(local_anvil=on_anvil)
            with pytest.raises(ConfigurationError, match=f"development key of account {number}"):
                check(local_anvil=off_anvil)
            assert leaked_runs(key, repr(settings)) == []
    LedgerSettings(private_key="0x" + DIGITS).require_real_key(local_anvil=off_anvil)


def test_the_bridge_refuses_an_anvil_oracle_key_off_anvil(consortium, besu_node, tmp_path):
    consortium.deployment.save(tmp_path / ".provenance" / "deployment.json")
    result = run_cli(
        "bridge",
        "run",
        "--no-mqtt",
        "--http-port",
        str(free_port()),
        env={
            "PROVENANCE_RPC_URL": besu_node,
            "PROVENANCE_BRIDGE_ORACLE_PRIVATE_KEY": ANVIL_DEV_KEYS[7],
            "PROVENANCE_API_DOMAIN": "audit.example.org",
        },
        cwd=tmp_path,
    )
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors, result.stderr
    assert errors[0].startswith(
        "error: PROVENANCE_BRIDGE_ORACLE_PRIVATE_KEY is anvil's public development key of account 7"
    ), result.stderr
