"""Prometheus metrics (prometheus-client), served at GET /metrics.

Under gunicorn every worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR, a fresh
temporary directory per server start (api/gunicorn.conf.py), and a scrape of any worker
adds up all of them; a worker that exits is marked dead by the arbiter's child_exit hook. In
a single process (tests, `baclofen-cds check`) the default registry is used.

Labels are bounded sets: the API (`native`, `cds-hooks`), the outcome (the highest severity,
`no_alerts`, or why the check was refused or not completed) and the alert code. Nothing here
carries patient data.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

CHECKS = Counter(
    "baclofen_checks_total", "Checks answered, by API and outcome.", ["api", "outcome"]
)
ALERTS = Counter(
    "baclofen_check_alerts_total",
    "Alerts (native API) and cards (CDS Hooks) returned, by API and alert code.",
    ["api", "code"],
)
LATENCY = Histogram(
    "baclofen_check_duration_seconds",
    "Time from a check request to its response, by API.",
    ["api"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
ENGINE_FAILURES = Counter(
    "baclofen_engine_failures_total",
    "Checks the engine could not complete (answered 5xx), by API.",
    ["api"],
)
FEEDBACK = Counter(
    "baclofen_feedback_total",
    "CDS Hooks card feedback stored, by outcome and the card's alert code "
    "(`unknown` when the card was not issued by the worker that stored it).",
    ["outcome", "code"],
)
CHECK_LOG_DROPPED = Counter(
    "baclofen_check_log_dropped_total",
    "Checks left out of the check log (the console's analytics), by why: its queue was full "
    "or the store refused the batch. The checks themselves were answered.",
    ["reason"],
)
WORKERS_READY = Gauge(
    "baclofen_workers_ready",
    "Worker processes whose engine is built and serving.",
    multiprocess_mode="livesum",
)
RULESET = Gauge(
    "baclofen_ruleset_info",
    "Worker processes serving each rule catalogue: its version, fingerprint and whether it is "
    "the recorded release. Two series at once: the workers serve two rulesets.",
    ["version", "fingerprint", "released"],
    multiprocess_mode="livesum",
)

# The label sets known in advance, shown at 0 from a worker's start (prometheus-client's
# advice for labelled metrics): a dashboard or an absent() alert can then tell "none yet"
# from "not scraped". A feedback's code is known only once a card is issued.
APIS = ("native", "cds-hooks")
KNOWN: tuple[tuple[Any, tuple[str, ...]], ...] = (
    *((ENGINE_FAILURES, (api,)) for api in APIS),
    *((FEEDBACK, (outcome, "unknown")) for outcome in ("accepted", "overridden")),
    *((CHECK_LOG_DROPPED, (reason,)) for reason in ("queue_full", "store_error")),
)


def initialise() -> None:
    """Create the known label sets at 0 (call once per worker, after the fork)."""
    for metric, labels in KNOWN:
        _child(metric, *labels)


_CODE = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
# Card uuid -> alert code for the cards this worker issued lately: feedback names a card by
# its uuid only. Bounded; a card answered by another worker or forgotten counts as unknown.
CARD_MEMORY = 20_000
_cards: OrderedDict[str, str] = OrderedDict()


# Labelled children by (metric, labels): `labels()` takes a lock and builds a key each time,
# a few microseconds a call on every check.
_children: dict[tuple[Any, ...], Any] = {}


def _child(metric: Any, *labels: str) -> Any:
    key = (id(metric), *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def _code(value: Any) -> str:
    return value if isinstance(value, str) and _CODE.fullmatch(value) else "other"


def record_check(record: dict[str, Any], seconds: float) -> None:
    """One check, from the fields of its log line (api/observability.py)."""
    api = record["endpoint"]
    outcome = record.get("outcome") or "unknown"
    _child(CHECKS, api, outcome).inc()
    _child(LATENCY, api).observe(seconds)
    if outcome == "not_completed":
        _child(ENGINE_FAILURES, api).inc()
    codes = record.get("codes") or []
    for code in codes:
        _child(ALERTS, api, _code(code)).inc()
    for uuid, code in zip(record.get("card_uuids") or [], codes, strict=False):
        if isinstance(uuid, str):
            _cards[uuid] = _code(code)
    while len(_cards) > CARD_MEMORY:
        _cards.popitem(last=False)


def record_feedback(items: Iterable[tuple[str, str]]) -> None:
    """Stored feedback: (card uuid, outcome) pairs."""
    for card, outcome in items:
        _child(FEEDBACK, outcome, _cards.get(card, "unknown")).inc()


def registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return merged
    return REGISTRY


router = APIRouter(tags=["meta"])


@router.get("/metrics", response_class=Response, include_in_schema=False)
async def metrics() -> Response:
    """Prometheus text format, all workers added up."""
    return Response(generate_latest(registry()), media_type=CONTENT_TYPE_LATEST)
