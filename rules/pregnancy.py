"""Pregnancy (any route).

002 (review, secondary, citing Embryotox): "Baclofen is not a first-line medication during
pregnancy and should be reserved for exceptional cases."

When the patient is pregnant (the flag, or a current pregnancy on the problem list: ICD-10
chapter O, SNOMED CT 77386006) and baclofen is ordered (not stopped), Then PREGNANCY (warning).
"""

from __future__ import annotations

from collections.abc import Sequence

from engine import AlertRule, Severity, c, m
from rules.sources import REVIEW, Passage
from rules.vocabulary import Finding

PREGNANCY_SOURCE = Passage(
    REVIEW,
    "Baclofen is not a first-line medication during pregnancy and should be reserved for "
    "exceptional cases.",
    note="002 (secondary, citing Embryotox); 004 (tertiary) agrees: use only if benefits "
    "outweigh risks. The primary texts are silent on pregnancy.",
)


def pregnancy_message(f: Sequence[Finding]) -> str:
    bases = "; ".join(sorted({str(x.basis) for x in f}))
    return (
        f"The patient is pregnant ({bases}): baclofen is not a first-line medication in pregnancy."
    )


RULES = [
    AlertRule(
        id="pregnancy.not_first_line",
        code="PREGNANCY",
        severity=Severity.WARNING,
        when=(
            c.f << ((m.kind == "finding") & (m.finding == "pregnancy")),
            c.order << ((m.kind == "order") & (m.action != "stop")),
        ),
        message=pregnancy_message,
        suggestion="Reserve for exceptional cases after specialist review; prefer non-drug "
        "management. If already established, do not stop abruptly.",
        evidence=("findings=f[].*",),
        aggregate=True,
        source=PREGNANCY_SOURCE,
        description="Pregnancy: not first line.",
    ),
]
