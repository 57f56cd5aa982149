"""MQTT ingress and the simulator's publisher (paho-mqtt 2.x, MQTT v5).

The only module that imports paho. Devices publish each signed reading as JSON to
`{prefix}/{device}` at QoS 1. Bridge instances share the device load through one shared
subscription `$share/{group}/{prefix}/+`. Each instance keeps a persistent session (a fixed
client id, clean start off), so messages it received but never acknowledged are redelivered to
it after a reconnect or a restart: acknowledging only after `accept_many` returned is what
makes "acknowledged means stored" hold end to end. A message that fails to ingest for a
reason other than a store or chain outage is tried a bounded number of times, then
dead-lettered and acknowledged: it never jams the subscription.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import socket
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from paho.mqtt.client import Client, ConnectFlags, DisconnectFlags, MQTTMessage, MQTTv5
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from ledger_client.errors import ChainRejected, ChainUnavailable
from oracle_bridge.errors import BrokerUnavailable, DeliveryFailed, StoreUnavailable
from oracle_bridge.sources import ReadingIngestor

_log = logging.getLogger(__name__)
_KEEPALIVE_S = 30
_FORBIDDEN_IN_PREFIX = frozenset("+#\0")
# Failures that say "retry later" (the store or the chain is down, or the chain refuses the
# bridge's reads until its deployment record is fixed), not "this message is bad": they never
# count against a message.
_RETRY_LATER = (ChainUnavailable, ChainRejected, StoreUnavailable)
# Messages whose failed tries are remembered at most (the oldest are forgotten first).
_TRACKED_MESSAGES = 10_000


def _check_topic_prefix(prefix: str) -> None:
    if not prefix or prefix.endswith("/") or prefix.startswith("$"):
        raise ValueError(f"topic prefix {prefix!r} must be non-empty, not end in '/' nor start '$'")
    if _FORBIDDEN_IN_PREFIX & set(prefix):
        raise ValueError(f"topic prefix {prefix!r} must not contain the wildcards '+' or '#'")


def _disconnect(client: Client) -> None:
    """Stop the network thread (it flushes queued acknowledgements first), then disconnect:
    the other order makes paho 2.2 log a spurious "Client is not connected" error."""
    client.loop_stop()
    client.disconnect()


@dataclass(frozen=True, slots=True)
class _Delivery:
    """One received message; `generation` names the connection that must acknowledge it."""

    generation: int
    mid: int
    qos: int
    topic: str
    payload: bytes


_STOP = object()


class MqttSource:
    """Feeds readings from an MQTT shared subscription to an ingestor.

    Each message is acknowledged (PUBACK) only after `ingestor.accept_many` returned for it,
    whatever the outcome (accepted, duplicate, dead-lettered): all are durable. Messages are
    processed in order by one worker thread, so a slow store never stalls the network thread
    (keepalives, acknowledgements); it takes all the messages waiting as one batch. The broker
    keeps at most `receive_maximum` messages unacknowledged, which bounds the backlog and the
    batch. When `accept_many` raises `ChainUnavailable`, `ChainRejected` (the chain refuses the
    policy's reads: the bridge's configuration is wrong, not the messages) or
    `StoreUnavailable`, the batch stays
    unacknowledged and the connection is dropped after a growing pause, so the broker
    redelivers it on reconnect. When it raises anything else, each message of the batch is
    ingested on its own, so the others are stored and acknowledged; one that fails alone
    counts a try (in this process), and at its `max_tries`-th it is dead-lettered
    (`ingestor.dead_letter`) and acknowledged instead of being redelivered forever.
    Lost connections are re-established with exponential backoff.

    `client_id` must be stable per bridge instance (its broker session holds what was not yet
    acknowledged) and unique among instances. Mosquitto 2.0 goes on routing a share of the
    group's messages to a stopped instance's session, where they wait for it to come back:
    restart a stopped instance with the same client id before `session_expiry_s` runs out.
    """

    def __init__(
        self,
        ingestor: ReadingIngestor,
        *,
        host: str,
        port: int,
        topic_prefix: str,
        shared_group: str,
        client_id: str,
        session_expiry_s: int = 86_400,
        receive_maximum: int = 100,
        reconnect_min_s: float = 1.0,
        reconnect_max_s: float = 30.0,
        max_tries: int = 5,
    ) -> None:
        _check_topic_prefix(topic_prefix)
        if not shared_group or set(shared_group) & {"/", "+", "#"}:
            raise ValueError(f"shared group {shared_group!r} must be non-empty without / + #")
        if not client_id:
            raise ValueError("an MQTT source needs a fixed client id: its session is durable")
        self._ingestor = ingestor
        self._host = host
        self._port = port
        self.subscription = f"$share/{shared_group}/{topic_prefix}/+"
        self._session_expiry_s = session_expiry_s
        self._receive_maximum = receive_maximum
        self._reconnect_min_s = reconnect_min_s
        self._reconnect_max_s = reconnect_max_s
        self._max_tries = max_tries
        # Failed tries of each message (by `_message_key`); the worker thread's alone.
        self._tries: OrderedDict[bytes, int] = OrderedDict()

        self._queue: queue.SimpleQueue[_Delivery | object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._generation = 0  # bumped at every connect, disconnect and deliberate drop
        self._ready = threading.Event()
        self._start_error: str | None = None
        self._stopping = threading.Event()
        self._started = False
        self._worker = threading.Thread(target=self._work, name=f"mqtt-ingest-{client_id}")
        self._worker.daemon = True

        self._client = Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=MQTTv5,
            manual_ack=True,
        )
        self._client.enable_logger(_log.getChild("paho"))
        self._client.reconnect_delay_set(reconnect_min_s, reconnect_max_s)  # type: ignore[arg-type]
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    def start(self, *, timeout_s: float = 10.0) -> None:
        """Connect, subscribe and start processing; returns once the subscription is granted.

        Raises:
            BrokerUnavailable: no broker answers, or it refused the connection or subscription
                (within `timeout_s`). After a successful start, connection losses are retried
                forever instead.
        """
        if self._started:
            raise RuntimeError("an MqttSource starts once; create a new one")
        self._started = True
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self._session_expiry_s
        properties.ReceiveMaximum = self._receive_maximum
        try:
            self._client.connect(
                self._host,
                self._port,
                keepalive=_KEEPALIVE_S,
                clean_start=False,
                properties=properties,
            )
        except (OSError, ValueError) as exc:
            self._stopping.set()
            raise BrokerUnavailable(
                f"no MQTT broker answers at {self._host}:{self._port} ({exc}); "
                "start the broker or point the bridge at another one"
            ) from None
        self._client.loop_start()
        if not self._ready.wait(timeout_s):
            self._start_error = (
                f"the MQTT broker at {self._host}:{self._port} did not grant the subscription "
                f"{self.subscription} within {timeout_s:g} s"
            )
        if self._start_error is not None:
            self._stopping.set()
            _disconnect(self._client)
            raise BrokerUnavailable(self._start_error)
        self._worker.start()

    def stop(self, *, timeout_s: float = 30.0) -> None:
        """Process and acknowledge the messages already received, then disconnect.

        Messages still arriving are left unacknowledged in this instance's broker session,
        which redelivers them when an instance with the same client id starts again.
        """
        if not self._started or self._stopping.is_set():
            return
        self._stopping.set()
        self._queue.put(_STOP)
        self._worker.join(timeout_s)
        if self._worker.is_alive():
            _log.warning("the ingest worker is still busy after %g s; disconnecting", timeout_s)
        _disconnect(self._client)

    # --- network thread -------------------------------------------------------------------

    def _on_connect(
        self,
        client: Client,
        userdata: Any,
        flags: ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._fail(f"the MQTT broker at {self._host}:{self._port} refused: {reason_code}")
            return
        with self._lock:
            self._generation += 1
        _log.info(
            "connected to %s:%d (%s session)",
            self._host,
            self._port,
            "resumed" if flags.session_present else "new",
        )
        client.subscribe(self.subscription, options=SubscribeOptions(qos=1))

    def _on_subscribe(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        granted = reason_codes[0]
        if granted.is_failure:
            self._fail(f"the MQTT broker refused the subscription {self.subscription}: {granted}")
        elif granted.value == 0:
            self._fail(f"the MQTT broker granted {self.subscription} at QoS 0 only; QoS 1 needed")
        else:
            self._ready.set()

    def _on_disconnect(
        self,
        client: Client,
        userdata: Any,
        flags: DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        with self._lock:
            self._generation += 1
        if not self._stopping.is_set():
            _log.warning("lost the MQTT broker (%s); reconnecting", reason_code)

    def _on_message(self, client: Client, userdata: Any, message: MQTTMessage) -> None:
        with self._lock:
            generation = self._generation
        self._queue.put(
            _Delivery(generation, message.mid, message.qos, message.topic, message.payload)
        )

    def _fail(self, problem: str) -> None:
        if self._ready.is_set():
            _log.error(problem)
        else:
            self._start_error = problem
            self._ready.set()

    # --- worker thread --------------------------------------------------------------------

    def _work(self) -> None:
        failures = 0
        stopping = False
        while not stopping:
            deliveries, stopping = self._next_deliveries()
            if not deliveries:
                continue
            durable = self._ingest(deliveries)
            with self._lock:
                for delivery in durable:
                    # An acknowledgement belongs to the connection that delivered the message.
                    if delivery.generation == self._generation:
                        self._client.ack(delivery.mid, delivery.qos)
            if len(durable) == len(deliveries):
                failures = 0
                continue
            # Leave the rest to the broker's redelivery.
            generation = max(delivery.generation for delivery in deliveries)
            if generation == self._generation:
                failures += 1
                self._stopping.wait(self._pause_after(failures))
                self._drop_connection(generation)

    def _ingest(self, deliveries: list[_Delivery]) -> list[_Delivery]:
        """Hand `deliveries` to the ingestor; those now durable (stored, duplicate or
        dead-lettered), in order. Nothing durable happened to the others."""
        try:
            self._ingestor.accept_many(
                [delivery.payload for delivery in deliveries],
                source=[_source(delivery) for delivery in deliveries],
            )
        except _RETRY_LATER:
            _log.exception(
                "could not ingest %d message(s) (first on %s); they stay unacknowledged",
                len(deliveries),
                deliveries[0].topic,
            )
            return []
        except Exception as exc:  # noqa: BLE001 - any other failure may be one message's fault
            if len(deliveries) == 1:
                return self._failed(deliveries[0], exc)
            _log.exception(
                "could not ingest %d messages (first on %s); ingesting each on its own",
                len(deliveries),
                deliveries[0].topic,
            )
            return [done for delivery in deliveries for done in self._ingest([delivery])]
        if self._tries:
            for delivery in deliveries:
                self._tries.pop(_message_key(delivery), None)
        return deliveries

    def _failed(self, delivery: _Delivery, exc: Exception) -> list[_Delivery]:
        """Count a failed try of `delivery` alone; at its last, dead-letter it. `[delivery]`
        once it is dead-lettered, else `[]`."""
        key = _message_key(delivery)
        tries = self._tries.pop(key, 0) + 1
        if tries >= self._max_tries:
            reason = f"ingesting failed {tries} times: {type(exc).__name__}: {exc}"
            try:
                self._ingestor.dead_letter(
                    delivery.payload, source=_source(delivery), reason=reason.splitlines()[0]
                )
            except Exception:  # noqa: BLE001 - kept unacknowledged, to try again
                _log.exception("could not dead-letter a message on %s", delivery.topic)
            else:
                _log.error(
                    "dead-lettered a message on %s after %d failed tries: %s",
                    delivery.topic,
                    tries,
                    exc,
                )
                return [delivery]
        self._tries[key] = tries
        while len(self._tries) > _TRACKED_MESSAGES:
            self._tries.popitem(last=False)
        _log.error(
            "could not ingest a message on %s (try %d of %d); it stays unacknowledged",
            delivery.topic,
            tries,
            self._max_tries,
            exc_info=exc,
        )
        return []

    def _next_deliveries(self) -> tuple[list[_Delivery], bool]:
        """The messages waiting (at least one, waiting for it; at most `receive_maximum`,
        which is all the broker lets be unacknowledged), and whether `stop()` came after them."""
        deliveries: list[_Delivery] = []
        item = self._queue.get()
        while isinstance(item, _Delivery):
            deliveries.append(item)
            if len(deliveries) == self._receive_maximum:
                return deliveries, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return deliveries, False
        return deliveries, True

    def _pause_after(self, failures: int) -> float:
        return min(self._reconnect_max_s, self._reconnect_min_s * 2 ** (failures - 1))

    def _drop_connection(self, generation: int) -> None:
        """Close the socket under paho so it reconnects and the broker redelivers."""
        with self._lock:
            if generation != self._generation:
                return
            self._generation += 1
            sock = self._client.socket()
        # paho types this as its `SocketLike` protocol (no `shutdown`); over plain TCP it is a
        # `socket.socket`.
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _source(delivery: _Delivery) -> str:
    return "mqtt:" + delivery.topic


def _message_key(delivery: _Delivery) -> bytes:
    """What names a message across its redeliveries (its packet id changes with each)."""
    return hashlib.blake2b(
        delivery.topic.encode() + b"\0" + delivery.payload, digest_size=16
    ).digest()


class MqttPublisher:
    """Publishes at QoS 1 and waits for each message's PUBACK (the device simulator's side).

    Use as a context manager, or `connect()` then `close()`.
    """

    def __init__(self, *, host: str, port: int, client_id: str = "", timeout_s: float = 10.0):
        self._host = host
        self._port = port
        self._timeout_s = timeout_s
        self._connected = threading.Event()
        self._refusal: str | None = None
        self._rejected: dict[int, ReasonCode] = {}
        self._client = Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=MQTTv5)
        self._client.enable_logger(_log.getChild("paho"))
        self._client.on_connect = self._on_connect
        self._client.on_publish = self._on_publish

    def connect(self) -> None:
        """Connect to the broker.

        Raises:
            BrokerUnavailable: no broker answers, or it refused the connection.
        """
        try:
            self._client.connect(self._host, self._port, keepalive=_KEEPALIVE_S)
        except (OSError, ValueError) as exc:
            raise BrokerUnavailable(
                f"no MQTT broker answers at {self._host}:{self._port} ({exc}); "
                "start the broker or pass --host/--port"
            ) from None
        self._client.loop_start()
        if not self._connected.wait(self._timeout_s) or self._refusal is not None:
            self.close()
            raise BrokerUnavailable(
                self._refusal
                or f"the MQTT broker at {self._host}:{self._port} did not answer the connection"
            )

    def publish(self, topic: str, payload: bytes) -> None:
        """Publish `payload` at QoS 1 and return once the broker acknowledged it.

        Raises:
            DeliveryFailed: no acknowledgement within the timeout, or the broker refused it.
        """
        info = self._client.publish(topic, payload, qos=1)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            raise DeliveryFailed(f"could not publish to {topic}: {info.rc.name}")
        info.wait_for_publish(self._timeout_s)
        if not info.is_published():
            raise DeliveryFailed(
                f"the MQTT broker at {self._host}:{self._port} did not acknowledge a message "
                f"within {self._timeout_s:g} s"
            )
        refusal = self._rejected.pop(info.mid, None)
        if refusal is not None:
            raise DeliveryFailed(f"the MQTT broker refused the message to {topic}: {refusal}")

    def close(self) -> None:
        """Disconnect and stop the network thread."""
        _disconnect(self._client)

    def __enter__(self) -> MqttPublisher:
        self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _on_connect(
        self,
        client: Client,
        userdata: Any,
        flags: ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._refusal = f"the MQTT broker at {self._host}:{self._port} refused: {reason_code}"
        self._connected.set()

    def _on_publish(
        self,
        client: Client,
        userdata: Any,
        mid: int,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            self._rejected[mid] = reason_code
