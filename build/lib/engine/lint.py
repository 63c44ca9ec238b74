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
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.errors import RulesetError
from engine.model import RESERVED_NAMES, AlertRule, Derivation, Rule, template_fields

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
    (op, arg), = expr.items()
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


def _first_is_kind(expr: Mapping[str, Any]) -> bool:
    first = expr
    while len(first) == 1 and next(iter(first)) == "$and":
        first = first["$and"][0]
    return len(first) == 1 and "kind" in first and isinstance(first["kind"], str)


def _pushes(children: Mapping[str, _Node]) -> int:
    """How many children one fact can push at once: equality tests on one property against
    different constants exclude each other (one push per property); any other test may match."""
    eq_props: set[str] = set()
    others = 0
    for key in children:
        test = json.loads(key)
        (name, value), = test.items()
        if not name.startswith("$") and not isinstance(value, (dict, list)):
            eq_props.add(name)
        else:
            others += 1
    return len(eq_props) + others


def lint(rules: Sequence[Rule], definitions: Mapping[str, Mapping[str, Any]]) -> LintReport:
    """Raise RulesetError listing every problem; return the figures for the boot log."""
    problems: list[str] = []
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
        aliases = set()
        for cond in rule.when:
            alias = getattr(cond, "alias", None)
            if not alias or not _ALIAS.match(alias):
                problems.append(f"{rule.id}: every condition needs an alias (c.name << ...)")
            aliases.add(alias)
        clashes = (aliases | set(rule.params)) & RESERVED_NAMES
        if clashes:
            problems.append(f"{rule.id}: {sorted(clashes)} cannot name a condition or a param "
                            "(rules read them on Bindings)")
        if isinstance(rule, AlertRule):
            if not _CODE.match(rule.code):
                problems.append(f"{rule.id}: alert code {rule.code!r} is not UPPER_SNAKE")
            if not rule.source.document or not rule.source.excerpt:
                problems.append(f"{rule.id}: source needs a document and an excerpt")
            for label, text in (("message", rule.message), ("suggestion", rule.suggestion)):
                if rule.aggregate and isinstance(text, str) and template_fields(text):
                    problems.append(f"{rule.id}: aggregate rules format {label} with a function")
                unknown = template_fields(text) - aliases - set(rule.params)
                if unknown:
                    problems.append(f"{rule.id}: {label} uses unknown fields {sorted(unknown)}")
        elif isinstance(rule, Derivation) and not callable(rule.derive):
            problems.append(f"{rule.id}: derive is not callable")

    root = _Node()
    for name, definition in definitions.items():
        conditions = definition.get("all") or definition.get("any") or []
        for cond in conditions:
            ((_alias, expr),) = cond.items()
            if not _first_is_kind(expr):
                problems.append(f"{name}: the first test of each condition must be kind == '...'")
            for value in _exponent_constants(expr):
                problems.append(f"{name}: constant {value!r} would reach durable-rules in "
                                "exponent form (error 204): state it in other units")
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
    return LintReport(rules=len(definitions), max_stack_estimate=max_stack,
                      max_children=max_children)
