# ruff: noqa: T201  (a probe reports what it observed on stdout, read by the calling test)
"""The crash scenarios of raw_durable.py, run through engine.Engine in a fresh interpreter.

Run as `python engine_side.py <scenario>`; prints what it observed and "survived" last. A
regression in a countermeasure kills this process (a signal in the return code), not pytest.
"""

import sys
import threading
import time

import engine.runtime as runtime
from engine import AlertRule, Engine, EngineError, Severity, Source, c, m

HIT = AlertRule(
    id="probe.hit",
    code="HIT",
    severity=Severity.WARNING,
    when=(c.x << (m.kind == "x"),),
    message="hit {x.n}",
    suggestion="-",
    source=Source(document="probe", excerpt="probe"),
)


def background() -> None:
    """Checks, then idle long enough for durable's dispatcher/timer threads to run (they tick
    every 0.2 s): with Engine there are none to run."""
    before = threading.active_count()
    engine = Engine("probe", [HIT])
    for n in range(5):
        assert [a.message for a in engine.evaluate([{"kind": "x", "n": n}]).alerts] == [f"hit {n}"]
    time.sleep(1.0)
    print("new threads:", threading.active_count() - before)
    print("survived")


def no_action() -> None:
    """Checks in which no rule matches, and checks that fail on their first fact: every
    session is still deleted safely, and none is left behind (more than 1024 of each)."""
    engine = Engine("probe", [HIT])
    for n in range(1100):
        assert engine.evaluate([{"kind": "unmatched", "n": n}]).alerts == []
    failed = 0
    for _ in range(1100):
        try:
            engine.evaluate([{"kind": "x", "n": float("nan")}])
        except EngineError:
            failed += 1
    print("failed checks:", failed)
    print("then:", [a.message for a in engine.evaluate([{"kind": "x", "n": 7}]).alerts])
    print("survived")


def sessions() -> None:
    """2,100 sequential checks (past the 1024-session cap), each its own alert, one in 100
    failing on purpose (a NaN the engine refuses). Completed checks reuse one session and
    leave it empty; a failed one deletes it. Afterwards the C engine knows only the current
    session, which holds no fact."""
    sids: list[str] = []
    real = runtime._new_sid

    def recording_new_sid() -> str:
        sid = real()
        sids.append(sid)
        return sid

    runtime._new_sid = recording_new_sid
    engine = Engine("probe", [HIT])
    wrong = failed = left = 0
    for n in range(2100):
        if n % 100 == 50:
            try:
                engine.evaluate([{"kind": "x", "n": float("nan")}])
            except EngineError:
                failed += 1
            continue
        if [a.message for a in engine.evaluate([{"kind": "x", "n": n}]).alerts] != [f"hit {n}"]:
            wrong += 1
        left += runtime._native.get_facts(engine._handle, engine._session) != "[]"
    gone = 0
    for sid in sids[:-1]:
        try:
            engine._host.get_state(engine.name, sid)
        except Exception as exc:  # durable: "Could not get state, error code: 309"
            gone += "309" in str(exc)
    print(
        "checks:",
        2100,
        "wrong:",
        wrong,
        "failed:",
        failed,
        "sessions:",
        len(sids),
        "gone:",
        gone,
        "facts left after a check:",
        left,
        "current is the last:",
        engine._session == sids[-1],
    )
    print("survived")


if __name__ == "__main__":
    {"background": background, "no_action": no_action, "sessions": sessions}[sys.argv[1]]()
