"""Structured logs: every line one JSON object, and nothing that identifies a patient.

One line per check request says which check (its check_id, or the EHR's hookInstance for
CDS Hooks), how it ended (the outcome, or why it was not completed or refused), the alert
codes and how long it took. It never carries request content: no names, dates, doses,
free-text conditions or medications, and no error message, which may quote the input; for a
refused request only the names of the offending fields. The line is built from the response
the clinician got, so it cannot disagree with it; the same fields feed the Prometheus
counters (api/metrics.py) and the check log of the console's analytics (api/check_log.py:
codes, severities, card uuids, outcome, time; nothing else).

`LOG_LEVEL` (default INFO) sets the level of every logger: ours, gunicorn's error and access
logs and uvicorn's (api/gunicorn.conf.py passes `gunicorn_logconfig`). Check lines are INFO,
so WARNING silences them. The HTTP client (httpx, httpcore) logs each FHIR URL at INFO, and
its headers at DEBUG, with the patient's id in the query and the bearer token: it is held
at WARNING whatever LOG_LEVEL says, and every line is scrubbed of `patient=<id>` and
`Patient/<id>` as a last net. What a caller chose is never logged as sent: access-log
paths lose their query string, and unknown paths and service ids, unknown JSON keys and a
hookInstance that is not a UUID are logged as placeholders.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import metrics

CHECK_LOGGER = "baclofen.checks"
log = logging.getLogger(CHECK_LOGGER)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Loggers that would write patient identifiers or credentials below WARNING.
QUIET = ("httpx", "httpcore", "hpack")

# The spec's hookInstance is a UUID: anything else may be whatever the EHR put there.
_HOOK_INSTANCE = re.compile(
    rb'"hookInstance"\s*:\s*"([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-'
    rb'[0-9A-Fa-f]{12})"'
)
UNKNOWN = "<unknown>"  # a path or service id of the caller's choosing, in the access log
EXTRA = "<extra>"  # a JSON key of the caller's choosing, in a refused check's fields
# pydantic's message for a key the native models do not have (extra="forbid").
_EXTRA_MESSAGE = "Extra inputs are not permitted"
_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
# LogRecord's own attributes, and uvicorn's ANSI-coloured copy of its message.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "color_message",
}
_PATIENT = re.compile(r"(?i)(\bpatient(?:\.identifier)?=|\bPatient/)([^&\s\"'/,;)]+)")


def scrub(text: str) -> str:
    """`patient=pat-1` -> `patient=<redacted>`, `Patient/pat-1` -> `Patient/<redacted>`."""
    return _PATIENT.sub(r"\1<redacted>", text) if "atient" in text else text


def access_path(path: str, status: object) -> str:
    """The path of an access-log line without what a caller may have put in it: no query
    string (`?mrn=`, `?patientId=` in any spelling), a CDS service id we do not offer as
    UNKNOWN, and any path nothing answers (404) as UNKNOWN."""
    path = path.split("?", 1)[0]
    if status == 404:
        return UNKNOWN
    if path.startswith("/cds-services/"):
        service, _, rest = path.removeprefix("/cds-services/").partition("/")
        if service not in _service_ids():
            return f"/cds-services/{UNKNOWN}" + ("/" + rest if rest == "feedback" else "")
    return path


@functools.cache
def _service_ids() -> frozenset[str]:
    from api.cds_hooks.routes import SERVICES  # imported late: it loads the whole API

    return frozenset(SERVICES)


@functools.cache
def _known_names() -> frozenset[str]:
    """Every field name and alias of the API's request models (native and CDS Hooks) and
    the prefetch keys: the only key names a refused check's log line may show."""
    from pydantic import BaseModel

    # Their models are found as BaseModel's subclasses.
    import api.cds_hooks.models  # noqa: F401
    import rules.case  # noqa: F401
    from api.cds_hooks.prefetch import TEMPLATES

    names = {"body", *TEMPLATES}
    todo = list(BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        todo += model.__subclasses__()
        if not model.__module__.startswith(("api.", "engine.", "rules.")):
            continue
        for name, info in model.model_fields.items():
            names.add(name)
            names.update(a for a in (info.alias, info.validation_alias) if isinstance(a, str))
    return frozenset(names)


def logged_field(field: object, problem: object = None) -> str:
    """A refused field's path with every key the API's models do not name replaced by EXTRA
    (list positions kept): `patient.MRN 12345 Smith` -> `patient.<extra>`."""
    text = str(field)
    parts = []
    for match in _PATH_PART.finditer(text):
        key, index = match.groups()
        parts.append(f"[{index}]" if index is not None else key if key in _known_names() else EXTRA)
    if problem == _EXTRA_MESSAGE and parts:
        parts[-1] = EXTRA
    out = ""
    for part in parts:
        out += part if part.startswith("[") or not out else f".{part}"
    return out or EXTRA


class JsonFormatter(logging.Formatter):
    """Every log line as one JSON object: time, level, logger, message, and the structured
    fields passed in `extra`. uvicorn's access lines become fields (client, method, path,
    status)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        args = record.args
        if record.name == "uvicorn.access" and isinstance(args, tuple) and len(args) == 5:
            client, method, path, version, status = args
            line.update(
                message="request",
                event="access",
                client=client,
                method=method,
                path=scrub(access_path(str(path), status)),
                http_version=version,
                status=status,
            )
        else:
            line["message"] = scrub(record.getMessage())
        line.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            line["exception"] = scrub(self.formatException(record.exc_info))
        elif record.exc_text:
            line["exception"] = scrub(record.exc_text)
        return orjson.dumps(line, default=str).decode()


def log_level(level: str | None = None) -> str:
    name = (level or os.environ.get("LOG_LEVEL") or "INFO").strip().upper()
    if name not in LEVELS:
        raise ValueError(f"LOG_LEVEL={name!r} is not a logging level ({', '.join(LEVELS)})")
    return name


def configure_logging(level: str | None = None) -> None:
    """JSON lines on stderr at LOG_LEVEL (default INFO). Idempotent: tests and gunicorn
    workers (whose root logger gunicorn_logconfig already set up) may build several apps in
    one process."""
    name = log_level(level)
    root = logging.getLogger()
    root.setLevel(name)
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    for quiet in QUIET:
        logging.getLogger(quiet).setLevel(max(logging.WARNING, logging.getLevelName(name)))
    logging.captureWarnings(True)  # Python warnings as JSON lines too
    lean_records()


def lean_records() -> None:
    """Stop gathering, for every record, what no JSON line shows (the formatter leaves out
    LogRecord's own attributes): the thread, process and multiprocessing names and the
    caller's source position, as the logging HOWTO's "Optimization" section says. A check's
    log line cost ~43 µs on the event loop, ~30 without them (measured in process)."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None  # the HOWTO's switch for findCaller's frame walk


def log_store_problem(problem: str | None) -> None:
    """An ERROR line at start-up when the store could not be opened: the worker still answers
    checks, but feedback is refused (503) and /readyz fails, and an operator reading the log
    of a start should not have to probe readiness to learn why."""
    if problem:
        logging.getLogger("api.store").error(
            "store %s at start-up: feedback is refused and /readyz fails until it is fixed "
            "(the checks are answered)",
            problem,
            extra={"event": "store_unusable"},
        )


RULESET_FILE = "ruleset"  # in the server's metrics directory: the first worker's ruleset


def log_ruleset(version: str, fingerprint: str, released: bool) -> None:
    """One line at each worker's start: the ruleset it loaded, and whether it is the recorded
    release. A replaced worker (after a crash, a WORKER_TIMEOUT kill) loads whatever is on
    disk, so the line also says when it differs from the first worker's since the server
    started or was reloaded (HUP), recorded in the server's own metrics directory."""
    first = _first_ruleset(version)
    extra = {
        "event": "ruleset",
        "ruleset_version": version,
        "fingerprint": fingerprint,
        "released": released,
    }
    if first is not None and first != version:
        logging.getLogger("api").warning(
            "ruleset %s is not the ruleset %s this server started with: its workers "
            "serve different rules (restart or reload the server)",
            version,
            first,
            extra={**extra, "started_with": first},
        )
    elif not released:
        logging.getLogger("api").warning(
            "ruleset %s is not a recorded release (rules/release.py)", version, extra=extra
        )
    else:
        logging.getLogger("api").info("ruleset %s (released)", version, extra=extra)


def _first_ruleset(version: str) -> str | None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")  # set by api/gunicorn.conf.py
    if not directory:
        return None
    path = os.path.join(directory, RULESET_FILE)
    try:
        with open(path, "x", encoding="utf-8") as first:
            first.write(version)
        return version
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        with open(path, encoding="utf-8") as first:
            return first.read().strip() or None
    except OSError:
        return None


def gunicorn_logconfig(level: str, access_log: bool) -> dict[str, Any]:
    """gunicorn's `logconfig_dict`: its error log, its access log, uvicorn's (which
    uvicorn-worker points at gunicorn's handlers) and the root logger, all JSON on stderr."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    quiet = max(logging.WARNING, logging.getLevelName(level))
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "api.observability.JsonFormatter"}},
        "handlers": {"json": handler},
        "root": {"level": level, "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["json"], "propagate": False},
            "gunicorn.access": {
                "level": "INFO",
                "handlers": ["json"] if access_log else [],
                "propagate": False,
            },
            **{name: {"level": logging.getLevelName(quiet)} for name in QUIET},
        },
    }


def _endpoint(scope: Scope) -> str | None:
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path = str(scope.get("path", ""))
    if path == "/v1/safety-checks":
        return "native"
    if path.startswith("/cds-services/") and not path.endswith("/feedback"):
        return "cds-hooks"
    return None


def check_record(endpoint: str, status: int, body: bytes, request: bytes) -> dict[str, Any]:
    """The fields of one check line, read from the response (and, for CDS Hooks, the
    hookInstance of the request). Unknown shapes give fewer fields, never an exception."""
    record: dict[str, Any] = {"event": "check", "endpoint": endpoint, "status": status}
    try:
        data = orjson.loads(body) if body else None
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        data = {}
    if endpoint == "native":
        record["check_id"] = data.get("check_id")
        if status == 200:
            record["outcome"] = data.get("outcome")
            alerts = [a for a in data.get("alerts", []) if isinstance(a, dict)]
            record["codes"] = [a.get("code") for a in alerts]
            record["severities"] = [a.get("severity") for a in alerts]
    else:
        found = _HOOK_INSTANCE.search(request)
        record["check_id"] = found.group(1).decode() if found else None
        if status == 200:
            cards = [c for c in data.get("cards", []) if isinstance(c, dict)]
            record["codes"] = [
                ((c.get("source") or {}).get("topic") or {}).get("code") for c in cards
            ]
            # Feedback names cards by uuid only: the uuids here tie it back to alert codes.
            record["card_uuids"] = [c.get("uuid") for c in cards]
            record["severities"] = [c.get("indicator") for c in cards]
            indicators = {c.get("indicator") for c in cards}
            record["outcome"] = next(
                (s for s in ("critical", "warning", "info") if s in indicators), "no_alerts"
            )
    if status != 200:
        record["outcome"] = (
            "not_completed"
            if status >= 500
            else "too_large"
            if status == 413
            else "invalid_request"
        )
        record["error"] = data.get("error") or _issue_code(data)
        fields = [
            logged_field(e.get("field"), e.get("problem"))
            for e in data.get("errors") or []
            if isinstance(e, dict)
        ]
        fields += [
            logged_field(x)
            for i in data.get("issue") or []
            if isinstance(i, dict)
            for x in i.get("expression") or []
        ]
        if fields:
            # Names only (the problems may quote the input), and only the models' own: a key
            # the caller chose may be anything, a patient's name included.
            record["fields"] = list(dict.fromkeys(fields))[:20]
    return record


def _issue_code(data: dict[str, Any]) -> str | None:
    issues = data.get("issue")
    if isinstance(issues, list) and issues and isinstance(issues[0], dict):
        return issues[0].get("code")
    return None


class CheckLog:
    """Pure ASGI: sees the status and body the client gets, adds ~20 µs to a check."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = _endpoint(scope)
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        responded = failed = False
        body: list[bytes] = []
        request: list[bytes] = []

        async def receive_and_keep() -> Message:
            message = await receive()
            if endpoint == "cds-hooks" and message["type"] == "http.request":
                request.append(message.get("body", b"")[:4096])  # hookInstance comes early
            return message

        async def send_and_keep(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
            elif message["type"] == "http.response.body":
                body.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive_and_keep, send_and_keep)
        except BaseException:
            failed = True  # the server's error handler answers 500
            raise
        finally:
            if responded or failed:
                record = check_record(endpoint, status, b"".join(body), b"".join(request))
            else:  # the client went away (or stalled) before its request was read whole
                record = {
                    "event": "check",
                    "endpoint": endpoint,
                    "status": None,
                    "outcome": "disconnected",
                }
            seconds = time.perf_counter() - started
            metrics.record_check(record, seconds)
            # The check log of the console's analytics: queued here, written in batches by a
            # thread (api/check_log.py), never on the event loop.
            writer = getattr(getattr(scope.get("app"), "state", None), "check_log", None)
            if writer is not None:
                writer.offer(record)
            if log.isEnabledFor(logging.INFO):
                record["duration_ms"] = round(seconds * 1000, 3)
                log.info("check", extra=record)
