"""The command line: readable output, --json, and exit status by highest severity."""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from api.cli import main
from tests.archetypes import build

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("case", "status", "outcome"),
    [
        (build("adult_oral"), 0, "no_alerts"),
        (build("adult_oral", patient={"pregnant": True}), 1, "warning"),
        (build("adult_epilepsy"), 2, "critical"),
    ],
    ids=["no-alerts", "warning", "critical"],
)
def test_check_exit_status(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    case: dict[str, object],
    status: int,
    outcome: str,
) -> None:
    path = tmp_path / "case.json"
    path.write_text(json.dumps(case))
    assert main(["check", str(path), "--json"]) == status
    assert json.loads(capsys.readouterr().out)["outcome"] == outcome


def test_check_readable_output(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(ROOT / "examples" / "child-tablet-epilepsy.json")]) == 2
    out = capsys.readouterr().out
    assert "[CRITICAL] TABLET_BELOW_33_KG" in out
    assert "-> Use the oral solution" in out


def test_invalid_case_names_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(build("adult_oral", patient={"weight_kg": -2})))
    assert main(["check", str(path)]) == 3
    assert "patient.weight_kg" in capsys.readouterr().err


def test_rules_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    assert "TABLET_BELOW_33_KG  [critical]" in capsys.readouterr().out
    assert main(["rules", "--json"]) == 0
    catalogue = json.loads(capsys.readouterr().out)
    assert catalogue["ruleset_version"].startswith(catalogue["version"] + "+")
    assert any(e["code"] == "MISSING_DATA" for e in catalogue["codes"])


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        (
            '{"patient": {"birth_date": "1981-06-15", "weight_kg": 80, "weight_kg": 8}, '
            '"order": {}}',
            ["patient.weight_kg"],
        ),
        (json.dumps(build("adult_oral"))[:-2] + ', "form": "oral_solution"}}', ["order.form"]),
    ],
    ids=["two-weights", "two-forms"],
)
def test_a_repeated_key_is_invalid_input_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, fields: list[str]
) -> None:
    path = tmp_path / "dup.json"
    path.write_text(text)
    assert main(["check", str(path)]) == 3
    err = capsys.readouterr().err
    assert [line.split(": ")[1] for line in err.splitlines()] == fields
    assert "repeated key" in err


def test_text_that_is_not_json_is_still_named_by_the_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"patient": ')
    assert main(["check", str(path)]) == 3
    assert capsys.readouterr().err.startswith("invalid input: body: Invalid JSON")


CLI = Path(sys.executable).with_name("baclofen-cds")


def test_version() -> None:
    done = subprocess.run([str(CLI), "--version"], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("baclofen-cds 0.1.0 (ruleset ")


def test_a_closed_pipe_ends_it_quietly() -> None:
    """`baclofen-cds rules | head -1`: the reader is gone before the first write (the
    command takes longer than that to import), so every write fails with EPIPE."""
    with subprocess.Popen(
        [str(CLI), "rules"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 141
    assert err == ""


def _interrupted_when(ready: Callable[[int], bool]) -> tuple[int, bytes]:
    """Start `baclofen-cds check -`, send Ctrl-C (SIGINT) once `ready(pid)`, and return its
    exit status and standard error."""
    proc = subprocess.Popen(
        [str(CLI), "check", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not ready(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    return proc.returncode, err


# The number of read(2), which /proc/PID/syscall names first (proc(5)).
_READ = {"x86_64": "0", "aarch64": "63"}.get(platform.machine())


def _reading_stdin(pid: int) -> bool:
    """Blocked in read(0, ...): the read syscall, on file descriptor 0."""
    try:
        return Path(f"/proc/{pid}/syscall").read_text().startswith(f"{_READ} 0x0 ")
    except OSError:
        return False


def _loading(pid: int) -> bool:
    """Past the interpreter's start (its SIGINT handler is in place) and importing the
    libraries: pydantic's core is loaded, the rules are not yet."""
    try:
        return "pydantic_core" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False


@pytest.mark.skipif(
    _READ is None or not Path("/proc/self/syscall").exists(), reason="needs Linux's /proc"
)
def test_ctrl_c_ends_it_without_a_traceback() -> None:
    """`baclofen-cds check -` waits for its case on stdin; Ctrl-C (SIGINT) there exits 130.
    The test waits until the process reads stdin (a fixed sleep raced its start-up)."""
    status, err = _interrupted_when(_reading_stdin)
    assert status == 130, err
    assert b"Traceback" not in err and b"interrupted" in err


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")
def test_ctrl_c_while_it_starts_ends_it_without_a_traceback() -> None:
    """Ctrl-C during the second it spends importing: the same quiet exit."""
    status, err = _interrupted_when(_loading)
    assert status == 130, err
    assert b"Traceback" not in err and b"interrupted" in err


def test_a_database_that_cannot_be_reached_is_said_in_one_line() -> None:
    """`migrate` against a server that is not there printed a 112-line traceback; the
    password in the URL is not printed."""
    env = {
        **os.environ,
        "CDS_DATABASE_URL": "postgresql://cds:secret@127.0.0.1:1/cds?connect_timeout=2",
    }
    done = subprocess.run(
        [str(CLI), "migrate"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr and "secret" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert "not migrated: OperationalError" in line
