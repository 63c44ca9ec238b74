"""The generic runtime's contract, on rules that know nothing about any drug: derivations chain
inside the engine, the trace records them in order, and alerts are folded as declared."""

from __future__ import annotations

from typing import Any

import pytest

from engine import AlertRule, Bindings, Derivation, Engine, RulesetError, Severity, Source, c, m

SRC = Source(document="doc", excerpt="passage")


def _double(b: Bindings) -> list[dict[str, Any]]:
    return [{"kind": "doubled", "value": b.n.value * 2}]


CHAIN = [
    Derivation(id="t.double", when=(c.n << (m.kind == "number"),), derive=_double),
    AlertRule(id="t.big", code="BIG", severity=Severity.WARNING,
              when=(c.d << ((m.kind == "doubled") & (m.value > 10)),),
              message="{d.value:g} is above {limit}", suggestion="halve it",
              params={"limit": 10}, source=SRC),
    AlertRule(id="t.huge", code="HUGE", severity=Severity.CRITICAL,
              when=(c.d << ((m.kind == "doubled") & (m.value > 100)),),
              message="huge", suggestion="stop", source=SRC, supersedes=("BIG",)),
    AlertRule(id="t.each", code="EACH", severity=Severity.INFO,
              when=(c.n << (m.kind == "number"),), message=lambda items: f"{len(items)} numbers",
              suggestion=lambda items: "none", source=SRC, aggregate=True),
]


@pytest.fixture(scope="module")
def chain() -> Engine:
    return Engine("semantics", CHAIN)


def test_derived_facts_chain_and_the_trace_shows_how(chain: Engine) -> None:
    outcome = chain.evaluate([{"kind": "number", "value": 6}])
    assert [a.code for a in outcome.alerts] == ["BIG", "EACH"]
    assert outcome.alerts[0].message == "12 is above 10"
    double = next(t for t in outcome.trace if t.rule_id == "t.double")
    big = next(t for t in outcome.trace if t.rule_id == "t.big")
    assert double.derived[0]["value"] == 12
    assert big.matched == {"d": double.derived[0]["id"]} and big.step > double.step
    assert big.alert_code == "BIG"


def test_supersedes_drops_the_milder_alert_but_keeps_it_in_the_trace(chain: Engine) -> None:
    outcome = chain.evaluate([{"kind": "number", "value": 60}])
    assert [a.code for a in outcome.alerts] == ["HUGE", "EACH"]
    big = next(t for t in outcome.trace if t.rule_id == "t.big")
    assert big.suppressed_by == "t.huge"


def test_aggregate_folds_every_firing_into_one_alert(chain: Engine) -> None:
    outcome = chain.evaluate([{"kind": "number", "value": v} for v in (1, 2, 3)])
    each = [a for a in outcome.alerts if a.code == "EACH"]
    assert len(each) == 1 and each[0].message == "3 numbers"


def test_alerts_are_ordered_by_severity(chain: Engine) -> None:
    outcome = chain.evaluate([{"kind": "number", "value": 1}, {"kind": "number", "value": 70}])
    assert [a.severity for a in outcome.alerts] == [Severity.CRITICAL, Severity.INFO]


def test_identical_alerts_reached_twice_are_reported_once() -> None:
    rule = AlertRule(id="t.flag", code="FLAG", severity=Severity.WARNING,
                     when=(c.f << (m.kind == "flag"),), message="flagged", suggestion="-",
                     source=SRC)
    outcome = Engine("dedupe", [rule]).evaluate([{"kind": "flag"}, {"kind": "flag"}])
    assert [a.code for a in outcome.alerts] == ["FLAG"]
    assert len([t for t in outcome.trace if t.rule_id == "t.flag"]) == 2


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        (AlertRule(id="t.x", code="X", severity=Severity.INFO, when=(m.kind == "x",),
                   message="m", suggestion="s", source=SRC), "alias"),
        (AlertRule(id="t.x", code="X", severity=Severity.INFO, when=(c.x << (m.v == 1),),
                   message="m", suggestion="s", source=SRC), "first test"),
        (AlertRule(id="t.x", code="X", severity=Severity.INFO, when=(c.x << (m.kind == "x"),),
                   message="{y.v}", suggestion="s", source=SRC), "unknown fields"),
        (AlertRule(id="t.x", code="lower", severity=Severity.INFO, when=(c.x << (m.kind == "x"),),
                   message="m", suggestion="s", source=SRC), "UPPER_SNAKE"),
        (AlertRule(id="Bad", code="X", severity=Severity.INFO, when=(c.x << (m.kind == "x"),),
                   message="m", suggestion="s", source=SRC), "dotted"),
    ],
    ids=["no-alias", "first-test-not-kind", "unknown-template-field", "code-case", "rule-id"],
)
def test_lint_fails_the_boot_for_a_malformed_rule(rule: AlertRule, problem: str) -> None:
    with pytest.raises(RulesetError, match=problem):
        Engine("lint", [rule])


def test_duplicate_rule_ids_fail_the_boot() -> None:
    rule = CHAIN[1]
    with pytest.raises(RulesetError, match="duplicate rule id"):
        Engine("dupes", [rule, rule])
