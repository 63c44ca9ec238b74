"""Serving settings: one pydantic-settings model read from the environment by gunicorn's
configuration (api/gunicorn.conf.py) and by each worker.

Every value is validated before anything listens: an unknown log level, a port that is not a
number, a certificate without its key or a concurrency limit the file-descriptor limit cannot
honour stop the start-up with a message naming the variable, instead of a server that runs on
a guess. The CDS Hooks settings (CDS_*) are read by api/cds_hooks/settings.py.
"""

from __future__ import annotations

import math
import os
import resource
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, FilePath, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
Seconds = Annotated[int, Field(ge=1, le=3600)]  # gunicorn takes whole seconds
# File descriptors a worker keeps for itself beyond its client connections: the listening
# socket, the event loop's, the feedback and jti stores, the metrics files, FHIR fetches.
FD_RESERVE = 64
DEFAULT_LIMIT_CONCURRENCY = 1000


def cgroup_cpu_limit(
    root: Path = Path("/sys/fs/cgroup"), membership: Path = Path("/proc/self/cgroup")
) -> float | None:
    """The CPU quota of this process's cgroup and its ancestors, in CPUs (`cpu.max` of cgroup
    v2, `cpu.cfs_quota_us` of v1), or None when there is none. A container limited to 1.5
    CPUs on a 64-core host reads 1.5 here and 64 from os.cpu_count()."""
    try:
        lines = membership.read_text().splitlines()
    except OSError:
        return None
    limits: list[float] = []
    for line in lines:
        hierarchy, controllers, path = [*line.split(":", 2), "", ""][:3]
        if hierarchy == "0" and controllers == "":  # v2: /sys/fs/cgroup/<path>/cpu.max
            limits += _quotas(root, path, "cpu.max")
        elif "cpu" in controllers.split(","):  # v1: /sys/fs/cgroup/cpu/<path>/cpu.cfs_*
            limits += _quotas(root / "cpu", path, "cpu.cfs_quota_us")
    return min(limits) if limits else None


def _quotas(base: Path, path: str, name: str) -> list[float]:
    """Quotas from the cgroup at `path` up to the root (a parent's limit binds too)."""
    found = []
    parts = [p for p in path.strip("/").split("/") if p]
    for depth in range(len(parts), -1, -1):
        directory = base.joinpath(*parts[:depth])
        try:
            if name == "cpu.max":
                quota, period = (directory / name).read_text().split()[:2]
            else:
                quota = (directory / name).read_text().strip()
                period = (directory / "cpu.cfs_period_us").read_text().strip()
        except (OSError, ValueError):
            continue
        if quota not in ("max", "-1") and float(period) > 0:
            found.append(float(quota) / float(period))
    return found


def available_cpus() -> int:
    """CPUs this process may use: its affinity mask, capped by the cgroup quota rounded down
    (a worker per fractional CPU would be throttled mid-check; at least 1)."""
    cpus = len(os.sched_getaffinity(0))
    quota = cgroup_cpu_limit()
    if quota is not None:
        cpus = min(cpus, max(1, math.floor(quota)))
    return max(1, cpus)


def open_files_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class ServingSettings(BaseSettings):
    """HOST, PORT, WORKERS, ... (no prefix; case-insensitive). docs/operators.md lists them."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(default_factory=available_cpus, ge=1, le=256)
    # Threads for blocking work per worker (api/limits.py): the engine runs on the event loop.
    threads: int = Field(1, ge=1, le=64)
    log_level: LogLevel = "INFO"
    access_log: bool = False
    tls_cert_file: FilePath | None = None
    tls_key_file: FilePath | None = None
    # A worker that does not report for this long (frozen, stuck in a loop) is killed and
    # replaced by gunicorn's arbiter.
    worker_timeout: Seconds = 30
    # SIGTERM: requests in flight get this long to complete, then workers are killed.
    graceful_timeout: Seconds = 30
    # An idle keep-alive connection is closed after this long (uvicorn timeout_keep_alive).
    keepalive: Seconds = 5
    # A request (line, headers and body) must arrive within this from its first byte, or from
    # the connection's opening: slow or stalled clients are cut off (408 or closed).
    request_timeout: float = Field(10.0, gt=0, le=3600)
    backlog: int = Field(2048, ge=16, le=65535)
    limit_request_line: int = Field(4094, ge=64, le=8190)
    limit_request_fields: int = Field(100, ge=8, le=32768)
    limit_request_field_size: int = Field(8190, ge=64, le=65536)
    # Connections per worker; beyond it idle ones are closed, oldest first, and when every
    # connection is busy new requests get 503 (uvicorn's limit_concurrency). None: 1,000, or
    # the open-files limit less a reserve when that is lower.
    limit_concurrency: int | None = Field(None, ge=1)
    # Addresses whose X-Forwarded-For / -Proto are trusted (the reverse proxy's).
    forwarded_allow_ips: str = "127.0.0.1,::1"
    # The zone whose date is "today" for an order sent without one (order.date, authoredOn):
    # ages on the 8th and 18th birthdays are taken on that date. The standard TZ variable,
    # which the C library reads itself, taking a name it does not know silently for UTC.
    tz: str | None = None

    @field_validator("tz")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if not value:
            return None
        try:
            zone = ZoneInfo(value.removeprefix(":"))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "is not a zone of the tz database (e.g. Europe/Paris, America/Chicago, UTC)"
            ) from None
        if os.environ.get("TZ") == value:
            time.tzset()
            now = datetime.now(UTC)
            if now.astimezone().utcoffset() != now.astimezone(zone).utcoffset():
                raise ValueError(
                    "the C library does not know this zone (install the system's tzdata)"
                )
        return value

    @field_validator("host", mode="before")
    @classmethod
    def _empty_host_is_unset(cls, value: object) -> object:
        # An empty value counts as unset (docs/operators.md), as for every CDS_* variable:
        # `HOST=` (an empty line in a systemd EnvironmentFile) is loopback, where gunicorn
        # would take an empty host for every interface.
        if isinstance(value, str) and not value.strip():
            return cls.model_fields["host"].default
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> ServingSettings:
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("TLS_CERT_FILE and TLS_KEY_FILE go together: set both or neither")
        ceiling = open_files_limit() - FD_RESERVE
        if self.limit_concurrency is not None and self.limit_concurrency > ceiling:
            raise ValueError(
                f"LIMIT_CONCURRENCY={self.limit_concurrency} needs more file descriptors than "
                f"the open-files limit allows ({open_files_limit()}, {FD_RESERVE} kept for the "
                f"worker): raise `ulimit -n` or lower LIMIT_CONCURRENCY to {ceiling} or less"
            )
        if self.keepalive >= self.worker_timeout:
            raise ValueError("KEEPALIVE must be shorter than WORKER_TIMEOUT")
        return self

    @property
    def concurrency(self) -> int:
        """The effective per-worker connection limit."""
        if self.limit_concurrency is not None:
            return self.limit_concurrency
        return max(1, min(DEFAULT_LIMIT_CONCURRENCY, open_files_limit() - FD_RESERVE))

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None

    @property
    def bind(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def problems(exc: ValidationError) -> list[str]:
    """One line per bad setting, naming the environment variable."""
    out = []
    for error in exc.errors():
        name = "_".join(str(part) for part in error["loc"]).upper()
        value = error.get("input")
        shown = f"={value!r}" if isinstance(value, str | int | float) and name else ""
        out.append(f"{name or 'settings'}{shown}: {error['msg']}")
    return out
