"""Start-up lint of a ruleset against durable-rules' hard limits and our conventions.

A rule added later must fail the boot, not a patient's check. The limits come from the
released C engine (2.0.28): `MAX_STACK_SIZE 64` in events.c (one fact may push at most 64
matching alpha nodes; beyond that every assert fails with error 303), `NEXT_BUCKET_LENGTH 512`
(512+ distinct tests under one parent hang `register_rulesets`), 4096 rules per ruleset, 16
facts joined per rule, 32 operations per condition (`MAX_SEQUENCE_EXPRESSIONS`).
"""

from __future__ import annotations

import json
import math
import re
import types
import typing
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine import evidence
from engine.errors import RulesetError
from engine.facts import UNTYPED, Fact, Vocabulary
from engine.model import RESERVED_NAMES, AlertRule, Derivation, Rule, aliases, arguments
from engine.template import Template

MAX_STACK_SIZE = 64
NEXT_BUCKET_LENGTH = 512
MAX_RULES = 4096
MAX_FACTS_PER_RULE = 16
MAX_OPERATIONS_PER_CONDITION = 32
# Headroom kept under the C limits so that a near-miss is caught before it bites.
STACK_BUDGET = MAX_STACK_SIZE - 8
BUCKET_BUDGET = NEXT_BUCKET_LENGTH // 2

_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")
_CODE = re.compile(r"^[A-Z][A-Z0-9_]*$")
_ALIAS = re.compile(r"^[a-z][a-z0-9_]*$")
_LOGICAL = ("$and", "$or")


@dataclass
class _Node:
    children: dict[str, _Node] = field(default_factory=dict)


@dataclass(frozen=True)
class LintReport:
    rules: int
    max_stack_estimate: int
    max_children: int


def _paths(expr: Mapping[str, Any]) -> list[list[str]]:
    """Alpha-node chains the C engine builds for one fact condition (`$or` = alternatives)."""
    if len(expr) != 1:
        # {"a": 1, "b": 2} is not produced by durable's DSL; treat each key as a test in order.
        return [[json.dumps({k: v}, sort_keys=True) for k, v in expr.items()]]
    ((op, arg),) = expr.items()
    if op == "$and":
        paths: list[list[str]] = [[]]
        for part in arg:
            paths = [p + q for p in paths for q in _paths(part)]
        return paths
    if op == "$or":
        return [p for part in arg for p in _paths(part)]
    return [[json.dumps(expr, sort_keys=True)]]


def _operations(expr: Any) -> int:
    if isinstance(expr, Mapping):
        return sum(1 + _operations(v) for k, v in expr.items() if k not in _LOGICAL) + sum(
            _operations(v) for k, v in expr.items() if k in _LOGICAL
        )
    if isinstance(expr, list):
        return sum(_operations(v) for v in expr)
    return 0


def _exponent_constants(expr: Any) -> list[float]:
    """Constants durable would register in exponent form: it writes conditions with
    json.dumps (5e-05, 1e+16; NaN, Infinity), and the C engine refuses the ruleset with a bare
    error 204 that names no rule."""
    if isinstance(expr, float):
        return [expr] if "e" in repr(expr) or not math.isfinite(expr) else []
    if isinstance(expr, Mapping):
        return [x for v in expr.values() for x in _exponent_constants(v)]
    if isinstance(expr, list):
        return [x for v in expr for x in _exponent_constants(v)]
    return []


def _first_kind(expr: Mapping[str, Any]) -> str | None:
    first = expr
    while len(first) == 1 and next(iter(first)) == "$and":
        first = first["$and"][0]
    if len(first) == 1 and "kind" in first and isinstance(first["kind"], str):
        return str(first["kind"])
    return None


def _value_refs(value: Any) -> Iterator[tuple[str, str]]:
    """References to other facts inside a compared value: `c.prev.seq + 1`."""
    if isinstance(value, Mapping):
        if len(value) == 1:
            ((key, inner),) = value.items()
            if not key.startswith("$") and isinstance(inner, str):
                yield key, inner
                return
        for inner in value.values():
            yield from _value_refs(inner)


def _field_refs(expr: Any) -> Iterator[tuple[str | None, str]]:
    """(alias or None for the condition's own fact, field) for every field a condition
    reads, from the dict durable-rules registers."""
    if not isinstance(expr, Mapping):
        return
    for key, value in expr.items():
        if key in _LOGICAL:
            for part in value:
                yield from _field_refs(part)
        elif key.startswith("$"):
            if isinstance(value, Mapping):
                for name, compared in value.items():
                    yield None, name
                    yield from _value_refs(compared)
        else:
            yield None, key
            yield from _value_refs(value)


def _pushes(children: Mapping[str, _Node]) -> int:
    """How many children one fact can push at once: equality tests on one property against
    different constants exclude each other (one push per property); any other test may match."""
    eq_props: set[str] = set()
    others = 0
    for key in children:
        test = json.loads(key)
        ((name, value),) = test.items()
        if not name.startswith("$") and not isinstance(value, (dict, list)):
            eq_props.add(name)
        else:
            others += 1
    return len(eq_props) + others


def lint(
    rules: Sequence[Rule],
    definitions: Mapping[str, Mapping[str, Any]],
    merges: Mapping[str, Any] | None = None,
    vocabulary: Vocabulary = UNTYPED,
) -> LintReport:
    """Raise RulesetError listing every problem; return the figures for the boot log."""
    problems: list[str] = []
    alert_rules = [r for r in rules if isinstance(r, AlertRule)]
    codes = {r.code for r in alert_rules}
    ids = {r.id for r in alert_rules}
    for code in merges or {}:
        if code not in codes:
            problems.append(f"a merge is declared for {code!r}, which no rule raises")
        elif not callable((merges or {})[code]):
            problems.append(f"the merge declared for {code!r} is not callable")
    for alert in alert_rules:
        if alert.code in alert.supersedes or alert.id in alert.supersedes_rules:
            problems.append(f"{alert.id}: a rule cannot supersede its own alert")
        for other in alert.supersedes_rules:
            if other not in ids:
                problems.append(f"{alert.id}: supersedes unknown rule {other!r}")
    if len(definitions) > MAX_RULES:
        problems.append(f"{len(definitions)} rules exceed durable-rules' {MAX_RULES} per ruleset")

    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            problems.append(f"duplicate rule id {rule.id!r}")
        seen.add(rule.id)
        if not _ID.match(rule.id):
            problems.append(f"rule id {rule.id!r} is not dotted lower_snake (family.name)")
        if not rule.when:
            problems.append(f"{rule.id}: no condition")
        if len(rule.when) > MAX_FACTS_PER_RULE:
            problems.append(f"{rule.id}: joins {len(rule.when)} facts (max {MAX_FACTS_PER_RULE})")
        named: set[str] = set()
        for cond in rule.when:
            alias = getattr(cond, "alias", None)
            if not alias or not _ALIAS.match(alias):
                problems.append(f"{rule.id}: every condition needs an alias (c.name << ...)")
            else:
                named.add(alias)
        attach = dict(rule.attach) if isinstance(rule, AlertRule) else {}
        clashes = (named | set(rule.params) | set(attach)) & RESERVED_NAMES
        if clashes:
            problems.append(
                f"{rule.id}: {sorted(clashes)} cannot name a condition, a param or "
                "an attached result (the engine's own keys)"
            )
        problems += _vocabulary_problems(rule, definitions.get(rule.id, {}), vocabulary)
        if isinstance(rule, AlertRule):
            if not _CODE.match(rule.code):
                problems.append(f"{rule.id}: alert code {rule.code!r} is not UPPER_SNAKE")
            if not rule.source.document or not rule.source.excerpt:
                problems.append(f"{rule.id}: source needs a document and an excerpt")
            problems += _alert_problems(rule, vocabulary)
        elif isinstance(rule, Derivation):
            if not callable(rule.derive):
                problems.append(f"{rule.id}: derive is not callable")
            else:
                problems += _function_problems(
                    rule, "derive", rule.derive, vocabulary, many=rule.fold
                )

    root = _Node()
    for name, definition in definitions.items():
        conditions = definition.get("all") or definition.get("any") or []
        for cond in conditions:
            ((_alias, expr),) = cond.items()
            if _first_kind(expr) is None:
                problems.append(f"{name}: the first test of each condition must be kind == '...'")
            for value in _exponent_constants(expr):
                problems.append(
                    f"{name}: constant {value!r} would reach durable-rules in "
                    "exponent form (error 204): state it in other units"
                )
            ops = _operations(expr)
            if ops > MAX_OPERATIONS_PER_CONDITION:
                problems.append(f"{name}: {ops} operations in one condition (max 32)")
            for path in _paths(expr):
                node = root
                for test in path:
                    node = node.children.setdefault(test, _Node())

    max_stack = 0
    max_children = 0
    worst: dict[str, int] = defaultdict(int)

    def walk(node: _Node, depth_sum: int, label: str) -> None:
        nonlocal max_stack, max_children
        pushes = _pushes(node.children)
        total = depth_sum + pushes
        max_children = max(max_children, len(node.children))
        if len(node.children) >= BUCKET_BUDGET:
            problems.append(f"{len(node.children)} distinct tests under {label} (hang at 512)")
        if not node.children:
            max_stack = max(max_stack, depth_sum)
            worst[label] = depth_sum
        for test, child in node.children.items():
            walk(child, total, test)

    walk(root, 1, "the root")
    if max_stack >= STACK_BUDGET:
        problems.append(
            f"a fact could push ~{max_stack} alpha nodes (durable-rules fails at "
            f"{MAX_STACK_SIZE}, error 303): make first tests more discriminating"
        )
    if problems:
        raise RulesetError(problems)
    return LintReport(
        rules=len(definitions), max_stack_estimate=max_stack, max_children=max_children
    )


# -- the fact vocabulary ----------------------------------------------------------------------
def _kinds(rule: Rule, definition: Mapping[str, Any]) -> dict[str, str]:
    """Alias -> the kind its condition tests first."""
    out: dict[str, str] = {}
    for cond in definition.get("all") or []:
        ((alias, expr),) = cond.items()
        kind = _first_kind(expr)
        if kind is not None:
            out[alias] = kind
    return out


def _vocabulary_problems(
    rule: Rule, definition: Mapping[str, Any], vocabulary: Vocabulary
) -> list[str]:
    """Every field a condition reads, its own or another alias's, is declared for the kind."""
    if not vocabulary.typed:
        return []
    problems: list[str] = []
    kinds = _kinds(rule, definition)
    for cond in definition.get("all") or []:
        ((alias, expr),) = cond.items()
        kind = kinds.get(alias)
        if kind is None:
            continue
        if vocabulary.fields(kind) is None:
            problems.append(
                f"{rule.id}: condition {alias!r} matches kind {kind!r}, which is not declared"
            )
            continue
        if vocabulary.is_result(kind):
            problems.append(
                f"{rule.id}: condition {alias!r} matches {kind!r}, a result of "
                "the check, which no rule may match"
            )
        for other, name in _field_refs(expr):
            owner = kind if other is None else kinds.get(other)
            if owner is None:
                problems.append(
                    f"{rule.id}: condition {alias!r} reads {other}.{name}, and "
                    f"{other!r} is no earlier condition"
                )
                continue
            declared = vocabulary.fields(owner) or frozenset()
            if name not in declared and name != "kind":
                problems.append(
                    f"{rule.id}: reads field {name!r}, which kind {owner!r} does "
                    f"not declare (condition {other or alias!r})"
                )
    return problems


def _scope_kinds(rule: AlertRule | Derivation, vocabulary: Vocabulary) -> dict[str, str]:
    kinds = _kinds(
        rule, {"all": [{getattr(cond, "alias", ""): cond.define()} for cond in rule.when]}
    )
    if isinstance(rule, AlertRule):
        kinds.update(rule.attach)
    return kinds


def _path_problem(
    rule: Rule, label: str, path: str, kinds: Mapping[str, str], vocabulary: Vocabulary, many: bool
) -> str | None:
    head, _, rest = path.partition(".")
    head = head.split("[")[0]
    if head in rule.params:
        return None
    if head not in kinds:
        return f"{rule.id}: {label} uses unknown fields [{head!r}]"
    if many and not (isinstance(rule, AlertRule) and head in rule.attach):
        return f"{rule.id}: aggregate rules format {label} with a function"
    field_name = rest.split(".")[0].split("[")[0]
    declared = vocabulary.fields(kinds[head])
    if vocabulary.typed and field_name and declared is not None and field_name not in declared:
        return (
            f"{rule.id}: {label} reads field {field_name!r}, which kind {kinds[head]!r} "
            "does not declare"
        )
    return None


def _alert_problems(rule: AlertRule, vocabulary: Vocabulary) -> list[str]:
    problems: list[str] = []
    kinds = _scope_kinds(rule, vocabulary)
    for kind in rule.attach.values():
        if vocabulary.typed and not vocabulary.is_result(kind):
            problems.append(f"{rule.id}: attaches {kind!r}, which is not a declared result")
    for kind in rule.withholds:
        if vocabulary.typed and not vocabulary.is_result(kind):
            problems.append(f"{rule.id}: withholds {kind!r}, which is not a declared result")
    for label in ("message", "suggestion"):
        text = getattr(rule, label)
        if isinstance(text, str):
            try:
                template = Template.compile(text)
            except ValueError as exc:
                problems.append(f"{rule.id}: {label}: {exc}")
                continue
            for path in template.paths():
                problem = _path_problem(rule, label, path, kinds, vocabulary, rule.aggregate)
                if problem and problem not in problems:
                    problems.append(problem)
        elif callable(text):
            problems += _function_problems(rule, label, text, vocabulary, many=rule.aggregate)
        else:
            problems.append(f"{rule.id}: {label} is neither a template nor a function")
    if callable(rule.evidence):
        problems += _function_problems(
            rule, "evidence", rule.evidence, vocabulary, many=rule.aggregate
        )
    elif rule.evidence is not None:
        try:
            items = evidence.parse(rule.evidence)
        except ValueError as exc:
            return [*problems, f"{rule.id}: {exc}"]
        for item in items:
            if item.field is None:
                if item.alias not in rule.params:
                    problems.append(f"{rule.id}: evidence names {item.alias!r}, which is no param")
                continue
            if item.alias not in kinds:
                problems.append(f"{rule.id}: evidence names unknown alias {item.alias!r}")
                continue
            if item.each != rule.aggregate:
                problems.append(
                    f"{rule.id}: evidence {item.alias}{'[]' if item.each else ''}."
                    f"{item.field}: an aggregate rule lists every firing "
                    "(alias[].field), any other reads its one fact (alias.field)"
                )
            declared = vocabulary.fields(kinds[item.alias])
            if vocabulary.typed and declared is not None:
                for name in [item.field, *item.exclude]:
                    if name != "*" and name not in declared:
                        problems.append(
                            f"{rule.id}: evidence reads field {name!r}, which "
                            f"kind {kinds[item.alias]!r} does not declare"
                        )
    return problems


def _annotated_kind(annotation: Any) -> tuple[str | None, bool]:
    """(kind, is a list) of a parameter annotated with a fact kind or a sequence of one."""
    origin = typing.get_origin(annotation)
    if origin in (list, Sequence):
        (inner,) = typing.get_args(annotation) or (None,)
        kind, _ = _annotated_kind(inner)
        return kind, True
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _annotated_kind(args[0])
    if isinstance(annotation, type) and issubclass(annotation, Fact) and annotation.KIND:
        return annotation.KIND, False
    return None, False


def _function_problems(
    rule: Rule, label: str, fn: Callable[..., Any], vocabulary: Vocabulary, many: bool
) -> list[str]:
    """A rule function takes only the rule's aliases, params and attached results, each
    annotated (when annotated with a kind) as the kind its condition matches."""
    problems: list[str] = []
    try:
        found = arguments(fn)
    except (TypeError, ValueError):
        return [f"{rule.id}: {label} has no readable signature"]
    if found is None:  # **kwargs: given everything; nothing to resolve
        return []
    names = found
    kinds = _scope_kinds(rule, vocabulary) if isinstance(rule, AlertRule | Derivation) else {}
    known = set(aliases(rule)) | set(rule.params) | set(kinds)
    for name in names:
        if name not in known:
            problems.append(
                f"{rule.id}: {label} takes {name!r}, which is no alias, param or "
                "attached result of the rule"
            )
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        hints = {}
    for name in names:
        if name not in hints or name not in kinds:
            continue
        kind, listed = _annotated_kind(hints[name])
        if kind is None:
            continue
        attached = isinstance(rule, AlertRule) and name in rule.attach
        if kind != kinds[name]:
            problems.append(
                f"{rule.id}: {label} reads {name!r} as kind {kind!r}, but its "
                f"condition matches {kinds[name]!r}"
            )
        elif listed != (many and not attached):
            problems.append(
                f"{rule.id}: {label} reads {name!r} as "
                f"{'a list' if listed else 'one fact'}, but the rule gives "
                f"{'one fact' if not many or attached else 'a list'}"
            )
    return problems
