"""Command line: `baclofen-cds check case.json`, `baclofen-cds rules`, `baclofen-cds serve`,
`baclofen-cds migrate` (the store's schema, as every start does), `baclofen-cds system-key
NAME` (a new key for a system-to-system caller), `baclofen-cds console-secret` (a new secret
for the console's session cookies).

Exit status of `check`: 0 no alerts, 1 warnings or info only, 2 at least one critical alert,
3 invalid input, 4 the check could not be completed. Like other Unix tools, a closed pipe
(`baclofen-cds rules | head -1`) ends it quietly with 141 and Ctrl-C with 130, without a
traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

# Only the standard library at module level: the console script imports this module before
# `main` is called, and everything else (pydantic, the rules: about a second) is imported
# inside `main`, so that Ctrl-C while it loads ends quietly too, not with a traceback.

EXIT = {"no_alerts": 0, "info": 1, "warning": 1, "critical": 2}
EXIT_INVALID = 3
EXIT_NOT_COMPLETED = 4


def _check(path: str, as_json: bool, explain: bool) -> int:
    from pydantic import ValidationError

    from api import strict_json
    from api.errors import validation_items
    from api.models import SafetyCheckResponse
    from engine import EngineError
    from rules.case import SafetyCheckRequest
    from rules.checker import Checker

    try:
        raw = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        _refuse_repeated_keys(raw)
        case = SafetyCheckRequest.model_validate_json(raw)
    except OSError as exc:
        print(f"cannot read {path}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except strict_json.DuplicateKeys as exc:
        for key, n in exc.found:
            print(
                f"invalid input: {strict_json.dotted(key)}: repeated key: it appears {n} "
                "times in the same object; send it once",
                file=sys.stderr,
            )
        return EXIT_INVALID
    except ValidationError as exc:
        for item in validation_items(exc.errors()):
            print(f"invalid input: {item['field']}: {item['problem']}", file=sys.stderr)
        return EXIT_INVALID
    try:
        result = Checker().run(case)
    except EngineError as exc:
        print(f"CHECK NOT COMPLETED: {exc}. Do not treat this as a pass.", file=sys.stderr)
        return EXIT_NOT_COMPLETED
    response = SafetyCheckResponse.from_result(result, explain=explain)
    if as_json:
        print(response.model_dump_json(indent=2, exclude_none=True))
    else:
        print(
            f"outcome: {response.outcome}  (check {response.check_id}, ruleset "
            f"{response.ruleset_version})"
        )
        for alert in response.alerts:
            print(
                f"\n[{alert.severity.upper()}] {alert.code}\n  {alert.message}\n"
                f"  -> {alert.suggestion}\n  source: {alert.source.document}: "
                f'"{alert.source.excerpt}"'
            )
        if explain and response.trace:
            print("\ntrace:")
            for t in response.trace:
                print(
                    f"  {t.step:>2}. {t.rule_id} {t.matched}"
                    + (f" -> {t.alert_code}" if t.alert_code else "")
                    + "".join(f"\n        + {d}" for d in t.derived)
                )
    return EXIT[response.outcome]


def _refuse_repeated_keys(raw: str) -> None:
    """As the API does. Text that is not JSON is left to the model, which says where."""
    from api import strict_json

    try:
        strict_json.loads(raw)
    except strict_json.DuplicateKeys:
        raise
    except (ValueError, RecursionError):
        pass


def _rules(as_json: bool) -> int:
    from rules.catalog import catalogue, document
    from rules.release import RULESET_VERSION

    if as_json:
        print(json.dumps(document(), indent=2, default=str))
        return 0
    print(f"ruleset {RULESET_VERSION}")
    for e in catalogue():
        print(f"{e['code']}  [{e['severity']}]")
        for r in e["rules"]:
            print(f"    {r['id']}: {r['description']}  ({r['source'].document})")
    return 0


def _serve(host: str | None, port: int | None, workers: int | None) -> int:
    """gunicorn with the project's configuration (api/gunicorn.conf.py), in place of this
    process so that signals reach it directly. Options override HOST, PORT and WORKERS."""
    env = dict(os.environ)
    for name, value in (("HOST", host), ("PORT", port), ("WORKERS", workers)):
        if value is not None:
            env[name] = str(value)
    config = Path(__file__).with_name("gunicorn.conf.py")
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "gunicorn", "-c", str(config)], env)
    return 1  # not reached


def _migrate() -> int:
    """Bring CDS_DATABASE_URL's schema to the newest revision (under the same lock the
    service takes), and say where it stands."""
    from api.cds_hooks.settings import load_or_explain
    from api.store import redacted
    from api.store.migrate import current, upgrade

    try:
        url = load_or_explain().database_url
    except ValueError as exc:
        print(f"invalid setting: {exc}", file=sys.stderr)
        return 2
    try:
        upgrade(url)
        revision = current(url)
    except Exception as exc:  # a database that cannot be reached: said in one line
        reason = (str(exc).strip().splitlines() or [""])[0]
        print(f"{redacted(url)}: not migrated: {type(exc).__name__}: {reason}", file=sys.stderr)
        return 1
    print(f"{redacted(url)}: schema at revision {revision}")
    return 0


def _system_key(name: str) -> int:
    """A new key: printed once, for the caller; only its digest goes in CDS_SYSTEM_KEYS."""
    import hashlib

    from api.auth import new_system_key
    from api.cds_hooks.settings import SystemKey

    key = new_system_key()
    entry = f"{name}:{hashlib.sha256(key.encode()).hexdigest()}"
    try:
        SystemKey.parse(entry)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(
        f"key (give it to the caller, as `Authorization: Bearer <key>`; it is not kept):\n"
        f"  {key}\nadd to CDS_SYSTEM_KEYS (comma-separated):\n  {entry}"
    )
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    from rules.release import RULESET_VERSION

    try:
        package = version("baclofen-cds")
    except PackageNotFoundError:  # run from a source tree that was not installed
        package = "unknown"
    return f"baclofen-cds {package} (ruleset {RULESET_VERSION})"


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`| head -1`). Point stdout at /dev/null so that the final
        # flush at exit does not fail again, and exit as a process killed by SIGPIPE would.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 128 + signal.SIGINT


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="baclofen-cds", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check one case (JSON file, or - for stdin)")
    check.add_argument("case")
    check.add_argument("--json", action="store_true", help="print the raw API response")
    check.add_argument("--explain", action="store_true", help="include the rule trace")
    rules = sub.add_parser(
        "rules",
        help="print the rule catalogue (--json: the whole catalogue "
        "with its version, as GET /v1/rules serves it)",
    )
    rules.add_argument("--json", action="store_true")
    serve = sub.add_parser(
        "serve",
        help="run the HTTP server (gunicorn; settings from the environment, docs/operators.md)",
    )
    serve.add_argument("--host", help="default: HOST, or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: PORT, or 8000")
    serve.add_argument("--workers", type=int, help="default: WORKERS, or the CPUs available")
    sub.add_parser("migrate", help="bring the store (CDS_DATABASE_URL) to the current schema")
    key = sub.add_parser("system-key", help="make a key for a system-to-system caller")
    key.add_argument("name", help="who the key is for (letters, digits, . _ -)")
    sub.add_parser("console-secret", help="make a CDS_CONSOLE_SECRET (signs console sessions)")
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(args.case, args.json, args.explain)
    if args.command == "rules":
        return _rules(args.json)
    if args.command == "migrate":
        return _migrate()
    if args.command == "system-key":
        return _system_key(args.name)
    if args.command == "console-secret":
        import secrets

        print(f"CDS_CONSOLE_SECRET={secrets.token_urlsafe(48)}")
        return 0
    return _serve(args.host, args.port, args.workers)


if __name__ == "__main__":
    sys.exit(main())
