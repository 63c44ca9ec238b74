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


ONE_RULE = {"a": {"all": [{"m": {"kind": "x"}}], "run": "a"}}


def assert_quietly(host, fact):
    try:
        host.assert_fact("r", fact)
    except engine.MessageNotHandledException:
        pass


def background_threads():
    """Our countermeasure's control: two live sessions, the first deleted, which leaves the
    session index a dangling entry (`dispatch_after_delete`); for a while (argv[2] seconds,
    default 5) the main thread keeps creating and deleting sessions, each with an action run
    (no delete-without-action crash), leaving more. Without the stock Host's threads, nothing
    reads them and the process survives it all.

    The stock Host's threads read them every 0.2 s. Whether that kills the process depends on
    the heap layout, not on anything a test controls: under pyenv's Python 3.11.7 it died in
    every run; under Debian's 3.11.2, the same script never did, reading the freed memory
    silently instead. `dispatch_after_delete` shows what the threads do, deterministically."""
    host = QuietHost()
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


def dispatch_after_delete(delete):
    """What the stock Host's dispatcher thread runs every 0.2 s (`Ruleset.dispatch`: the C
    engine's start_action over every session), run on the main thread, with session s1's
    action pending and session s0 deleted (after its action ran). delete_state leaves the C
    engine's list of sessions naming s0's freed node where s1's was (state.c 849:
    reverseStateIndex is never compacted), so the dispatcher reads freed memory: it never
    finds s1's action, or the process dies where that memory is unmapped (the stock threads'
    crash, which depends on the heap layout: `background_threads`). The control, without the
    delete, delivers s1's action."""
    native = engine.durable_rules_engine
    host = QuietHost()
    ACTIONS["a"] = lambda c: fired.append(c.m.sid)
    host.register_rulesets({"r": ONE_RULE})
    handle = host.get_ruleset("r")._handle
    _, s0 = native.assert_fact(handle, '{"kind":"x","id":"1","sid":"s0"}')
    native.assert_fact(handle, '{"kind":"x","id":"1","sid":"s1"}')
    if native.start_action_for_state(handle, s0):  # s0's action is taken and done; s1's waits
        while native.complete_and_start_action(handle, s0):
            pass
    if delete:
        host.delete_state("r", "s0")
    for _ in range(5):
        host.get_ruleset("r").dispatch()
    print("delivered", fired)


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
    "background_threads_quiet": background_threads,
    "dispatch_after_delete": lambda: dispatch_after_delete(delete=True),
    "dispatch_without_delete": lambda: dispatch_after_delete(delete=False),
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
