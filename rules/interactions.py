"""CNS-depressant co-medication and alcohol (any route).

002 (review, secondary): "Concurrent use of Baclofen with other muscle relaxants or central
nervous system depressants can lead to enhanced effects. Its interaction with alcohol remains
unpredictable".

When an opioid, benzodiazepine or other CNS depressant is on the active medication list (WHO
ATC classes and ingredients: rules/drug_classes.py), or alcohol use is recorded, and baclofen is
ordered (not stopped), Then CNS_DEPRESSANT_COMEDICATION (warning), naming each.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine import AlertRule, Severity, c, m
from rules.sources import REVIEW, Passage
from rules.vocabulary import Finding

CNS_SOURCE = Passage(
    REVIEW,
    "Concurrent use of Baclofen with other muscle relaxants or central nervous system "
    "depressants can lead to enhanced effects. Its interaction with alcohol remains "
    "unpredictable",
    note="004 adds: opioids, increased respiratory depression risk; 001 (primary) asks for "
    "respiratory monitoring with benzodiazepines or opiates during intrathecal screening.",
)


def cns_message(f: Sequence[Finding]) -> str:
    parts = list(dict.fromkeys(f"{x.label} ({x.drug_class})" for x in f))
    return (
        f"Active CNS depressant{'s' if len(parts) > 1 else ''}: {', '.join(parts)}. "
        "Additive sedation and respiratory depression with baclofen."
    )


RULES = [
    AlertRule(
        id="interaction.cns_depressants",
        code="CNS_DEPRESSANT_COMEDICATION",
        severity=Severity.WARNING,
        when=(
            c.f << ((m.kind == "finding") & (m.finding == "cns_depressant")),
            c.order << ((m.kind == "order") & (m.action != "stop")),
        ),
        message=cns_message,
        suggestion="Review the need for each depressant, use the lowest doses, and monitor "
        "sedation and breathing; advise against alcohol.",
        evidence=("findings=f[].*",),
        aggregate=True,
        source=CNS_SOURCE,
        description="Opioid, benzodiazepine or other CNS depressant, or alcohol use, active.",
    ),
]
