"""The generic engine's contract, on rules that know nothing about any drug.

Derivations chain inside the engine and the trace shows how, step by step; alerts are
rendered from the matched facts, folded (aggregate), dropped (supersedes, supersedes_rules),
reported at most once per code (the most severe, or merged where a merge is declared), then
ordered by severity; and every way a check can go wrong ends in
EngineError, after which the next check is normal. The durable-rules hazards themselves are
proved in test_engine_hazards.py.
"""

from __future__ import annotations

import copy
import json
import math
import time
from collections.abc import Callable
from typing import Any

import pytest

import engine.runtime as runtime
from engine import (
    Alert,
    AlertRule,
    Derivation,
    Engine,
    EngineError,
    Fact,
    RulesetError,
    Severity,
    Source,
    Vocabulary,
    c,
    m,
)

SRC = Source(document="doc.txt", excerpt="the passage", note="why")


def alert(
    rule_id: str,
    *when: Any,
    code: str = "HIT",
    severity: Severity = Severity.WARNING,
    message: Any = "hit",
    **kw: Any,
) -> AlertRule:
    return AlertRule(
        id=rule_id,
        code=code,
        severity=severity,
        when=when,
        message=message,
        suggestion=kw.pop("suggestion", "-"),
        source=SRC,
        **kw,
    )


def _double(n: Any) -> list[dict[str, Any]]:
    return [{"kind": "doubled", "value": n.value * 2}]


def _quadruple(d: Any) -> list[dict[str, Any]]:
    return [{"kind": "quadrupled", "value": d.value * 2, "from": d.value}]


CHAIN = [
    Derivation(id="t.double", when=(c.n << (m.kind == "number"),), derive=_double),
    Derivation(id="t.quadruple", when=(c.d << (m.kind == "doubled"),), derive=_quadruple),
    alert(
        "t.big",
        c.q << ((m.kind == "quadrupled") & (m.value > 100)),
        code="BIG",
        message="{q.value:g} is above {limit}",
        suggestion="stay at or below {limit}",
        params={"limit": 100},
    ),
]


@pytest.fixture(scope="module")
def chain() -> Engine:
    return Engine("chain", CHAIN)


# -- chaining and the trace -------------------------------------------------------------------
def test_derived_facts_chain_through_two_levels_to_an_alert(chain: Engine) -> None:
    outcome = chain.evaluate([{"kind": "number", "value": 30}])
    assert [(a.code, a.message, a.suggestion) for a in outcome.alerts] == [
        ("BIG", "120 is above 100", "stay at or below 100")
    ]
    assert chain.evaluate([{"kind": "number", "value": 25}]).alerts == []  # 100 is not above


def test_the_trace_lists_each_firing_in_order_with_what_it_matched_and_derived(
    chain: Engine,
) -> None:
    """Each step names the rule, the ids of the facts it matched (by alias) and the facts it
    derived (with the ids later steps match), so an alert can be walked back to the input."""
    outcome = chain.evaluate([{"kind": "number", "value": 30, "id": "n1"}])
    assert [t.model_dump() for t in outcome.trace] == [
        {
            "step": 1,
            "rule_id": "t.double",
            "matched": {"n": "n1"},
            "derived": [{"kind": "doubled", "value": 60, "id": "d0"}],
            "alert_code": None,
            "suppressed_by": None,
            "merged_into": None,
        },
        {
            "step": 2,
            "rule_id": "t.quadruple",
            "matched": {"d": "d0"},
            "derived": [{"kind": "quadrupled", "value": 120, "from": 60, "id": "d1"}],
            "alert_code": None,
            "suppressed_by": None,
            "merged_into": None,
        },
        {
            "step": 3,
            "rule_id": "t.big",
            "matched": {"q": "d1"},
            "derived": [],
            "alert_code": "BIG",
            "suppressed_by": None,
            "merged_into": None,
        },
    ]


def test_input_facts_without_an_id_are_named_by_position(chain: Engine) -> None:
    outcome = chain.evaluate([{"kind": "other"}, {"kind": "number", "value": 1}])
    assert outcome.trace[0].matched == {"n": "i1"}


def test_every_chain_is_traced_and_each_step_follows_what_it_matched(chain: Engine) -> None:
    outcome = chain.evaluate([{"kind": "number", "value": v, "id": f"n{v}"} for v in (30, 40)])
    produced_at = {d["id"]: t.step for t in outcome.trace for d in t.derived}
    for t in outcome.trace:
        for fact_id in t.matched.values():
            if fact_id in produced_at:
                assert produced_at[fact_id] < t.step
    assert [t.step for t in outcome.trace] == list(range(1, 7))
    assert len([t for t in outcome.trace if t.alert_code == "BIG"]) == 2
    # One alert per code: the first to fire of the two.
    assert [a.message for a in outcome.alerts] == ["120 is above 100"]


def test_the_engine_internals_never_show_in_a_result(chain: Engine) -> None:
    """No sentinel step in the trace, and no session id in trace, alerts or evidence."""
    outcome = chain.evaluate([{"kind": "number", "value": 30}])
    text = json.dumps(
        {
            "alerts": [a.model_dump(mode="json") for a in outcome.alerts],
            "results": outcome.results,
            "trace": [t.model_dump(mode="json") for t in outcome.trace],
        }
    )
    assert "sid" not in text and "$start" not in text and "$end" not in text
    assert runtime.kind_key("number") not in text and runtime.CHECK_KEY not in text
    assert {t.rule_id for t in outcome.trace} == {"t.double", "t.quadruple", "t.big"}


def test_registered_conditions_open_on_the_kind_key_the_facts_carry() -> None:
    """durable finds an alpha node's children by the tested property's name: conditions are
    registered opening on a property named after the kind, nested `$and` included, and the
    rules' own definitions keep `kind == '...'`."""
    definitions = {
        "r": {
            "all": [
                {"a": {"kind": "x"}},
                {"b": {"$and": [{"$and": [{"kind": "y"}, {"n": 1}]}, {"$gt": {"m": 2}}]}},
            ],
            "run": "r",
        }
    }
    keyed = runtime._keyed(copy.deepcopy(definitions))
    assert keyed["r"]["all"] == [
        {"a": {"$ex": {"kind:x": 1}}},
        {"b": {"$and": [{"$and": [{"$ex": {"kind:y": 1}}, {"n": 1}]}, {"$gt": {"m": 2}}]}},
    ]
    with pytest.raises(ValueError, match="does not open with its kind"):
        runtime._keyed({"r": {"all": [{"a": {"n": 1}}], "run": "r"}})


def test_evaluate_leaves_the_callers_facts_untouched(chain: Engine) -> None:
    facts = [{"kind": "number", "value": 30, "nested": {"a": [1, 2.5]}}]
    before = copy.deepcopy(facts)
    chain.evaluate(facts)
    assert facts == before


def test_a_check_without_facts_has_no_alerts(chain: Engine) -> None:
    empty = chain.evaluate([])
    assert empty.alerts == [] and empty.trace == []


def test_absence_and_joins_between_facts() -> None:
    """`-m.field` matches a fact without the field; `m.x == c.other.x` joins two facts."""
    engine = Engine(
        "joins",
        [
            alert("t.missing", c.p << ((m.kind == "patient") & -m.weight), code="MISSING"),
            alert(
                "t.same",
                c.p << (m.kind == "patient"),
                c.o << ((m.kind == "order") & (m.patient == c.p.name)),
                code="JOINED",
            ),
        ],
    )
    codes = [
        a.code
        for a in engine.evaluate(
            [{"kind": "patient", "name": "A"}, {"kind": "order", "patient": "A"}]
        ).alerts
    ]
    assert sorted(codes) == ["JOINED", "MISSING"]
    assert [
        a.code
        for a in engine.evaluate(
            [{"kind": "patient", "name": "A", "weight": 70}, {"kind": "order", "patient": "B"}]
        ).alerts
    ] == []


# -- alerts: rendering, evidence --------------------------------------------------------------
def test_an_alert_carries_its_rule_source_and_the_values_it_used() -> None:
    engine = Engine(
        "render",
        [
            alert(
                "t.dose",
                c.o << ((m.kind == "order") & (m.mg > 10)),
                code="DOSE",
                severity=Severity.CRITICAL,
                message="{o.mg:g} mg > {cap} mg",
                suggestion="at most {cap} mg",
                params={"cap": 10},
            ),
        ],
    )
    (a,) = engine.evaluate([{"kind": "order", "mg": 12.5, "route": "oral", "id": "o1"}]).alerts
    assert a == Alert(
        code="DOSE",
        severity=Severity.CRITICAL,
        message="12.5 mg > 10 mg",
        suggestion="at most 10 mg",
        evidence={"o": {"mg": 12.5, "route": "oral"}},
        source=SRC,
        rule_id="t.dose",
    )


def test_messages_may_be_functions_of_the_matched_facts_by_alias_and_of_params() -> None:
    """A rule function takes keyword arguments named by the rule's aliases (a record of each
    matched fact) and params; it takes only those it names."""
    engine = Engine(
        "callables",
        [
            alert(
                "t.f",
                c.x << (m.kind == "x"),
                c.y << (m.kind == "y"),
                message=lambda x, y: f"{x.a + y.b} total",
                suggestion=lambda x, cap: f"{x.a}/{cap}",
                evidence=lambda y: {"b": y.b},
                params={"cap": 9},
            ),
        ],
    )
    (a,) = engine.evaluate([{"kind": "x", "a": 2}, {"kind": "y", "b": 3}]).alerts
    assert (a.message, a.suggestion, a.evidence) == ("5 total", "2/9", {"b": 3})


def test_declared_evidence_names_fields_spreads_facts_and_lists_firings() -> None:
    engine = Engine(
        "evidence",
        [
            alert(
                "t.one",
                c.x << ((m.kind == "x") & (m.a == 2)),
                c.y << (m.kind == "y"),
                code="ONE",
                evidence=("total=x.a", "y.* -secret", "cap", "x.absent"),
                params={"cap": 9},
            ),
            alert(
                "t.many",
                c.x << (m.kind == "x"),
                code="MANY",
                aggregate=True,
                evidence=("all=x[].*", "values=x[].a"),
            ),
        ],
    )
    outcome = engine.evaluate(
        [
            {"kind": "x", "a": 2, "id": "x1"},
            {"kind": "x", "a": 4},
            {"kind": "y", "b": 3, "secret": 1},
        ]
    )
    one, many = sorted(outcome.alerts, key=lambda a: a.code, reverse=True)
    assert one.evidence == {"total": 2, "b": 3, "cap": 9, "absent": None}
    assert many.evidence == {"all": [{"a": 2}, {"a": 4}], "values": [2, 4]}


def test_templates_show_sections_on_a_condition() -> None:
    text = (
        "{x.v:g} mg{if x.cap} (at most {x.cap:g}){end}{if x.route == oral}, by mouth"
        "{else}, route {x.route}{end}{if not x.ok}!{end}"
    )
    engine = Engine("sections", [alert("t.x", c.x << (m.kind == "x"), message=text)])

    def said(**fact: Any) -> str:
        return engine.evaluate([{"kind": "x", **fact}]).alerts[0].message

    assert said(v=5, cap=4, route="oral", ok=True) == "5 mg (at most 4), by mouth"
    assert said(v=5, route="iv", ok=False) == "5 mg, route iv!"


@pytest.mark.parametrize(
    ("spec", "value", "limit", "shown"),
    [
        (".2f", 2.004, 2, "2.004"),  # "2.00" would read as the 2 it is above
        (".2f", 1.996, 2, "1.996"),
        (".2f", 2.0049, 2, "2.005"),
        (".2f", 2.0, 2, "2.00"),  # on the threshold: shown as it is
        (".2f", 1.2, 2, "1.20"),  # far from it: the format alone
        (".2f", 0.4996, 0.5, "0.4996"),
        (".0%", 0.5004, 0.5, "50.04%"),
        (".0%", 0.501, 0.5, "50.1%"),
        (".0%", 0.6, 0.5, "60%"),
        ("g", 32.9999999, 33, "32.9999999"),
        ("g", 32.9, 33, "32.9"),
        ("g", 33, 33, "33"),
        (".2f", 2.000000000001, 2, "2.00000000"),  # at most six more places
        ("d", 3, 2, "3"),  # not a format with decimals: as it is
    ],
)
def test_a_figure_never_reads_as_the_threshold_it_is_not(
    spec: str, value: float, limit: float, shown: str
) -> None:
    engine = Engine(
        "figures",
        [
            alert(
                "t.x",
                c.x << (m.kind == "x"),
                message=f"{{x.v:{spec}~limit}} against {{limit:g}}",
                params={"limit": limit},
            )
        ],
    )
    (said,) = engine.evaluate([{"kind": "x", "v": value}]).alerts
    assert said.message == f"{shown} against {limit:g}"


# -- aggregate, supersedes, dedupe, order -----------------------------------------------------
def test_aggregate_folds_every_firing_into_one_alert_in_firing_order() -> None:
    engine = Engine(
        "aggregate",
        [
            alert(
                "t.each",
                c.x << (m.kind == "drug"),
                code="DRUGS",
                aggregate=True,
                message=lambda x: ", ".join(r.name for r in x),
                suggestion=lambda x: f"review {len(x)}",
                evidence=lambda x: {"names": [r.name for r in x]},
            ),
        ],
    )
    outcome = engine.evaluate([{"kind": "drug", "name": n} for n in ("a", "b", "c")])
    (a,) = outcome.alerts
    assert (a.message, a.suggestion) == ("a, b, c", "review 3")
    assert a.evidence == {"names": ["a", "b", "c"]}
    assert [t.alert_code for t in outcome.trace] == ["DRUGS"] * 3
    assert engine.evaluate([{"kind": "other"}]).alerts == []


SUPERSEDE = [
    alert("t.mild", c.x << ((m.kind == "x") & (m.v > 10)), code="MILD"),
    alert(
        "t.severe",
        c.x << ((m.kind == "x") & (m.v > 100)),
        code="SEVERE",
        severity=Severity.CRITICAL,
        supersedes=("MILD",),
    ),
    alert("t.note", c.x << (m.kind == "x"), code="NOTE", severity=Severity.INFO, message="{x.v}"),
]


def test_supersedes_drops_the_milder_alert_only_when_the_stronger_fires() -> None:
    engine = Engine("supersede", SUPERSEDE)
    assert [a.code for a in engine.evaluate([{"kind": "x", "v": 50}]).alerts] == ["MILD", "NOTE"]
    outcome = engine.evaluate([{"kind": "x", "v": 500}])
    assert [a.code for a in outcome.alerts] == ["SEVERE", "NOTE"]
    mild = next(t for t in outcome.trace if t.rule_id == "t.mild")
    assert mild.suppressed_by == "t.severe" and mild.alert_code == "MILD"
    assert all(t.suppressed_by is None for t in outcome.trace if t.rule_id != "t.mild")


def test_the_same_finding_reached_twice_is_reported_once_but_traced_twice() -> None:
    engine = Engine("dedupe", SUPERSEDE)
    outcome = engine.evaluate([{"kind": "x", "v": 1}, {"kind": "x", "v": 1}])
    assert [a.message for a in outcome.alerts] == ["1"]
    assert [t.rule_id for t in outcome.trace] == ["t.note", "t.note"]
    assert [t.suppressed_by for t in outcome.trace] == [None, "t.note"]


ONE_PER_CODE = [
    alert("t.low", c.x << ((m.kind == "x") & (m.v > 1)), code="DOSE", message="low {x.v}"),
    alert(
        "t.high",
        c.x << ((m.kind == "x") & (m.v > 10)),
        code="DOSE",
        severity=Severity.CRITICAL,
        message="high {x.v}",
    ),
    alert(
        "t.gap_a",
        c.x << ((m.kind == "x") & (m.v > 1)),
        code="GAP",
        message="no a",
        evidence=("missing",),
        params={"missing": ["a"]},
    ),
    alert(
        "t.gap_b",
        c.y << (m.kind == "y"),
        code="GAP",
        message="no b",
        evidence=("missing",),
        params={"missing": ["b"]},
    ),
]


def _merge_gaps(alerts: list[Alert]) -> Alert:
    return alerts[0].model_copy(
        update={
            "message": " ".join(a.message for a in alerts),
            "evidence": {"missing": [m for a in alerts for m in a.evidence["missing"]]},
        }
    )


def test_one_alert_per_code_keeps_the_most_severe_and_traces_the_others() -> None:
    """Two rules raising one code in one check: the more severe alert is reported, the
    other is traced as suppressed by it; among equals the first to fire is kept."""
    engine = Engine("one_per_code", ONE_PER_CODE[:2])
    outcome = engine.evaluate([{"kind": "x", "v": 50}])
    assert [(a.code, a.message) for a in outcome.alerts] == [("DOSE", "high 50")]
    low = next(t for t in outcome.trace if t.rule_id == "t.low")
    assert low.suppressed_by == "t.high" and low.alert_code == "DOSE"
    # One rule firing on two facts with different messages: the first fired is kept.
    outcome = engine.evaluate([{"kind": "x", "v": 2}, {"kind": "x", "v": 3}])
    assert [a.message for a in outcome.alerts] == ["low 2"]
    assert [t.suppressed_by for t in outcome.trace] == [None, "t.low"]
    assert engine.evaluate([{"kind": "x", "v": 5}]).alerts[0].message == "low 5"


def test_a_declared_merge_folds_one_codes_alerts_into_one() -> None:
    engine = Engine("merge", ONE_PER_CODE, merges={"GAP": _merge_gaps})
    outcome = engine.evaluate([{"kind": "x", "v": 2}, {"kind": "y"}])
    gaps = [a for a in outcome.alerts if a.code == "GAP"]
    assert [(a.message, a.evidence, a.rule_id) for a in gaps] == [
        ("no a no b", {"missing": ["a", "b"]}, "t.gap_a")
    ]
    b = next(t for t in outcome.trace if t.rule_id == "t.gap_b")
    assert (b.merged_into, b.suppressed_by) == ("t.gap_a", None)
    # A single alert of the code is reported as it is, not passed through the merge.
    (alone,) = engine.evaluate([{"kind": "y"}]).alerts
    assert (alone.message, alone.rule_id) == ("no b", "t.gap_b")


@pytest.mark.parametrize(
    "merge",
    [lambda alerts: 1 / 0, lambda alerts: alerts[0].model_copy(update={"code": "X"})],
    ids=["raises", "another-code"],
)
def test_a_merge_that_fails_fails_the_check(merge: Any) -> None:
    engine = Engine("merge_fails", ONE_PER_CODE, merges={"GAP": merge})
    with pytest.raises(EngineError, match="GAP"):
        engine.evaluate([{"kind": "x", "v": 2}, {"kind": "y"}])


def test_supersedes_rules_drops_only_the_named_rule_of_a_code() -> None:
    """A rule may make one rule of a code redundant and leave the code's other rules alone."""
    engine = Engine(
        "supersede_rules",
        [
            alert(
                "t.flag_step",
                c.x << ((m.kind == "x") & (m.v > 10)),
                code="FLAG",
                message="step {x.v}",
            ),
            alert("t.flag_sign", c.s << (m.kind == "sign"), code="FLAG", message="sign"),
            alert(
                "t.slip",
                c.x << ((m.kind == "x") & (m.v > 1000)),
                code="SLIP",
                supersedes_rules=("t.flag_step",),
            ),
        ],
    )
    assert [a.message for a in engine.evaluate([{"kind": "x", "v": 50}]).alerts] == ["step 50"]
    outcome = engine.evaluate([{"kind": "x", "v": 5000}])
    assert [a.code for a in outcome.alerts] == ["SLIP"]
    step = next(t for t in outcome.trace if t.rule_id == "t.flag_step")
    assert step.suppressed_by == "t.slip"
    outcome = engine.evaluate([{"kind": "x", "v": 5000}, {"kind": "sign"}])
    assert sorted((a.code, a.message) for a in outcome.alerts) == [
        ("FLAG", "sign"),
        ("SLIP", "hit"),
    ]


@pytest.mark.parametrize(
    ("rules", "merges", "problem"),
    [
        (
            [alert("t.a", c.x << (m.kind == "x"), code="A", supersedes_rules=("t.nobody",))],
            {},
            "unknown rule",
        ),
        ([alert("t.a", c.x << (m.kind == "x"), code="A", supersedes=("A",))], {}, "its own alert"),
        ([alert("t.a", c.x << (m.kind == "x"), code="A")], {"B": _merge_gaps}, "no rule raises"),
    ],
    ids=["unknown-rule", "itself", "merge-of-no-code"],
)
def test_the_lint_refuses_supersessions_and_merges_that_cannot_apply(
    rules: list[AlertRule], merges: dict[str, Any], problem: str
) -> None:
    with pytest.raises(RulesetError, match=problem):
        Engine("bad", rules, merges=merges)


def test_alerts_are_ordered_by_severity_then_by_when_they_fired() -> None:
    engine = Engine("order", SUPERSEDE)
    outcome = engine.evaluate(
        [{"kind": "x", "v": 1}, {"kind": "x", "v": 50}, {"kind": "x", "v": 200}]
    )
    assert [(a.severity, a.code) for a in outcome.alerts] == [
        (Severity.CRITICAL, "SEVERE"),
        (Severity.INFO, "NOTE"),
    ]
    # One alert per code: of the three notes, the first to fire.
    steps = {t.matched["x"]: t.step for t in outcome.trace if t.rule_id == "t.note"}
    assert [steps[f"i{n}"] for n in (0, 1, 2)] == sorted(steps.values())
    assert [a.message for a in outcome.alerts if a.code == "NOTE"] == ["1"]
    assert outcome.highest is Severity.CRITICAL
    assert engine.evaluate([{"kind": "y"}]).highest is None


# -- numbers ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def signs() -> Engine:
    return Engine(
        "signs",
        [
            alert("t.pos", c.x << ((m.kind == "x") & (m.v > 0)), code="POS"),
            alert("t.neg", c.x << ((m.kind == "x") & (m.v < 0)), code="NEG"),
            alert(
                "t.small", c.x << ((m.kind == "x") & (m.v > 0.0001) & (m.v < 0.0002)), code="SMALL"
            ),
        ],
    )


@pytest.mark.parametrize("value", [5e-05, 1e-4, 0.1, 7, 1e15, 1e16, 2.5e20, 1.5e300, 10**20])
def test_any_finite_number_in_a_fact_reaches_the_rules_intact(signs: Engine, value: float) -> None:
    """The C engine rejects exponent notation (error 204), which Python writes below 1e-4 and
    from 1e16: the rules must still see the number, with its sign and its exact value."""
    for v, code in ((value, "POS"), (-value, "NEG")):
        (a,) = signs.evaluate([{"kind": "x", "v": v}]).alerts
        assert a.code == code
        # Written positionally, 1.5e300 comes back as the integer 15 followed by 299 zeros.
        assert a.evidence["x"]["v"] == pytest.approx(v, rel=1e-15)


def test_small_numbers_compare_correctly(signs: Engine) -> None:
    def small(v: float) -> bool:
        return "SMALL" in [a.code for a in signs.evaluate([{"kind": "x", "v": v}]).alerts]

    assert [small(v) for v in (5e-05, 0.0001, 0.00015, 0.0002)] == [False, False, True, False]


def test_numbers_nested_in_lists_and_objects_survive() -> None:
    engine = Engine("nested", [alert("t.x", c.x << (m.kind == "x"))])
    (a,) = engine.evaluate([{"kind": "x", "doses": [5e-05, 2.5], "o": {"v": 1e16}}]).alerts
    assert a.evidence == {"x": {"doses": [5e-05, 2.5], "o": {"v": 1e16}}}


# -- every failure is an EngineError, and the next check is normal ----------------------------
def _ok(engine: Engine) -> None:
    assert [a.code for a in engine.evaluate([{"kind": "x", "v": 1}]).alerts] == ["HIT"]


def _broken(derive: Any) -> Engine:
    return Engine(
        "broken",
        [
            Derivation(id="t.derive", when=(c.b << (m.kind == "broken"),), derive=derive),
            alert("t.hit", c.x << (m.kind == "x")),
            alert("t.y", c.y << (m.kind == "y")),
        ],
    )


def _raise(b: Any) -> list[dict[str, Any]]:
    raise KeyError("boom")


@pytest.mark.parametrize(
    ("derive", "problem"),
    [
        (_raise, r"t\.derive raised KeyError"),
        (lambda b: None, r"t\.derive raised TypeError"),
        (lambda b: [{"kind": "y", "v": math.nan}], r"t\.derive raised ValueError"),
        (lambda b: [{"kind": "y", "v": {1, 2}}], r"t\.derive raised TypeError"),
        (lambda b: [{"v": 1}], r"t\.derive raised TypeError"),
    ],
    ids=["raises", "returns-none", "derives-nan", "derives-a-set", "derives-no-kind"],
)
def test_a_broken_derivation_fails_the_check(derive: Any, problem: str) -> None:
    engine = _broken(derive)
    with pytest.raises(EngineError, match=problem):
        engine.evaluate([{"kind": "x", "v": 1}, {"kind": "broken"}])
    _ok(engine)


def test_the_error_does_not_quote_what_the_rule_raised(caplog: pytest.LogCaptureFixture) -> None:
    """Callers log EngineError; an exception's text may quote facts (patient data), so it
    stays out of the error and goes to the DEBUG log only."""

    def leaky(b: Any) -> list[dict[str, Any]]:
        raise ValueError(f"bad value {b.v!r} for Jane Doe")

    with pytest.raises(EngineError) as raised:
        _broken(leaky).evaluate([{"kind": "broken", "v": 1}])
    assert str(raised.value) == "rule t.derive raised ValueError"
    caplog.set_level("DEBUG", logger="engine.runtime")
    with pytest.raises(EngineError):
        _broken(leaky).evaluate([{"kind": "broken", "v": 1}])
    assert any(
        "Jane Doe" in (r.exc_text or "") or "Jane Doe" in str(r.exc_info)
        for r in caplog.records
        if r.levelname == "DEBUG"
    )


@pytest.mark.parametrize(
    "fact",
    [
        {"kind": "x", "v": math.nan},
        {"kind": "x", "v": math.inf},
        {"kind": "x", "v": {1}},
        {"kind": "x", **{f"f{n}": n for n in range(300)}},
    ],
    ids=["nan", "infinity", "a-set", "300-fields"],
)
def test_a_fact_the_engine_cannot_take_fails_the_check(fact: dict[str, Any]) -> None:
    """Never skip a fact silently: the rules it would have fired are unknown."""
    engine = _broken(_raise)
    with pytest.raises(EngineError):
        engine.evaluate([{"kind": "x", "v": 2}, fact])
    _ok(engine)


def test_two_input_facts_with_one_id_fail_the_check() -> None:
    """durable-rules would keep only the first ("already observed"): fail closed instead."""
    engine = _broken(_raise)
    with pytest.raises(EngineError):
        engine.evaluate([{"kind": "y", "id": "a"}, {"kind": "x", "id": "a", "v": 1}])
    _ok(engine)


def test_a_check_over_its_time_budget_fails() -> None:
    engine = Engine("budget", [alert("t.hit", c.x << (m.kind == "x"))], budget_ms=0)
    with pytest.raises(EngineError, match="time budget exceeded"):
        engine.evaluate([{"kind": "x"}])


def _budget_engine(step: Callable[[], None]) -> Engine:
    """A chain of two derivations, each taking `step`, then an alert; a 20 ms budget."""

    def derive(kind: str) -> Callable[..., list[dict[str, Any]]]:
        def step_then(**_: Any) -> list[dict[str, Any]]:
            step()
            return [{"kind": kind}]

        return step_then

    return Engine(
        "budget-kind",
        [
            Derivation(id="t.first", when=(c.x << (m.kind == "x"),), derive=derive("next")),
            Derivation(id="t.second", when=(c.n << (m.kind == "next"),), derive=derive("done")),
            alert("t.hit", c.d << (m.kind == "done")),
        ],
        budget_ms=20,
    )


def test_the_budget_counts_the_checks_work_not_the_machines_load() -> None:
    """The budget bounds the rules' own work: a check that waited for a core (here it sleeps
    40 ms, past the budget in wall time, using no CPU) completes; one that worked 40 ms of
    CPU does not."""
    waited = _budget_engine(lambda: time.sleep(0.04)).evaluate([{"kind": "x"}])
    assert [a.code for a in waited.alerts] == ["HIT"]

    def work() -> None:
        until = time.thread_time() + 0.04
        while time.thread_time() < until:
            pass

    with pytest.raises(EngineError, match="time budget exceeded"):
        _budget_engine(work).evaluate([{"kind": "x"}])


def test_a_check_whose_agenda_did_not_reach_the_end_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    """The $end sentinel, asserted last, must fire: if it does not, the agenda was cut short
    and the alerts cannot be trusted. Simulated by asserting a different last fact."""
    engine = Engine("end", [alert("t.hit", c.x << (m.kind == "x"))])
    monkeypatch.setattr(runtime, "END_KIND", "$not-the-end")
    with pytest.raises(EngineError, match="did not run to completion"):
        engine.evaluate([{"kind": "x"}])
    monkeypatch.undo()
    _ok(engine)


@pytest.mark.parametrize(
    "rule",
    [
        alert("t.hit", c.x << (m.kind == "x"), message="{x.missing}"),
        alert("t.hit", c.x << (m.kind == "x"), message="{x.v:d}%"),
        alert("t.hit", c.x << (m.kind == "x"), suggestion=lambda x: 1 / 0),
        alert("t.hit", c.x << (m.kind == "x"), evidence=lambda x: x.missing),
        alert("t.hit", c.x << (m.kind == "x"), evidence=lambda x: ["not", "a", "dict"]),
        alert("t.hit", c.x << (m.kind == "x"), aggregate=True, message=lambda x: 1 / 0),
    ],
    ids=[
        "missing-field",
        "bad-format",
        "suggestion-raises",
        "evidence-raises",
        "evidence-not-a-dict",
        "aggregate-raises",
    ],
)
def test_an_alert_that_cannot_be_rendered_fails_the_check(rule: AlertRule) -> None:
    """EngineError is the engine's only exception: callers map it to "check not completed"
    (API 503, CLI exit 4); anything else would surface as a 500 or as exit status 1, which
    the CLI uses for "warnings"."""
    engine = Engine("render", [rule])
    with pytest.raises(EngineError, match=r"t\.hit"):
        engine.evaluate([{"kind": "x", "v": 1.5}])


# -- folds, results, attached results ---------------------------------------------------------
class Limit(Fact, kind="limit"):
    mg: float


class Advice(Fact, kind="advice", result=True):
    mg: float
    limits: int


class Doubt(Fact, kind="doubt"):
    pass


TYPED = Vocabulary.of([Limit, Advice, Doubt])


def _advise(limit: list[Limit]) -> list[Advice]:
    return [Advice(mg=min(x.mg for x in limit), limits=len(limit))]


FOLD = [
    Derivation(id="t.advise", when=(c.limit << (m.kind == "limit"),), derive=_advise, fold=True),
    alert(
        "t.over",
        c.limit << (m.kind == "limit"),
        code="OVER",
        attach={"rx": "advice"},
        message="over {limit.mg:g}",
        suggestion="{if rx}take {rx.mg:g}{else}no advice{end}",
    ),
    alert("t.doubt", c.d << (m.kind == "doubt"), code="DOUBT", withholds=("advice",)),
]


def test_a_fold_concludes_once_over_every_firing_and_alerts_quote_its_result() -> None:
    """A fold runs after every other rule, once, over all its firings; what it derives is a
    result of the check (Outcome.results), which an alert can quote (attach)."""
    engine = Engine("fold", FOLD, vocabulary=TYPED)
    outcome = engine.evaluate([{"kind": "limit", "mg": 40.0}, {"kind": "limit", "mg": 30.0}])
    assert outcome.results == {"advice": [{"mg": 30.0, "limits": 2}]}
    assert {a.suggestion for a in outcome.alerts} == {"take 30"}
    fold_steps = [t for t in outcome.trace if t.rule_id == "t.advise"]
    assert len(fold_steps) == 2 and fold_steps[0].derived[0]["mg"] == 30.0
    assert engine.evaluate([{"kind": "doubt"}]).results == {}


def test_an_alert_withholds_a_result_it_makes_untrustworthy() -> None:
    engine = Engine("withhold", FOLD, vocabulary=TYPED)
    outcome = engine.evaluate([{"kind": "limit", "mg": 40.0}, {"kind": "doubt"}])
    assert outcome.results == {}
    assert [a.suggestion for a in outcome.alerts if a.code == "OVER"] == ["no advice"]


def test_a_fold_may_derive_results_only() -> None:
    engine = Engine(
        "fold_bad",
        [
            Derivation(
                id="t.fold",
                when=(c.x << (m.kind == "x"),),
                fold=True,
                derive=lambda x: [{"kind": "y"}],
            )
        ],
    )
    with pytest.raises(EngineError, match=r"t\.fold raised TypeError"):
        engine.evaluate([{"kind": "x"}])
