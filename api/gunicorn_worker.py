"""The gunicorn worker class: uvicorn-worker's UvicornWorker (the maintained home of
`UvicornWorker`) with the settings it does not pass on to uvicorn.

UvicornWorker maps gunicorn's keepalive, timeout (the heartbeat), backlog, TLS and
forwarded_allow_ips. It leaves out `limit_request_line`, `limit_request_fields` and
`limit_request_field_size` (enforced here by api/protocol.py), uvicorn's `limit_concurrency`,
and a graceful-shutdown deadline for uvicorn that ends before gunicorn's arbiter kills the
worker at `graceful_timeout`.
"""

from __future__ import annotations

from typing import Any, ClassVar

from uvicorn_worker import UvicornWorker

from api.protocol import Limits, protocol_class
from api.settings import ServingSettings


class Worker(UvicornWorker):
    # uvloop (it sets TCP_NODELAY on every connection); the protocol is set below.
    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "auto"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        settings = ServingSettings()
        cfg = self.cfg
        limits = Limits(
            request_line=cfg.limit_request_line,
            fields=cfg.limit_request_fields,
            field_size=cfg.limit_request_field_size,
            request_timeout=settings.request_timeout,
            max_connections=settings.concurrency,
        )
        self.config.http = protocol_class(limits)
        # uvicorn answers 503 once this many connections or requests are open; the protocol
        # closes idle connections first, so the 503 means every connection is busy.
        self.config.limit_concurrency = settings.concurrency + 1
        # Finish (or cancel) in-flight requests a second before the arbiter's SIGKILL.
        self.config.timeout_graceful_shutdown = max(1, int(cfg.graceful_timeout) - 1)
        # The arbiter kills a worker silent for `timeout` s; uvicorn's tick reports every
        # `timeout_notify` s. Half the timeout (uvicorn-worker's value) leaves too little
        # room on a loaded machine when the timeout is a few seconds.
        self.config.timeout_notify = max(1, int(cfg.timeout) // 4)
