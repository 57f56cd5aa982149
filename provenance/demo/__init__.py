"""`provenance demo`: the main job end to end on the embedded default (local anvil, SQLite).

Chapters, each on the same throw-away chain: the ledger's (`story`: a consortium, a lot's
lifecycle, custody, quarantine and release, the read model), the cold chain's (`cold_chain`:
an excursion quarantines a shipment with no one in the loop) and the credentials'
(`credentials`: DIDs, credentials about the lot and its logger, verified against the chain).
"""

from pathlib import Path

from rich.console import Console

from provenance.demo.cold_chain import cold_chain_story
from provenance.demo.credentials import credentials_story
from provenance.demo.story import run_demo


def run(state_dir: Path, console: Console) -> None:
    """The whole story, in its order."""
    run_demo(state_dir, console, chapters=[cold_chain_story, credentials_story])


__all__ = ["run"]
