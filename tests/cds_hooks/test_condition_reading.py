"""Problem-list and medication entries through CDS Hooks, end to end: Condition statuses and
abatement, codes as EHRs write them (full width, `id |term|`, a bad check digit), the code
outranking the text, and the co-medication classes. Each row is an adult whose renewed tablets
raise nothing on their own, so the cards come from the entries alone."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from api.cds_hooks.fhir.elements import CodeableConcept
from api.cds_hooks.fhir.medication import Product
from tests.cds_hooks.ehr import call, topic_codes
from tests.cds_hooks.fhir import (
    ICD10CM,
    RXNORM,
    SNOMED,
    TABLET_10,
    condition,
    full_prefetch,
    hook_request,
    med_request,
    patient,
    pregnancy_status,
    quantity,
    weight,
)
from tests.test_code_validation import wide

ATC = "http://www.whocc.no/atc"
ADULT = patient(birth="1981-06-15")
SEIZURE = "SEIZURE_DISORDER_CONTRAINDICATION"
ESRD = "END_STAGE_RENAL_CONTRAINDICATION"
PREGNANCY = "PREGNANCY"
CNS = "CNS_DEPRESSANT_COMEDICATION"
MISSING = "MISSING_DATA"


def cond(
    code: str,
    display: str,
    snomed: str | None = None,
    *,
    text: str | None = None,
    codings: list[dict[str, Any]] | None = None,
    **changes: Any,
) -> dict[str, Any]:
    """A Condition like fhir.condition(), with fields replaced (None removes one)."""
    res = condition(code, display, snomed)
    if codings is not None:
        res["code"]["coding"] = codings
    if text is not None:
        res["code"]["text"] = text
    for key, value in changes.items():
        if value is None:
            res.pop(key, None)
        else:
            res[key] = value
    return res


def status(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": f"http://terminology.hl7.org/CodeSystem/{system}", "code": code}]}


def med(code: str, display: str | None, system: str = RXNORM) -> dict[str, Any]:
    coding = {"system": system, "code": code, **({"display": display} if display else {})}
    return med_request(
        "rx-co",
        {"coding": [coding]},
        quantity(1, "{pill}"),
        per_day=1,
        status="active",
        authored="2026-09-01T10:00:00+01:00",
    )


def _codings(*codings: dict[str, Any]) -> dict[str, Any]:
    resource = med("0", None)
    resource["medicationCodeableConcept"] = {"coding": list(codings)}
    return resource


def _contained(product: str, ingredient: str) -> dict[str, Any]:
    """An active order whose contained Medication has a product code and a coded ingredient."""
    resource = med("0", None)
    del resource["medicationCodeableConcept"]
    resource["contained"] = [
        {
            "resourceType": "Medication",
            "id": "m",
            "code": {"coding": [{"system": RXNORM, "code": product}]},
            "ingredient": [
                {"itemCodeableConcept": {"coding": [{"system": RXNORM, "code": ingredient}]}}
            ],
        }
    ]
    resource["medicationReference"] = {"reference": "#m"}
    return resource


CONDITION_ROWS: list[tuple[str, dict[str, Any], list[str]]] = [
    # statuses (the builder's default is active and confirmed)
    ("epilepsy-active", cond("G40.909", "Epilepsy", "84757009"), [SEIZURE]),
    (
        "epilepsy-resolved-is-a-history-of-epilepsy",
        cond("G40.909", "Epilepsy", clinicalStatus=status("condition-clinical", "resolved")),
        [SEIZURE],
    ),
    (
        "epilepsy-remission",
        cond("G40.909", "Epilepsy", clinicalStatus=status("condition-clinical", "remission")),
        [SEIZURE],
    ),
    (
        "epilepsy-refuted",
        cond("G40.909", "Epilepsy", verificationStatus=status("condition-ver-status", "refuted")),
        [],
    ),
    (
        "epilepsy-entered-in-error",
        cond(  # FHIR con-5: no clinical status then
            "G40.909",
            "Epilepsy",
            clinicalStatus=None,
            verificationStatus=status("condition-ver-status", "entered-in-error"),
        ),
        [],
    ),
    (
        "epilepsy-provisional",
        cond(
            "G40.909", "Epilepsy", verificationStatus=status("condition-ver-status", "provisional")
        ),
        [SEIZURE],
    ),
    ("esrd-active", cond("N18.6", "End stage renal disease"), [ESRD]),
    (
        "esrd-resolved",
        cond(
            "N18.6",
            "End stage renal disease",
            clinicalStatus=status("condition-clinical", "resolved"),
        ),
        [],
    ),
    (
        "esrd-inactive",
        cond(
            "N18.6",
            "End stage renal disease",
            clinicalStatus=status("condition-clinical", "inactive"),
        ),
        [],
    ),
    (
        "esrd-relapse",
        cond(
            "N18.6",
            "End stage renal disease",
            clinicalStatus=status("condition-clinical", "relapse"),
        ),
        [ESRD],
    ),
    (
        "esrd-stu3-status-codes",
        cond(
            "N18.6",
            "End stage renal disease",
            clinicalStatus="resolved",
            verificationStatus="confirmed",
        ),
        [],
    ),
    # abatement
    (
        "esrd-abated-without-clinical-status",
        cond(
            "N18.6", "End stage renal disease", clinicalStatus=None, abatementDateTime="2019-05-01"
        ),
        [],
    ),
    (
        "esrd-abatement-period-without-clinical-status",
        cond(
            "N18.6",
            "End stage renal disease",
            clinicalStatus=None,
            abatementPeriod={"start": "2019-05-01"},
        ),
        [],
    ),
    (
        "esrd-abatement-string-without-clinical-status",
        cond(
            "N18.6",
            "End stage renal disease",
            clinicalStatus=None,
            abatementString="after transplant",
        ),
        [],
    ),
    (
        "esrd-stu3-abatement-boolean",
        cond("N18.6", "End stage renal disease", clinicalStatus=None, abatementBoolean=True),
        [],
    ),
    (
        "esrd-abatement-still-ahead",
        cond(
            "N18.6", "End stage renal disease", clinicalStatus=None, abatementDateTime="2999-01-01"
        ),
        [ESRD],
    ),
    (
        "esrd-no-abatement-no-clinical-status",
        cond("N18.6", "End stage renal disease", clinicalStatus=None),
        [ESRD],
    ),
    (
        "esrd-abated-but-said-active",
        cond(  # contradictory (con-4): the active status stands
            "N18.6", "End stage renal disease", abatementDateTime="2019-05-01"
        ),
        [ESRD],
    ),
    (
        "pregnancy-abated",
        cond("Z33.1", "Pregnant state", clinicalStatus=None, abatementDateTime="2025-02-01"),
        [],
    ),
    # the code decides
    (
        "febrile-convulsions-icd10-and-snomed",
        cond("R56.00", "Simple febrile convulsions", "41497008"),
        [],
    ),
    (
        "febrile-convulsions-code-outranks-epilepsy-text",
        cond("R56.00", "Simple febrile convulsions", text="Epilepsy"),
        [],
    ),
    ("unspecified-convulsions", cond("R56.9", "Unspecified convulsions"), [SEIZURE]),
    (
        "unspecific-code-leaves-it-to-the-text",
        cond(
            "Z86.69",
            "Personal history of other diseases of the nervous system",
            text="History of epilepsy",
        ),
        [SEIZURE],
    ),
    (
        "kidney-transplant-status-previously-on-haemodialysis",
        cond("Z94.0", "Kidney transplant status", text="Previously on haemodialysis"),
        [],
    ),
    ("dialysis-dependence", cond("Z99.2", "Dependence on renal dialysis"), [ESRD]),
    (
        "personal-history-of-pregnancy-complications",
        cond(
            "Z87.59",
            "Personal history of other complications of pregnancy, childbirth and the puerperium",
        ),
        [],
    ),
    ("pregnant-state", cond("Z33.1", "Pregnant state, incidental"), [PREGNANCY]),
    ("weeks-of-gestation", cond("Z3A.20", "20 weeks gestation of pregnancy"), [PREGNANCY]),
    ("puerperal-sepsis", cond("O85", "Puerperal sepsis"), []),
    # codes as EHRs write them
    ("icd10-full-width", cond(wide("G40.909"), "Epilepsy"), [SEIZURE]),
    ("icd10-full-width-harmless", cond(wide("I10"), "Essential hypertension"), []),
    (
        "icd10-stray-spaces-no-text",
        cond("x", "x", text="", codings=[{"system": ICD10CM, "code": " G40 .909 "}]),
        [SEIZURE],
    ),
    (
        "snomed-id-term-form",
        cond("x", "x", text="", codings=[{"system": SNOMED, "code": "84757009 |Epilepsy|"}]),
        [SEIZURE],
    ),
    (
        "snomed-bad-check-digit-no-text",
        cond("x", "x", text="", codings=[{"system": SNOMED, "code": "84757008"}]),
        [MISSING],
    ),
    (
        "snomed-bad-check-digit-with-text",
        cond("x", "x", text="Epilepsy", codings=[{"system": SNOMED, "code": "84757008"}]),
        [MISSING, SEIZURE],
    ),
    (
        "snomed-leading-zero-no-text",
        cond("x", "x", text="", codings=[{"system": SNOMED, "code": "084757009"}]),
        [MISSING],
    ),
    (
        "snomed-bad-check-digit-beside-a-valid-icd10-coding",
        cond(
            "x",
            "x",
            text="",
            codings=[
                {"system": ICD10CM, "code": "G40.909"},
                {"system": SNOMED, "code": "84757008"},
            ],
        ),
        [SEIZURE],
    ),
]


def _cards(
    cds: Any,
    conditions: list[dict[str, Any]],
    medications: list[dict[str, Any]] | None = None,
    pregnancy: list[dict[str, Any]] | None = None,
) -> list[str]:
    active = med_request(
        "rx-0",
        TABLET_10,
        quantity(10, "mg"),
        per_day=3,
        status="active",
        authored="2026-10-01T10:00:00+01:00",
    )
    draft = med_request("rx-1", TABLET_10, quantity(10, "mg"), per_day=3, prior="rx-0")
    body = call(
        cds,
        hook_request(
            "order-sign",
            [draft],
            full_prefetch(
                ADULT,
                conditions=conditions,
                medications=[active, *(medications or [])],
                weights=[weight(80)],
                pregnancy=pregnancy,
            ),
        ),
    ).json()
    return topic_codes(body)


@pytest.mark.parametrize(
    ("resource", "expected"),
    [(r, e) for _, r, e in CONDITION_ROWS],
    ids=[i for i, _, _ in CONDITION_ROWS],
)
def test_condition(cds: Any, resource: dict[str, Any], expected: list[str]) -> None:
    assert _cards(cds, [copy.deepcopy(resource)]) == sorted(expected)


def _status(**value: Any) -> dict[str, Any]:
    """A pregnancy status Observation (LOINC 82810-3) with the given value[x]."""
    res = pregnancy_status()
    del res["valueCodeableConcept"]
    return {**res, **value}


def _answer(code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": "http://loinc.org", "code": code}
    return {"coding": [{**coding, "display": display} if display else coding]}


# The pregnancy status as EHRs write it: LOINC's own answers (LA15173-0 Pregnant, LA26683-5
# Not pregnant, LA4489-6 Unknown), SNOMED CT, a boolean, or no value.
PREGNANCY_STATUS_ROWS = [
    ("snomed-pregnant", pregnancy_status(), [PREGNANCY]),
    ("snomed-not-pregnant", pregnancy_status("60001007", "Not pregnant"), []),
    ("loinc-pregnant-no-display", _status(valueCodeableConcept=_answer("LA15173-0")), [PREGNANCY]),
    (
        "loinc-pregnant-display",
        _status(valueCodeableConcept=_answer("LA15173-0", "Pregnant")),
        [PREGNANCY],
    ),
    ("loinc-not-pregnant-no-display", _status(valueCodeableConcept=_answer("LA26683-5")), []),
    (
        "loinc-not-pregnant-display",
        _status(valueCodeableConcept=_answer("LA26683-5", "Not pregnant")),
        [],
    ),
    ("loinc-unknown", _status(valueCodeableConcept=_answer("LA4489-6", "Unknown")), [MISSING]),
    # "Unknown" beside "Pregnant" in one value had outranked it: no PREGNANCY card.
    (
        "loinc-unknown-beside-snomed-pregnant",
        _status(
            valueCodeableConcept={
                "coding": [
                    {"system": "http://loinc.org", "code": "LA4489-6", "display": "Unknown"},
                    {"system": "http://snomed.info/sct", "code": "77386006"},
                ]
            }
        ),
        [PREGNANCY],
    ),
    ("boolean-true", _status(valueBoolean=True), [PREGNANCY]),
    ("boolean-false", _status(valueBoolean=False), []),
    ("string-pregnant", _status(valueString="Pregnant"), [PREGNANCY]),
    ("no-value", _status(), [MISSING]),
]


@pytest.mark.parametrize(
    ("status", "expected"),
    [(r, e) for _, r, e in PREGNANCY_STATUS_ROWS],
    ids=[i for i, _, _ in PREGNANCY_STATUS_ROWS],
)
def test_pregnancy_status(cds: Any, status: dict[str, Any], expected: list[str]) -> None:
    """A boolean status gave no card and no word; LOINC's own answer "Pregnant" was reported
    as coded in a system not read, and no PREGNANCY card came."""
    assert _cards(cds, [], pregnancy=[copy.deepcopy(status)]) == sorted(expected)


def test_a_pregnancy_status_not_read_is_named(cds: Any) -> None:
    active = med_request("rx-0", TABLET_10, quantity(10, "mg"), per_day=3, status="active")
    draft = med_request("rx-1", TABLET_10, quantity(10, "mg"), per_day=3, prior="rx-0")
    prefetch = full_prefetch(
        ADULT, medications=[active], weights=[weight(80)], pregnancy=[_status()]
    )
    (card,) = call(cds, hook_request("order-sign", [draft], prefetch)).json()["cards"]
    assert (
        "The latest pregnancy status (Observation/obs-82810-3, LOINC 82810-3) has no value that "
        "could be read: only the problem list was screened for a pregnancy." in card["detail"]
    )


MEDICATION_ROWS = [
    ("amitriptyline-rxnorm", med("704", None), [CNS]),
    ("amitriptyline-do-not-perform", {**med("704", None), "doNotPerform": True}, []),
    ("mirtazapine-text", med("999999", "Mirtazapine 15 MG Oral Tablet"), [CNS]),
    ("haloperidol-atc", med("N05AD01", None, ATC), [CNS]),
    ("nabiximols-text", med("123", "Sativex", "urn:oid:1.2.3"), [CNS]),
    ("sertraline-atc", med("N06AB06", "Sertraline", ATC), []),
    ("rxnorm-full-width-morphine", med(wide("7052"), None), [CNS]),
    ("medication-in-snomed-without-text", med("38341003", None, SNOMED), [MISSING]),
    # A clinical-drug code the rules do not list (RxNorm SCD 197901, lorazepam 1 mg tablet)
    # beside what names the drug: the drug is screened by that, whichever comes first.
    (
        "scd-code-beside-a-snomed-display",
        _codings(
            {"system": RXNORM, "code": "197901"},
            {"system": SNOMED, "code": "321776006", "display": "Lorazepam 1mg tablets"},
        ),
        [CNS],
    ),
    ("scd-code-beside-a-coded-ingredient", _contained("197901", "6470"), [CNS]),
    # Without anything that names the drug, an unlisted product code is no finding (Limits).
    ("scd-code-alone", _codings({"system": RXNORM, "code": "197901"}), []),
]


@pytest.mark.parametrize(
    ("resource", "expected"),
    [(r, e) for _, r, e in MEDICATION_ROWS],
    ids=[i for i, _, _ in MEDICATION_ROWS],
)
def test_co_medication(cds: Any, resource: dict[str, Any], expected: list[str]) -> None:
    assert _cards(cds, [], [resource]) == sorted(expected)


@pytest.mark.parametrize(
    "coding",
    [
        {"system": ATC, "code": "M03BX01"},
        {"system": "urn:oid:2.16.840.1.113883.6.73", "code": "m03bx01"},
        {"system": RXNORM, "code": wide("1292")},  # full width
        {"system": "urn:oid:2.16.840.1.113883.6.88", "code": "1292"},
    ],
    ids=["atc", "atc-by-oid-lower-case", "rxnorm-full-width", "rxnorm-by-oid"],
)
def test_baclofen_coded_as_written_is_baclofen(coding: dict[str, Any]) -> None:
    assert Product(CodeableConcept.model_validate({"coding": [coding]})).is_baclofen()
