"""Anchoring windows: each (batch, device)'s inbox readings cut into contiguous windows.

A window closes when it holds `max_readings` readings, when its oldest reading waited
`max_age_s` (so a missing seq delays it at most that long: packing needs contiguous seqs,
so a gap starts a new window), when the next reading cannot be packed with it, at once
when a reading in it decides a quarantine, or when its device has gone quiet: no new
reading for `idle_s` while at least `idle_min_readings` contiguous ones wait (a burst, e.g. a
gateway's backlog, is anchored without waiting out the age; the minimum keeps the
transaction's fixed cost spread over enough readings). Closing runs the rule engine over
the window in seq order and, in one transaction for all the windows of a pass, writes each
window (the anchoring outbox), marks its readings, advances the compliance state and writes
the `submitReadings` outbox entries for the readings the contract must see.

One job a module: `planning` (pure: which readings form a window, the rule engine's
verdict), `drafting` (pure: a pair's due windows from its rows), `inbox` (what drafting
reads), `outbox` (what a pass writes), `pool` (drafting in worker processes), `closer`
(the `WindowCloser` that times and runs the passes).
"""

from oracle_bridge.windows.closer import WindowCloser
from oracle_bridge.windows.outbox import ClosedWindow
from oracle_bridge.windows.planning import (
    WindowEvaluation,
    WindowPlan,
    evaluate_window,
    plan_window,
)

__all__ = [
    "ClosedWindow",
    "WindowCloser",
    "WindowEvaluation",
    "WindowPlan",
    "evaluate_window",
    "plan_window",
]
