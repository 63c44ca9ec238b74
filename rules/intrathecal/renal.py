"""Renal impairment on intrathecal baclofen (004, tertiary; the primary texts are silent).

004: "CrCl <30 mL/min: Avoid oral use; use intrathecal with extreme caution."

When an intrathecal order (not a stop) is for a patient with CrCl/eGFR below 30 mL/min or
terminal renal failure, Then RENAL_IMPAIRMENT (warning), one alert for every reading. Terminal
renal failure on an intrathecal start or screening bolus is the contraindication instead
(rules/contraindications.py), which supersedes this warning.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from engine import AlertRule, Derivation, Severity, c, m
from rules.intrathecal.steps import NOT_STOP, itb_order
from rules.sources import CONSUMER_GUIDE, Passage
from rules.vocabulary import Finding, RenalFunction

RENAL_CAUTION_BELOW_ML_MIN = 30  # 004: CrCl < 30 "use intrathecal with extreme caution"

RENAL_SOURCE = Passage(
    CONSUMER_GUIDE,
    "CrCl <30 mL/min: Avoid oral use; use intrathecal with extreme caution.",
    note="An intrathecal infusion already running (change, continue) with CrCl/eGFR < 30 "
    "mL/min or terminal renal failure gets this warning, not the contraindication: stopping "
    "it abruptly is the greater danger (001: 'Baclofen should not be discontinued "
    "suddenly'). Policy: terminal renal failure on an intrathecal start or screening bolus is "
    "END_STAGE_RENAL_CONTRAINDICATION (critical; rules/contraindications.py), which "
    "supersedes this warning: the design card makes terminal renal failure a "
    "contraindication with no route exception, 002 (secondary) says 'Terminal renal "
    "insufficiency also precludes its use', and 004 also says 'avoid in end-stage renal "
    "disease'. A CrCl of 15 to < 30 mL/min stays this warning on any intrathecal order, as "
    "004 says. The primary texts (000/001) are silent on renal function.",
)


def renal_below_30(renal: RenalFunction) -> Iterator[Finding]:
    reading = f"{renal.measure} {renal.ml_min:g} {renal.unit}"
    yield Finding(finding="renal_below_30", basis=reading, label=reading)


def renal_message(f: Sequence[Finding]) -> str:
    end_stage = [str(x.basis) for x in f if x.finding == "end_stage_renal"]
    readings = [str(x.basis) for x in f if x.finding == "renal_below_30"]
    if end_stage:
        basis = "; ".join(sorted(set(end_stage + readings)))
        return (
            f"Terminal renal failure ({basis}): intrathecal baclofen only with extreme "
            "caution; it is renally excreted and accumulates."
        )
    return (
        f"{readings[0]} is below {RENAL_CAUTION_BELOW_ML_MIN} mL/min: intrathecal baclofen "
        "only with extreme caution."
    )


RULES = [
    Derivation(
        id="intrathecal.renal_below_30",
        when=(
            c.order << itb_order(),
            c.renal << ((m.kind == "renal_function") & (m.ml_min < RENAL_CAUTION_BELOW_ML_MIN)),
        ),
        derive=renal_below_30,
        doc="004's intrathecal caution threshold, as a finding beside end-stage renal failure.",
    ),
    AlertRule(
        id="renal.intrathecal",
        code="RENAL_IMPAIRMENT",
        severity=Severity.WARNING,
        # One aggregate over both kinds of evidence, so that dialysis with a CrCl of 20 mL/min
        # is one warning, not an end-stage one and a severe one.
        when=(
            c.f
            << (
                (m.kind == "finding")
                & ((m.finding == "end_stage_renal") | (m.finding == "renal_below_30"))
            ),
            c.order << itb_order(NOT_STOP),
        ),
        message=renal_message,
        suggestion="Use the lowest effective intrathecal dose under specialist care, titrate "
        "cautiously and monitor for drowsiness and respiratory depression.",
        evidence=("findings=f[].*",),
        aggregate=True,
        source=RENAL_SOURCE,
        description="Intrathecal order with CrCl/eGFR < 30 mL/min or terminal renal failure "
        "(warning, not the oral contraindication).",
    ),
]
