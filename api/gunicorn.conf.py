"""gunicorn's configuration, read from the environment (api/settings.py validates it):

    gunicorn -c api/gunicorn.conf.py        (`make run`, `baclofen-cds serve`, the container)

gunicorn manages the worker processes (a worker that dies or stops answering for
WORKER_TIMEOUT seconds is replaced; SIGTERM drains them within GRACEFUL_TIMEOUT); each
worker is uvicorn (api/gunicorn_worker.py) with the request limits of api/protocol.py.
Connection fairness across workers and machines is the reverse proxy's job (deploy/).
docs/operators.md lists every variable.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import ssl
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from api.cds_hooks.settings import CdsSettings
from api.cds_hooks.settings import problems as cds_problems
from api.settings import ServingSettings, problems

_problems: list[str] = []
try:
    _settings = ServingSettings()
except ValidationError as _exc:
    _problems += problems(_exc)
try:  # the CDS_* settings too, before any worker starts (each worker reads them again)
    CdsSettings.load()
except (ValidationError, ValueError) as _exc:
    _problems += cds_problems(_exc)


def tls_problem(cert: Path, key: Path) -> str | None:
    """Why this certificate and key cannot serve TLS, naming the variable at fault, or None.
    Each worker loads them again after the fork: one that fails there dies and is replaced
    for ever while the arbiter listens, so they are loaded here once, before anything
    listens. An encrypted key is refused (gunicorn has no way to be given its password)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_verify_locations(cafile=str(cert))  # one certificate at least
    except (ssl.SSLError, OSError) as exc:
        return f"TLS_CERT_FILE={str(cert)!r}: not a readable PEM certificate ({exc})"
    try:
        context.load_cert_chain(str(cert), str(key), password=lambda: b"")
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            return (
                f"TLS_KEY_FILE={str(key)!r}: not the private key of the certificate in "
                f"TLS_CERT_FILE={str(cert)!r}"
            )
        return (
            f"TLS_KEY_FILE={str(key)!r}: not a readable unencrypted PEM private key "
            f"for TLS_CERT_FILE ({exc})"
        )
    except OSError as exc:
        return f"TLS_KEY_FILE={str(key)!r}: cannot be read ({exc})"
    return None


if not _problems and _settings.tls:
    _tls = tls_problem(Path(str(_settings.tls_cert_file)), Path(str(_settings.tls_key_file)))
    if _tls:
        _problems.append(_tls)


def refuse(found: list[str]) -> None:
    """A bad setting stops the start-up with one JSON line each, shaped as the log's lines
    (api/observability.py, which cannot be configured yet: its settings are the bad ones)."""
    import orjson

    moment = datetime.now(UTC).isoformat(timespec="milliseconds")
    for problem in found:
        sys.stderr.write(
            orjson.dumps(
                {
                    "ts": moment,
                    "level": "CRITICAL",
                    "logger": "gunicorn.error",
                    "message": f"invalid setting: {problem}",
                }
            ).decode()
            + "\n"
        )
    raise SystemExit(2)


if _problems:
    refuse(_problems)

# Samples of prometheus-client's multiprocess mode: a fresh directory per server start, set
# before anything imports prometheus_client (the logging configuration below imports
# api.observability). A configuration reload (SIGHUP) in the same master keeps it.
_METRICS_OWNER = "BACLOFEN_CDS_METRICS_OWNER"
_METRICS_PREFIX = "baclofen-cds-metrics-"
if os.environ.get(_METRICS_OWNER) != str(os.getpid()):
    for _stale in Path(tempfile.gettempdir()).glob(f"{_METRICS_PREFIX}*"):
        _pid = _stale.name.removeprefix(_METRICS_PREFIX).split("-")[0]
        if _pid.isdigit() and not Path(f"/proc/{_pid}").exists():  # its server is gone
            shutil.rmtree(_stale, ignore_errors=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(
        prefix=f"{_METRICS_PREFIX}{os.getpid()}-"
    )
    os.environ[_METRICS_OWNER] = str(os.getpid())
elif os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # a reload (HUP): the new workers'
    # ruleset is the one this server now runs (the first records it: api/observability.py)
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(os.environ["PROMETHEUS_MULTIPROC_DIR"], "ruleset"))

from api.observability import gunicorn_logconfig  # noqa: E402  (after the metrics directory)

wsgi_app = "api.main:app"
worker_class = "api.gunicorn_worker.Worker"
bind = [_settings.bind]
workers = _settings.workers
# No SO_REUSEPORT: the workers share one listening socket, so a frozen worker takes no new
# connection (with a socket each, the kernel would keep handing it some).
reuse_port = False
preload_app = False  # each worker builds its own engine after the fork (durable-rules' state)
timeout = _settings.worker_timeout
graceful_timeout = _settings.graceful_timeout
keepalive = _settings.keepalive
backlog = _settings.backlog
limit_request_line = _settings.limit_request_line
limit_request_fields = _settings.limit_request_fields
limit_request_field_size = _settings.limit_request_field_size
forwarded_allow_ips = _settings.forwarded_allow_ips
if _settings.tls:
    certfile = str(_settings.tls_cert_file)
    keyfile = str(_settings.tls_key_file)
loglevel = _settings.log_level.lower()
errorlog = "-"
accesslog = "-" if _settings.access_log else None
logconfig_dict = gunicorn_logconfig(_settings.log_level, _settings.access_log)
# The heartbeat files the arbiter watches: in memory, not on a container's overlay disk.
if Path("/dev/shm").is_dir() and os.access("/dev/shm", os.W_OK):
    worker_tmp_dir = "/dev/shm"
proc_name = "baclofen-cds"
# gunicorn 25.1+ opens a control socket by default ($XDG_RUNTIME_DIR/gunicorn.ctl or
# ~/.gunicorn/gunicorn.ctl): one path for every instance of the user, each start taking it
# from the last, a channel that can add and kill workers or stop the server, and an ERROR at
# each start where the home directory is not writable (the image's user). Signals do all of
# that (docs/operators.md); older gunicorns ignore the name.
control_socket_disable = True


def child_exit(server: object, worker: object) -> None:
    """A worker exited (or was killed): its live gauges leave the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined,no-untyped-call]


def on_exit(server: object) -> None:
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and os.environ.get(_METRICS_OWNER) == str(os.getpid()):
        with contextlib.suppress(OSError):
            shutil.rmtree(directory)


def on_starting(server: object) -> None:
    """The addresses gunicorn will really listen on (GUNICORN_CMD_ARGS or --bind may differ
    from HOST): open mode is a default on loopback only, and the workers' CORS default and
    warnings must know the truth, so HOST is set to the first address that is not loopback
    (a unix socket counts as local), and the start is refused as for HOST."""
    from api.cds_hooks.settings import is_loopback_host

    exposed = []
    for bind in server.cfg.bind:  # type: ignore[attr-defined]
        if bind.startswith(("unix:", "fd://")):
            continue
        host = bind.rsplit(":", 1)[0] if not bind.startswith("[") else bind[1:].split("]")[0]
        if not is_loopback_host(host or "0.0.0.0"):
            exposed.append(host or "0.0.0.0")
    if exposed and os.environ.get("HOST") != exposed[0]:
        os.environ["HOST"] = exposed[0]
        try:
            CdsSettings.load()
        except (ValidationError, ValueError) as exc:
            refuse(cds_problems(exc))
