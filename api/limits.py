"""Request limits, enforced before any endpoint parses a body.

Both APIs take JSON only: a POST whose Content-Type is not application/json or
application/fhir+json (a charset=utf-8 parameter allowed) is refused with 415 before its
body is read, so that no form or text/plain request (which a browser sends cross-origin
without asking) reaches a route. The console's HTML forms (/console/, urlencoded) are the
one exception; they change nothing and the console checks where they come from.

A single request must not be able to tie up a worker: the engine holds one process-wide lock,
so a worker busy parsing megabytes delays every clinician behind it. Bodies above 1 MiB are
refused with 413 without being read further (a native request is a few kB; a CDS Hooks call
with its prefetched FHIR resources tens of kB). Refused with 422 (native) or 400 (CDS Hooks):
JSON nested deeper than 64 levels (Python's json parser raises RecursionError near 1,000,
which surfaced as a 500; no request of ours nests beyond ~15), a body of more than 100,000
arrays and objects (only a body built to be expensive has that many), and a body that is not
UTF-8 (FastAPI answered it with an undocumented 400 of another shape). Other huge arrays
within these limits are left to the models, whose lists are capped (1,000 entries) and which
answer 422 naming the field.

Errors keep each API's shape: the native {"error", "message", "errors"} body, or a FHIR
OperationOutcome under /cds-services.
"""

from __future__ import annotations

import re
from itertools import accumulate, count
from operator import sub
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 64
# Arrays plus objects. A CDS Hooks call with a large record (1,000 conditions as FHIR
# resources) has some tens of thousands; 100,000 only arise from bodies built to be expensive.
MAX_CONTAINERS = 100_000

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
# "[" and "{" become 2, "]" and "}" 0: the depth after n brackets is their sum minus n.
_DELTA = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def json_depth(body: bytes) -> int:
    """Deepest nesting of arrays and objects in a JSON text (brackets inside strings do not
    count). C-level passes plus one accumulate over the brackets: callers bound their number
    (MAX_CONTAINERS) so that this stays within a few milliseconds."""
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", body))
    if not brackets:
        return 0
    return int(max(map(sub, accumulate(brackets.translate(_DELTA)), count(1))))


def shape_problem(body: bytes, max_depth: int = MAX_DEPTH) -> str | None:
    """Why a JSON text is too costly to parse (too many containers, or nested past the
    parser's recursion), or None. Counting brackets is a C pass; only bodies with many of
    them are measured."""
    containers = body.count(b"[") + body.count(b"{")
    if containers > MAX_CONTAINERS:
        return f"more than {MAX_CONTAINERS:,} arrays and objects"
    if containers > max_depth and json_depth(body) > max_depth:
        return f"JSON nested deeper than {max_depth} levels"
    return None


def _native(error: str, message: str, problem: str) -> dict[str, Any]:
    return {"error": error, "message": message, "errors": [{"field": "body", "problem": problem}]}


def _outcome(code: str, message: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [
            {"severity": "error", "code": code, "diagnostics": message, "expression": ["body"]}
        ],
    }


class RequestLimits:
    """Pure ASGI (no BaseHTTPMiddleware): it buffers the body once, which every endpoint of
    ours reads whole anyway, and hands it on unchanged."""

    def __init__(
        self, app: ASGIApp, *, max_body: int = MAX_BODY_BYTES, max_depth: int = MAX_DEPTH
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await self._too_large(scope, send)
            return
        content_type = _header(scope, b"content-type")
        media = json_media_problem(content_type)
        if media and not _console_form(scope, content_type):
            await self._unsupported(scope, send, media)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await self._too_large(scope, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:  # JSON is UTF-8 (RFC 8259); FastAPI answers other bytes with an undocumented 400
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            await self._reject(scope, send, f"not UTF-8 (byte {exc.start})")
            return
        problem = shape_problem(body, self.max_depth)
        if problem:
            await self._reject(scope, send, problem)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as usual

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        message = (
            f"The request body exceeds {self.max_body:,} bytes; a check needs a few "
            "kilobytes. Send one patient and one order per request."
        )
        if _is_cds(scope):
            await _respond(send, 413, _outcome("too-costly", message), close=True)
        else:
            await _respond(
                send,
                413,
                _native("request_too_large", message, f"larger than {self.max_body} bytes"),
                close=True,
            )

    async def _unsupported(self, scope: Scope, send: Send, problem: str) -> None:
        message = (
            f"{problem}: send the body as application/json or application/fhir+json "
            "(charset utf-8 if any)."
        )
        if _is_cds(scope):
            await _respond(send, 415, _outcome("not-supported", message), close=True)
        else:
            await _respond(
                send, 415, _native("unsupported_media_type", message, problem), close=True
            )

    async def _reject(self, scope: Scope, send: Send, problem: str) -> None:
        if _is_cds(scope):
            await _respond(send, 400, _outcome("structure", f"body: {problem}"))
        else:
            await _respond(send, 422, _native("invalid_request", f"body: {problem}", problem))


def _console_form(scope: Scope, content_type: bytes | None) -> bool:
    """The console's own forms (sign-in, try a case): HTML forms post urlencoded. They change
    nothing (a try-out stores nothing) and api/console checks their origin."""
    return (
        str(scope.get("path", "")).startswith("/console/")
        and (content_type or b"").split(b";")[0].strip().lower()
        == b"application/x-www-form-urlencoded"
    )


def _is_cds(scope: Scope) -> bool:
    return str(scope.get("path", "")).startswith("/cds-services")


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


JSON_MEDIA = ("application/json", "application/fhir+json")


def json_media_problem(content_type: bytes | None) -> str | None:
    """None when the body is declared JSON: application/json or application/fhir+json, with
    at most a charset parameter naming UTF-8 (RFC 8259: JSON between systems is UTF-8).
    Anything else, or no Content-Type at all, is why not: a form or text/plain body is what a
    web page can send cross-origin without a preflight."""
    if content_type is None:
        return "no Content-Type"
    text = content_type.decode("latin-1")
    media, *params = (part.strip() for part in text.split(";"))
    if media.lower() not in JSON_MEDIA:
        return f"Content-Type {media[:80]!r} is not JSON"
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() != "charset" or value.strip().strip('"').lower() not in (
            "utf-8",
            "utf8",
        ):
            return f"Content-Type parameter {param[:80]!r} is not charset=utf-8"
    return None


async def _respond(send: Send, status: int, body: dict[str, Any], *, close: bool = False) -> None:
    data = orjson.dumps(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    if close:  # the rest of the body was not read: the connection cannot carry another request
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


# Threads that run blocking work (sync routes and dependencies, the engine) per worker.
# The engine holds the GIL and a process-wide lock for a whole check, so extra threads add no
# throughput; AnyIO's default of 40 lets a burst of requests park dozens of threads on that
# lock, and their GIL hand-offs cost more than queueing the requests in the event loop. With
# one thread, 64 clients got ~1,300 checks/s at p50 41 ms instead of ~1,060 at 58 ms (2
# workers, bench/README.md). No blocking call of ours waits on I/O for long (FHIR fetches
# are async), so one thread does not stall a worker. THREADS overrides it (api/settings.py).
DEFAULT_THREADS = 1


def limit_threads() -> int:
    """Set the thread pool of this worker's event loop (call from the lifespan, inside it)."""
    import anyio.to_thread
    from pydantic import ValidationError

    from api.settings import ServingSettings, problems

    try:
        tokens = ServingSettings().threads
    except ValidationError as exc:
        raise ValueError("; ".join(problems(exc))) from None
    anyio.to_thread.current_default_thread_limiter().total_tokens = tokens
    return tokens
