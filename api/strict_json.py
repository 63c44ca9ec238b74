"""JSON parsing that refuses duplicate keys, for every body the service reads.

RFC 8259 leaves an object with a repeated name undefined, and Python's json (like most parsers)
keeps the last value: `"form": "tablet", "form": "oral_solution"` would be checked as an oral
solution while the sender's record may say tablets, and a dangerous order could answer
`no_alerts`. A body with a repeated key at any depth is refused, naming every key path, instead
of being resolved silently.

The check costs a Python call per JSON object (`object_pairs_hook`); the paths of repeated keys
are looked for, with a second parse, only when one was seen. `bench/parse.py` measures it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import lru_cache
from json.scanner import NUMBER_RE
from typing import Any

Path = tuple[str | int, ...]


class DuplicateKeys(ValueError):
    """A JSON object repeats a key. `found` holds each repeated key's path (object keys and
    list positions from the root) and how often it appears there, in document order."""

    def __init__(self, found: list[tuple[Path, int]]) -> None:
        self.found = found
        super().__init__("; ".join(f"{dotted(p)} appears {n} times" for p, n in found))

    @property
    def paths(self) -> list[Path]:
        return [p for p, _ in self.found]


class _Repeat(Exception):
    """Raised by the hook at the first repeated key: the rest is found by a second parse."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _Repeat
    return obj


class _Repeated(dict[str, Any]):
    """An object that had repeated keys: each of them and how often it appeared."""

    repeated: dict[str, int]


def _marking(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    marked = _Repeated(obj)
    counts: dict[str, int] = {}
    for key, _ in pairs:
        counts[key] = counts.get(key, 0) + 1
    marked.repeated = {k: n for k, n in counts.items() if n > 1}
    return marked


@lru_cache(maxsize=8)
def _decoder(parse_constant: Callable[[str], Any] | None) -> json.JSONDecoder:
    # One decoder, built once: json.loads with any keyword builds a new one per call, which
    # cost more than the hook itself (bench/parse.py).
    if parse_constant is None:
        return json.JSONDecoder(object_pairs_hook=_unique)
    return json.JSONDecoder(object_pairs_hook=_unique, parse_constant=parse_constant)


def loads(raw: bytes | str, *, parse_constant: Callable[[str], Any] | None = None) -> Any:
    """json.loads (bytes in any JSON encoding, a UTF-8 BOM skipped; NaN and Infinity read
    unless `parse_constant` says otherwise), raising DuplicateKeys, which names every
    repeated key, when an object repeats one. A syntax error anywhere is reported first, as
    json.loads reports it."""
    if isinstance(raw, str):
        if raw.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", raw, 0)
        text = raw
    else:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    try:
        return _decoder(parse_constant).decode(text)
    except _Repeat:
        pass
    except json.JSONDecodeError:
        raise
    except ValueError:
        # Python refuses to convert an integer of more digits than its limit (4,300 by
        # default) with a ValueError that names no position and advises a setting; it is
        # as unreadable to us as a syntax error, and reported like one.
        at = _long_integer(text)
        if at is None:
            raise  # parse_constant's own refusal
        limit = sys.get_int_max_str_digits()
        raise json.JSONDecodeError(f"Number with more than {limit} digits", text, at) from None
    if parse_constant is None:
        raise DuplicateKeys(_find(json.loads(text, object_pairs_hook=_marking)))
    raise DuplicateKeys(
        _find(json.loads(text, object_pairs_hook=_marking, parse_constant=parse_constant))
    )


def _long_integer(text: str) -> int | None:
    """Where the first integer with more digits than the interpreter converts starts,
    outside strings; None if there is none (the limit is off, or the error was another).
    A number with a fraction or an exponent is a float, which has no such limit."""
    limit = sys.get_int_max_str_digits()
    at, end, in_string = 0, len(text), False
    while limit and at < end:
        char = text[at]
        if in_string:
            if char == "\\":
                at += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == "-" or char.isdigit():
            number = NUMBER_RE.match(text, at)
            if number is None:
                return None
            integer, fraction, exponent = number.groups()
            if not (fraction or exponent) and len(integer.lstrip("-")) > limit:
                return at
            at = number.end()
            continue
        at += 1
    return None


def _find(value: Any) -> list[tuple[Path, int]]:
    """Every repeated key with its path, in document order. Iterative: a body's depth is
    bounded by the request limits, a file given to the CLI by nothing."""
    found: list[tuple[Path, int]] = []
    stack: list[tuple[Path, Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node, _Repeated):
                found += [((*path, k), n) for k, n in node.repeated.items()]
            stack += [
                ((*path, k), v) for k, v in reversed(node.items()) if isinstance(v, dict | list)
            ]
        elif isinstance(node, list):
            stack += [
                ((*path, i), v)
                for i, v in reversed(list(enumerate(node)))
                if isinstance(v, dict | list)
            ]
    return found


def dotted(path: Path) -> str:
    """("patient", "conditions", 2, "code") -> "patient.conditions[2].code"."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"
