# ruff: noqa: T201  (a probe reports what it observed on stdout, read by the calling test)
"""Naive use of the raw durable-rules 2.0.28 API, one scenario per run (negative controls).

Run as `python raw_durable.py <scenario> [arg]`; the scenario prints what it observed, and
the crash scenarios die by a signal, which the calling test reads from the return code.
Deliberately imports nothing but durable.engine: the delete-without-action crash frees an
uninitialised pointer, so it depends on the heap layout, and a bigger import can hide it.
Never import this from the test process.
"""

import sys
import time

from durable import engine

fired: list[str] = []
ACTIONS = {}


class QuietHost(engine.Host):
    """A Host without the background dispatcher/timer threads (our countermeasure)."""

    def _run(self):
        pass

    def get_action(self, name):
        return ACTIONS.get(name, lambda c: fired.append(name))


class StockHost(engine.Host):
    """The stock Host: its constructor starts the dispatcher and timer threads."""

    def get_action(self, name):
        return ACTIONS.get(name, lambda c: fired.append(name))


ONE_RULE = {"a": {"all": [{"m": {"kind": "x"}}], "run": "a"}}


def assert_quietly(host, fact):
    try:
        host.assert_fact("r", fact)
    except engine.MessageNotHandledException:
        pass


def background_threads(host_class):
    """Two live sessions, the first deleted: the session index keeps a dangling entry that
    the timer thread dereferences within ~0.2 s on an idle machine. On a loaded one the timer
    may not run for seconds (with a fixed 1 s, then 3 s, full-suite runs on the shared machine
    saw the stock host survive), so for a while (argv[2] seconds, default 5) the main thread
    keeps creating and deleting sessions, each with an action run (no delete-without-action
    crash), leaving more dangling entries for the timer to meet. The control does the same and
    must survive it all."""
    host = host_class()
    host.register_rulesets({"r": ONE_RULE})
    for sid in ("s1", "s2"):
        host.assert_fact("r", {"kind": "x", "id": "1", "sid": sid})
    host.delete_state("r", "s1")
    deadline = time.monotonic() + float(sys.argv[2] if len(sys.argv) > 2 else 5.0)
    n = 0
    while time.monotonic() < deadline:
        n += 1
        sid = f"churn{n}"
        host.assert_fact("r", {"kind": "x", "id": "1", "sid": sid})
        host.delete_state("r", sid)
        time.sleep(0.05)
    host.delete_state("r", "s2")
    print("survived", sorted(set(fired)))


def delete_without_action(sentinel):
    """Delete a session in which no action ran (only an unmatched fact was asserted)."""
    host = QuietHost()
    host.register_rulesets({"r": {**ONE_RULE, "s": {"all": [{"m": {"kind": "$s"}}], "run": "s"}}})
    if sentinel:
        host.assert_fact("r", {"kind": "$s", "id": "$s", "sid": "s1"})
    assert_quietly(host, {"kind": "unmatched", "id": "1", "sid": "s1"})
    host.delete_state("r", "s1")
    host.assert_fact("r", {"kind": "x", "id": "2", "sid": "s2"})
    host.delete_state("r", "s2")
    print("survived")


def sid_collision(sid_a, sid_b):
    """Patient A's allergy and patient B's order, in two live sessions whose sids collide."""
    host = QuietHost()
    host.register_rulesets(
        {
            "r": {
                "join": {
                    "all": [{"a": {"kind": "allergy"}}, {"o": {"kind": "order"}}],
                    "run": "join",
                }
            }
        }
    )
    host.assert_fact("r", {"kind": "allergy", "id": "1", "sid": sid_a})
    assert_quietly(host, {"kind": "order", "id": "2", "sid": sid_b})
    print("fired", fired, "state of B is", host.get_state("r", sid_b)["sid"])


def session_cap(count):
    """`count` live sessions at once, then read the last one back."""
    host = QuietHost()
    host.register_rulesets({"r": ONE_RULE})
    for n in range(count):
        try:
            host.assert_fact("r", {"kind": "x", "id": "1", "sid": f"s{n}"})
        except MemoryError:
            print(f"MemoryError at session {n + 1}", flush=True)
    print("last sid", host.get_state("r", f"s{count - 1}")["sid"], flush=True)


def swallowed_exception():
    def broken(c):
        raise ZeroDivisionError("broken rule")

    ACTIONS["a"] = broken
    host = QuietHost()
    host.register_rulesets({"r": ONE_RULE})
    host.assert_fact("r", {"kind": "x", "id": "1", "sid": "s"})
    print("returned; exception in state:", "ZeroDivisionError" in str(host.get_state("r", "s")))


def lost_derived():
    """An action derives a fact no rule wants, then one a rule wants."""

    def derive(c):
        c.assert_fact({"kind": "unused", "id": "d1"})
        c.assert_fact({"kind": "band", "id": "d2"})

    ACTIONS["derive"] = derive
    host = QuietHost()
    host.register_rulesets(
        {
            "r": {
                "derive": {"all": [{"m": {"kind": "x"}}], "run": "derive"},
                "alert": {"all": [{"m": {"kind": "band"}}], "run": "alert"},
            }
        }
    )
    host.assert_fact("r", {"kind": "x", "id": "1", "sid": "s"})
    print("fired", fired, "exception in state:", "exception" in host.get_state("r", "s"))


def mid_collision(id_a, id_b):
    """Two different facts in one session whose ids collide in the 32-bit message index."""
    host = QuietHost()
    host.register_rulesets({"r": ONE_RULE})
    host.assert_fact("r", {"kind": "x", "id": id_a, "n": 1, "sid": "s"})
    try:
        host.assert_fact("r", {"kind": "x", "id": id_b, "n": 2, "sid": "s"})
    except engine.MessageObservedException:
        print("observed", end=" ")
    print("fired", fired)


def batch_assert():
    host = QuietHost()
    host.register_rulesets({"r": ONE_RULE})
    try:
        host.assert_facts(
            "r",
            [{"kind": "unmatched", "id": "1", "sid": "s"}, {"kind": "x", "id": "2", "sid": "s"}],
        )
    except engine.MessageNotHandledException:
        print("raised", end=" ")
    print("fired", fired)


def siblings(count):
    """`count` rules whose first tests one fact matches all at once."""
    host = QuietHost()
    host.register_rulesets(
        {
            "r": {
                f"r{n}": {"all": [{"m": {"$and": [{"kind": "x"}, {"$gt": {"v": n}}]}}], "run": "a"}
                for n in range(count)
            }
        }
    )
    try:
        host.assert_fact("r", {"kind": "x", "v": 1000, "id": "1", "sid": "s"})
        print("fired", len(fired))
    except Exception as exc:
        print(exc)


def bucket(count):
    """`count` distinct first tests under one parent (the root)."""
    QuietHost().register_rulesets(
        {"r": {f"r{n}": {"all": [{"m": {"kind": f"k{n}"}}], "run": "a"} for n in range(count)}}
    )
    print("registered", count)


def exponent_rule(threshold):
    """A rule constant as Python's json writes it (durable registers with json.dumps)."""
    try:
        QuietHost().register_rulesets(
            {
                "r": {
                    "a": {
                        "all": [{"m": {"$and": [{"kind": "x"}, {"$gt": {"v": float(threshold)}}]}}],
                        "run": "a",
                    }
                }
            }
        )
        print("registered")
    except Exception as exc:
        print(exc)


def exponent_fact(value):
    """A fact holding a number Python's json writes in exponent form (durable's own path)."""
    host = QuietHost()
    host.register_rulesets({"r": ONE_RULE})
    try:
        host.assert_fact("r", {"kind": "x", "v": float(value), "id": "1", "sid": "s"})
        print("asserted")
    except Exception as exc:
        print(exc)


def metadata():
    try:
        QuietHost().register_rulesets({"r": {"a": {**ONE_RULE["a"], "description": "why"}}})
        print("registered")
    except Exception as exc:
        print(exc)


def mutation():
    definitions = {"r": {"a": {"all": [{"m": {"kind": "x"}}], "run": "a"}}}
    QuietHost().register_rulesets(definitions)
    print("run kept:", "run" in definitions["r"]["a"], end="; ")
    try:
        QuietHost().register_rulesets({"r2": definitions["r"]})
        print("second registration ok")
    except KeyError as exc:
        print("second registration KeyError", exc)


SCENARIOS = {
    "background_threads_stock": lambda: background_threads(StockHost),
    "background_threads_quiet": lambda: background_threads(QuietHost),
    "delete_without_action": lambda: delete_without_action(sentinel=False),
    "delete_after_sentinel": lambda: delete_without_action(sentinel=True),
    "sid_collision": lambda: sid_collision(sys.argv[2], sys.argv[3]),
    "session_cap": lambda: session_cap(int(sys.argv[2])),
    "swallowed_exception": swallowed_exception,
    "lost_derived": lost_derived,
    "mid_collision": lambda: mid_collision(sys.argv[2], sys.argv[3]),
    "batch_assert": batch_assert,
    "siblings": lambda: siblings(int(sys.argv[2])),
    "bucket": lambda: bucket(int(sys.argv[2])),
    "exponent_rule": lambda: exponent_rule(sys.argv[2]),
    "exponent_fact": lambda: exponent_fact(sys.argv[2]),
    "metadata": metadata,
    "mutation": mutation,
}

if __name__ == "__main__":
    SCENARIOS[sys.argv[1]]()
