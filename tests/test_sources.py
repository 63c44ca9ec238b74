"""Guards on the knowledge base: cited passages are verbatim, every alert rule is complete, and
the public alert codes never disappear."""

from __future__ import annotations

import pytest

from engine import AlertRule
from rules.catalog import all_rules, catalogue
from rules.sources import PRECEDENCE, document_text, normalise

ALERT_RULES = [r for r in all_rules() if isinstance(r, AlertRule)]

# Prescribing systems map these codes: a rename breaks them. Extend, never edit.
PUBLIC_CODES = {
    "SEIZURE_DISORDER_CONTRAINDICATION",
    "END_STAGE_RENAL_CONTRAINDICATION",
    "RENAL_IMPAIRMENT",
    "TABLET_BELOW_33_KG",
    "DAILY_DOSE_ABOVE_MAXIMUM",
    "WEIGHT_BASED_DOSE_ABOVE_RANGE",
    "STARTING_DOSE_ABOVE_RECOMMENDED",
    "TITRATION_TOO_FAST",
    "DOSING_FREQUENCY_OUTSIDE_RANGE",
    "ABRUPT_DISCONTINUATION",
    "CNS_DEPRESSANT_COMEDICATION",
    "PREGNANCY",
    "MISSING_DATA",
    "ELDERLY_DOSE_ABOVE_RECOMMENDED",
}


@pytest.mark.parametrize("rule", ALERT_RULES, ids=lambda r: r.id)
def test_excerpt_is_verbatim_in_its_document(rule: AlertRule) -> None:
    assert rule.source.document in PRECEDENCE
    assert normalise(rule.source.excerpt) in document_text(rule.source.document)


@pytest.mark.parametrize("rule", ALERT_RULES, ids=lambda r: r.id)
def test_rule_is_complete(rule: AlertRule) -> None:
    assert rule.description, "the catalogue shows a description"
    assert rule.message and rule.suggestion


def test_secondary_sources_carry_a_note() -> None:
    """A rule resting on a secondary or tertiary text must say how it relates to the primary."""
    for rule in ALERT_RULES:
        if PRECEDENCE[rule.source.document] != "primary":
            assert rule.source.note, rule.id


def test_epilepsy_disagreement_is_recorded() -> None:
    seizure = next(r for r in ALERT_RULES if r.code == "SEIZURE_DISORDER_CONTRAINDICATION")
    assert "001" in (seizure.source.note or "") and "precaution" in (seizure.source.note or "")


def test_public_codes_are_all_still_defined() -> None:
    assert PUBLIC_CODES <= {e["code"] for e in catalogue()}
