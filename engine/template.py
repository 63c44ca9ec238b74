"""Message templates: `str.format` over the matched facts and the rule's params, with sections
shown on a condition, so that a message states numbers only by naming the fields that hold them.

    "Reduce to at most {cap} mg/day{if rx}, e.g. {rx.per_dose_mg:g} mg{end}."
    "{if order.action == start}Start with 5 mg{else}Review whether {dose.mg:g} mg/day{end} ..."

A condition is a path (true when it has a value that is not false, zero or empty), `not` a
path, a path compared with `==` or `!=` to a literal (a word, a number, true, false), or a
path `in` literals separated by `|` (`{if order.form in oral_solution|granules}`). The
start-up lint resolves every path a template names against the rule's aliases, params and the
declared fact kinds.

A figure compared with a threshold names it after `~`: `{wbd.mg_per_kg_day:.2f~limit}` shows
2.004 as "2.004", not "2.00", beside "above the 2 mg/kg/day maximum". Rounded to its format, a
figure that is not the threshold never reads as it: decimals are added
(`f`, `g` and `%` formats; `g` gets significant digits) until it does not.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_TAG = re.compile(r"(?<!\{)\{(if|else|end)(?:\s+([^{}]*))?\}")
_FIXED = re.compile(r"^(?P<head>.*?)(?:\.(?P<places>\d+))?(?P<type>[fg%])$")
_MORE_PLACES = 6
_COND = re.compile(r"^(not\s+)?([A-Za-z_][A-Za-z0-9_.]*)(?:\s*(==|!=|\bin\b)\s*(.+))?$")


@dataclass(frozen=True)
class Condition:
    path: str
    negate: bool = False
    op: str | None = None
    literal: Any = None

    def holds(self, scope: Mapping[str, Any]) -> bool:
        value = resolve(scope, self.path)
        if self.op is None:
            result = bool(value) and value is not False
        elif self.op == "==":
            result = value == self.literal
        elif self.op == "in":
            result = value in self.literal
        else:
            result = value != self.literal
        return not result if self.negate else result


@dataclass(frozen=True)
class Section:
    condition: Condition
    then: tuple[Node, ...]
    otherwise: tuple[Node, ...] = ()


Node = str | Section


def _literal(text: str) -> Any:
    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("none", "null"):
        return None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _condition(text: str) -> Condition:
    match = _COND.match(text.strip())
    if not match:
        raise ValueError(f"unreadable template condition {{if {text}}}")
    negate, path, op, literal = match.groups()
    if negate and op in ("==", "!="):
        raise ValueError(f"{{if {text}}}: use != instead of not ... ==")
    if op == "in":
        return Condition(
            path=path,
            negate=bool(negate),
            op=op,
            literal=tuple(_literal(x) for x in literal.split("|")),
        )
    return Condition(
        path=path, negate=bool(negate), op=op, literal=_literal(literal) if op else None
    )


@dataclass(frozen=True)
class Template:
    """A compiled template. Build once (at rule definition), render per alert."""

    source: str
    nodes: tuple[Node, ...] = field(default=())
    # Some field names its threshold (`~`): rendered by `_Figures`, not `str.format_map`.
    figures: bool = False

    @classmethod
    def compile(cls, source: str) -> Template:
        stack: list[tuple[Condition | None, list[Node], list[Node] | None]] = [(None, [], None)]
        pos = 0
        for match in _TAG.finditer(source):
            text = source[pos : match.start()]
            pos = match.end()
            current = stack[-1]
            (current[2] if current[2] is not None else current[1]).append(text)
            tag, arg = match.group(1), match.group(2)
            if tag == "if":
                stack.append((_condition(arg or ""), [], None))
            elif tag == "else":
                cond, then, otherwise = stack.pop()
                if cond is None or otherwise is not None:
                    raise ValueError(f"{{else}} without its {{if}} in {source!r}")
                stack.append((cond, then, []))
            else:
                cond, then, otherwise = stack.pop()
                if cond is None:
                    raise ValueError(f"{{end}} without its {{if}} in {source!r}")
                section = Section(
                    cond,
                    tuple(n for n in then if n != ""),
                    tuple(n for n in otherwise or [] if n != ""),
                )
                parent = stack[-1]
                (parent[2] if parent[2] is not None else parent[1]).append(section)
        if len(stack) != 1:
            raise ValueError(f"{{if}} without its {{end}} in {source!r}")
        top = stack[0][1]
        top.append(source[pos:])
        nodes = tuple(n for n in top if n != "")
        return cls(source=source, nodes=nodes, figures=any(_thresholds(nodes)))

    def paths(self) -> list[str]:
        """Every path the template reads: format fields and conditions, in order."""
        out: list[str] = []

        def walk(nodes: tuple[Node, ...]) -> None:
            for node in nodes:
                if isinstance(node, Section):
                    out.append(node.condition.path)
                    walk(node.then)
                    walk(node.otherwise)
                else:
                    for _, name, spec, _ in string.Formatter().parse(node):
                        if name:
                            out.append(name)
                        if spec and "~" in spec:
                            out.append(spec.partition("~")[2].strip())

        walk(self.nodes)
        return out

    def render(self, scope: Mapping[str, Any]) -> str:
        if self.figures:
            formatter = _Figures(scope)
            return "".join(_render(self.nodes, scope, [], formatter.vformat))
        if len(self.nodes) == 1 and isinstance(self.nodes[0], str):
            return self.nodes[0].format_map(scope)  # most templates: no section
        return "".join(_render(self.nodes, scope, [], None))


def _thresholds(nodes: tuple[Node, ...]) -> list[str]:
    out: list[str] = []
    for node in nodes:
        if isinstance(node, Section):
            out += _thresholds(node.then) + _thresholds(node.otherwise)
        else:
            out += [s for _, _, s, _ in string.Formatter().parse(node) if s and "~" in s]
    return out


def _render(
    nodes: tuple[Node, ...],
    scope: Mapping[str, Any],
    parts: list[str],
    vformat: Callable[[str, Sequence[Any], Mapping[str, Any]], str] | None,
) -> list[str]:
    for node in nodes:
        if isinstance(node, Section):
            chosen = node.then if node.condition.holds(scope) else node.otherwise
            _render(chosen, scope, parts, vformat)
        else:
            parts.append(node.format_map(scope) if vformat is None else vformat(node, (), scope))
    return parts


class _Figures(string.Formatter):
    """`str.format` with `~threshold` after a format spec."""

    def __init__(self, scope: Mapping[str, Any]) -> None:
        self.scope = scope

    def format_field(self, value: Any, format_spec: str) -> str:
        spec, marked, against = format_spec.partition("~")
        text = format(value, spec)
        if not marked:
            return text
        return off_threshold(value, spec, text, resolve(self.scope, against.strip()))


def off_threshold(value: Any, spec: str, text: str, threshold: Any) -> str:
    """`text` (value formatted with spec), with decimals added while it reads as the
    threshold that the value is not."""
    fixed = _FIXED.match(spec)
    numbers = (int, float)
    if (
        fixed is None
        or not isinstance(value, numbers)
        or not isinstance(threshold, numbers)
        or value == threshold
    ):
        return text
    head, places, kind = fixed["head"], int(fixed["places"] or 6), fixed["type"]
    scale = 100 if kind == "%" else 1
    for more in range(places + 1, places + _MORE_PLACES + 1):
        if float(text.strip().rstrip("%")) != threshold * scale:
            break
        text = format(value, f"{head}.{more}{kind}")
    return text


def resolve(scope: Mapping[str, Any], path: str) -> Any:
    """The value at `alias.field` (or a param's name); None where anything on the way is."""
    head, *rest = path.split(".")
    value = scope.get(head)
    for name in rest:
        if value is None:
            return None
        value = value.get(name) if isinstance(value, Mapping) else getattr(value, name, None)
    return value
