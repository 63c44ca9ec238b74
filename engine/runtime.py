"""The forward-chaining runtime: facts in, derived facts and alerts out, with a trace.

durable-rules 2.0.28 is used only through this module, because used naively it crashes the
process or silently drops alerts (see the hazard table in the project notes). Every
countermeasure below is named after the hazard it answers and is proved by a test in
tests/test_engine_hazards.py.
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from uuid import uuid4

from durable import engine as durable
from durable.lang import c, m  # re-exported for rule modules

from engine.errors import EngineError
from engine.lint import LintReport, lint
from engine.model import (
    Alert,
    AlertRule,
    Bindings,
    Derivation,
    Outcome,
    Rule,
    TraceEntry,
)

__all__ = ["Engine", "c", "m"]

log = logging.getLogger(__name__)

START_KIND = "$start"
END_KIND = "$end"
_SENTINEL_START = "engine.sentinel_start"
_SENTINEL_END = "engine.sentinel_end"

# Hazard "sid collisions" and "1024-session cap": the C engine is process-global, hashes sids to
# 32 bits and holds at most 1024 states. One lock for every Engine in the process keeps exactly
# one live session at a time; each is deleted before the lock is released.
_PROCESS_LOCK = threading.Lock()
_ids = itertools.count()


def fact_json(value: Any) -> str:
    """JSON for the C engine, which rejects exponent notation (error 204 on `5e-05` or `1e+16`,
    both of which Python's json writes): floats are written positionally instead."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"non-finite number {value!r} in a fact")
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text else text
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=False)}:{fact_json(v)}"
                              for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(fact_json(v) for v in value) + "]"
    raise TypeError(f"cannot put {type(value).__name__} in a fact")


def _plain_numbers(ruleset: Any) -> None:
    """Route every assert of this ruleset (input facts and facts derived inside actions, which
    call `ruleset.assert_fact`) through `fact_json`."""
    native = durable.durable_rules_engine

    def assert_fact(fact: Mapping[str, Any]) -> Any:
        return ruleset._handle_result(native.assert_fact(ruleset._handle, fact_json(fact)), fact)

    ruleset.assert_fact = assert_fact


class _Host(durable.Host):
    """Hazard "background-thread segfault": the stock Host starts dispatcher and timer threads
    that scan deleted sessions and steal pending actions. We run the agenda synchronously
    inside assert_fact, so no thread is ever needed."""

    def __init__(self, actions: Mapping[str, Callable[[Any], None]]):
        self._actions = actions
        super().__init__()

    def _run(self) -> None:
        return None

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        return self._actions[action_name]


@dataclass
class _Check:
    """Everything one evaluation accumulates; lives only while the process lock is held."""

    sid: str
    deadline: float
    firings: list[tuple[Rule, dict[str, dict[str, Any]], list[dict[str, Any]]]] = field(
        default_factory=list
    )
    derived_seq: itertools.count[int] = field(default_factory=itertools.count)
    error: str | None = None
    started: bool = False
    ended: bool = False


class Engine:
    """One registered ruleset. Build once per process at start-up; call `evaluate` per check.

    Threads may call `evaluate` concurrently: they serialise on the process lock (the C engine
    never releases the GIL, so threads would add no throughput anyway; scale with processes).
    """

    def __init__(self, name: str, rules: Sequence[Rule], *, budget_ms: float = 250.0) -> None:
        self.name = f"{name}_{next(_ids)}"
        self.rules: dict[str, Rule] = {r.id: r for r in rules}
        self.budget_s = budget_ms / 1000.0
        self._current: _Check | None = None
        definitions = {r.id: _definition(r) for r in rules}
        self.lint_report: LintReport = lint(rules, definitions)
        definitions[_SENTINEL_START] = {"all": [{"s": {"kind": START_KIND}}],
                                        "run": _SENTINEL_START}
        definitions[_SENTINEL_END] = {"all": [{"e": {"kind": END_KIND}}], "run": _SENTINEL_END}
        actions = {r.id: self._action(r) for r in rules}
        actions[_SENTINEL_START] = self._sentinel(start=True)
        actions[_SENTINEL_END] = self._sentinel(start=False)
        self._host = _Host(actions)
        # Hazard "register_rulesets mutates its input": pass a copy.
        self._host.register_rulesets({self.name: copy.deepcopy(definitions)})
        _plain_numbers(self._host.get_ruleset(self.name))

    # -- actions -------------------------------------------------------------------------
    def _sentinel(self, *, start: bool) -> Callable[[Any], None]:
        def action(closure: Any) -> None:
            check = self._current
            if check is None or closure.s.sid != check.sid:
                return
            if start:
                check.started = True
            else:
                check.ended = True

        return action

    def _action(self, rule: Rule) -> Callable[[Any], None]:
        def action(closure: Any) -> None:
            check = self._current
            if check is None or closure.s.sid != check.sid:
                # Another check's session: cannot happen under the lock; fail that check loudly.
                if check is not None:
                    check.error = f"rule {rule.id} fired for a foreign session"
                return
            if check.error is not None:
                return
            if time.perf_counter() > check.deadline:
                check.error = "time budget exceeded"
                return
            matched = {
                alias: {k: v for k, v in fact.items() if k != "sid"}
                for alias, fact in closure._m.items()
            }
            produced: list[dict[str, Any]] = []
            try:
                if isinstance(rule, Derivation):
                    for new in rule.derive(Bindings(matched, rule.params)):
                        fact = {**new, "id": f"d{next(check.derived_seq)}", "sid": check.sid}
                        produced.append({k: v for k, v in fact.items() if k != "sid"})
                        # Hazard "lost derived facts": a derived fact no rule wants raises
                        # MessageNotHandled and would abort the rest of this action; unique ids
                        # keep MessageObserved from happening, but it is equally harmless.
                        with suppress(
                            durable.MessageNotHandledException, durable.MessageObservedException
                        ):
                            closure.assert_fact(fact)
                check.firings.append((rule, matched, produced))
            except Exception as exc:  # the rule is broken: the whole check must fail closed
                check.error = f"rule {rule.id} raised {type(exc).__name__}: {exc}"

        return action

    # -- evaluation ----------------------------------------------------------------------
    def evaluate(self, facts: Sequence[Mapping[str, Any]]) -> Outcome:
        """Run one check in its own durable-rules state and always release it.

        Raises EngineError whenever the result cannot be trusted: an action raised (durable
        would park that in state["exception"] and carry on), the budget ran out, or the
        end sentinel never fired (the agenda did not run to the end).
        """
        sid = uuid4().hex
        payload = [
            {"kind": START_KIND, "id": "$start", "sid": sid},
            *({**f, "id": f.get("id") or f"i{n}", "sid": sid} for n, f in enumerate(facts)),
            {"kind": END_KIND, "id": "$end", "sid": sid},
        ]
        with _PROCESS_LOCK:
            check = _Check(sid=sid, deadline=time.perf_counter() + self.budget_s)
            self._current = check
            state: dict[str, Any] = {}
            try:
                for fact in payload:
                    # Hazard "batch assert drops alerts": one fact at a time, and a fact no
                    # rule wants is normal, not an error.
                    with suppress(durable.MessageNotHandledException):
                        self._host.assert_fact(self.name, fact)
                    if check.error is not None:
                        break
                state = self._host.get_state(self.name, sid)
            except Exception as exc:
                check.error = check.error or f"engine failure: {type(exc).__name__}: {exc}"
            finally:
                self._release(check)
                self._current = None
        # Hazard "swallowed action exceptions": durable parks them here instead of raising.
        if check.error is None and "exception" in state:
            check.error = f"rule action failed: {str(state['exception'])[:500]}"
        if check.error is None and not check.ended:
            check.error = "the rule agenda did not run to completion"
        if check.error is not None:
            raise EngineError(check.error)
        return self._outcome(check)

    def _release(self, check: _Check) -> None:
        # Hazard "delete-without-action segfault": deleting a session in which no action ran
        # frees an uninitialised pointer. The $start sentinel always fires first; if even that
        # failed we leak this one session rather than crash the process.
        if not check.started:
            log.error("engine session %s leaked: no action ran", check.sid)
            return
        try:
            self._host.delete_state(self.name, check.sid)
        except Exception as exc:  # the check already failed or will: keep the process alive
            check.error = check.error or f"could not release engine state: {exc}"

    # -- results -------------------------------------------------------------------------
    def _outcome(self, check: _Check) -> Outcome:
        trace: list[TraceEntry] = []
        alerts: list[tuple[int, Alert]] = []
        groups: dict[str, list[tuple[int, Bindings]]] = {}
        for step, (rule, matched, produced) in enumerate(check.firings, start=1):
            ids = {alias: str(f.get("id")) for alias, f in matched.items()}
            code = rule.code if isinstance(rule, AlertRule) else None
            trace.append(
                TraceEntry(step=step, rule_id=rule.id, matched=ids, derived=produced,
                           alert_code=code)
            )
            if isinstance(rule, AlertRule):
                bindings = Bindings(matched, rule.params)
                if rule.aggregate:
                    groups.setdefault(rule.id, []).append((step, bindings))
                else:
                    alerts.append((step, _render(rule, bindings, bindings)))
        for rule_id, items in groups.items():
            rule = self.rules[rule_id]
            assert isinstance(rule, AlertRule)
            many = [b for _, b in items]
            alerts.append((items[0][0], _render(rule, many, many)))

        superseded = {code: a.rule_id for _, a in alerts for code in _supersedes(self, a)}
        kept: list[tuple[int, Alert]] = []
        seen: set[tuple[str, str]] = set()
        dropped_steps: dict[int, str] = {}
        for step, alert in alerts:
            if alert.code in superseded:
                dropped_steps[step] = superseded[alert.code]
                continue
            key = (alert.code, alert.message)
            if key in seen:  # the same finding reached by two routes: say it once
                continue
            seen.add(key)
            kept.append((step, alert))
        if dropped_steps:
            trace = [
                t.model_copy(update={"suppressed_by": dropped_steps[t.step]})
                if t.step in dropped_steps
                else t
                for t in trace
            ]
        kept.sort(key=lambda sa: (-sa[1].severity.rank, sa[0]))
        return Outcome(alerts=[a for _, a in kept], trace=trace)


def _supersedes(engine: Engine, alert: Alert) -> tuple[str, ...]:
    rule = engine.rules[alert.rule_id]
    return rule.supersedes if isinstance(rule, AlertRule) else ()


def _text(text: Any, arg: Any) -> str:
    if callable(text):
        return str(text(arg))
    return str(text).format_map(arg)


def _render(rule: AlertRule, arg: Any, bindings: Any) -> Alert:
    """EngineError is the engine's only exception: a message, suggestion or evidence that
    cannot be produced (a missing field, a bad format, a raising callable) fails the check
    like a raising derivation, never as a stray exception callers do not map."""
    try:
        return _alert(rule, arg, bindings)
    except Exception as exc:
        raise EngineError(f"rule {rule.id} could not render its alert: "
                          f"{type(exc).__name__}: {exc}") from exc


def _alert(rule: AlertRule, arg: Any, bindings: Any) -> Alert:
    if rule.evidence is not None:
        evidence = rule.evidence(arg)
    elif isinstance(bindings, Bindings):
        evidence = {
            alias: {k: v for k, v in fact.items() if k not in ("id", "kind")}
            for alias, fact in bindings.facts.items()
        }
    else:
        evidence = {}
    return Alert(
        code=rule.code,
        severity=rule.severity,
        message=_text(rule.message, arg),
        suggestion=_text(rule.suggestion, arg),
        evidence=json.loads(json.dumps(evidence, default=str)),
        source=rule.source,
        rule_id=rule.id,
    )


def _definition(rule: Rule) -> dict[str, Any]:
    """The dict durable-rules registers: conditions and the action name only (hazard "error
    105 at registration": any metadata key there is rejected)."""
    conditions = [{cond.alias: cond.define()} for cond in rule.when]
    return {"all": conditions, "run": rule.id}
