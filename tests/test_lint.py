"""The start-up lint: a rule added later must fail the boot with a reason, not a patient's check.

Each convention and each durable-rules limit the lint enforces has a case here, and the two
limits it estimates (the 64-entry match stack, the 512-slot child table) are calibrated
against the real engine: what the lint accepts works, with headroom below where the C engine
breaks (that break is shown in test_engine_hazards.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from engine import (
    AlertRule,
    Derivation,
    Engine,
    Fact,
    RulesetError,
    Severity,
    Source,
    Vocabulary,
    c,
    m,
)
from engine.lint import BUCKET_BUDGET, MAX_STACK_SIZE, STACK_BUDGET, lint
from engine.runtime import _definition

ROOT = Path(__file__).resolve().parents[1]
SRC = Source(document="doc", excerpt="passage")


def alert(rule_id: str, *when: Any, **kw: Any) -> AlertRule:
    fields: dict[str, Any] = {
        "code": "HIT",
        "severity": Severity.WARNING,
        "message": "hit",
        "suggestion": "-",
        "source": SRC,
        **kw,
    }
    return AlertRule(id=rule_id, when=when, **fields)


def problems(rules: list[Any]) -> list[str]:
    """Build an Engine; return the lint's problems (empty when the ruleset was accepted)."""
    try:
        Engine("lint", rules)
    except RulesetError as exc:
        return exc.problems
    return []


X = c.x << (m.kind == "x")


# -- conventions ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (alert("Bad-Id", X), "is not dotted lower_snake"),
        (alert("flat", X), "is not dotted lower_snake"),
        (alert("t.none"), "no condition"),
        (alert("t.x", m.kind == "x"), "needs an alias"),
        (alert("t.x", c.Bad << (m.kind == "x")), "needs an alias"),
        (alert("t.x", X, code="lower_case"), "is not UPPER_SNAKE"),
        (alert("t.x", X, source=Source(document="", excerpt="e")), "needs a document"),
        (alert("t.x", X, source=Source(document="d", excerpt="")), "needs a document"),
        (alert("t.x", X, message="{y.v}"), "message uses unknown fields ['y']"),
        (alert("t.x", X, suggestion="{limit}"), "suggestion uses unknown fields ['limit']"),
        (alert("t.x", X, aggregate=True, message="{x.v}"), "format message with a function"),
        (Derivation(id="t.d", when=(X,), derive="not callable"), "derive is not callable"),
        (alert("t.x", c.kind << (m.kind == "x")), "cannot name a condition, a param"),
        (alert("t.x", X, params={"id": 1}), "cannot name a condition, a param"),
        (alert("t.x", X, message="{if x.v}open"), "without its {end}"),
        (alert("t.x", X, evidence=("v=x.v.w",)), "unreadable evidence item"),
        (alert("t.x", X, evidence=("y.v",)), "unknown alias 'y'"),
        (alert("t.x", X, evidence=("cap",)), "'cap', which is no param"),
        (alert("t.x", X, evidence=("all=x[].*",)), "an aggregate rule lists every firing"),
        (alert("t.x", X, message=lambda y: "-"), "takes 'y', which is no alias"),
        (Derivation(id="t.d", when=(X,), derive=lambda b: []), "takes 'b', which is no alias"),
    ],
    ids=[
        "id-case",
        "id-not-dotted",
        "no-condition",
        "no-alias",
        "alias-case",
        "code-case",
        "no-document",
        "no-excerpt",
        "unknown-alias",
        "unknown-param",
        "aggregate-template",
        "derive-not-callable",
        "reserved-alias",
        "reserved-param",
        "unclosed-section",
        "evidence-unreadable",
        "evidence-alias",
        "evidence-param",
        "evidence-list",
        "message-argument",
        "derive-argument",
    ],
)
def test_a_rule_breaking_a_convention_fails_the_boot(rule: Any, expected: str) -> None:
    found = problems([rule])
    assert len(found) == 1 and expected in found[0], found


def test_templates_may_use_aliases_and_params() -> None:
    rule = alert("t.x", X, message="{x.v:g} of {cap}", suggestion="{cap}", params={"cap": 1})
    assert problems([rule]) == []


def test_a_figures_threshold_must_be_a_param_or_a_field() -> None:
    good = alert("t.x", X, message="{x.v:.2f~cap} of {cap}", params={"cap": 1})
    assert problems([good]) == []
    found = problems([alert("t.x", X, message="{x.v:.2f~limit}", params={"cap": 1})])
    assert len(found) == 1 and "limit" in found[0], found


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (c.x << (m.v == 1), "first test of each condition must be kind"),
        (c.x << ((m.v == 1) & (m.kind == "x")), "first test of each condition must be kind"),
        (c.x << (m.kind == 1), "first test of each condition must be kind"),
        (c.x << ((m.kind == "x") | (m.kind == "y")), "first test of each condition must be kind"),
    ],
    ids=["no-kind", "kind-second", "kind-not-a-string", "or-at-the-top"],
)
def test_the_first_test_of_every_condition_must_be_kind(condition: Any, expected: str) -> None:
    """The hazard rows "error 303" and "hang in register_rulesets" are avoided by keeping the
    first test discriminating: one kind per fact, so siblings exclude each other."""
    found = problems([alert("t.x", condition)])
    assert any(expected in p for p in found), found


def test_duplicate_rule_ids_fail_the_boot() -> None:
    assert problems([alert("t.x", X), alert("t.x", X)]) == ["duplicate rule id 't.x'"]


def test_every_problem_is_reported_at_once() -> None:
    found = problems([alert("Bad", X, code="bad"), alert("t.y", c.y << (m.v == 1))])
    assert len(found) == 3, found


# -- durable-rules' hard limits ---------------------------------------------------------------
def test_more_than_16_facts_joined_by_one_rule_fail_the_boot() -> None:
    def join(n: int) -> AlertRule:
        return alert("t.join", *(getattr(c, f"f{i}") << (m.kind == f"k{i}") for i in range(n)))

    assert problems([join(16)]) == []
    assert problems([join(17)]) == ["t.join: joins 17 facts (max 16)"]


def test_too_many_operations_in_one_condition_fail_the_boot() -> None:
    """durable-rules refuses a condition with 30 join tests (error 113 at registration,
    naming no rule: 31 expressions per condition, MAX_SEQUENCE_EXPRESSIONS). The lint counts
    every test and its field (2 per comparison, 1 for the kind) against 32: stricter than
    the engine, never looser."""

    def ranges(tests: int) -> Any:
        expr = m.kind == "x"
        for i in range(tests):
            expr = expr & (getattr(m, f"f{i}") > i)
        return c.x << expr

    def joins(tests: int) -> Any:
        expr = m.kind == "o"
        for i in range(tests):
            expr = expr & (getattr(m, f"f{i}") == getattr(c.p, f"f{i}"))
        return c.o << expr

    assert problems([alert("t.ops", ranges(15))]) == []
    assert problems([alert("t.ops", ranges(16))]) == [
        "t.ops: 33 operations in one condition (max 32)"
    ]
    found = problems([alert("t.ops", c.p << (m.kind == "p"), joins(30))])
    assert found == ["t.ops: 61 operations in one condition (max 32)"]


def test_more_than_4096_rules_fail_the_boot() -> None:
    """Spread over 128 kinds of 33 values each, so no other limit is near."""
    rules = [
        Derivation(
            id=f"t.r{i}",
            when=(c.x << ((m.kind == f"k{i % 128}") & (m.v == i)),),
            derive=lambda x: [],
        )
        for i in range(4097)
    ]
    definitions = {r.id: _definition(r) for r in rules}
    with pytest.raises(RulesetError) as exc:
        lint(rules, definitions)
    assert exc.value.problems == ["4097 rules exceed durable-rules' 4096 per ruleset"]
    assert lint(rules[:4096], dict(list(definitions.items())[:4096])).rules == 4096


def test_constants_python_writes_in_exponent_form_fail_the_boot_with_a_reason() -> None:
    """durable registers conditions with json.dumps, which writes 5e-05 and 1e+16; the C
    engine then refuses the whole ruleset with a bare "error code: 204" naming no rule.
    The lint names the rule and the constant."""
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests/engine_probes/raw_durable.py"),
            "exponent_rule",
            "5e-05",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout.strip() == "Could not create ruleset, error code: 204"
    for value in (5e-05, 1e16, 2.5e-07):
        found = problems([alert("t.tiny", c.x << ((m.kind == "x") & (m.v > value)))])
        assert len(found) == 1 and found[0].startswith("t.tiny:") and repr(value) in found[0]
    for value in (0.0001, 1e15, 0.0, 250, 1.5):
        assert problems([alert("t.ok", c.x << ((m.kind == "x") & (m.v > value)))]) == []


# -- the match stack (error 303), calibrated --------------------------------------------------
def _overlapping(n: int) -> list[AlertRule]:
    """n rules whose tests one fact ({"kind": "x", "v": 1000}) matches all at once."""
    return [
        alert(f"t.r{i}", c.x << ((m.kind == "x") & (m.v > i)), message=f"{i}", code=f"HIT_{i}")
        for i in range(n)
    ]


def test_the_lint_accepts_overlapping_siblings_up_to_its_budget_and_they_all_fire() -> None:
    """The largest accepted ruleset of this shape really works: every rule fires, no 303."""
    accepted = max(n for n in range(1, MAX_STACK_SIZE + 2) if not problems(_overlapping(n)))
    assert accepted < MAX_STACK_SIZE  # the C engine's limit for this shape is 64 siblings
    outcome = Engine("stack", _overlapping(accepted)).evaluate([{"kind": "x", "v": 1000}])
    assert sorted(int(a.message) for a in outcome.alerts) == list(range(accepted))
    found = problems(_overlapping(accepted + 1))
    assert len(found) == 1 and "error 303" in found[0], found


def test_equality_tests_on_one_field_count_once_because_they_exclude_each_other() -> None:
    """A fact has one value per field, so 200 rules on `v == i` push one node, not 200: the
    lint accepts them, and the real engine agrees (exactly the matching rule fires)."""
    rules = [
        alert(f"t.v{i}", c.x << ((m.kind == "x") & (m.v == i)), message=f"{i}") for i in range(200)
    ]
    engine = Engine("equality", rules)
    assert [a.message for a in engine.evaluate([{"kind": "x", "v": 137}]).alerts] == ["137"]
    assert engine.lint_report.max_stack_estimate < STACK_BUDGET


def test_absence_tests_count_as_matching_siblings() -> None:
    """`-m.field` tests are all pushed for a fact lacking every field: counted like ranges."""
    rules = [
        alert(
            f"t.a{i}",
            c.x << ((m.kind == "x") & -getattr(m, f"f{i}")),
            message=f"{i}",
            code=f"HIT_{i}",
        )
        for i in range(STACK_BUDGET)
    ]
    assert any("error 303" in p for p in problems(rules))
    engine = Engine("absent", rules[:40])
    assert len(engine.evaluate([{"kind": "x"}]).alerts) == 40


# -- the child table (hang at 512), calibrated ------------------------------------------------
def test_the_lint_refuses_a_parent_with_half_the_hanging_number_of_children() -> None:
    """513 distinct tests under one parent hang registration; the lint stops at half."""

    def kinds(n: int) -> list[AlertRule]:
        return [
            alert(f"t.k{i}", c.x << (m.kind == f"k{i}"), message=f"{i}", code=f"HIT_{i}")
            for i in range(n)
        ]

    found = problems(kinds(BUCKET_BUDGET))
    assert found == [f"{BUCKET_BUDGET} distinct tests under the root (hang at 512)"]
    engine = Engine("kinds", kinds(BUCKET_BUDGET - 1))
    facts = [{"kind": f"k{i}"} for i in range(0, BUCKET_BUDGET - 1, 7)]
    assert sorted(int(a.message) for a in engine.evaluate(facts).alerts) == list(
        range(0, BUCKET_BUDGET - 1, 7)
    )


def test_the_child_table_limit_applies_below_the_root_too() -> None:
    rules = [alert(f"t.v{i}", c.x << ((m.kind == "x") & (m.v == i))) for i in range(600)]
    found = problems(rules)
    assert found == ['600 distinct tests under {"kind": "x"} (hang at 512)'], found


def test_the_report_gives_the_figures_for_the_boot_log() -> None:
    engine = Engine("report", [alert("t.a", X), alert("t.b", c.x << ((m.kind == "x") & (m.v > 1)))])
    report = engine.lint_report
    assert (report.rules, report.max_children) == (2, 1)
    assert 2 <= report.max_stack_estimate < STACK_BUDGET


# -- the fact vocabulary ----------------------------------------------------------------------
class Dose(Fact, kind="dose"):
    daily_mg: float
    route: str | None = None


class Band(Fact, kind="band"):
    years: int


class Advice(Fact, kind="advice", result=True):
    mg: float


TYPED = Vocabulary.of([Dose, Band, Advice])


def typed_problems(*rules: Any) -> list[str]:
    try:
        Engine("typed", list(rules), vocabulary=TYPED)
    except RulesetError as exc:
        return exc.problems
    return []


def test_a_misspelt_field_in_a_condition_refuses_to_start_naming_the_rule_and_the_field() -> None:
    """The silent drop the engine guards against elsewhere: `m.daily_mgg > 60` never
    matches any fact. With the vocabulary it fails the boot instead."""
    rule = alert("oral.max", c.dose << ((m.kind == "dose") & (m.daily_mgg > 60)))
    assert typed_problems(rule) == [
        "oral.max: reads field 'daily_mgg', which kind 'dose' does not declare (condition 'dose')"
    ]
    assert (
        typed_problems(alert("oral.max", c.dose << ((m.kind == "dose") & (m.daily_mg > 60)))) == []
    )


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        (alert("t.x", c.d << ((m.kind == "dose") & -m.rout)), "field 'rout'"),
        (
            alert(
                "t.x",
                c.b << (m.kind == "band"),
                c.d << ((m.kind == "dose") & (m.daily_mg > c.b.age)),
            ),
            "field 'age', which kind 'band' does not declare (condition 'b')",
        ),
        (alert("t.x", c.z << (m.kind == "dosage")), "kind 'dosage', which is not declared"),
        (alert("t.x", c.a << (m.kind == "advice")), "a result of the check"),
        (
            alert("t.x", c.d << (m.kind == "dose"), message="{d.daily_mgg:g} mg"),
            "message reads field 'daily_mgg'",
        ),
        (
            alert("t.x", c.d << (m.kind == "dose"), suggestion="{if d.rout == oral}-{end}"),
            "suggestion reads field 'rout'",
        ),
        (
            alert("t.x", c.d << (m.kind == "dose"), evidence=("mg=d.mg",)),
            "evidence reads field 'mg'",
        ),
        (
            alert("t.x", c.d << (m.kind == "dose"), evidence=("d.* -rout",)),
            "evidence reads field 'rout'",
        ),
        (alert("t.x", c.d << (m.kind == "dose"), attach={"a": "dose"}), "not a declared result"),
        (alert("t.x", c.d << (m.kind == "dose"), withholds=("dose",)), "not a declared result"),
        (
            alert(
                "t.x",
                c.d << (m.kind == "dose"),
                message=lambda d: "-",
                attach={"rx": "advice"},
                suggestion="{rx.gm}",
            ),
            "suggestion reads field 'gm'",
        ),
    ],
    ids=[
        "absence-test",
        "join",
        "undeclared-kind",
        "matches-a-result",
        "template-field",
        "section-field",
        "evidence-field",
        "evidence-exclusion",
        "attach-not-result",
        "withhold-not-result",
        "attached-field",
    ],
)
def test_every_field_a_rule_reads_is_declared(rule: AlertRule, expected: str) -> None:
    found = typed_problems(rule)
    assert len(found) == 1 and expected in found[0], found


def test_rule_functions_read_the_kinds_their_conditions_match() -> None:
    """Typed parameters let mypy check what a function reads; the lint checks that each
    typed parameter is the kind its condition matches (a list for aggregates and folds)."""

    def wrong(d: Band) -> str:
        return "-"

    def one(d: Dose) -> str:
        return "-"

    def many(d: list[Dose]) -> str:
        return "-"

    assert (
        "reads 'd' as kind 'band', but its condition matches 'dose'"
        in typed_problems(alert("t.x", c.d << (m.kind == "dose"), message=wrong))[0]
    )
    assert typed_problems(alert("t.x", c.d << (m.kind == "dose"), message=one)) == []
    assert (
        "as one fact, but the rule gives a list"
        in typed_problems(alert("t.x", c.d << (m.kind == "dose"), message=one, aggregate=True))[0]
    )
    assert (
        typed_problems(alert("t.x", c.d << (m.kind == "dose"), message=many, aggregate=True)) == []
    )


def test_a_fact_of_an_undeclared_kind_or_field_fails_the_check() -> None:
    """Facts the vocabulary does not declare never reach the rules unnoticed."""
    from engine import EngineError

    engine = Engine("typed_facts", [alert("t.x", c.d << (m.kind == "dose"))], vocabulary=TYPED)
    assert [a.code for a in engine.evaluate([{"kind": "dose", "daily_mg": 5.0}]).alerts] == ["HIT"]
    for fact in ({"kind": "dosage"}, {"kind": "dose", "daily_mg": 5.0, "mgg": 1}):
        with pytest.raises(EngineError, match="input fact refused"):
            engine.evaluate([fact])
