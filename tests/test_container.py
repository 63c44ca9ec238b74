"""The container and the install script it shares with CI.

No Docker engine runs here, so the image is not built: the Dockerfile is linted (hadolint,
from PyPI) and checked for what operators rely on, and the script its build stage runs,
scripts/install.sh, is run the same way into a fresh virtual environment, which must then
serve without any test tool installed. The same script's repair of a venv made by the wrong
Python, or whose packages do not import, is exercised too.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from bench.server import ROOT, Server, free_port, stop, wait_ready

DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTALL = ROOT / "scripts" / "install.sh"


def _stages() -> list[str]:
    return re.split(r"(?m)^FROM ", DOCKERFILE)[1:]


def test_hadolint() -> None:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("hadolint")), "--no-color", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_dockerfile_is_what_operators_expect() -> None:
    build, runtime = _stages()
    assert "AS build" in build.splitlines()[0] and "gcc" in build
    assert "scripts/install.sh --no-editable /opt/venv" in build  # the script CI runs
    assert "gcc" not in runtime and "COPY --from=build /opt/venv /opt/venv" in runtime
    user = re.search(r"(?m)^USER (\S+)", runtime)
    assert user and user.group(1).split(":")[0] not in ("root", "0")
    assert re.search(r"(?m)^HEALTHCHECK .*\n?.*/livez", runtime)
    volume = re.search(r'(?m)^VOLUME \["([^"]+)"\]', runtime)
    assert volume
    state = volume.group(1)
    assert re.search(rf"CDS_DATABASE_URL=sqlite:///{re.escape(state)}/", runtime)
    env = re.search(r"(?ms)^ENV .*?[^\\]\n", runtime)
    assert env and "CDS_DATABASE_URL" in env.group(0)
    assert "CDS_AUTH" not in env.group(0), "the image must not choose open mode for operators"
    assert "slim" in DOCKERFILE


def _python_313() -> str | None:
    candidates = [shutil.which("python3.13") or ""]
    candidates += glob.glob(os.path.expanduser("~/.pyenv/versions/3.13*/bin/python3.13"))
    for candidate in filter(None, candidates):
        done = subprocess.run(
            [candidate, "-c", "import sys; print(sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0 and "(3, 13)" in done.stdout:
            return candidate
    return None


def _install(
    *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(INSTALL), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_broken_venvs_are_detected(tmp_path: Path) -> None:
    """--check says what would be done without doing it."""
    packages_missing = tmp_path / "missing"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(packages_missing)], check=True
    )
    (packages_missing / ".installed").write_text("an old install\n")
    done = _install("--check", str(packages_missing))
    assert done.returncode == 1
    assert "its packages do not import (ModuleNotFoundError" in done.stdout
    no_python = tmp_path / "no-python"
    (no_python / "bin").mkdir(parents=True)
    done = _install("--check", str(no_python))
    assert done.returncode == 1 and "its python does not run" in done.stdout


@pytest.mark.slow
def test_the_container_install_rebuilds_a_wrong_venv_and_serves_without_test_tools(
    tmp_path: Path,
) -> None:
    """What the Dockerfile's build stage runs, into a venv made by Python 3.13 (durable-rules
    does not import there): rebuilt with 3.11 or 3.12, the runtime lock installed, the
    package installed (not editable), no test tool, and the server starts from it away from
    the source tree."""
    venv = tmp_path / "venv"
    wrong = _python_313()
    if wrong:
        subprocess.run([wrong, "-m", "venv", "--without-pip", str(venv)], check=True)
        expected = "it was built by Python 3.13"
    else:  # no 3.13 on this machine: a venv whose packages are missing instead
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        (venv / ".installed").write_text("an old install\n")
        expected = "its packages do not import"
    done = _install("--no-editable", str(venv))
    assert done.returncode == 0, done.stdout + done.stderr
    assert expected in done.stderr and "rebuilding it" in done.stderr
    python = venv / "bin" / "python"
    version = subprocess.run(
        [str(python), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert version.strip() in ("(3, 11)", "(3, 12)")
    for tool in ("pytest", "hypothesis", "schemathesis", "ruff", "trustme", "yaml"):
        missing = subprocess.run(
            [str(python), "-c", f"import {tool}"], capture_output=True, check=False, cwd=tmp_path
        )
        assert missing.returncode != 0, f"{tool} is in the runtime install"
    where = subprocess.run(
        [str(python), "-c", "import api; print(api.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout
    assert str(venv) in where  # installed, not the source tree
    assert _install("--check", "--no-editable", str(venv)).returncode == 0  # up to date now

    port = free_port()
    log = tmp_path / "serve.log"
    env = {
        **os.environ,
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "WORKERS": "1",
        "CDS_DATABASE_URL": f"sqlite:///{tmp_path / 'state' / 'cds.sqlite3'}",
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(venv / "bin" / "baclofen-cds"), "serve"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_ready(Server("127.0.0.1", port, proc.pid, log), 1, proc)  # type: ignore[arg-type]
            probe = subprocess.run(
                [str(python), "-m", "api.probe", "/readyz"], env=env, cwd=tmp_path, check=False
            )
            assert probe.returncode == 0
            # The console works from the installed package: templates, styles and the pins
            # of the scenario tables (which live with the tests) ship in it.
            base = f"http://127.0.0.1:{port}/console"
            rule = httpx.get(f"{base}/rules/oral_dose.tablet_below_33_kg", timeout=10)
            assert rule.status_code == 200 and "tablet:child-32.9-kg-tablet" in rule.text
            assert httpx.get(f"{base}/static/console.css", timeout=10).status_code == 200
            example = httpx.get(f"{base}/try?example=cds-hooks", timeout=10)
            assert example.status_code == 200 and "order-sign" in example.text
        finally:
            stop(proc)  # type: ignore[arg-type]
    probe = subprocess.run(
        [str(python), "-m", "api.probe", "/livez"], env=env, cwd=tmp_path, check=False
    )
    assert probe.returncode == 1  # nobody answers now


_HOW_BUILT = """import importlib.util, os, sys, sysconfig
with open("/proc/self/maps") as maps:
    shared = any("/libpython" in line for line in maps)
headers = os.path.join(sysconfig.get_paths()["include"], "Python.h")
builds = importlib.util.find_spec("ensurepip") is not None and os.path.exists(headers)
print(sys.version_info[:2] in ((3, 11), (3, 12)) and builds, shared, sys.executable)"""


def _interpreters() -> dict[bool, Path]:
    """A Python 3.11 or 3.12 of this machine that can make a venv and build durable-rules,
    by whether it is linked to a shared libpython (True) or is one static binary (False): the
    executable itself, not a pyenv shim (which needs pyenv on PATH)."""
    candidates = [shutil.which(name) or "" for name in ("python3.11", "python3.12")]
    for version in ("3.11", "3.12"):
        candidates += glob.glob(f"/usr/bin/python{version}")
        candidates += glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python3"))
    found: dict[bool, Path] = {}
    for candidate in filter(None, candidates):
        done = subprocess.run(
            [candidate, "-c", _HOW_BUILT], capture_output=True, text=True, check=False
        )
        if done.returncode == 0 and done.stdout.startswith("True "):
            _, shared, executable = done.stdout.split(maxsplit=2)
            found.setdefault(shared == "True", Path(executable.strip()))
    return found


def _which_python(path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHON"}
    return subprocess.run(
        [shutil.which("bash") or "bash", str(INSTALL), "--which-python"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "PATH": str(path)},
    )


def test_a_new_venv_is_made_with_a_static_interpreter_when_there_is_one(tmp_path: Path) -> None:
    """pyenv's shims come first on PATH, and its builds link a shared libpython, which ran
    the engine 10-20 % slower than one static binary (bench/README.md): install.sh takes a
    static one further down PATH (or named python3) over them, and a shared one when there is
    nothing else."""
    found = _interpreters()
    if len(found) < 2:
        pytest.skip(f"needs a static and a shared Python 3.11 or 3.12; found {found}")
    shared, static = tmp_path / "first", tmp_path / "later"
    for where, name, target in (
        (shared, "python3.11", found[True]),
        (static, "python3", found[False]),
    ):
        where.mkdir()
        (where / name).symlink_to(target)
        (where / "dirname").symlink_to(shutil.which("dirname") or "/usr/bin/dirname")
    done = _which_python(Path(f"{shared}{os.pathsep}{static}"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{static / 'python3'} (Python 3.1")
    assert done.stdout.rstrip().endswith(", one static binary)")

    done = _which_python(shared)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{shared / 'python3.11'} (Python 3.11")
    assert done.stdout.rstrip().endswith(", linked to a shared libpython)")

    nothing = tmp_path / "nothing"
    nothing.mkdir()
    (nothing / "dirname").symlink_to(shutil.which("dirname") or "/usr/bin/dirname")
    done = _which_python(nothing)
    assert done.returncode == 1 and "no Python 3.11 or 3.12 on PATH" in done.stderr


def test_durable_rules_is_compiled_with_optimisation() -> None:
    """scripts/build-durable.sh compiles durable-rules with the interpreter's own flags, which
    its setup.py used to wipe out (it was built at -O0: 10-18 % more instructions per check),
    and records them in the library: gcc writes each object's options there, and the last
    optimisation level named is the one it used."""
    import durable_rules_engine

    readelf = shutil.which("readelf")
    assert readelf, "readelf (binutils, which gcc needs anyway) is missing"
    done = subprocess.run(
        [readelf, "-p", ".GCC.command.line", durable_rules_engine.__file__],
        capture_output=True,
        text=True,
        check=True,
    )
    objects = [line for line in done.stdout.splitlines() if "GNU C" in line]
    assert objects, f"no recorded flags: not built by scripts/build-durable.sh\n{done.stdout}"
    for options in objects:
        levels = re.findall(r"(?<=\s)-O[0-3sgz]?(?=\s|$)", options)
        assert levels and levels[-1] in ("-O2", "-O3"), options
