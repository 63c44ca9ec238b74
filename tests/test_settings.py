"""Serving settings (api/settings.py): what WORKERS defaults to, and values that refuse."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import ServingSettings, available_cpus, cgroup_cpu_limit, problems


def _cgroup(tmp_path: Path, membership: str, files: dict[str, str]) -> tuple[Path, Path]:
    root = tmp_path / "sys-fs-cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "cgroup").write_text(membership)
    return root, tmp_path / "cgroup"


@pytest.mark.parametrize(
    ("membership", "files", "cpus"),
    [
        ("0::/\n", {"cpu.max": "max 100000\n"}, None),
        ("0::/\n", {"cpu.max": "150000 100000\n"}, 1.5),
        # A parent's quota binds its children.
        (
            "0::/kubepods/pod1/ctr\n",
            {"kubepods/cpu.max": "200000 100000\n", "kubepods/pod1/ctr/cpu.max": "max 100000\n"},
            2.0,
        ),
        ("0::/a/b\n", {"a/cpu.max": "400000 100000\n", "a/b/cpu.max": "50000 100000\n"}, 0.5),
        # cgroup v1 (cpu controller in its own hierarchy).
        (
            "4:cpu,cpuacct:/docker/abc\n",
            {
                "cpu/docker/abc/cpu.cfs_quota_us": "300000\n",
                "cpu/docker/abc/cpu.cfs_period_us": "100000\n",
            },
            3.0,
        ),
        (
            "4:cpu,cpuacct:/\n",
            {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"},
            None,
        ),
        ("0::/\n", {}, None),
    ],
    ids=["v2-no-limit", "v2-1.5", "v2-parent", "v2-child-tighter", "v1-3", "v1-none", "none"],
)
def test_cgroup_cpu_limit(
    tmp_path: Path, membership: str, files: dict[str, str], cpus: float | None
) -> None:
    root, member = _cgroup(tmp_path, membership, files)
    assert cgroup_cpu_limit(root, member) == cpus


def test_workers_default_to_the_cpus_this_process_may_use(monkeypatch: pytest.MonkeyPatch) -> None:
    """Affinity, not the host's core count; a quota of 1.5 CPUs gives one worker (a second
    would be throttled mid-check), and never fewer than one."""
    monkeypatch.delenv("WORKERS", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1, 2, 3})
    for quota, workers in ((None, 4), (1.5, 1), (2.0, 2), (0.2, 1), (16.0, 4)):
        monkeypatch.setattr("api.settings.cgroup_cpu_limit", lambda q=quota: q)
        assert available_cpus() == workers
        assert ServingSettings().workers == workers
    monkeypatch.setenv("WORKERS", "3")
    assert ServingSettings().workers == 3


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HOST", "PORT", "LOG_LEVEL", "TLS_CERT_FILE", "TLS_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings = ServingSettings()
    assert (settings.bind, settings.log_level, settings.tls) == ("127.0.0.1:8000", "INFO", False)
    monkeypatch.setenv("HOST", "::1")
    monkeypatch.setenv("log_level", "warning")
    assert ServingSettings().bind == "[::1]:8000"
    for empty in ("", "  "):  # counts as unset, as documented: loopback, never every interface
        monkeypatch.setenv("HOST", empty)
        assert ServingSettings().bind == "127.0.0.1:8000"
    assert ServingSettings().log_level == "WARNING"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"LOG_LEVEL": "verbose"}, "LOG_LEVEL"),
        ({"PORT": "70000"}, "PORT"),
        ({"WORKERS": "0"}, "WORKERS"),
        ({"KEEPALIVE": "40", "WORKER_TIMEOUT": "30"}, "KEEPALIVE"),
        ({"TLS_KEY_FILE": __file__}, "TLS_CERT_FILE"),
        ({"LIMIT_REQUEST_LINE": "100000"}, "LIMIT_REQUEST_LINE"),
        ({"FORWARDED_ALLOW_IPS": ""}, None),  # an empty string is a value, trusted by nobody
        # Empty is refused, naming the variable (docs/operators.md): a broken template, not
        # a wish for the default. HOST and TZ are the exceptions (empty is unset).
        ({"PORT": ""}, "PORT"),
        ({"LOG_LEVEL": ""}, "LOG_LEVEL"),
        ({"ACCESS_LOG": ""}, "ACCESS_LOG"),
        ({"WORKERS": ""}, "WORKERS"),
        ({"TZ": ""}, None),
    ],
)
def test_unknown_values_refuse(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str | None
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if named is None:
        ServingSettings()
        return
    with pytest.raises(ValidationError) as caught:
        ServingSettings()
    assert any(named in line for line in problems(caught.value)), problems(caught.value)


def test_concurrency_follows_the_open_files_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIMIT_CONCURRENCY", raising=False)
    monkeypatch.setattr("api.settings.open_files_limit", lambda: 1024)
    assert ServingSettings().concurrency == 960
    monkeypatch.setattr("api.settings.open_files_limit", lambda: 65536)
    assert ServingSettings().concurrency == 1000
    monkeypatch.setenv("LIMIT_CONCURRENCY", "5000")
    assert ServingSettings().concurrency == 5000
    monkeypatch.setattr("api.settings.open_files_limit", lambda: 1024)
    with pytest.raises(ValidationError, match="ulimit"):
        ServingSettings()


def test_a_public_base_url_that_is_not_https_refuses_to_start_in_open_mode_too() -> None:
    """It is also the address the cards link the catalogue under: a bad one is refused."""
    import pydantic

    from api.cds_hooks.settings import CdsSettings

    for bad in ("ftp://cds.example.org", "http://cds.example.org", "cds.example.org"):
        with pytest.raises(pydantic.ValidationError, match="CDS_PUBLIC_BASE_URL"):
            CdsSettings(public_base_url=bad)
    assert CdsSettings(public_base_url="https://cds.example.org/").public_base_url == (
        "https://cds.example.org"
    )
