"""`provenance device keygen` and `provenance device simulate` (HTTP to a test server, MQTT
to Mosquitto), and their one-line errors."""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import uvicorn
from typer.testing import CliRunner

from api.app import create_app
from ledger_client.deployment import Deployment
from ledger_client.identifiers import DigitalLink
from ledger_client.local_chain import free_port
from oracle_bridge.device import DeviceKey, ReadingProfile
from oracle_bridge.readings import ReadingDomain, SignedReading, to_json
from provenance.cli import app
from tests.oracle_bridge.ingress.ingress_fakes import DOMAIN, FakeIngestor

LOT = "https://id.gs1.org/01/09506000134352/10/LOT-7"
DOMAIN_OPTIONS = ["--chain-id", "31337", "--contract", DOMAIN.verifying_contract]
KEY_HEX = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"
KEY = DeviceKey.from_private_key(KEY_HEX)
# The device key by environment: never on the command line, where `ps` shows it.
KEY_ENV = {"PROVENANCE_DEVICE_KEY": KEY_HEX}
NO_KEY_ENV: dict[str, str | None] = {"PROVENANCE_DEVICE_KEY": None}

runner = CliRunner()


def invoke(*args: str, env: dict[str, str | None] | None = None):  # noqa: ANN201 - click's Result
    return runner.invoke(app, list(args), env=env or NO_KEY_ENV, catch_exceptions=False)


def lines(text: str) -> dict[str, str]:
    return dict(line.split(None, 1) for line in text.splitlines() if line.strip())


@dataclass
class HttpBridge:
    url: str
    ingestor: FakeIngestor


@pytest.fixture
def http_bridge() -> Iterator[HttpBridge]:
    """The HTTP API on a real port, in a thread, over an ingestor that verifies signatures."""
    ingestor = FakeIngestor(domain=DOMAIN)
    port = free_port()
    config = uvicorn.Config(create_app(ingestor), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="test-http-bridge", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the test server did not start"
        time.sleep(0.02)
    try:
        yield HttpBridge(f"http://127.0.0.1:{port}", ingestor)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.unit
def test_keygen_writes_an_owner_only_key_file_and_prints_address_and_did(tmp_path):
    key_file = tmp_path / "sensor.json"
    result = invoke("device", "keygen", "--out", str(key_file))

    assert result.exit_code == 0, result.output
    printed = lines(result.stdout)
    record = json.loads(key_file.read_text())
    key = DeviceKey.from_private_key(record["privateKey"])
    assert printed["address"] == record["address"] == key.address
    assert printed["did"] == f"did:pkh:eip155:31337:{key.address}"
    assert record["privateKey"][2:] not in result.stdout
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.unit
def test_keygen_without_a_file_prints_the_key_once(tmp_path):
    result = invoke("device", "keygen", "--chain-id", "5")
    assert result.exit_code == 0
    printed = lines(result.stdout)
    key = DeviceKey.from_private_key(printed["private"].split()[-1])
    assert printed["address"] == key.address
    assert printed["did"] == f"did:pkh:eip155:5:{key.address}"


@pytest.mark.unit
def test_keygen_as_json(tmp_path):
    key_file = tmp_path / "sensor.json"
    to_file = invoke("device", "keygen", "--out", str(key_file), "--json")
    assert to_file.exit_code == 0, to_file.output
    key = DeviceKey.from_private_key(json.loads(key_file.read_text())["privateKey"])
    assert json.loads(to_file.stdout) == {
        "address": key.address,
        "did": f"did:pkh:eip155:31337:{key.address}",
        "keyFile": str(key_file),
    }
    printed = json.loads(invoke("device", "keygen", "--chain-id", "5", "--json").stdout)
    assert DeviceKey.from_private_key(printed["privateKey"]).address == printed["address"]
    assert printed["did"] == f"did:pkh:eip155:5:{printed['address']}"


@pytest.mark.unit
def test_keygen_never_overwrites_a_key_file(tmp_path):
    key_file = tmp_path / "sensor.json"
    key_file.write_text("precious")
    result = invoke("device", "keygen", "--out", str(key_file))
    assert result.exit_code == 1
    assert result.stderr == f"error: {key_file} exists already; choose another --out\n"
    assert key_file.read_text() == "precious"


def test_simulate_over_http_sends_verifiable_readings_of_the_lot(http_bridge, tmp_path):
    key_file = tmp_path / "sensor.json"
    assert invoke("device", "keygen", "--out", str(key_file)).exit_code == 0
    address = json.loads(key_file.read_text())["address"]

    result = invoke(
        "device", "simulate", "--key-file", str(key_file), "--lot", LOT, "--count", "5",
        "--url", http_bridge.url, *DOMAIN_OPTIONS,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "5 accepted" in result.stdout
    stored = http_bridge.ingestor.stored
    assert sorted(stored) == [(address, seq) for seq in range(1, 6)]
    readings = [signed.reading for signed in stored.values()]
    assert {r.batch_id for r in readings} == {DigitalLink.parse(LOT).batch_id}
    assert {r.temp_milli_c for r in readings} == {5000}
    assert [r.timestamp - readings[0].timestamp for r in readings] == [0, 60, 120, 180, 240]
    assert readings[-1].timestamp <= time.time()


def test_simulate_an_excursion_at_a_rate_with_the_key_from_the_environment(http_bridge):
    batch_id = "0x" + "cd" * 32
    started = time.monotonic()
    result = invoke(
        "device", "simulate", "--lot", batch_id, "--profile", "excursion",
        "--count", "2", "--interval", "30", "--event-temp", "9.5", "--event-seconds", "90",
        "--start-seq", "100", "--rate", "40", "--url", http_bridge.url, *DOMAIN_OPTIONS,
        env=KEY_ENV,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    readings = [signed.reading for signed in http_bridge.ingestor.stored.values()]
    assert [r.seq for r in readings] == list(range(100, 107))
    assert [r.temp_milli_c for r in readings] == [5000, 5000, 9500, 9500, 9500, 9500, 5000]
    assert readings[5].timestamp - readings[2].timestamp == 90
    assert {r.batch_id.hex() for r in readings} == {"cd" * 32}
    assert len(http_bridge.ingestor.calls) == 7
    assert time.monotonic() - started >= 6 / 40, "--rate paces the readings"


def test_simulate_reports_rejections_with_the_first_reason(http_bridge):
    options = ["device", "simulate", "--lot", LOT, "--url", http_bridge.url]
    assert invoke(*options, "--count", "2", *DOMAIN_OPTIONS, env=KEY_ENV).exit_code == 0
    other_chain = ["--chain-id", "1", "--contract", DOMAIN.verifying_contract]

    result = invoke(*options, "--count", "2", "--start-seq", "3", *other_chain, env=KEY_ENV)

    assert result.exit_code == 0
    assert "2 rejected" in result.stdout
    assert "first rejection: invalid reading signature" in result.stdout


def test_simulate_takes_the_domain_from_the_deployment_record(http_bridge, tmp_path, monkeypatch):
    Deployment(
        chain_id=DOMAIN.chain_id,
        addresses={"ColdChainCompliance": DOMAIN.verifying_contract},
        deploy_block=1,
        deployer=KEY.address,
    ).save(tmp_path / ".provenance" / "deployment.json")
    monkeypatch.chdir(tmp_path)

    result = invoke(
        "device", "simulate", "--lot", LOT, "--profile", "hard-limit",
        "--count", "1", "--url", http_bridge.url, env=KEY_ENV,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "3 accepted" in result.stdout
    temps = [s.reading.temp_milli_c for s in http_bridge.ingestor.stored.values()]
    assert temps == [5000, 30000, 5000]


@pytest.mark.services
def test_simulate_over_mqtt_reaches_a_bridge_subscriber(mqtt_sources, broker, topic_prefix):
    ingestor = FakeIngestor(domain=DOMAIN)
    mqtt_sources(ingestor)

    result = invoke(
        "device", "simulate", "--lot", LOT, "--profile", "gap",
        "--count", "3", "--event-seconds", "5000", "--transport", "mqtt",
        "--host", broker.host, "--port", str(broker.port), "--topic-prefix", topic_prefix,
        *DOMAIN_OPTIONS, env=KEY_ENV,
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "4 published" in result.stdout
    ingestor.wait_until(lambda fake: len(fake.returned) == 4)
    assert {r.status for r in ingestor.returned} == {"accepted"}, "every signature verifies"
    readings = [signed.reading for signed in ingestor.stored.values()]
    assert readings[3].timestamp - readings[2].timestamp == 5000
    assert {source for _, source in ingestor.calls} == {f"mqtt:{topic_prefix}/{KEY.address}"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--lot", "https://id.gs1.org/01/09506000134353/10/A"],
         "error: GTIN check digit is 3, expected 2"),
        (["--lot", "LOT-7"], "error: 'LOT-7' is not a GS1 Digital Link URI"),
        (["--lot", "0xabcd"], "error: batch id '0xabcd' is not 0x and 64"),
        (["--url", "ftp://x"], "error: --url must start with http://"),
        (["--contract", "0x12"], "error: verifying contract:"),
        (["--url", "http://127.0.0.1:{port}"],
         "error: no bridge answers at http://127.0.0.1:{port} ("),
        (["--transport", "mqtt", "--port", "{port}"],
         "error: no MQTT broker answers at 127.0.0.1:{port} ("),
        (["--profile", "excursion", "--event-temp", "nan"],
         "error: --event-temp must be a finite number of °C, got nan"),
        (["--profile", "hard-limit", "--event-temp", "inf"],
         "error: --event-temp must be a finite number of °C, got inf"),
        (["--profile", "excursion", "--event-temp", "-inf"],
         "error: --event-temp must be a finite number of °C, got -inf"),
        (["--profile", "hard-limit", "--event-temp", "1e10"],
         "error: these options make a reading whose tempMilliC 10000000000000 is outside"),
        (["--count", "0"], "error: Invalid value for '--count': "),
        (["--count", "-5"], "error: Invalid value for '--count': "),
        (["--interval", "-1"], "error: Invalid value for '--interval': "),
        (["--rate", "nan"], "error: Invalid value for '--rate': "),
        (["--count", "many"], "error: Invalid value for '--count': "),
        (["--count", "50000000"],
         "error: these options make a reading whose timestamp -"),
        (["--start-seq", str(2**64 - 1), "--count", "3"],
         "error: these options make a reading whose seq 18446744073709551617 is outside"),
        (["--start-time", str(2**70)],
         "error: these options make a reading whose timestamp 1180591620717411303424 is"),
        (["--url", "http://127.0.0.1:notaport"],
         "error: --url 'http://127.0.0.1:notaport' is not a valid URL: Port"),
        (["--url", "http://[::1"],
         "error: --url 'http://[::1' is not a valid URL: Invalid IPv6 URL"),
        (["--url", "http://"], "error: --url 'http://' names no host"),
        (["--transport", "mqtt", "--port", "99999"],
         "error: Invalid value for '--port': "),
    ],
)  # fmt: skip
def test_simulate_errors_are_one_clear_line(options, message):
    port = str(free_port())
    arguments = [option.format(port=port) for option in options]
    if "--lot" not in arguments:
        arguments += ["--lot", LOT]

    result = invoke("device", "simulate", *DOMAIN_OPTIONS, *arguments, env=KEY_ENV)

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(message.format(port=port)), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize(
    ("options", "variable", "message"),
    [
        (["--key-file", "{missing}"], None,
         "error: cannot read the key file {missing}: No such file"),
        (["--key-file", "{garbage}"], None,
         "error: the key file {garbage} is not a `provenance device"),
        (["--key", "{short}"], None, "error: the key file {short} holds no valid key: a device"),
        ([], "0x1234", "error: PROVENANCE_DEVICE_KEY: a device private key is 64 hex digits"),
        ([], None, "error: no device key: pass --key-file KEYFILE (from `device keygen --out`)"
         " or set PROVENANCE_DEVICE_KEY"),
        (["--key-file", "{short}"], KEY_HEX,
         "error: pass --key-file or set PROVENANCE_DEVICE_KEY, not both"),
    ],
)  # fmt: skip
def test_simulate_key_errors_are_one_clear_line(options, variable, message, tmp_path):
    files = {"missing": tmp_path / "none.json", "garbage": tmp_path / "garbage.json"}
    files["short"] = tmp_path / "short.key"
    files["garbage"].write_text("{not json")
    files["short"].write_text("0x1234\n")
    values = {name: str(path) for name, path in files.items()}
    arguments = [option.format(**values) for option in options]

    result = invoke(
        "device", "simulate", *DOMAIN_OPTIONS, *arguments, "--lot", LOT,
        env={"PROVENANCE_DEVICE_KEY": variable},
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(message.format(**values)), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "1234" not in result.stderr


@pytest.mark.unit
def test_a_key_on_the_command_line_is_refused_naming_the_replacements(tmp_path):
    result = invoke(
        "device", "simulate", "--key-hex", KEY_HEX, "--lot", LOT, *DOMAIN_OPTIONS,
        "--url", f"http://127.0.0.1:{free_port()}",
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        "error: --key-hex is refused: a key on the command line shows in the process list; "
        "pass --key-file KEYFILE (from `device keygen --out`) or set PROVENANCE_DEVICE_KEY\n"
    )


@pytest.mark.unit
def test_keygen_makes_owner_only_folders_and_files_whatever_the_umask(tmp_path):
    key_file = tmp_path / "devices" / "sensor.json"
    previous = os.umask(0)
    try:
        result = invoke("device", "keygen", "--out", str(key_file))
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700


def test_simulate_without_a_domain_or_deployment_record_says_what_to_pass(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("device", "simulate", "--lot", LOT, env=KEY_ENV)
    assert result.exit_code == 1
    assert "run `provenance deploy` first (or pass --chain-id and --contract)" in result.stderr


@pytest.mark.unit
def test_simulate_signs_each_batch_as_it_sends_it(monkeypatch, tmp_path):
    signed = [0]
    real_sign = DeviceKey.sign

    def counting_sign(self: DeviceKey, reading, *, domain: ReadingDomain) -> SignedReading:  # noqa: ANN001
        signed[0] += 1
        assert signed[0] <= 1_000, "readings were signed before the first one was sent"
        return real_sign(self, reading, domain=domain)

    monkeypatch.setattr(DeviceKey, "sign", counting_sign)
    url = f"http://127.0.0.1:{free_port()}"

    result = invoke(
        "device", "simulate", "--lot", LOT, "--count", "50000000",
        "--interval", "1", "--url", url, *DOMAIN_OPTIONS, env=KEY_ENV,
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: no bridge answers at {url} ("), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert signed[0] == 100, "one HTTP batch signed, no more"


def test_simulate_says_how_far_it_got_when_the_bridge_fails_midway(http_bridge):
    start = 1_700_000_000
    profile = ReadingProfile(
        device=KEY.address, batch_id=DigitalLink.parse(LOT).batch_id, start_timestamp=start
    )
    reading_150 = list(profile.steady(150))[-1]
    http_bridge.ingestor.poison.add(to_json(KEY.sign(reading_150, domain=DOMAIN)).encode())

    result = invoke(
        "device", "simulate", "--lot", LOT, "--count", "250",
        "--start-time", str(start), "--url", http_bridge.url, *DOMAIN_OPTIONS, env=KEY_ENV,
    )  # fmt: skip

    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"error: the bridge at {http_bridge.url} answered HTTP 500")
    assert result.stderr.endswith("(after 100 of 250 readings were sent)\n"), result.stderr
    assert len(http_bridge.ingestor.stored) == 100
