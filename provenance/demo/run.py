"""`provenance demo`: the embedded node `provenance serve` starts, the story told against it,
then the node kept serving for the newcomer to explore (unless `serve` is False).

The node serves in the main thread (it owns the signals: Ctrl-C and SIGTERM stop it); the
story runs in a thread of its own once the API answers, and stops the node when it failed or
when asked not to serve on. The chain's state stays in the state directory, as `provenance
serve`'s does: a second demo resumes it in seconds and tells the story again with lot numbers
of its own (`story.next_run`), and `provenance serve` afterwards shows every run's lots.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from pathlib import Path

import requests
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from api.config import ApiSettings
from credentials.config import CredentialSettings
from ledger_client.chain import connect
from ledger_client.deployment import Deployment
from ledger_client.errors import ConfigurationError, ProvenanceError
from ledger_client.local_chain import LocalChain
from oracle_bridge.config import BridgeSettings
from provenance import embedded
from provenance.demo.chapters import CHAPTERS
from provenance.demo.client import wait_until
from provenance.demo.report import checks_table, tell_ending
from provenance.demo.story import Node, Story
from provenance.logs import PlainFormatter
from provenance.node import MemberNode, credential_store, interrupt_on_sigterm, listening_socket

log = logging.getLogger("provenance.demo")

LOG_FILE = "demo.log"


def run(state_dir: Path, console: Console, *, serve: bool = True, port: int = 8000) -> bool:
    """Start the embedded node on 127.0.0.1:`port`, tell the story, then serve until Ctrl-C
    or SIGTERM (`serve`) or stop. True when every outcome of the self-check held.

    Raises:
        ConfigurationError: PROVENANCE_RPC_URL or a private key is set (the demo runs on the
            embedded dev chain only), or the port is taken.
    """
    if "PROVENANCE_RPC_URL" in os.environ:
        raise ConfigurationError(
            "the demo runs on the embedded dev chain only: unset PROVENANCE_RPC_URL"
        )
    settings = BridgeSettings()
    embedded.require_dev_keys(settings)
    listening = listening_socket("127.0.0.1", port, option="--port")
    log_path = _log_to_file(state_dir)
    interrupt_on_sigterm()
    passed = threading.Event()
    chain = None
    try:
        with console.status("starting the embedded node (anvil with 1 s blocks, SQLite)…"):
            chain = embedded.start_dev_chain(state_dir)
            settings = _demo_settings(embedded.set_up_dev_chain(settings, chain), state_dir)
            node = MemberNode.build(
                settings,
                listening=listening,
                bind=f"127.0.0.1:{port}",
                mqtt_client_id=settings.mqtt_topic_prefix.replace("/", "-"),
                mqtt_required=False,
                follow_chain=True,
                embedded_dev_chain=True,
            )
        base_url = f"http://127.0.0.1:{port}"
        console.print(
            f"node started: API {base_url}, chain {chain.rpc_url}, state in {state_dir}, "
            f"node log in {log_path}",
            highlight=False,
            soft_wrap=True,
        )

        def tell() -> None:
            assert chain is not None
            if _tell_story(node, chain, settings, console, base_url=base_url):
                passed.set()
            if serve and passed.is_set():
                console.print(
                    f"[bold]The node keeps serving on {base_url}[/bold] (the scan pages above, "
                    f"OpenAPI at {base_url}/docs); Ctrl-C stops it.",
                    highlight=False,
                    soft_wrap=True,
                )
            else:
                node.server.should_exit = True

        teller = threading.Thread(target=tell, name="demo-story", daemon=True)
        node.serve(on_ready=teller.start)
        # A story still telling (Ctrl-C came first) finds the node gone and ends.
        teller.join(timeout=10)
    except KeyboardInterrupt:
        console.print("demo interrupted")
    finally:
        listening.close()
        if chain is not None:
            chain.stop()
            console.print(
                f"node stopped; the chain's state is saved in {state_dir} "
                "(`provenance serve` or another `provenance demo` resumes it)",
                highlight=False,
                soft_wrap=True,
            )
    return passed.is_set()


def _demo_settings(settings: BridgeSettings, state_dir: Path) -> BridgeSettings:
    """`settings` with an MQTT topic of this state directory's own: another node on the
    broker never takes the demo's readings, nor the demo another's."""
    tag = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]
    return settings.model_copy(update={"mqtt_topic_prefix": f"provenance-demo/{tag}/readings"})


def _tell_story(
    node: MemberNode,
    chain: LocalChain,
    settings: BridgeSettings,
    console: Console,
    *,
    base_url: str,
) -> bool:
    """The story, its ending and the self-check; True when every check passed."""
    ledger = settings.ledger
    try:
        wait_until(lambda: _answers(base_url), "the node's API", 60)
        assert node.bridge is not None
        story = Story(
            Node(
                base_url=base_url,
                w3=connect(chain.rpc_url, timeout_s=ledger.rpc_timeout_s),
                deployment=Deployment.load(ledger.deployment_path),
                tokens=json.loads((ledger.state_dir / embedded.DEV_TOKENS_FILE).read_text()),
                credential_store=credential_store(CredentialSettings(ledger=ledger)),
                bridge_engine=node.bridge.engine,
                mqtt=None
                if node.mqtt is None
                else (settings.mqtt_host, settings.mqtt_port, settings.mqtt_topic_prefix),
                state_dir=ledger.state_dir,
            ),
            console,
            stopping=lambda: bool(node.server.should_exit),
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
        ) as progress:
            story.progress = progress
            try:
                story.tell(CHAPTERS)
            except ProvenanceError as exc:
                story.record.check("the story ran to its end", False, str(exc))
                console.print(f"[red]the story stopped: {exc}[/red]", highlight=False)
        checks = story.record.checks
        if all(check.passed for check in checks):
            tell_ending(
                story,
                console,
                public_base_url=ApiSettings(ledger=ledger).resolved_public_base_url(
                    bind=base_url.removeprefix("http://")
                ),
            )
        console.print(checks_table(checks))
    except Exception:
        if node.server.should_exit:
            # Ctrl-C or SIGTERM stopped the node under the story: no fault of the story's.
            console.print("the story was interrupted: the node stopped")
            return False
        log.exception("the demo's story failed")
        console.print_exception()
        return False
    passed = all(check.passed for check in checks)
    console.print(
        f"[bold green]self-check passed[/bold green]: all {len(checks)} outcomes of the story held"
        if passed
        else "[bold red]self-check FAILED[/bold red]: see ✗ above and the node's log"
    )
    return passed


def _answers(base_url: str) -> bool:
    try:
        return requests.get(base_url + "/healthz", timeout=2).ok
    except requests.RequestException:
        return False


def _log_to_file(state_dir: Path) -> Path:
    """The node's log (every request, anchoring, indexing) goes to a file in the state
    directory: the terminal tells the story."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / LOG_FILE
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(PlainFormatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path
