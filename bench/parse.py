"""`make bench`, part 2: what refusing repeated JSON keys costs (api/strict_json.py).

Parse and parse + validate of three bodies, with Python's json.loads (last key wins) and with
strict_json.loads (a Python hook per JSON object), interleaved so that both see the same
machine: the usual native request ("five alerts" of the engine mix), a usual CDS Hooks
order-sign call (a golden request) and one whose prefetch holds 1,000 active
MedicationRequests.

    python -m bench.parse [--rounds 2000]
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from api import strict_json
from api.cds_hooks.models import HookRequest, OrderContext
from bench.cases import cds_cases, mix_body
from rules.case import SafetyCheckRequest


def large_hook_request(n: int = 1000) -> dict[str, Any]:
    """The CNS-depressant golden request with n active MedicationRequests in its prefetch,
    written compactly (no category, requester or coded route) so that 1,000 of them fit in
    the 1 MiB body limit: the golden entry's 1.2 kB each would not."""
    request, _ = cds_cases()["adult-cns-depressants"]
    request = copy.deepcopy(request)
    bundle = request["prefetch"]["medications"]
    model = bundle["entry"][0]["resource"]
    dosage = model["dosageInstruction"][0]
    compact = {
        k: model[k]
        for k in (
            "resourceType",
            "status",
            "intent",
            "medicationCodeableConcept",
            "subject",
            "authoredOn",
        )
    }
    compact["dosageInstruction"] = [
        {
            "timing": dosage["timing"],
            "doseAndRate": [{"doseQuantity": dosage["doseAndRate"][0]["doseQuantity"]}],
        }
    ]
    bundle["entry"] = [{"resource": {**copy.deepcopy(compact), "id": f"rx-{i}"}} for i in range(n)]
    bundle["total"] = n
    return request


def _native(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    return lambda raw: SafetyCheckRequest.model_validate(parse(raw), from_attributes=True)


def _hook(parse: Callable[[bytes], Any]) -> Callable[[bytes], Any]:
    def run(raw: bytes) -> Any:
        hook = HookRequest.model_validate(parse(raw))
        return OrderContext.model_validate(hook.context)

    return run


def _timed(fn: Callable[[bytes], Any], raw: bytes, times: list[float]) -> None:
    t0 = time.perf_counter()
    fn(raw)
    times.append((time.perf_counter() - t0) * 1e6)


def measure(rounds: int) -> list[dict[str, Any]]:
    native = json.dumps(mix_body("five alerts")).encode()
    usual_hook = json.dumps(cds_cases()["adult-cns-depressants"][0]).encode()
    large_hook = json.dumps(large_hook_request()).encode()
    rows = []
    for label, raw, wrap, n in (
        ("native request (five alerts)", native, _native, rounds),
        ("CDS Hooks call (golden adult-cns-depressants)", usual_hook, _hook, rounds),
        ("CDS Hooks call, 1,000 active medications", large_hook, _hook, max(rounds // 20, 50)),
    ):
        variants = {
            "parse": (json.loads, strict_json.loads),
            "parse + validate": (wrap(json.loads), wrap(strict_json.loads)),
        }
        for step, (plain, strict) in variants.items():
            a: list[float] = []
            b: list[float] = []
            for _ in range(n // 10 + 5):  # warm-up
                plain(raw)
                strict(raw)
            gc.collect()
            for i in range(n):  # interleaved, alternating which goes first
                first, second = ((plain, a), (strict, b)) if i % 2 else ((strict, b), (plain, a))
                _timed(first[0], raw, first[1])
                _timed(second[0], raw, second[1])
            p, s = statistics.median(a), statistics.median(b)
            rows.append(
                {
                    "body": label,
                    "bytes": len(raw),
                    "objects": raw.count(b"{"),
                    "step": step,
                    "plain_us": p,
                    "strict_us": s,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args(argv)
    print("## Refusing repeated JSON keys (api/strict_json.py), in process, p50\n")
    print("| body | bytes | objects | step | json.loads µs | strict_json µs | cost µs | cost % |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for r in measure(args.rounds):
        extra = r["strict_us"] - r["plain_us"]
        print(
            f"| {r['body']} | {r['bytes']:,} | {r['objects']:,} | {r['step']} | "
            f"{r['plain_us']:,.1f} | {r['strict_us']:,.1f} | {extra:+,.1f} | "
            f"{extra / r['plain_us']:+.0%} |"
        )
    print(
        "\n`json.loads` keeps the last of repeated keys; `strict_json` calls a Python hook "
        "per object and refuses them. `validate` = SafetyCheckRequest (native) or "
        "HookRequest and its context (CDS Hooks), as the routes do."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
