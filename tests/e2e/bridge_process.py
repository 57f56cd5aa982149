"""Bridge processes for the crash test, forked from one that has already imported the bridge.

A bridge process (`Bridge.from_settings` + `MqttSource`, as `provenance bridge run` without
its HTTP API) pays ~3 s of imports on this machine; forking a warm, single-threaded parent
makes each restart cost only the bridge's own start, so the test can kill many of them.

Protocol on stdin / stdout, one line each: `start` forks a bridge and answers
`started PID`; the bridge prints `ready PID` once its subscription is granted. End of input
ends this parent (the test stops or kills each bridge by its PID). A bridge stops cleanly on
SIGTERM. Settings come from the `PROVENANCE_*` environment, and the MQTT client id from
PROVENANCE_BRIDGE_MQTT_CLIENT_ID, stable across restarts so the broker's session (and what
it holds unacknowledged) survives each crash.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import signal
import sys
import traceback

from oracle_bridge.bridge import Bridge
from oracle_bridge.sources.mqtt import MqttSource
from provenance.process import tune_collector


def run_bridge() -> None:
    logging.basicConfig(
        level=logging.INFO, format=f"{os.getpid()} %(levelname)s %(name)s: %(message)s"
    )
    # The test sends SIGUSR1 to a bridge that does not stop: its threads' stacks go to the log.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    bridge = Bridge.from_settings()
    settings = bridge.settings
    source = MqttSource(
        bridge.ingestor,
        host=settings.mqtt_host,
        port=settings.mqtt_port,
        topic_prefix=settings.mqtt_topic_prefix,
        shared_group=settings.mqtt_shared_group,
        client_id=os.environ["PROVENANCE_BRIDGE_MQTT_CLIENT_ID"],
        session_expiry_s=120,
        reconnect_min_s=0.1,
        reconnect_max_s=1.0,
    )

    def stop(*_: object) -> None:
        source.stop()
        bridge.stop()
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    tune_collector()  # as the node's process does
    bridge.start()
    source.start()
    print(f"ready {os.getpid()}", flush=True)
    while True:
        signal.pause()


def main() -> None:
    # Children are reaped by the kernel: the test only ever signals them by PID.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for line in sys.stdin:
        if line.strip() != "start":
            raise SystemExit(f"unknown command {line.strip()!r}")
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            try:
                run_bridge()
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        print(f"started {pid}", flush=True)


if __name__ == "__main__":
    main()
