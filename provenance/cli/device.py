"""`provenance device …`: device keys and the signed-reading simulator."""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from ledger_client.errors import ConfigurationError, DeploymentError
from ledger_client.identifiers import parse_batch_id
from ledger_client.terminal import clear_errors, console
from oracle_bridge.device import DeviceKey
from oracle_bridge.errors import DeliveryFailed, InvalidDeviceKey, MalformedReading
from oracle_bridge.key_files import read_key_file, write_key_file
from oracle_bridge.readings import ReadingDomain
from oracle_bridge.simulator import Profile
from provenance.cli.consortium import JsonOption

device_app = typer.Typer(help="Device keys and the signed-reading simulator.", no_args_is_help=True)


class Transport(StrEnum):
    HTTP = "http"
    MQTT = "mqtt"


ANVIL_CHAIN_ID = 31337
# The device key by environment, the alternative to a key file (never on the command line,
# where any user sees it in the process list).
DEVICE_KEY_VARIABLE = "PROVENANCE_DEVICE_KEY"
HTTP_BATCH_SIZE = 100
# The options that set each reading field the simulator makes, for refusals that name them.
FIELD_OPTIONS = {
    "seq": "--start-seq or --count",
    "timestamp": "--count, --interval, --event-seconds or --start-time",
    "tempMilliC": "--event-temp",
}
# The event of each profile when not given: an excursion of 12 °C for 45 min, a 2 h data
# gap, one reading at 30 °C (each breaks the RULES.md example rule of 2-8 °C, 30 min, 1 h).
EVENT_DEFAULTS: dict[Profile, tuple[float, int]] = {
    Profile.STEADY: (5.0, 0),
    Profile.EXCURSION: (12.0, 2700),
    Profile.GAP: (5.0, 7200),
    Profile.HARD_LIMIT: (30.0, 0),
}


def _domain(chain_id: int | None, contract: str | None) -> ReadingDomain:
    """The signing domain from the options, the deployment record filling what is missing."""
    if chain_id is None or contract is None:
        from ledger_client.config import LedgerSettings
        from ledger_client.deployment import Deployment

        try:
            deployment = Deployment.load(LedgerSettings().deployment_path)
        except DeploymentError as exc:
            raise DeploymentError(f"{exc} (or pass --chain-id and --contract)") from None
        chain_id = chain_id if chain_id is not None else deployment.chain_id
        contract = contract or deployment.address("ColdChainCompliance")
    return ReadingDomain(chain_id=chain_id, verifying_contract=contract)


@device_app.command("keygen")
@clear_errors
def keygen(
    out: Annotated[
        Path | None, typer.Option(help="Write the key to this new file (owner-only)")
    ] = None,
    chain_id: Annotated[
        int, typer.Option(min=1, help="Chain of the device's did:pkh")
    ] = ANVIL_CHAIN_ID,
    json_output: JsonOption = False,
) -> None:
    """Generate a device key; print its address and did:pkh (and the key, without --out).

    Example:

    \b
      provenance device keygen --out logger-1.key --json
    """
    key = DeviceKey.generate()
    did = key.did(chain_id)
    if out is not None:
        write_key_file(out, key)
    if json_output:
        document = {"address": key.address, "did": did}
        if out is None:
            document["privateKey"] = f"0x{key.private_key.hex()}"
        else:
            document["keyFile"] = str(out)
        typer.echo(json.dumps(document, indent=2))
        return
    console.print(f"address      {key.address}", highlight=False, soft_wrap=True)
    console.print(f"did          {did}", highlight=False, soft_wrap=True)
    if out is not None:
        console.print(f"key file     {out}", highlight=False, soft_wrap=True)
    else:
        console.print(f"private key  0x{key.private_key.hex()}", highlight=False, soft_wrap=True)
        console.print("[yellow]keep the private key secret: it is not stored anywhere[/yellow]")


@device_app.command("simulate")
@clear_errors
def simulate(
    lot: Annotated[
        str, typer.Option(help="The lot's Digital Link URI, or its 0x on-chain batch id")
    ],
    key_file: Annotated[
        Path | None,
        typer.Option(
            "--key-file",
            "--key",
            help=f"Key file from `device keygen --out` (or set {DEVICE_KEY_VARIABLE})",
        ),
    ] = None,
    key_hex: Annotated[
        str | None, typer.Option(hidden=True, help="Refused: the key would show in ps")
    ] = None,
    profile: Annotated[Profile, typer.Option(help="Reading pattern")] = Profile.STEADY,
    count: Annotated[
        int, typer.Option(min=1, help="In-range readings (before the event, if any)")
    ] = 10,
    interval: Annotated[int, typer.Option(min=1, help="Device seconds between readings")] = 60,
    event_temp: Annotated[
        float | None, typer.Option(help="°C of the excursion or hard-limit reading")
    ] = None,
    event_seconds: Annotated[
        int | None, typer.Option(min=0, help="Excursion length or data gap, in seconds")
    ] = None,
    start_seq: Annotated[int, typer.Option(min=0, help="Seq of the first reading")] = 1,
    start_time: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Unix time of the first reading (default: the last reading is timed now); "
            "continue an earlier run after its last reading's time",
        ),
    ] = None,
    transport: Annotated[Transport, typer.Option(help="How readings travel")] = Transport.HTTP,
    url: Annotated[str, typer.Option(help="Bridge base URL (http)")] = "http://127.0.0.1:8000",
    host: Annotated[str, typer.Option(help="MQTT broker host (mqtt)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="MQTT broker port (mqtt)")] = 1883,
    topic_prefix: Annotated[
        str, typer.Option(help="MQTT topic prefix (mqtt)")
    ] = "provenance/readings",
    chain_id: Annotated[
        int | None, typer.Option(help="Signing domain chain id (default: the deployment record)")
    ] = None,
    contract: Annotated[
        str | None,
        typer.Option(help="ColdChainCompliance address (default: the deployment record)"),
    ] = None,
    rate: Annotated[
        float | None, typer.Option(min=0.001, help="Readings per second (default: no pause)")
    ] = None,
) -> None:
    """Sign a profile's readings with a device key and stream them to the bridge, each batch
    signed as it is sent (any --count takes the same memory). The key comes from --key-file
    or PROVENANCE_DEVICE_KEY, never from the command line.

    Example:

    \b
      provenance device simulate --key-file logger-1.key --lot \\
          https://id.gs1.org/01/09506000134352/10/LOT-A \\
          --profile excursion --count 120 --interval 60 --transport mqtt
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from oracle_bridge.simulator import (
        HttpReadingSender,
        PublishingSender,
        ReadingSender,
        send_readings,
        simulated_readings,
    )

    if key_hex is not None:
        raise ConfigurationError(
            "--key-hex is refused: a key on the command line shows in the process list; pass "
            f"--key-file KEYFILE (from `device keygen --out`) or set {DEVICE_KEY_VARIABLE}"
        )
    device = _device_key(key_file, os.environ.get(DEVICE_KEY_VARIABLE))
    if transport is Transport.HTTP:
        _check_bridge_url(url)
    if event_temp is not None and not math.isfinite(event_temp):
        raise ConfigurationError(f"--event-temp must be a finite number of °C, got {event_temp}")
    batch_id = parse_batch_id(lot)
    domain = _domain(chain_id, contract)
    default_temp, default_seconds = EVENT_DEFAULTS[profile]
    try:
        readings = simulated_readings(
            device=device.address,
            batch_id=batch_id,
            profile=profile,
            count=count,
            interval_s=interval,
            first_seq=start_seq,
            end_timestamp=int(time.time()),
            start_timestamp=start_time,
            event_temp_milli_c=round(
                (event_temp if event_temp is not None else default_temp) * 1000
            ),
            event_seconds=event_seconds if event_seconds is not None else default_seconds,
        )
    except MalformedReading as exc:
        raise ConfigurationError(
            f"these options make a reading whose {exc.field} {exc.problem}; change "
            f"{FIELD_OPTIONS.get(exc.field, 'them')}"
        ) from None
    first, last = readings.first, readings.last
    assert first is not None and last is not None, "--count is at least 1"
    signed = (device.sign(reading, domain=domain) for reading in readings)

    with contextlib.ExitStack() as connection:
        sender: ReadingSender
        if transport is Transport.HTTP:
            sender, batch_size = HttpReadingSender(url), HTTP_BATCH_SIZE
        else:
            from oracle_bridge.sources.mqtt import MqttPublisher

            publisher = connection.enter_context(MqttPublisher(host=host, port=port))
            sender, batch_size = PublishingSender(publisher, topic_prefix=topic_prefix), 1
        with Progress(
            TextColumn(f"{profile} → {transport}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("sending", total=readings.count)
            try:
                report = send_readings(
                    signed,
                    sender,
                    batch_size=batch_size,
                    rate=rate,
                    on_sent=lambda sent: progress.advance(task, sent),
                )
            except DeliveryFailed as exc:
                done = int(progress.tasks[0].completed)
                if not done:
                    raise
                raise DeliveryFailed(
                    f"{exc} (after {done:,} of {readings.count:,} readings were sent)"
                ) from None

    summary = ", ".join(f"{number:,} {status}" for status, number in report.statuses.items())
    console.print(
        f"{readings.count:,} readings of {device.address} (seq {first.seq}–{last.seq}, "
        f"time {first.timestamp}–{last.timestamp}) for batch 0x{batch_id.hex()}: {summary}",
        highlight=False,
        soft_wrap=True,
    )
    if report.first_rejection is not None:
        console.print(
            f"[yellow]first rejection:[/yellow] {report.first_rejection}", highlight=False
        )


def _check_bridge_url(url: str) -> None:
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(f"--url must start with http:// or https://, got {url!r}")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ConfigurationError(f"--url {url!r} is not a valid URL: {exc}") from None
    if not parts.hostname:
        raise ConfigurationError(f"--url {url!r} names no host; e.g. http://127.0.0.1:8000")


def _device_key(key_file: Path | None, key_variable: str | None) -> DeviceKey:
    """The device key of --key-file or, without it, of PROVENANCE_DEVICE_KEY; never both."""
    if key_file is not None and key_variable is not None:
        raise ConfigurationError(
            f"pass --key-file or set {DEVICE_KEY_VARIABLE}, not both: which key signs?"
        )
    if key_file is not None:
        return read_key_file(key_file)
    if key_variable is None:
        raise ConfigurationError(
            f"no device key: pass --key-file KEYFILE (from `device keygen --out`) or set "
            f"{DEVICE_KEY_VARIABLE}"
        )
    try:
        return DeviceKey.from_private_key(key_variable.strip())
    except InvalidDeviceKey as exc:
        raise InvalidDeviceKey(f"{DEVICE_KEY_VARIABLE}: {exc}") from None
