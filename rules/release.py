"""The release of the rule catalogue: a semantic version and the fingerprint of its content.

A hospital signs off a version. The fingerprint is a SHA-256 over the source of every module
that holds clinical knowledge (the rules, their thresholds, code sets, passages, When/Then
docstrings, the fact vocabulary and the registration order), read as Python syntax trees, so
that comments and formatting do not count and anything else does. `FINGERPRINT` records it for
`VERSION`; tests/test_release.py fails when the content no longer matches, so a rule cannot
change without a new version and a line in CHANGELOG.md. The version every response and card
carries is `VERSION+` the first 12 hex digits of the fingerprint computed at start-up: an
unreleased change shows as a fingerprint that matches no release.

How to release: change the rules, run `python -m rules.release` for the new fingerprint,
raise VERSION (major: a code removed or its meaning changed; minor: a clinical change; patch:
wording), record both here and add the CHANGELOG.md entry.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

VERSION = "2.3.0"
FINGERPRINT = "sha256:1789f66457822b2090e9917865a37e9e7aae6f3f5abe654c1fc95c645e3dd4de"

RULES_DIR = Path(__file__).resolve().parent
# Not knowledge: running a check, this record, the renderers. The input contract (case.py)
# counts: it decides what the rules see (the withdrawal signs, plausible doses).
NOT_KNOWLEDGE = frozenset({"checker.py", "release.py", "review_sheet.py"})


def knowledge_modules() -> list[Path]:
    return sorted(
        p for p in RULES_DIR.rglob("*.py") if p.name not in NOT_KNOWLEDGE or p.parent != RULES_DIR
    )


def _tokens(node: ast.AST) -> Iterator[str]:
    """The syntax tree as a stream of tokens, the same on every Python version we run: empty
    fields (which newer versions add, such as type_params) and positions are left out."""
    yield type(node).__name__
    for name, value in ast.iter_fields(node):
        if value is None or value == []:
            continue
        yield name
        if isinstance(value, ast.AST):
            yield from _tokens(value)
        elif isinstance(value, list):
            yield "["
            for item in value:
                if isinstance(item, ast.AST):
                    yield from _tokens(item)
                else:
                    yield repr(item)
            yield "]"
        else:
            yield f"{type(value).__name__}:{value!r}"


def _docstrings_as_text(tree: ast.AST) -> ast.AST:
    """Docstrings by their words, as a formatter may re-indent them or pad a leading quote."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list) or not body:
            continue
        first = body[0]
        if (
            isinstance(first, ast.Expr)
            and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)
        ):
            lines = inspect.cleandoc(first.value.value).splitlines()
            first.value.value = "\n".join(line.strip() for line in lines).strip()
    return tree


@cache
def fingerprint() -> str:
    digest = hashlib.sha256()
    for path in knowledge_modules():
        digest.update(path.relative_to(RULES_DIR).as_posix().encode())
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for token in _tokens(_docstrings_as_text(tree)):
            digest.update(token.encode())
            digest.update(b"\0")
    return f"sha256:{digest.hexdigest()}"


def released() -> bool:
    """Whether the running content is the recorded release."""
    return fingerprint() == FINGERPRINT


RULESET_VERSION = f"{VERSION}+{fingerprint().removeprefix('sha256:')[:12]}"


if __name__ == "__main__":
    sys.stdout.write(f"{VERSION} {fingerprint()}{'' if released() else ' (unreleased)'}\n")
