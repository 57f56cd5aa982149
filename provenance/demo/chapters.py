"""The demo's story, chapter by chapter, in the order it is told."""

from __future__ import annotations

from collections.abc import Callable

from provenance.demo import cold_chain, enrolment, oversight
from provenance.demo.story import Story

CHAPTERS: tuple[Callable[[Story], None], ...] = (
    enrolment.consortium,
    enrolment.product_class,
    enrolment.loggers,
    enrolment.lots,
    cold_chain.pack_and_ship,
    cold_chain.readings,
    cold_chain.receive_and_certify,
    cold_chain.transform,
    oversight.acknowledge,
    oversight.audit,
    oversight.scan_pages,
)
