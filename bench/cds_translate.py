"""`make bench`, part 3: what a CDS Hooks call costs in process once its JSON is parsed: the
FHIR translation of the draft order and the prefetch, and the check of the Case it gives.
Translation grows with the prefetch, so the figures are for prefetches of a long record:

- 1,000 resources as an EHR sends them for a patient with a long history: 400 Conditions
  (60 distinct problems, recorded again at later encounters, some resolved), 595 active
  MedicationRequests (80 distinct drugs, the same prescriptions written again, an opioid and
  the current baclofen order among them) written the way Epic does (three dose-and-rate
  entries, route codes in two systems, timing text), a Patient, a weight and two renal
  results;
- the same 1,000 with every problem and drug distinct (nothing repeats: the worst case);
- 900 Conditions and 900 MedicationRequests, the size issue 13 measured.

As in a worker: the start-up heap is frozen (api/worker.py), each round parses its request
body afresh (not timed: bench.parse measures that), and the per-process memo of what the rules
find in a problem-list or medication entry is emptied before each round, so every figure is a
first sight of the record ("warm": the same record again, every entry already read); so are the
rules' memos of a code read, a code system named and a problem's text screened. Each
figure is the median of interleaved rounds; every check's alert codes are verified, so a fast
wrong answer fails the run instead of becoming a figure.

    python -m bench.cds_translate [--rounds 30]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from api import worker
from api.cds_hooks import fhir
from api.cds_hooks.fhir import findings
from api.cds_hooks.models import OrderContext
from api.cds_hooks.prefetch import Prefetched
from rules import code_sets, code_validation
from rules.checker import Checker

RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
EPIC_DOSE_TYPE = "http://epic.com/CodeSystem/dose-rate-type"
EPIC_ROUTE = "urn:oid:1.2.840.114350.1.13.301.3.7.4.798268.7025"

# (ICD-10-CM, SNOMED CT, text): common chronic problems, none of them a baclofen finding.
PROBLEMS = [
    ("I10", "38341003", "Essential hypertension"),
    ("E11.9", "44054006", "Type 2 diabetes"),
    ("E78.5", "55822004", "Hyperlipidemia"),
    ("M54.50", "279039007", "Low back pain"),
    ("J45.909", "195967001", "Asthma"),
    ("K21.9", "235595009", "Gastro-esophageal reflux"),
    ("F32.A", "35489007", "Depression"),
    ("G35", "24700007", "Multiple sclerosis"),
    ("E03.9", "40930008", "Hypothyroidism"),
    ("M17.11", "239873007", "Osteoarthritis of knee"),
    ("N39.0", "68566005", "Urinary tract infection"),
    ("R26.89", "22325002", "Gait abnormality"),
    ("G82.20", "60389000", "Paraplegia"),
    ("M62.838", "221360009", "Muscle spasm"),
    ("L89.152", "420324007", "Pressure ulcer of sacral region"),
]
# (RxCUI, RxNorm name): oral tablets.
DRUGS = [
    ("314076", "lisinopril 10 MG Oral Tablet"),
    ("860975", "metformin 500 MG Oral Tablet"),
    ("617312", "atorvastatin 10 MG Oral Tablet"),
    ("197361", "amlodipine 5 MG Oral Tablet"),
    ("198211", "simvastatin 40 MG Oral Tablet"),
    ("310965", "ibuprofen 200 MG Oral Tablet"),
    ("966247", "levothyroxine 0.05 MG Oral Tablet"),
    ("197380", "atenolol 25 MG Oral Tablet"),
    ("311989", "nitrofurantoin 100 MG Oral Capsule"),
    ("198440", "acetaminophen 500 MG Tablet"),
    ("312961", "simethicone 80 MG Chewable Tablet"),
    ("309362", "clopidogrel 75 MG Tablet"),
]


def _concept(system: str, code: str, text: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": text}], "text": text}


def _condition(n: int, icd: str, snomed: str, text: str, resolved: bool) -> dict[str, Any]:
    status = "resolved" if resolved else "active"
    return {
        "resourceType": "Condition",
        "id": f"c{n}",
        "clinicalStatus": _concept(
            "http://terminology.hl7.org/CodeSystem/condition-clinical", status, status.title()
        ),
        "verificationStatus": _concept(
            "http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed", "Confirmed"
        ),
        "category": [
            _concept(
                "http://terminology.hl7.org/CodeSystem/condition-category",
                "encounter-diagnosis",
                "Encounter Diagnosis",
            )
        ],
        "code": {
            "coding": [
                {"system": ICD10CM, "code": icd, "display": text},
                {"system": SNOMED, "code": snomed, "display": text},
            ],
            "text": text,
        },
        "subject": {"reference": "Patient/pat-1"},
        "recordedDate": f"{2010 + n % 15}-0{1 + n % 9}-15",
    }


def _dose_and_rate(mg: float, tablets: float) -> list[dict[str, Any]]:
    def typed(code: str, quantity: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": {
                "coding": [{"system": EPIC_DOSE_TYPE, "code": code, "display": code}],
                "text": code,
            },
            "doseQuantity": quantity,
        }

    mass = {"value": mg, "unit": "mg", "system": UCUM, "code": "mg"}
    return [
        typed("calculated", mass),
        typed(
            "admin-amount", {"value": tablets, "unit": "tablet", "system": UCUM, "code": "{tbl}"}
        ),
        typed("ordered", mass),
    ]


def _medication_request(
    n: int, rxcui: str, name: str, mg: float, tablets: float, per_day: int, status: str = "active"
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": f"m{n}",
        "status": status,
        "intent": "order",
        "category": [
            _concept(
                "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                "community",
                "Community",
            )
        ],
        "medicationCodeableConcept": _concept(RXNORM, rxcui, name),
        "subject": {"reference": "Patient/pat-1"},
        "authoredOn": "2026-09-01T10:00:00Z",
        "dosageInstruction": [
            {
                "text": f"Take {tablets:g} tablet(s) by mouth {per_day} times daily.",
                "timing": {
                    "repeat": {
                        "boundsPeriod": {"start": "2026-09-01T10:00:00Z"},
                        "frequency": per_day,
                        "period": 1,
                        "periodUnit": "d",
                    },
                    "code": {"text": f"{per_day} times daily"},
                },
                "route": {
                    "coding": [
                        {
                            "system": SNOMED,
                            "code": "26643006",
                            "display": "Oral route (qualifier value)",
                        },
                        {"system": EPIC_ROUTE, "code": "15", "display": "Oral"},
                    ],
                    "text": "Oral",
                },
                "doseAndRate": _dose_and_rate(mg, tablets),
            }
        ],
        "dispenseRequest": {
            "quantity": {"value": 90, "unit": "tablet"},
            "expectedSupplyDuration": {"value": 30, "unit": "Day", "system": UCUM, "code": "d"},
        },
    }


def _observation(loinc: str, text: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"o-{loinc}",
        "status": "final",
        "code": _concept(LOINC, loinc, text),
        "subject": {"reference": "Patient/pat-1"},
        "effectiveDateTime": "2026-11-20T08:00:00Z",
        "valueQuantity": {"value": value, "unit": unit, "system": UCUM, "code": unit},
    }


def _bundle(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {
                "fullUrl": f"https://ehr.example.test/fhir/{r['resourceType']}/{r['id']}",
                "resource": r,
                "search": {"mode": "match"},
            }
            for r in resources
        ],
    }


BACLOFEN = ("197391", "Baclofen 10 MG Oral Tablet")
OXYCODONE = ("1049621", "oxycodone hydrochloride 5 MG Oral Tablet")


def record(
    n_conditions: int, n_medications: int, distinct: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A draft order for baclofen 20 mg three times a day (the current order is 10 mg three
    times a day) and a prefetch of `n_conditions` Conditions, `n_medications`
    MedicationRequests (the current baclofen order and an opioid among them), a Patient, a
    weight and two renal results."""
    conditions = []
    for n in range(n_conditions):
        variant = n if distinct else n % 60  # 60 distinct problems, each recorded again
        icd, sct, text = PROBLEMS[variant % len(PROBLEMS)]
        if variant >= len(PROBLEMS):
            text = f"{text} (entry {variant // len(PROBLEMS)})"
        conditions.append(_condition(n, icd, sct, text, resolved=n % 7 == 0))
    medications = [
        _medication_request(0, *BACLOFEN, mg=10, tablets=1, per_day=3),
        _medication_request(1, *OXYCODONE, mg=5, tablets=1, per_day=4),
    ]
    for n in range(2, n_medications):
        variant = n if distinct else n % 80  # 80 distinct drugs, each prescribed again
        rxcui, name = DRUGS[variant % len(DRUGS)]
        if variant >= len(DRUGS):
            name = f"{name} (prescription {variant // len(DRUGS)})"
        medications.append(_medication_request(n, rxcui, name, mg=10, tablets=1, per_day=1))
    draft = _medication_request(9999, *BACLOFEN, mg=20, tablets=2, per_day=3, status="draft")
    draft["priorPrescription"] = {"reference": "MedicationRequest/m0"}  # the change it makes
    prefetch = {
        "patient": {"resourceType": "Patient", "id": "pat-1", "birthDate": "1971-04-02"},
        "conditions": _bundle(conditions),
        "medications": _bundle(medications),
        "weight": _bundle([_observation("29463-7", "Body weight", 72, "kg")]),
        "crcl": _bundle([_observation("2164-2", "Creatinine renal clearance", 88, "mL/min")]),
        "egfr": _bundle([_observation("98979-8", "eGFR (CKD-EPI 2021)", 84, "mL/min/{1.73_m2}")]),
        "pregnancy": None,
    }
    context = {
        "patientId": "pat-1",
        "draftOrders": {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": draft}],
        },
    }
    return context, prefetch


# 20 mg three times a day, up from 10 mg three times a day, beside an opioid.
EXPECTED = ["CNS_DEPRESSANT_COMEDICATION", "TITRATION_TOO_FAST"]


def _resources(prefetch: dict[str, Any]) -> int:
    return sum(
        len(v.get("entry", [])) if v.get("resourceType") == "Bundle" else 1
        for v in prefetch.values()
        if isinstance(v, dict)
    )


def measure(rounds: int, freeze: bool = True) -> list[dict[str, Any]]:
    checker = Checker()
    records = {
        "1,000 resources (400 Conditions, 596 MedicationRequests)": record(400, 596, False),
        "1,000 resources, every entry distinct": record(400, 596, True),
        "1,804 resources (900 Conditions, 900 MedicationRequests)": record(900, 900, False),
    }
    bodies = {
        name: json.dumps({"context": c, "prefetch": p}).encode() for name, (c, p) in records.items()
    }
    runs = [(name, warm) for name in records for warm in (False, True)]
    times: dict[tuple[str, bool], tuple[list[float], list[float]]] = {r: ([], []) for r in runs}

    def once(name: str, warm: bool) -> None:
        body = json.loads(bodies[name])  # as the route does: the worker's own objects
        ctx = OrderContext.model_validate(body["context"])
        prefetched = Prefetched(data=body["prefetch"])
        if not warm:  # every per-process memo of what an entry says
            findings.entry_findings.cache_clear()
            code_sets.text_says.cache_clear()
            code_sets.code_system.cache_clear()
            code_validation.read_code.cache_clear()
        t0 = time.perf_counter()
        translation = fhir.translate(ctx, prefetched, None)
        t1 = time.perf_counter()
        (check,) = translation.checks
        assert check.case is not None, check.notes
        result = checker.run(check.case)
        t2 = time.perf_counter()
        codes = sorted({a.code for a in result.alerts})
        if codes != EXPECTED:
            sys.exit(f"{name}: alerts {codes} != expected {EXPECTED}")
        times[name, warm][0].append((t1 - t0) * 1e3)
        times[name, warm][1].append((t2 - t1) * 1e3)

    for run in runs:  # warm-up (imports, first-call caches)
        once(*run)
    if freeze:  # as api/main.py does in each worker (a test leaves its process alone)
        worker.freeze_startup_heap()
    for translate, check in times.values():
        translate.clear()
        check.clear()
    for _ in range(rounds):
        for run in runs:
            once(*run)
    rows = []
    for (name, warm), (translate, check) in times.items():
        total = [a + b for a, b in zip(translate, check, strict=True)]
        rows.append(
            {
                "prefetch": name + (", warm" if warm else ""),
                "resources": _resources(records[name][1]),
                "translate_ms": statistics.median(translate),
                "check_ms": statistics.median(check),
                "total_ms": statistics.median(total),
                "total_p90_ms": statistics.quantiles(total, n=10)[-1]
                if len(total) > 1
                else total[0],
            }
        )
    return rows


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    out(f"## CDS Hooks translation + check, in process (load average {load:.2f})\n")
    out("| prefetch | resources | translate ms | check ms | total ms (p50) | total ms (p90) |")
    out("|---|---:|---:|---:|---:|---:|")
    for r in measure(args.rounds):
        out(
            f"| {r['prefetch']} | {r['resources']:,} | {r['translate_ms']:.1f} | "
            f"{r['check_ms']:.1f} | **{r['total_ms']:.1f}** | {r['total_p90_ms']:.1f} |"
        )
    out(
        "\nTarget (issue 13): a 1,000-resource prefetch under 50 ms. The check is the engine "
        "run on the Case the translation gives; JSON parsing is measured by bench.parse."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
