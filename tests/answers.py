"""Every answer the service gives to the scenario rows, the golden CDS Hooks requests and the
examples, as one JSON document, and the comparison of two such documents.

A restructuring of rules/ must not change what a clinician reads: capture the answers before
(at the commit the work starts from) and after, and compare. Rule ids that were renamed are
mapped explicitly (`--map new.id=old.id`: several new rules may stand for one old rule that was
split); rule ids that are new (a derivation made visible) are listed, not hidden.

    python -m tests.answers capture var/answers-before.json
    python -m tests.answers compare var/answers-before.json var/answers-after.json \
        [--map new.id=old.id ...]

Only public behaviour is read: `Checker.run` (alerts with their rule id, the trace) and the
CDS Hooks endpoint (cards without uuids); the checks behind each golden request are recorded
by wrapping `Checker.run`, so the script runs unchanged on older commits.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _alert(alert: Any) -> dict[str, Any]:
    data = alert.model_dump(mode="json")
    return {
        k: data[k]
        for k in ("code", "severity", "message", "suggestion", "evidence", "source", "rule_id")
    }


def _trace(result: Any) -> list[dict[str, Any]]:
    return [
        {
            "rule_id": t.rule_id,
            "matched": t.matched,
            "derived": t.derived,
            "alert_code": t.alert_code,
            "suppressed_by": t.suppressed_by,
            "merged_into": t.merged_into,
        }
        for t in result.trace
    ]


def _answer(result: Any) -> dict[str, Any]:
    return {
        "outcome": result.outcome,
        "alerts": [_alert(a) for a in result.alerts],
        "trace": _trace(result),
    }


def capture() -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from api.main import create_app
    from rules.case import Case, SafetyCheckRequest
    from rules.checker import Checker
    from tests.cds_hooks.ehr import call, without_uuids
    from tests.cds_hooks.golden_cases import CASES
    from tests.scenarios import all_tables, case_of, load

    checker = Checker()
    rows: dict[str, Any] = {}
    for table in all_tables():
        for row in load(table):
            model = Case if row.get("via") == "cds_hooks" else SafetyCheckRequest
            result = checker.run(model.model_validate(case_of(row)))
            rows[f"{table.removesuffix('.yaml')}:{row['id']}"] = _answer(result)

    examples: dict[str, Any] = {}
    for path in sorted((ROOT / "examples").glob("*.json")):
        case = SafetyCheckRequest.model_validate_json(path.read_text(encoding="utf-8"))
        examples[path.name] = _answer(checker.run(case))

    checks: list[dict[str, Any]] = []
    original = Checker.run

    def recording(self: Any, case: Any, check_id: str | None = None) -> Any:
        result = original(self, case, check_id=check_id)
        checks.append(_answer(result))
        return result

    golden: dict[str, Any] = {}
    Checker.run = recording  # type: ignore[method-assign]
    try:
        with TestClient(create_app(checker)) as client:
            for name in sorted(CASES):
                build, _ = CASES[name]
                checks.clear()
                response = call(client, build())
                golden[name] = {
                    "status": response.status_code,
                    "cards": without_uuids(response.json().get("cards")),
                    "checks": list(checks),
                }
    finally:
        Checker.run = original  # type: ignore[method-assign]
    return {"rows": rows, "examples": examples, "golden": golden}


# -- comparison -------------------------------------------------------------------------------
def _mapped(value: Any, ids: dict[str, str]) -> Any:
    return ids.get(value, value) if isinstance(value, str) else value


def _alerts(answer: dict[str, Any], ids: dict[str, str]) -> list[dict[str, Any]]:
    return [{**a, "rule_id": _mapped(a["rule_id"], ids)} for a in answer["alerts"]]


def _firings(answer: dict[str, Any], ids: dict[str, str]) -> list[tuple[Any, ...]]:
    return [
        (
            _mapped(t["rule_id"], ids),
            t["alert_code"],
            _mapped(t["suppressed_by"], ids),
            _mapped(t["merged_into"], ids),
        )
        for t in answer["trace"]
    ]


def _diff_answer(
    name: str,
    old: dict[str, Any],
    new: dict[str, Any],
    ids: dict[str, str],
    added: set[str],
    report: dict[str, list[str]],
) -> None:
    if old["outcome"] != new["outcome"]:
        report["outcome"].append(f"{name}: {old['outcome']} -> {new['outcome']}")
    if _alerts(old, {}) != _alerts(new, ids):
        report["alerts"].append(name)
    elif json.dumps(_alerts(old, {})) != json.dumps(_alerts(new, ids)):
        report["key_order"].append(name)
    before = _firings(old, {})
    after = [f for f in _firings(new, ids) if f[0] not in added]
    if before != after:
        alerts_before = [f for f in before if f[1] is not None]
        alerts_after = [f for f in after if f[1] is not None]
        if sorted(before, key=str) == sorted(after, key=str) and alerts_before == alerts_after:
            report["trace_order"].append(name)  # derivations fired in another order
        elif (
            alerts_before != alerts_after
            and [f for f in before if f[1] is None] == [f for f in after if f[1] is None]
            and {f[:2] for f in alerts_before} == {f[:2] for f in alerts_after}
        ):
            report["trace_repeats"].append(name)  # an alert rule fired a different number of times
        else:
            report["trace"].append(name)


_VERSION_LINE = re.compile(r"(Baclofen safety checks )[0-9][^\s,_]*")


def _versionless(value: Any) -> Any:
    """Cards with the ruleset version in their last line left out: each release changes
    it on every card (tests/test_release.py checks it)."""
    if isinstance(value, dict):
        return {k: _versionless(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_versionless(v) for v in value]
    if isinstance(value, str):
        return _VERSION_LINE.sub(r"\1", value)
    return value


def compare(old: dict[str, Any], new: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    """Alerts compared whole (rule ids mapped), then for the order of their evidence keys
    (the card's "Checked values" follow it); traces compared as the sequence of firings
    (rule id, alert code, suppressed by, merged into), leaving out rules that did not exist
    before (new derivations, listed under `new_rules`). A trace that differs only in the order
    its derivations fired is listed under `trace_order`, one whose alert rules fired a
    different number of times (same rules, same alerts) under `trace_repeats`."""

    def rule_ids(doc: dict[str, Any]) -> set[str]:
        answers = [
            *doc["rows"].values(),
            *doc["examples"].values(),
            *(c for g in doc["golden"].values() for c in g["checks"]),
        ]
        return {t["rule_id"] for a in answers for t in a["trace"]}

    known = rule_ids(old)
    added = {r for r in rule_ids(new) if _mapped(r, ids) not in known}
    report: dict[str, list[str]] = {
        "outcome": [],
        "alerts": [],
        "key_order": [],
        "trace": [],
        "trace_order": [],
        "trace_repeats": [],
        "cards": [],
        "missing": [],
    }
    for section in ("rows", "examples"):
        for name, answer in old[section].items():
            if name not in new[section]:
                report["missing"].append(name)
                continue
            _diff_answer(name, answer, new[section][name], ids, added, report)
    for name, golden in old["golden"].items():
        other = new["golden"].get(name)
        if other is None:
            report["missing"].append(f"golden:{name}")
            continue
        if golden["status"] != other["status"] or _versionless(golden["cards"]) != _versionless(
            other["cards"]
        ):
            report["cards"].append(name)
        for n, (a, b) in enumerate(zip(golden["checks"], other["checks"], strict=False)):
            _diff_answer(f"golden:{name}.{n}", a, b, ids, added, report)
        if len(golden["checks"]) != len(other["checks"]):
            report["trace"].append(f"golden:{name}: number of checks")
    counts = {
        "rows": len(old["rows"]),
        "examples": len(old["examples"]),
        "golden": len(old["golden"]),
    }
    return {"compared": counts, "renamed": ids, "new_rules": sorted(added), **report}


def main(argv: list[str]) -> int:
    logging.disable(logging.INFO)  # the service's request and check log lines
    parser = argparse.ArgumentParser(prog="python -m tests.answers")
    sub = parser.add_subparsers(dest="command", required=True)
    cap = sub.add_parser("capture")
    cap.add_argument("out", type=Path)
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("old", type=Path)
    cmp_.add_argument("new", type=Path)
    cmp_.add_argument("--map", action="append", default=[], help="new.rule=old.rule")
    args = parser.parse_args(argv)
    if args.command == "capture":
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(capture(), indent=1) + "\n", encoding="utf-8")
        return 0
    ids = dict(pair.split("=", 1) for pair in args.map)
    old = json.loads(args.old.read_text(encoding="utf-8"))
    new = json.loads(args.new.read_text(encoding="utf-8"))
    report = compare(old, new, ids)
    sys.stdout.write(json.dumps(report, indent=1) + "\n")
    changed = any(
        report[k] for k in ("outcome", "alerts", "key_order", "trace", "cards", "missing")
    )
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
