"""uvicorn's httptools protocol with the limits gunicorn's settings promise, which uvicorn's
own protocol does not enforce (uvicorn issue #157: `limit_request_*` are gunicorn-parser
settings; UvicornWorker does not pass them on, and httptools has no size limit of its own).

What this adds, all through uvicorn's documented extension point (`Config(http=<protocol
class>)`), overriding only the protocol's callbacks:

- **Header limits.** A request line over `limit_request_line` bytes gets 414; more than
  `limit_request_fields` header fields, one over `limit_request_field_size`, or a head over
  what those allow together gets 431, as soon as the bytes arrive (a 150 MB header is not
  buffered first). Without this an 8 MB header got a 200 and a 150 MB one pinned a worker.
- **A request deadline.** The request line, headers and body must arrive within
  `request_timeout` of the connection's opening or of the request's first byte; a slowloris
  client (a byte every few seconds resets uvicorn's keep-alive timer) is answered 408 and
  closed, a stalled body is cut off. Deadlines are checked by one sweep per worker a few
  times a second, not a timer per request.
- **A connection cap below the open-files limit.** Past `max_connections` the idle
  connections (no request being answered) are closed, oldest first, before the worker can
  run out of descriptors: at EMFILE, libuv accepts and drops every queued connection, so
  2,000 idle sockets under `ulimit -n 1024` made every healthy request fail.
- **Graceful shutdown without resets.** uvicorn closes a connection that looks idle at once,
  but under load it often holds a request the worker has not read yet, and closing a socket
  with unread data sends the client a reset. Here an idle connection gets a moment: a request
  that arrives is answered with `Connection: close`, and the socket is closed only when
  nothing is left to read.
"""

from __future__ import annotations

import array
import asyncio
import fcntl
import logging
import termios
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

log = logging.getLogger("uvicorn.error")

# On shutdown, how long an idle connection waits for a request already on its way.
DRAIN_S = 0.5
# After refusing a request whose bytes are still coming, how long to go on reading (and
# dropping) them: closing a socket with unread data resets it, and the reset can destroy the
# refusal on its way to the client (a lingering close, as nginx does).
LINGER_S = 2.0


@dataclass(frozen=True)
class Limits:
    request_line: int = 4094
    fields: int = 100
    field_size: int = 8190
    request_timeout: float = 10.0
    max_connections: int = 1000

    @property
    def head_bytes(self) -> int:
        """The largest head the other limits allow: line, fields, CRLFs."""
        return self.request_line + 2 + self.fields * (self.field_size + 2) + 2


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


_REASONS = {
    408: b"Request Timeout",
    414: b"URI Too Long",
    431: b"Request Header Fields Too Large",
    503: b"Service Unavailable",
}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: Limits,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits
        self.deadline: float | None = None  # the current request must have arrived by then
        self.last_active = 0.0
        self._head = 0  # bytes of the current head so far; -1 once the head is complete
        self._line = 0
        self._fields = 0
        self._refused: _Refused | None = None
        self._draining = False
        self._discarding = False

    # Connection events

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        now = self.last_active = self.loop.time()
        self.deadline = now + self.limits.request_timeout
        _sweeper(self.loop, self.connections, self.limits.request_timeout)
        if len(self.connections) > self.limits.max_connections:
            self._shed()

    def data_received(self, data: bytes) -> None:
        self.last_active = self.loop.time()
        if self._discarding:
            return
        if self._head >= 0:
            self._head += len(data)
            if self._head > self.limits.head_bytes:
                self._refuse(_Refused(431, "request head larger than the header limits allow"))
                return
        super().data_received(data)

    def shutdown(self) -> None:
        """Graceful shutdown (SIGTERM): see the module docstring."""
        self._draining = True
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # answered, with Connection: close, then closed
        elif self._head <= 0:
            self.loop.call_later(DRAIN_S, self._close_when_idle)
        # else: a head is arriving; on_headers_complete turns keep-alive off

    # Parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._line = self._fields = 0
        if self.deadline is None:
            self.deadline = self.loop.time() + self.limits.request_timeout

    def on_url(self, url: bytes) -> None:
        self._line += len(url)
        if self._line > self.limits.request_line:
            self._stop(_Refused(414, f"request line over {self.limits.request_line} bytes"))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._fields += 1
        if self._fields > self.limits.fields:
            self._stop(_Refused(431, f"more than {self.limits.fields} header fields"))
        if len(name) + len(value) + 2 > self.limits.field_size:
            self._stop(_Refused(431, f"a header field over {self.limits.field_size} bytes"))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._head = -1
        super().on_headers_complete()
        if self._draining and self.cycle is not None:
            self.cycle.keep_alive = False

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self.deadline = None
        self._head = 0

    def send_400_response(self, msg: str) -> None:
        """uvicorn answers any parser error 400; a limit raised in a callback says which."""
        if self._refused is not None:
            self._refuse(self._refused)
        else:
            super().send_400_response(msg)

    # Ours

    def expire(self) -> None:
        """The request did not arrive in time: 408 while the head is still coming, otherwise
        (a stalled body, the application waiting for it) the connection is closed."""
        self.deadline = None
        if self.transport.is_closing():
            return
        if self._head >= 0 and (self.cycle is None or self.cycle.response_complete):
            self._refuse(
                _Refused(408, f"request not received within {self.limits.request_timeout:g} s")
            )
        else:
            log.warning(
                "request body not received within %g s: connection closed",
                self.limits.request_timeout,
            )
            self.transport.close()

    def busy(self) -> bool:
        """A request is being answered on this connection."""
        return self.cycle is not None and not self.cycle.response_complete

    def _stop(self, refusal: _Refused) -> None:
        """From a parser callback: httptools turns the exception into a parser error, which
        uvicorn answers through send_400_response."""
        self._refused = refusal
        raise refusal

    def _refuse(self, refusal: _Refused) -> None:
        log.warning("request refused with %s: %s", refusal.status, refusal)
        if self.transport.is_closing():
            return
        reason = _REASONS.get(refusal.status, b"")
        body = str(refusal).encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"content-length: %d\r\nconnection: close\r\n\r\n%s"
            % (refusal.status, reason, len(body), body)
        )
        self.deadline = None
        if self.transport.can_write_eof():
            self.transport.write_eof()  # the answer, then end of stream; keep reading a while
            self._discarding = True
            self.loop.call_later(LINGER_S, self.transport.close)
        else:  # TLS: no half-close
            self.transport.close()

    def _shed(self) -> None:
        """Over the cap: close the idle connections that were quiet longest, down to 90 % of
        the cap, so that accepting never reaches the open-files limit; if every other
        connection is busy, this one is refused."""
        idle = sorted(
            (
                c
                for c in self.connections
                if c is not self
                and isinstance(c, GuardedHttpToolsProtocol)
                and not c.busy()
                and not c.transport.is_closing()
            ),
            key=lambda c: c.last_active,
        )
        excess = len(self.connections) - int(self.limits.max_connections * 0.9)
        if not idle:
            self._refuse(_Refused(503, "every connection of this worker is busy"))
            return
        for conn in idle[: max(1, excess)]:
            conn.transport.close()
        log.warning(
            "%s connections open, over the limit of %s: closed the %s idle longest",
            len(self.connections),
            self.limits.max_connections,
            min(len(idle), max(1, excess)),
        )

    def _close_when_idle(self) -> None:
        if self.transport.is_closing() or self.busy() or self._head > 0:
            return
        if _unread(self.transport) > 0:  # a request is waiting in the socket: read it first
            self.loop.call_later(0.05, self._close_when_idle)
            return
        self.transport.close()


def _unread(transport: asyncio.BaseTransport) -> int:
    sock = transport.get_extra_info("socket")
    if sock is None:
        return 0
    buf = array.array("i", [0])
    try:
        fcntl.ioctl(sock.fileno(), termios.FIONREAD, buf)
    except OSError:
        return 0
    return buf[0]


_SWEEPS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.TimerHandle] = (
    weakref.WeakKeyDictionary()
)


def _sweeper(loop: asyncio.AbstractEventLoop, connections: set[Any], timeout: float) -> None:
    """Check every connection's deadline a few times per timeout, while there are any."""
    if loop in _SWEEPS:
        return
    interval = min(1.0, timeout / 4)

    def sweep() -> None:
        now = loop.time()
        for conn in list(connections):
            deadline = getattr(conn, "deadline", None)
            if deadline is not None and deadline <= now:
                conn.expire()
        if connections:
            _SWEEPS[loop] = loop.call_later(interval, sweep)
        else:
            del _SWEEPS[loop]

    _SWEEPS[loop] = loop.call_later(interval, sweep)


def protocol_class(limits: Limits) -> Callable[..., GuardedHttpToolsProtocol]:
    """What uvicorn's `Config(http=...)` takes: called as the protocol class is."""
    return partial(GuardedHttpToolsProtocol, limits=limits)
