"""Each durable-rules 2.0.28 hazard, shown real on the raw package and shown handled by
engine.Engine. Raw-package probes run in a subprocess (some crash the interpreter); the
Engine side runs in-process, on generic rules that know nothing about any drug.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import tomllib
from pathlib import Path
from typing import Any

import pytest

from engine import AlertRule, Derivation, Engine, EngineError, RulesetError, Severity, Source, c, m
from engine.runtime import fact_json

ROOT = Path(__file__).resolve().parents[1]
SRC = Source(document="test", excerpt="test")

# Two sids with the same 32-bit FNV-1a hash (state.c fnv1Hash32), found by hashing
# "check-0", "check-1", ... until two collided (a birthday search, ~760,000 strings).
COLLIDING_SIDS = ("check-579599", "check-762382")

# Deliberately minimal: the delete-without-action crash frees an uninitialised pointer, so it
# depends on the heap layout; importing more (even durable.lang) can hide it.
NAIVE_HOST = """
from durable import engine
seen = []
class Host(engine.Host):
    def _run(self):
        pass
    def get_action(self, name):
        return ACTIONS.get(name, lambda c: seen.append(name))
ACTIONS = {}
"""


def naive(body: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run raw durable-rules code in a fresh interpreter; crashes are return codes."""
    code = NAIVE_HOST + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def alert(rule_id: str, *when: Any, code: str = "HIT") -> AlertRule:
    return AlertRule(id=rule_id, code=code, severity=Severity.WARNING, when=when,
                     message="hit", suggestion="none", source=SRC)


def codes(engine: Engine, facts: list[dict[str, Any]]) -> list[str]:
    return [a.code for a in engine.evaluate(facts).alerts]


# -- delete-without-action segfault -----------------------------------------------------------
def test_deleting_a_session_where_no_action_ran_crashes_the_raw_package() -> None:
    proc = naive("""
        h = Host()
        h.register_rulesets({"r": {"a": {"all": [{"m": {"kind": "x"}}], "run": "a"}}})
        try:
            h.assert_fact("r", {"kind": "unmatched", "id": "1", "sid": "s1"})
        except engine.MessageNotHandledException:
            pass
        h.delete_state("r", "s1")
        h.assert_fact("r", {"kind": "x", "id": "2", "sid": "s2"})
        h.delete_state("r", "s2")
        print("survived")
    """)
    assert proc.returncode < 0 and "survived" not in proc.stdout  # killed by a signal


def test_engine_survives_checks_where_no_rule_matches() -> None:
    """The $start sentinel makes an action run in every session before it is deleted."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        from engine import AlertRule, Engine, Severity, Source, c, m
        rule = AlertRule(id="t.hit", code="HIT", severity=Severity.INFO,
                         when=(c.x << (m.kind == "x"),), message="hit", suggestion="-",
                         source=Source(document="d", excerpt="e"))
        e = Engine("probe", [rule])
        for i in range(200):
            assert e.evaluate([{"kind": "unmatched", "n": i}]).alerts == []
        assert [a.code for a in e.evaluate([{"kind": "x"}]).alerts] == ["HIT"]
        print("survived")
    """)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert "survived" in proc.stdout


# -- background threads -----------------------------------------------------------------------
def test_stock_host_starts_background_threads_and_engine_does_not() -> None:
    """The stock Host's dispatcher/timer threads scan deleted sessions and can steal a
    request's pending actions. Engine's host starts none: the thread count does not move."""
    proc = naive("""
        import threading
        before = threading.active_count()
        engine.Host()
        print(threading.active_count() - before)
    """)
    assert int(proc.stdout.strip()) >= 2
    before = threading.active_count()
    e = Engine("threads", [alert("t.hit", c.x << (m.kind == "x"))])
    for _ in range(20):
        e.evaluate([{"kind": "x"}])
    assert threading.active_count() == before


# -- sid collisions ---------------------------------------------------------------------------
def test_colliding_sids_leak_facts_between_live_raw_sessions() -> None:
    proc = naive(f"""
        h = Host()
        h.register_rulesets({{"r": {{"j": {{"all": [{{"a": {{"kind": "allergy"}}}},
                                                   {{"o": {{"kind": "order"}}}}], "run": "j"}}}}}})
        h.assert_fact("r", {{"kind": "allergy", "id": "1", "sid": "{COLLIDING_SIDS[0]}"}})
        try:
            h.assert_fact("r", {{"kind": "order", "id": "2", "sid": "{COLLIDING_SIDS[1]}"}})
        except engine.MessageNotHandledException:
            pass
        print(seen)
    """)
    assert proc.stdout.strip() == "['j']", "patient B's order joined patient A's allergy"


def test_engine_never_has_two_live_sessions(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same colliding sids, through Engine: each session is deleted before the next exists."""
    import engine.runtime as runtime

    sids = iter(COLLIDING_SIDS)
    monkeypatch.setattr(runtime, "uuid4", lambda: type("U", (), {"hex": next(sids)})())
    e = Engine("collide", [alert("t.join", c.a << (m.kind == "allergy"),
                                 c.o << (m.kind == "order"))])
    assert codes(e, [{"kind": "allergy"}]) == []
    assert codes(e, [{"kind": "order"}]) == []  # A's allergy is gone


# -- the 1024-session cap ---------------------------------------------------------------------
def test_raw_package_fails_past_1024_live_sessions() -> None:
    proc = naive("""
        h = Host()
        h.register_rulesets({"r": {"a": {"all": [{"m": {"kind": "x"}}], "run": "a"}}})
        for i in range(1100):
            h.assert_fact("r", {"kind": "x", "id": "1", "sid": f"s{i}"})
        print("survived")
    """)
    assert proc.returncode != 0 and "survived" not in proc.stdout
    assert "MemoryError" in proc.stderr or proc.returncode < 0


def test_engine_releases_every_session() -> None:
    e = Engine("cap", [alert("t.hit", c.x << (m.kind == "x"))])
    for i in range(3000):
        assert codes(e, [{"kind": "x", "n": i}]) == ["HIT"]


# -- swallowed action exceptions --------------------------------------------------------------
def test_raw_package_swallows_action_exceptions() -> None:
    proc = naive("""
        def broken(c):
            raise ZeroDivisionError("broken rule")
        ACTIONS["a"] = broken
        h = Host()
        h.register_rulesets({"r": {"a": {"all": [{"m": {"kind": "x"}}], "run": "a"}}})
        h.assert_fact("r", {"kind": "x", "id": "1", "sid": "s"})
        print("returned normally;", "exception" in h.get_state("r", "s"))
    """)
    assert proc.stdout.strip() == "returned normally; True"


def test_engine_fails_closed_when_a_rule_raises_and_recovers() -> None:
    def broken(_: Any) -> list[dict[str, Any]]:
        raise ZeroDivisionError("broken rule")

    e = Engine("raises", [
        Derivation(id="t.broken", when=(c.x << ((m.kind == "x") & (m.bad == True)),),  # noqa: E712
                   derive=broken),
        alert("t.hit", c.x << (m.kind == "x")),
    ])
    with pytest.raises(EngineError, match=r"t\.broken raised ZeroDivisionError"):
        e.evaluate([{"kind": "x", "bad": True}])
    assert codes(e, [{"kind": "x", "bad": False}]) == ["HIT"]


# -- lost derived facts -----------------------------------------------------------------------
def test_raw_package_loses_a_derived_fact_after_an_unmatched_one() -> None:
    proc = naive("""
        def derive(c):
            c.assert_fact({"kind": "unused", "id": "d1"})
            c.assert_fact({"kind": "band", "id": "d2"})
        ACTIONS["derive"] = derive
        h = Host()
        h.register_rulesets({"r": {"derive": {"all": [{"m": {"kind": "x"}}], "run": "derive"},
                                   "alert": {"all": [{"m": {"kind": "band"}}], "run": "alert"}}})
        h.assert_fact("r", {"kind": "x", "id": "1", "sid": "s"})
        print(seen)
    """)
    assert proc.stdout.strip() == "[]", "the alert on the second derived fact never fired"


def test_engine_keeps_every_derived_fact() -> None:
    e = Engine("derived", [
        Derivation(id="t.derive", when=(c.x << (m.kind == "x"),),
                   derive=lambda _: [{"kind": "unused"}, {"kind": "band"}]),
        alert("t.band", c.b << (m.kind == "band")),
    ])
    outcome = e.evaluate([{"kind": "x"}])
    assert [a.code for a in outcome.alerts] == ["HIT"]
    assert [d["kind"] for d in outcome.trace[0].derived] == ["unused", "band"]


# -- batch assert -----------------------------------------------------------------------------
def test_raw_batch_assert_drops_alerts_behind_an_unmatched_fact() -> None:
    proc = naive("""
        h = Host()
        h.register_rulesets({"r": {"a": {"all": [{"m": {"kind": "x"}}], "run": "a"}}})
        try:
            h.assert_facts("r", [{"kind": "unmatched", "id": "1", "sid": "s"},
                                 {"kind": "x", "id": "2", "sid": "s"}])
        except engine.MessageNotHandledException:
            print("raised")
        print(seen)
    """)
    assert proc.stdout.split() == ["raised", "[]"]


def test_engine_unmatched_facts_are_normal() -> None:
    e = Engine("batch", [alert("t.hit", c.x << (m.kind == "x"))])
    assert codes(e, [{"kind": "unmatched"}, {"kind": "x"}, {"kind": "unmatched"}]) == ["HIT"]


# -- the 64-sibling stack limit and the 512-test bucket ---------------------------------------
def test_raw_package_fails_with_error_303_past_64_matching_siblings() -> None:
    proc = naive("""
        h = Host()
        h.register_rulesets({"r": {f"r{i}": {"all": [{"m": {"$and": [{"kind": "x"},
                                                                      {"$gt": {"v": i}}]}}],
                                             "run": "a"} for i in range(70)}})
        try:
            h.assert_fact("r", {"kind": "x", "v": 100, "id": "1", "sid": "s"})
            print("ok")
        except Exception as exc:
            print(exc)
    """)
    assert "error code: 303" in proc.stdout


def test_lint_rejects_rulesets_past_the_stack_limit() -> None:
    rules = [alert(f"t.r{i}", c.x << ((m.kind == "x") & (m.v > i))) for i in range(70)]
    with pytest.raises(RulesetError, match="error 303"):
        Engine("siblings", rules)
    # Discriminating first tests keep the same number of rules legal.
    Engine("discriminating", [alert(f"t.k{i}", c.x << ((m.kind == f"k{i}") & (m.v > i)))
                              for i in range(70)])


def test_lint_rejects_too_many_tests_under_one_parent() -> None:
    rules = [alert(f"t.r{i}", c.x << ((m.kind == "x") & (m.v == i))) for i in range(600)]
    with pytest.raises(RulesetError, match="distinct tests under"):
        Engine("bucket", rules)


# -- registration: unknown keys and mutation --------------------------------------------------
def test_raw_registration_rejects_metadata_and_mutates_its_input() -> None:
    proc = naive("""
        try:
            Host().register_rulesets({"r": {"a": {"all": [{"m": {"kind": "x"}}], "run": "a",
                                                  "description": "metadata"}}})
        except Exception as exc:
            print(exc)
        d = {"r2": {"a": {"all": [{"m": {"kind": "x"}}], "run": "a"}}}
        Host().register_rulesets(d)
        print("run" in d["r2"]["a"])
    """)
    assert proc.stdout.splitlines() == ["Could not create ruleset, error code: 105", "False"]


def test_engine_keeps_metadata_outside_and_rules_reusable() -> None:
    rule = AlertRule(id="t.meta", code="HIT", severity=Severity.INFO,
                     when=(c.x << (m.kind == "x"),), message="hit", suggestion="-",
                     source=SRC, description="metadata stays in Python")
    first, second = Engine("meta1", [rule]), Engine("meta2", [rule])
    assert codes(first, [{"kind": "x"}]) == codes(second, [{"kind": "x"}]) == ["HIT"]


# -- numbers in exponent form (found here, not in the notes) ----------------------------------
def test_raw_package_rejects_exponent_numbers() -> None:
    proc = naive("""
        h = Host()
        h.register_rulesets({"r": {"a": {"all": [{"m": {"kind": "x"}}], "run": "a"}}})
        try:
            h.assert_fact("r", {"kind": "x", "v": 5e-05, "id": "1", "sid": "s"})
            print("ok")
        except Exception as exc:
            print(exc)
    """)
    assert "error code: 204" in proc.stdout


def test_engine_accepts_any_finite_number() -> None:
    e = Engine("numbers", [alert("t.small", c.x << ((m.kind == "x") & (m.v < 0.001)))])
    assert codes(e, [{"kind": "x", "v": 5e-05}]) == ["HIT"]
    assert codes(e, [{"kind": "x", "v": 1e16}]) == []
    assert fact_json({"v": 5e-05}) == '{"v":0.00005}'


# -- Python 3.13 ------------------------------------------------------------------------------
def test_python_313_is_excluded() -> None:
    """durable-rules calls PyEval_CallObject, removed in 3.13: installs must refuse it."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["requires-python"] == ">=3.11,<3.13"
