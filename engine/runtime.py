"""The forward-chaining runtime: facts in, derived facts and alerts out, with a trace.

durable-rules 2.0.28 is used only through this module, because used naively it crashes the
process or silently drops alerts (see the hazard table in the project notes). Every
countermeasure below is named after the hazard it answers and is proved by a test in
tests/test_engine_hazards.py.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import orjson
from durable import engine as durable
from durable.lang import c, m  # re-exported for rule modules

from engine import evidence
from engine.errors import EngineError
from engine.facts import ENGINE_KEYS, UNTYPED, Fact, Record, Vocabulary, record, untyped_record_type
from engine.lint import LintReport, lint
from engine.model import (
    Alert,
    AlertRule,
    Derivation,
    Merge,
    Outcome,
    Rule,
    aliases,
    arguments,
)

__all__ = ["Engine", "c", "m"]

log = logging.getLogger(__name__)

START_KIND = "$start"
END_KIND = "$end"
_SENTINEL_START = "engine.sentinel_start"
_SENTINEL_END = "engine.sentinel_end"

# Hazard "sid collisions" and "1024-session cap": the C engine is process-global, hashes sids to
# 32 bits and holds at most 1024 states. One lock for every Engine in the process serialises
# checks; each Engine keeps at most one session, emptied (or deleted) before the lock is
# released.
_PROCESS_LOCK = threading.Lock()
_ids = itertools.count()
# Every check's facts carry the check's number under this key, which the actions verify: a
# fact left over from an earlier check in the reused session would fail the check loudly.
CHECK_KEY = "$check"
_check_numbers = itertools.count(1)
_session_numbers = itertools.count(1)


def _new_sid() -> str:
    """A new session's id: short, because every fact carries it and durable parses each fact
    twice (assert, retract) and writes it into every action's message. Unique in the process,
    more than the one live session per engine needs (sids that collide are one session)."""
    return f"s{next(_session_numbers)}"


def kind_key(kind: object) -> str:
    """The property every fact carries, named after its kind, that durable matches the kind on.

    durable's alpha network finds a node's children by the name of the property they test,
    never by its value (events.c handleAlpha). With every condition opening `kind == '...'`,
    each fact asserted, and each retracted, was compared with every kind any rule names (~50
    string comparisons through the generic expression evaluator), most of the C engine's
    work in a check. Registered conditions open on the existence of this property instead
    (`_keyed`), which is one hash lookup. Rules, the lint and the catalogue still read
    `kind == '...'`; the colon keeps the name apart from any declared field."""
    return f"kind:{kind}"


# orjson writes floats shortest-first like repr, tiny and huge ones with a signed exponent
# (1e-10, 1e+16), and NaN as null. A text holding "e-", "e+" or "null" (perhaps only inside a
# string, such as "pre-eclampsia": then it merely costs time) is written again value by value.
# Should orjson ever write an unsigned exponent, the engine would refuse the fact (error 204),
# the check would fail loudly, and tests/test_engine_hazards.py would say so.


def fact_json(value: Any) -> str:
    """JSON for the C engine, which rejects exponent notation (error 204 on `5e-05` or `1e+16`,
    both of which Python's json writes): floats are written positionally instead.

    One call to orjson first (the profile showed one json.dumps per key dominating a check);
    only a text that may hold an exponent, a NaN or a None, or a value orjson refuses, is
    written again value by value, which raises on a non-finite number."""
    if not isinstance(value, dict):
        return _fact_json(value)
    try:
        text = orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: surrogates, huge ints, unknown types
        return _fact_json(value)
    # Searched as str: `b"e-" in text` first tries the bytes as an integer and formats the
    # TypeError it then discards, which cost more than the dump itself.
    out = text.decode()
    if "e-" in out or "e+" in out or "null" in out:
        return _fact_json(value)
    return out


def _fact_json(value: Any) -> str:
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
        return (
            "{"
            + ",".join(
                f"{json.dumps(str(k), ensure_ascii=False)}:{_fact_json(v)}"
                for k, v in value.items()
            )
            + "}"
        )
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_fact_json(v) for v in value) + "]"
    raise TypeError(f"cannot put {type(value).__name__} in a fact")


_native = durable.durable_rules_engine
# Result codes of the C engine's assert calls (rules.h).
_OK, _NOT_HANDLED, _OBSERVED = 0, 1, 2


class _Host(durable.Host):  # type: ignore[misc]  # durable-rules ships no types
    """Hazard "background-thread segfault": the stock Host starts dispatcher and timer threads
    that scan deleted sessions and steal pending actions. We run the agenda synchronously
    in `Engine._run_agenda`, so no thread is ever needed. The host only registers rulesets:
    their actions are run by the engine, never through durable's Python dispatch."""

    def _run(self) -> None:
        return None

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        def not_here(_: Any) -> None:
            raise RuntimeError(f"action {action_name} must run through Engine.evaluate")

        return not_here


@dataclass
class _Check:
    """Everything one evaluation accumulates; lives only while the process lock is held."""

    sid: str
    number: int
    deadline: float  # time.perf_counter() past which the budget may be spent
    cpu_deadline: float  # time.thread_time() past which it is
    firings: list[tuple[Rule, dict[str, dict[str, Any]], list[dict[str, Any]]]] = field(
        default_factory=list
    )
    derived_seq: itertools.count[int] = field(default_factory=itertools.count)
    error: str | None = None
    started: bool = False
    ended: bool = False
    # What retracts every fact the session kept: its id and the session's (`_identity`).
    stored: list[str] = field(default_factory=list)
    # Every fact asserted, by id, as the rules read it (without the engine's keys): an action
    # takes its facts from here, found through the engine's message (`_read_message`).
    # Records are made once per fact and check, however many rules match it.
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    # The text each fact the session kept was asserted with, without the ending every fact of
    # the check shares (`end`), to its id: how an action's message is read (`_read_message`).
    texts: dict[str, str] = field(default_factory=dict)
    records: dict[str, Record] = field(default_factory=dict)
    # How the text of each of this check's facts ends: the keys that tie it to this check.
    end: str = field(init=False)
    session: str = field(init=False)  # the JSON of the session's key alone
    folds: dict[str, list[dict[str, dict[str, Any]]]] = field(default_factory=dict)
    results: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.session = f'"sid":{orjson.dumps(self.sid).decode()}'
        self.end = f'{self.session},"{CHECK_KEY}":{self.number}}}'


Action = Callable[[_Check, dict[str, dict[str, Any]]], None]


class Engine:
    """One registered ruleset. Build once per process at start-up; call `evaluate` per check.

    Threads may call `evaluate` concurrently: they serialise on the process lock (the C engine
    never releases the GIL, so threads would add no throughput anyway; scale with processes).

    The agenda is driven here with durable's low-level calls (assert, start action, complete
    and start the next) instead of its Python dispatch, which per action built a Closure, read
    the clock twice, wrote the whole state back as JSON and read it again at the end: that
    glue, not the matching, dominated a check. The order of assertion and firing is the same.

    Each Engine keeps one durable session and reuses it from check to check (`_release`):
    creating a session per check cost more than a small check itself and every check
    touched ~2 MB of fresh memory, evicting the CPU caches the rest of the request needed.
    """

    def __init__(
        self,
        name: str,
        rules: Sequence[Rule],
        *,
        budget_ms: float = 250.0,
        merges: Mapping[str, Merge] | None = None,
        vocabulary: Vocabulary | None = None,
    ) -> None:
        """`merges`: for a code whose alerts, when several rules raise it in one check, are
        merged into one (by the function given) instead of keeping the most severe.
        `vocabulary`: the declared fact kinds; every field a rule reads is resolved against it
        at start-up, and every fact a check asserts must be of a declared kind with declared
        fields. Without one, facts are untyped (the engine's own tests)."""
        self.name = f"{name}_{next(_ids)}"
        self.rules: dict[str, Rule] = {r.id: r for r in rules}
        self.budget_s = budget_ms / 1000.0
        self.merges: dict[str, Merge] = dict(merges or {})
        self.vocabulary = vocabulary or UNTYPED
        definitions = {r.id: _definition(r) for r in rules}
        self.lint_report: LintReport = lint(
            rules, definitions, merges=self.merges, vocabulary=self.vocabulary
        )
        self._records: dict[str, type[Record]] = self.vocabulary.record_types()
        self._fields: dict[str, frozenset[str]] = {
            kind: frozenset(model.model_fields) | ENGINE_KEYS
            for kind, model in self.vocabulary.kinds.items()
        }
        self._arguments: dict[int, tuple[str, ...] | None] = {}
        self._folds = [r for r in rules if isinstance(r, Derivation) and r.fold]
        self._result_kinds = frozenset(
            k for k in self.vocabulary.kinds if self.vocabulary.is_result(k)
        )
        definitions[_SENTINEL_START] = {
            "all": [{"s": {"kind": START_KIND}}],
            "run": _SENTINEL_START,
        }
        definitions[_SENTINEL_END] = {"all": [{"e": {"kind": END_KIND}}], "run": _SENTINEL_END}
        self._actions: dict[str, Action] = {r.id: self._action(r) for r in rules}
        self._actions[_SENTINEL_START] = _sentinel_start
        self._actions[_SENTINEL_END] = _sentinel_end
        self._host = _Host()
        # Hazard "register_rulesets mutates its input": pass a copy.
        self._host.register_rulesets({self.name: _keyed(copy.deepcopy(definitions))})
        self._handle: int = self._host.get_ruleset(self.name)._handle
        # The session checks reuse, once an action has run in it (so it may be deleted):
        # creating one costs ~80 us and touches ~2 MB (a frame pool and two 4 KB indexes per
        # rule condition, state.c createStateNode), more than asserting and retracting a
        # check's facts.
        self._session: str | None = None

    # -- actions -------------------------------------------------------------------------
    def _action(self, rule: Rule) -> Action:
        """The function durable's agenda runs for the rule: it runs once per firing, so what
        can be known of the rule is looked up here, once."""
        handle = self
        fold = isinstance(rule, Derivation) and rule.fold
        derive = rule.derive if isinstance(rule, Derivation) and not fold else None
        results = self._result_kinds
        bind = self._binder(rule, derive) if derive is not None else None

        def action(check: _Check, matched: dict[str, dict[str, Any]]) -> None:
            if check.error is not None:
                return
            # The budget bounds the rules' own work (a runaway chain), not the machine's load: a
            # check is stopped once it has used the budget in CPU time. Waiting for a core (a
            # busy host, a cgroup's CPU quota) does not count, or a loaded machine would
            # answer "not completed" to checks it can answer. The CPU clock is a system call;
            # the wall clock, which is not, is read first.
            if time.perf_counter() > check.deadline and time.thread_time() > check.cpu_deadline:
                check.error = "time budget exceeded"
                return
            produced: list[dict[str, Any]] = []
            try:
                if fold:
                    check.folds.setdefault(rule.id, []).append(matched)
                elif derive is not None and bind is not None:
                    for new in derive(**bind(matched, check)):
                        fact = handle._fact(rule, new)
                        fact["id"] = f"d{next(check.derived_seq)}"
                        produced.append(fact)
                        if fact["kind"] in results:
                            check.results.setdefault(fact["kind"], []).append(fact)
                        else:
                            handle._assert_derived(check, fact)
                check.firings.append((rule, matched, produced))
            except Exception as exc:  # the rule is broken: the whole check must fail closed
                # The exception's text may quote the facts (patient data): it goes to the
                # DEBUG log only; the error that callers log names the rule and the type.
                log.debug("rule %s raised", rule.id, exc_info=True)
                check.error = f"rule {rule.id} raised {type(exc).__name__}"

        return action

    # -- rule functions ------------------------------------------------------------------
    def _record(self, fact: dict[str, Any], check: _Check | None = None) -> Record:
        """The fact as rule functions read it; once per fact in a check (by its id)."""
        if check is not None:
            made = check.records.get(fact["id"])
            if made is not None:
                return made
        kind = str(fact.get("kind"))
        kind_type = self._records.get(kind)
        if kind_type is None:
            kind_type = self._records[kind] = untyped_record_type(kind)
        made = record(kind_type, fact)
        if check is not None:
            check.records[fact["id"]] = made
        return made

    def _scope(
        self, rule: Rule, matched: Mapping[str, dict[str, Any]], check: _Check
    ) -> dict[str, Any]:
        """What a rule's functions and templates read: a record per alias, and the params."""
        scope: dict[str, Any] = dict(rule.params)
        for alias, fact in matched.items():
            scope[alias] = self._record(fact, check)
        return scope

    def _binder(
        self, rule: Rule, fn: Callable[..., Any]
    ) -> Callable[[Mapping[str, dict[str, Any]], _Check], dict[str, Any]]:
        """The keyword arguments of `fn` for one firing of the rule, as `_call(fn, _scope(...))`
        gives them, with what can be known of the rule looked up once: which argument is an
        alias (the record of its fact) and which a param. A derivation runs once per firing,
        and building the whole scope then picking from it was a tenth of a firing's glue."""
        names = arguments(fn)
        if names is None:
            return lambda matched, check: self._scope(rule, matched, check)
        own = set(aliases(rule))
        params = dict(rule.params)
        record = self._record
        # (name, True) reads the matched fact's record; (name, False) the param's value. A
        # name that is neither fails the firing (KeyError), as with the whole scope.
        binding = tuple((name, name in own) for name in names)

        def bind(matched: Mapping[str, dict[str, Any]], check: _Check) -> dict[str, Any]:
            return {
                name: record(matched[name], check) if alias else params[name]
                for name, alias in binding
            }

        return bind

    def _call(self, fn: Callable[..., Any], scope: Mapping[str, Any]) -> Any:
        key = id(fn)
        if key not in self._arguments:
            self._arguments[key] = arguments(fn)
        names = self._arguments[key]
        if names is None:
            return fn(**scope)
        return fn(**{name: scope[name] for name in names})

    def _fact(self, rule: Rule, new: Any) -> dict[str, Any]:
        """A derived fact as the engine asserts it, checked against the vocabulary: a new
        dict, which the caller may complete."""
        if isinstance(new, Fact):
            return new.as_fact()
        if not isinstance(new, Mapping) or not isinstance(new.get("kind"), str):
            raise TypeError(f"{rule.id} derived {type(new).__name__}, not a fact with a kind")
        fact = dict(new)
        self._check_fields(fact)
        return fact

    def _check_fields(self, fact: Mapping[str, Any]) -> None:
        if not self.vocabulary.typed:
            return
        allowed = self._fields.get(fact.get("kind"))  # type: ignore[arg-type]
        if allowed is None:
            raise TypeError(f"fact kind {fact.get('kind')!r} is not declared")
        if not fact.keys() <= allowed:
            unknown = fact.keys() - allowed
            raise TypeError(
                f"fields {sorted(unknown)} are not declared for kind {fact.get('kind')!r}"
            )

    def _assert_derived(self, check: _Check, fact: dict[str, Any]) -> None:
        # Hazard "lost derived facts": a derived fact no rule wants is normal. One the engine
        # says it has "already observed" cannot be a repeat (every fact has its own id): its id
        # hashes like a stored fact's (FNV-1a, 32 bits), and the fact was dropped. Raising
        # here makes the action fail the check instead of answering without it. The rules
        # that match a derived fact fire from the agenda loop.
        head = _fact_head(fact)
        code, _ = _native.assert_fact(self._handle, head + check.end)
        if code == _OK:
            # The engine names derived facts (`d<n>`): their id needs no escaping.
            check.stored.append(f'{{"id":"{fact["id"]}",{check.session}}}')
            check.facts[fact["id"]] = fact
            check.texts[head] = fact["id"]
        elif code != _NOT_HANDLED:
            raise RuntimeError(
                f"the engine dropped derived fact {fact.get('id')!r} (code {code}:"
                " its id collides with a stored fact's)"
            )

    def _run_agenda(self, check: _Check, state: int) -> None:
        """Fire every pending action of the session, including those that derived facts
        queue, until none is left (durable picks the lowest-indexed rule first)."""
        result = _native.start_action_for_state(self._handle, state)
        if result is None:
            return
        messages: str | None = result[1]
        while messages is not None:
            try:
                firing = _read_message(messages, check)
                if firing is None:
                    firing = _parse_message(messages, check)
                if firing is not None:
                    self._actions[firing[0]](check, firing[1])
            except BaseException:
                _native.abandon_action(self._handle, state)
                raise
            messages = _native.complete_and_start_action(self._handle, state)

    # -- evaluation ----------------------------------------------------------------------
    def evaluate(self, facts: Sequence[Mapping[str, Any]]) -> Outcome:
        """Run one check in the engine's session and leave that empty (or delete it).

        The session is reused only after a completed check retracted every fact it stored
        and the session read empty; its facts carry the check's number, which every action
        verifies (`_release`, `_action`).

        Raises EngineError whenever the result cannot be trusted: an action raised (durable's
        own dispatch would park that in state["exception"] and carry on; ours records it),
        the budget ran out, a fact was refused, or the end sentinel never fired (the agenda
        did not run to the end)."""
        if self.vocabulary.typed:
            try:
                for fact in facts:
                    self._check_fields(fact)
            except TypeError as exc:
                raise EngineError(f"input fact refused: {exc}") from None
        number = next(_check_numbers)
        with _PROCESS_LOCK:
            # A reused session has run actions already: the $start sentinel, there only so that
            # a session in which no rule fired is never deleted, is asserted in new ones only.
            reused = self._session is not None
            sid = self._session or _new_sid()
            check = _Check(
                sid=sid,
                number=number,
                deadline=time.perf_counter() + self.budget_s,
                cpu_deadline=time.thread_time() + self.budget_s,
                started=reused,
            )
            payload = [
                *([] if reused else [{"kind": START_KIND, "id": "$start"}]),
                *({**f, "id": f.get("id") or f"i{n}"} for n, f in enumerate(facts)),
                {"kind": END_KIND, "id": "$end"},
            ]
            try:
                for fact in payload:
                    # Hazard "batch assert drops alerts": one fact at a time, and a fact no
                    # rule wants is normal, not an error.
                    head = _fact_head(fact)
                    code, state = _native.assert_fact(self._handle, head + check.end)
                    if code == _NOT_HANDLED:
                        continue
                    if code != _OK:
                        check.error = f"the engine refused a fact (code {code})"
                        break
                    check.stored.append(_identity(fact, check))
                    check.facts[fact["id"]] = fact
                    check.texts[head] = fact["id"]
                    self._run_agenda(check, state)
                    if check.error is not None:
                        break
                if check.error is None:
                    self._conclude(check)
            except Exception as exc:
                check.error = check.error or f"engine failure: {type(exc).__name__}: {exc}"
            finally:
                self._release(check)
        if check.error is None and not check.ended:
            check.error = "the rule agenda did not run to completion"
        if check.error is not None:
            raise EngineError(check.error)
        return self._outcome(check)

    def _release(self, check: _Check) -> None:
        """Leave the session empty for the next check, or delete it.

        A check that completed retracts every fact it stored, and the session must then hold
        none: the next check reuses it. Anything else (a failed check, a retraction refused,
        a fact left behind) deletes the whole session; the next check starts a new one.
        """
        # Hazard "delete-without-action segfault": deleting a session in which no action ran
        # frees an uninitialised pointer. The $start sentinel always fires first; if even that
        # failed in a new session we leak it rather than crash the process.
        if check.started:
            self._session = check.sid
        if self._session is None:
            log.error("engine session %s leaked: no action ran", check.sid)
            return
        if check.error is None and check.ended and self._emptied(check):
            return
        self._session = None
        try:
            _native.delete_state(self._handle, check.sid)
        except Exception as exc:  # the check already failed or will: keep the process alive
            check.error = check.error or f"could not release engine state: {exc}"

    def _emptied(self, check: _Check) -> bool:
        """Retract the check's facts, newest first; True if the session then holds nothing.
        No rule negates a fact, so a retraction queues no action; one that did would leave
        the session to be deleted."""
        try:
            state = None
            for text in reversed(check.stored):
                code, state = _native.retract_fact(self._handle, text)
                if code != _OK:
                    return False
            if state is not None and _native.start_action_for_state(self._handle, state):
                _native.abandon_action(self._handle, state)
                return False
            return bool(_native.get_facts(self._handle, check.sid) == "[]")
        except Exception:
            log.exception("engine session %s could not be emptied", check.sid)
            return False

    # -- results -------------------------------------------------------------------------
    def _conclude(self, check: _Check) -> None:
        """Run the folds, in rule order, each once over every firing it had: what they derive
        are results of the check, never matched by a rule (the lint keeps conditions off
        result kinds), so no fold can change what another rule saw."""
        for rule in self._folds:
            firings = check.folds.get(rule.id)
            if not firings:
                continue
            scope: dict[str, Any] = dict(rule.params)
            for alias in firings[0]:
                scope[alias] = [self._record(f[alias], check) for f in firings]
            try:
                produced = []
                for new in self._call(rule.derive, scope):
                    fact = {**self._fact(rule, new), "id": f"d{next(check.derived_seq)}"}
                    if fact["kind"] not in self._result_kinds:
                        raise TypeError(
                            f"a fold may derive result kinds only, not {fact['kind']!r}"
                        )
                    check.results.setdefault(fact["kind"], []).append(fact)
                    produced.append(fact)
            except Exception as exc:
                log.debug("fold %s raised", rule.id, exc_info=True)
                check.error = f"rule {rule.id} raised {type(exc).__name__}"
                return
            # The trace shows what a fold concluded on its first firing.
            first = next(f for f in check.firings if f[0] is rule)
            first[2].extend(produced)

    def _outcome(self, check: _Check) -> Outcome:
        """The alerts the check reports: at most one per code, and the results it concluded.

        Superseded rules are dropped first (`supersedes`, `supersedes_rules`), then the results
        a reported alert withholds; aggregate rules fold their firings into one alert. When
        several alerts remain under one code (two rules reaching the same finding, or a rule
        firing on several facts), a code with a declared merge gets one merged alert, any
        other keeps its most severe alert, the first to fire among equals. The trace keeps
        every firing and says what became of its alert."""
        fired: dict[str, list[tuple[int, dict[str, dict[str, Any]]]]] = {}
        for step, (rule, matched, _) in enumerate(check.firings, start=1):
            if isinstance(rule, AlertRule):
                fired.setdefault(rule.id, []).append((step, matched))
        suppressed: dict[int, str] = {}
        merged: dict[int, str] = {}
        superseded = self._superseded(fired)
        withheld = {
            kind
            for rule_id in fired
            if rule_id not in superseded
            for kind in self._alert_rule(rule_id).withholds
        }
        results = {
            kind: [{k: v for k, v in f.items() if k not in ("id", "kind")} for f in facts]
            for kind, facts in check.results.items()
            if kind not in withheld
        }
        # (first step, steps it covers, alert) for every alert still reported, firing order.
        alerts: list[tuple[int, list[int], Alert]] = []
        for rule_id, items in fired.items():
            rule = self._alert_rule(rule_id)
            if rule_id in superseded:
                suppressed.update((step, superseded[rule_id]) for step, _ in items)
                continue
            attached = self._attached(rule, check, withheld)
            if rule.aggregate:
                scope: dict[str, Any] = {**rule.params, **attached}
                for alias in items[0][1]:
                    scope[alias] = [self._record(matched[alias], check) for _, matched in items]
                alerts.append((items[0][0], [s for s, _ in items], self._render(rule, scope, {})))
            else:
                alerts.extend(
                    (
                        step,
                        [step],
                        self._render(
                            rule, {**self._scope(rule, matched, check), **attached}, matched
                        ),
                    )
                    for step, matched in items
                )
        alerts.sort(key=lambda a: a[0])

        by_code: dict[str, list[tuple[int, list[int], Alert]]] = {}
        for entry in alerts:
            by_code.setdefault(entry[2].code, []).append(entry)
        kept: list[tuple[int, Alert]] = []
        for code, same in by_code.items():
            if len(same) == 1:
                kept.append((same[0][0], same[0][2]))
            elif code in self.merges:
                alert = _merge(self.merges[code], code, [a for _, _, a in same])
                kept.append((same[0][0], alert))
                # Every firing but the reported rule's first alert was merged into it.
                merged.update(
                    (s, alert.rule_id)
                    for n, (_, steps, a) in enumerate(same)
                    if n or a.rule_id != alert.rule_id
                    for s in steps
                )
            else:
                first, _, best = max(same, key=lambda a: (a[2].severity.rank, -a[0]))
                kept.append((first, best))
                suppressed.update(
                    (s, best.rule_id) for step, steps, _ in same if step != first for s in steps
                )
        kept.sort(key=lambda sa: (-sa[1].severity.rank, sa[0]))
        firings = [
            (
                rule.id,
                matched,
                produced,
                rule.code if isinstance(rule, AlertRule) else None,
                suppressed.get(step),
                merged.get(step),
            )
            for step, (rule, matched, produced) in enumerate(check.firings, start=1)
        ]
        return Outcome.of([a for _, a in kept], firings, results)

    def _alert_rule(self, rule_id: str) -> AlertRule:
        rule = self.rules[rule_id]
        assert isinstance(rule, AlertRule)
        return rule

    def _attached(
        self, rule: AlertRule, check: _Check, withheld: set[str]
    ) -> dict[str, Record | None]:
        if not rule.attach:
            return {}
        out: dict[str, Record | None] = {}
        for alias, kind in rule.attach.items():
            facts = [] if kind in withheld else check.results.get(kind, [])
            if len(facts) > 1:
                raise EngineError(
                    f"rule {rule.id} attaches {kind!r}, which the check "
                    f"concluded {len(facts)} times"
                )
            out[alias] = self._record(dict(facts[0])) if facts else None
        return out

    def _render(
        self, rule: AlertRule, scope: dict[str, Any], matched: Mapping[str, Mapping[str, Any]]
    ) -> Alert:
        """EngineError is the engine's only exception: a message, suggestion or evidence that
        cannot be produced (a missing field, a bad format, a raising function) fails the check
        like a raising derivation, never as a stray exception callers do not map."""
        try:
            return self._alert(rule, scope, matched)
        except Exception as exc:
            log.debug("rule %s could not render its alert", rule.id, exc_info=True)
            raise EngineError(
                f"rule {rule.id} could not render its alert: {type(exc).__name__}"
            ) from exc

    def _text(self, rule: AlertRule, name: str, scope: dict[str, Any]) -> str:
        template = rule.templates.get(name)
        if template is not None:
            return template.render(scope)
        return str(self._call(getattr(rule, name), scope))

    def _alert(
        self, rule: AlertRule, scope: dict[str, Any], matched: Mapping[str, Mapping[str, Any]]
    ) -> Alert:
        items = rule.evidence_items
        if items is not None:
            shown: Any = evidence.gather(items, scope)
        elif callable(rule.evidence):
            shown = self._call(rule.evidence, scope)
            if not isinstance(shown, Mapping):
                raise TypeError(f"evidence of {rule.id} is not a mapping")
            shown = dict(shown)
        else:
            shown = {alias: evidence.whole(fact) for alias, fact in matched.items()}
        return Alert(
            code=rule.code,
            severity=rule.severity,
            message=self._text(rule, "message", scope),
            suggestion=self._text(rule, "suggestion", scope),
            evidence=_plain_json(shown),
            source=rule.source,
            rule_id=rule.id,
        )

    def _superseded(self, fired: Mapping[str, Any]) -> dict[str, str]:
        """Rule id -> the fired rule that supersedes it (by its code or by its id)."""
        out: dict[str, str] = {}
        for rule_id in fired:
            rule = self._alert_rule(rule_id)
            if not (rule.supersedes or rule.supersedes_rules):
                continue
            for other_id in fired:
                other = self._alert_rule(other_id)
                if (
                    other_id != rule_id
                    and other_id not in out
                    and (other.code in rule.supersedes or other_id in rule.supersedes_rules)
                ):
                    out[other_id] = rule_id
        return out


def _merge(merge: Merge, code: str, alerts: list[Alert]) -> Alert:
    """A declared merge of one code's alerts; a failure, or an alert of another code, fails
    the check like a rule that cannot render its alert."""
    try:
        alert = merge(alerts)
    except Exception as exc:
        log.debug("merging the %s alerts failed", code, exc_info=True)
        raise EngineError(f"the {code} alerts could not be merged: {type(exc).__name__}") from exc
    if not isinstance(alert, Alert) or alert.code != code:
        raise EngineError(f"the merge of the {code} alerts did not return a {code} alert")
    return alert


def _identity(fact: Mapping[str, Any], check: _Check) -> str:
    """What retracts a stored fact: its id and its session. durable finds the fact to retract
    by these two alone (events.c handleMessageCore: the message index by id, then the frames
    the fact reached), never by matching its fields again, and parsing the whole fact a
    second time was half of a retraction. A text that finds nothing retracts nothing, and
    the session then does not read empty: it is deleted (`_release`)."""
    try:
        key = orjson.dumps(fact["id"]).decode()
    except TypeError:  # what orjson refuses, fact_json writes another way; so does this
        key = _fact_json(fact["id"])
    return f'{{"id":{key},{check.session}}}'


def _fact_head(fact: dict[str, Any]) -> str:
    """The fact as asserted, but for the ending every fact of its check shares (`_Check.end`,
    its check's session and number): its JSON and its kind's key, appended to the text rather
    than to a copy of the fact (a fact always has an id)."""
    return f"{fact_json(fact)[:-1]},{_kind_mark(fact.get('kind'))},"


@functools.lru_cache(maxsize=1024)
def _kind_mark(kind: object) -> str:
    return f"{json.dumps(kind_key(kind), ensure_ascii=False)}:1"


# One firing read from durable's message: the rule, and the facts it matched by alias.
_Fired = tuple[str, dict[str, dict[str, Any]]]


def _read_message(text: str, check: _Check) -> _Fired | None:
    """The rule and the check's facts it matched, from durable's message for one firing,
    without parsing it; None when it cannot be read so (`_parse_message` then decides).

    durable writes a firing as `{"<rule>":{"<alias>":<fact>,...}}`, each fact the very text
    it was asserted with (state.c serializeResultFrame), which ends with this check's session
    and number (`_Check.end`). Split at that ending, the message is a piece per fact, each
    `{"<alias>":` or `,"<alias>":` and the fact's text up to the ending, and the close `}}`.
    Each text is looked up among the texts this check asserted: found, it is the check's own
    fact, byte for byte. Parsing every message built a dict per matched fact that no action
    read (2-3 % of a heavy check's time); walking it with two searches and a slice per fact
    instead of one split cost 1.3-1.9 % of a check's instructions more. A fact of another
    check is never found (its number differs), nor one whose text holds the ending inside
    (a nested value): the message is then parsed."""
    pieces = text.split(check.end)
    if len(pieces) < 2 or pieces[-1] != "}}" or not text.startswith('{"'):
        return None
    first = pieces[0]
    at = first.find('":{"', 2)
    if at < 0:
        return None
    rule_id = first[2:at]
    pieces[0] = first[at + 2 :]
    texts, facts = check.texts, check.facts
    matched: dict[str, dict[str, Any]] = {}
    opening = "{"
    for piece in pieces[:-1]:
        name_end = piece.find('":', 2)
        if name_end < 0 or not piece.startswith(opening) or piece[1] != '"':
            return None
        fact_id = texts.get(piece[name_end + 2 :])
        if fact_id is None:
            return None
        matched[piece[2:name_end]] = facts[fact_id]
        opening = ","
    return rule_id, matched


def _parse_message(text: str, check: _Check) -> _Fired | None:
    """A message `_read_message` could not read, parsed: the rule and its facts if each is
    one of this check's; otherwise the check fails (None), for a fact of another check means
    the session was not emptied."""
    ((rule_id, message),) = orjson.loads(text).items()
    matched: dict[str, dict[str, Any]] = {}
    for alias, fact in message.items():
        own = check.facts.get(fact.get("id"))
        if own is None or fact.get("sid") != check.sid or fact.get(CHECK_KEY) != check.number:
            check.error = f"rule {rule_id} matched a fact of another check"
            return None
        matched[alias] = own
    return rule_id, matched


def _sentinel_start(check: _Check, matched: dict[str, dict[str, Any]]) -> None:
    check.started = True


def _sentinel_end(check: _Check, matched: dict[str, dict[str, Any]]) -> None:
    check.ended = True


_NATIVE_ONLY = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def _plain_json(value: Any) -> Any:
    """Evidence as plain JSON values (what the API serialises). orjson for the usual case;
    anything it would write differently from json (a date, a dataclass, a non-string key: it
    refuses them here; NaN, which it writes as null) takes the json path, str() as default."""
    try:
        text = orjson.dumps(value, option=_NATIVE_ONLY)
    except TypeError:
        text = b"null"
    if b"null" in text:
        return json.loads(json.dumps(value, default=str))
    return orjson.loads(text)


def _definition(rule: Rule) -> dict[str, Any]:
    """The dict durable-rules registers: conditions and the action name only (hazard "error
    105 at registration": any metadata key there is rejected)."""
    conditions = [{cond.alias: cond.define()} for cond in rule.when]
    return {"all": conditions, "run": rule.id}


def _keyed(definitions: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The definitions as registered: each condition's first test, `kind == '...'` (the lint
    has made sure of it), becomes the existence of the kind's key (`kind_key`)."""

    def opening(expr: dict[str, Any]) -> dict[str, Any]:
        if list(expr) == ["$and"]:
            return {"$and": [opening(expr["$and"][0]), *expr["$and"][1:]]}
        if list(expr) == ["kind"]:
            return {"$ex": {kind_key(expr["kind"]): 1}}
        raise ValueError(f"a condition does not open with its kind: {expr!r}")

    for definition in definitions.values():
        definition["all"] = [
            {alias: opening(expr) for alias, expr in cond.items()} for cond in definition["all"]
        ]
    return definitions
