"""The FHIR vocabulary the translation (fhir/) reads: which codes and words mean baclofen, a
route, a dose form, a dose unit, a timing or an observation. Mapping only, no thresholds: what
a value means for the patient is decided in rules/.

Sources: RxNorm ingredient 1292 (baclofen) and the baclofen product names from the CDS Hooks
sandbox medication list (cds-hooks/sandbox `src/assets/medication-list.js` @ 3b7e255, the
RxNorm names verbatim); SNOMED CT route codes (FHIR ValueSet route-codes); UCUM; HL7 v3
GTSAbbreviation timing codes; LOINC.
"""

from __future__ import annotations

import re

from rules.code_sets import RXNORM, SNOMED

__all__ = ["RXNORM", "SNOMED"]

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"

BACLOFEN_INGREDIENT = "1292"
BACLOFEN_ATC = "M03BX01"  # WHO ATC: muscle relaxants, centrally acting, other
BACLOFEN_PRODUCTS = {
    "197391": "Baclofen 10 MG Oral Tablet",
    "197392": "Baclofen 20 MG Oral Tablet",
    "199280": "Baclofen 25 MG Oral Tablet",
    "202109": "Baclofen 10 MG Oral Tablet [Lioresal]",
    "213725": "Baclofen 20 MG Oral Tablet [Lioresal]",
    "617299": "Baclofen 10 MG Disintegrating Oral Tablet",
    "617298": "Baclofen 20 MG Disintegrating Oral Tablet",
    "666857": "Baclofen 10 MG Disintegrating Oral Tablet [Kemstro]",
    "664144": "Baclofen 20 MG Disintegrating Oral Tablet [Kemstro]",
    # Components without a dose form: the strength is known, the form is not.
    "317302": "Baclofen 10 MG",
    "315458": "Baclofen 20 MG",
    "329315": "Baclofen 25 MG",
    "566100": "Baclofen 10 MG [Lioresal]",
    "573583": "Baclofen 20 MG [Lioresal]",
    "666856": "Baclofen 10 MG [Kemstro]",
    "664142": "Baclofen 20 MG [Kemstro]",
    "1155671": "Baclofen Pill",
}
BACLOFEN_WORDS = re.compile(
    r"\b(baclofen|lioresal|kemstro|gablofen|ozobax|fleqsuvy|lyvispah)\b", re.IGNORECASE
)

# SNOMED CT "Route of administration values". Baclofen is oral or intrathecal; the other
# parenteral routes are mapped so that such an order gets ROUTE_NOT_PERMITTED.
ROUTE_CODES = {
    "26643006": "oral",
    "72607000": "intrathecal",
    "47625008": "intravenous",
    "78421000": "intramuscular",
    "34206005": "subcutaneous",
    "404820008": "epidural",
}
# Route text (CodeableConcept.text or a coding's display). Abbreviations count only as the
# whole text ("IT" alone is intrathecal; "it" inside a sentence is a pronoun).
ROUTE_ABBREVIATIONS = {
    "po": "oral",
    "p.o.": "oral",
    "it": "intrathecal",
    "iv": "intravenous",
    "i.v.": "intravenous",
    "im": "intramuscular",
    "i.m.": "intramuscular",
    "sc": "subcutaneous",
    "s.c.": "subcutaneous",
    "sq": "subcutaneous",
    "subcut": "subcutaneous",
}
ROUTE_WORDS = (
    (re.compile(r"\bintrathecal(ly)?\b", re.I), "intrathecal"),
    (re.compile(r"\bepidural(ly)?\b", re.I), "epidural"),
    (re.compile(r"\bintravenous(ly)?\b", re.I), "intravenous"),
    (re.compile(r"\bintramuscular(ly)?\b", re.I), "intramuscular"),
    (re.compile(r"\bsubcutaneous(ly)?\b", re.I), "subcutaneous"),
    (re.compile(r"\b(oral(ly)?|by mouth|per os|swallowed)\b", re.I), "oral"),
)

# Dose forms in product or form text. Checked in order: "Intrathecal" before "Solution".
FORM_WORDS = (
    (re.compile(r"\bintrathecal\b", re.I), "intrathecal"),
    (re.compile(r"\bgranules?\b", re.I), "granules"),
    (
        re.compile(r"\b(oral (solution|suspension|liquid)|syrup|elixir|suspension)\b", re.I),
        "oral_solution",
    ),
    (re.compile(r"\b(tablets?|tab|tabs|pill)\b", re.I), "tablet"),
)
PARENTERAL_PRODUCT = re.compile(r"\b(inject(ion|able)|infusion|ampoule|vial|prefilled)\b", re.I)

# Strength in RxNorm-style names: "10 MG", "5 MG/5ML", "0.05 MG/ML", "500 MCG/ML".
STRENGTH = re.compile(
    r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>MG|MCG|UG|µG|G)\b"
    r"(?:\s*(?:/|PER)\s*(?P<per>\d+(?:\.\d+)?)?\s*(?P<per_unit>ML|L)\b)?",
    re.IGNORECASE,
)

# Dose quantities counted in tablets (UCUM annotations, UCUM's unity "1" with the unit text
# saying what is counted, common unit strings, SNOMED CT 385055001 |Tablet|) or measured as a
# volume (factor to mL).
COUNT_UNITS = {
    "{pill}",
    "{pills}",
    "{tbl}",
    "{tab}",
    "{tablet}",
    "{tablets}",
    "tablet",
    "tablets",
    "tab",
    "tabs",
    "pill",
    "pills",
    "385055001",
    "1",
}
VOLUME_UNITS_ML = {
    "ml": 1.0,
    "l": 1000.0,
    "cl": 10.0,
    "dl": 100.0,
    "milliliter": 1.0,
    "milliliters": 1.0,
    "millilitre": 1.0,
    "millilitres": 1.0,
}
# A dose written per kg of body weight ("mg/kg", "mg/kg/d"): the dose itself is the weight's
# to give.
PER_KG = re.compile(r"/\s*\[?kg\b", re.IGNORECASE)
# Epic sends a dose three ways (HL7 dose-rate-type "ordered" and "calculated", and Epic's own
# "admin-amount": the number of tablets or mL to give). When more than one can be read, the
# one in mg is the dose; among equals, in this order.
DOSE_TYPE_PREFERENCE = ("ordered", "calculated", None, "admin-amount")

# Time units of Timing.repeat.periodUnit, in hours.
PERIOD_HOURS = {
    "s": 1 / 3600,
    "min": 1 / 60,
    "h": 1.0,
    "d": 24.0,
    "wk": 168.0,
    "mo": 730.5,
    "a": 8766.0,
}
# Timing.code (HL7 v3 GTSAbbreviation codes, and the codes and text EHRs write there: Epic's
# "nightly" or "2 times daily", Oracle Health's frequency code set 4003 displays "Daily",
# "At Bedtime", "q4hr"): administrations per day. QOD, weekly and monthly codes are
# deliberately absent: not a whole number of doses a day. Text is matched upper case, dots and
# parenthesised numbers words removed ("every 12 (twelve) hours" is "EVERY 12 HOURS").
TIMING_CODES_PER_DAY = {
    "QD": 1,
    "AM": 1,
    "PM": 1,
    "BED": 1,
    "BID": 2,
    "TID": 3,
    "QID": 4,
    "Q1H": 24,
    "Q2H": 12,
    "Q3H": 8,
    "Q4H": 6,
    "Q6H": 4,
    "Q8H": 3,
    "Q12H": 2,
    "Q24H": 1,
    "OD": 1,
    "DAILY": 1,
    "ONCE DAILY": 1,
    "ONCE A DAY": 1,
    "EVERY DAY": 1,
    "QDAY": 1,
    "QAM": 1,
    "QPM": 1,
    "QHS": 1,
    "HS": 1,
    "NIGHTLY": 1,
    "AT BEDTIME": 1,
    "BEDTIME": 1,
    "EVERY MORNING": 1,
    "EVERY EVENING": 1,
    "EVERY NIGHT": 1,
    "ONCE": 1,
    "ONE TIME": 1,
    "TWICE DAILY": 2,
    "TWICE A DAY": 2,
    "THREE TIMES DAILY": 3,
    "THREE TIMES A DAY": 3,
    "FOUR TIMES DAILY": 4,
    "FOUR TIMES A DAY": 4,
}
# "2 times daily", "4x daily", "3 times a day"; "every 6 hours", "q6hr", "Q 4 H"; and a range,
# "every 4-6 hours", "q4-6h" (its most frequent end is the worst case).
TIMES_A_DAY = re.compile(
    r"^(?P<n>\d+)\s*(?:X|TIMES)\s*(?:A |PER )?(?:DAY|DAILY)"
    r"(?:\s+(?:AC|PC|HS|&|AND|WITH|BEFORE|AFTER|MEALS|AT|BEDTIME))*$"
)
EVERY_HOURS = re.compile(
    r"^(?:EVERY|Q)\s*(?P<h>\d+(?:\.\d+)?)\s*(?:(?:-|TO)\s*(?P<h_max>\d+(?:\.\d+)?)\s*)?"
    r"(?:H|HR|HRS|HOUR|HOURS)$"
)
# "PRN" or "as needed" at the end of a timing's text: the order is taken as needed.
AS_NEEDED_TEXT = re.compile(r"\s*(?:\bPRN\b|\bAS NEEDED\b).*$")

BODY_WEIGHT = "29463-7"
# Renal function results, by LOINC code and long common name: creatinine clearance (mL/min,
# measured or Cockcroft-Gault) and eGFR (mL/min/1.73 m2, each equation and population). The
# same set is asked for in the prefetch templates and the FHIR queries and read in results.
# Checked against: OHDSI Athena's LOINC concepts as listed in the OMOP "reduced eGFR"
# phenotype (zietzm/phenotype_standardization), DICOM CID 10046 "GFR Measurement", the Swiss
# CH LAB-Report IG profiles (98980-6, 50044-7), and FHIR IGs using 2164-2 and 98979-8.
CREATININE_CLEARANCE = {
    "2164-2": "Creatinine renal clearance in 24 hour Urine and Serum or Plasma",
    "35591-7": "Creatinine renal clearance predicted by Cockcroft-Gault formula",
}
EGFR = {
    "33914-3": "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or "
    "Plasma by Creatinine-based formula (MDRD)",
    "62238-1": "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, "
    "Plasma or Blood by Creatinine-based formula (CKD-EPI)",
    "98979-8": "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, "
    "Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)",
    "98980-6": "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, "
    "Plasma or Blood by Creatinine and Cystatin C-based formula (CKD-EPI 2021)",
    "48642-3": "Glomerular filtration rate/1.73 sq M.predicted among non-blacks [Volume "
    "Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (MDRD)",
    "48643-1": "Glomerular filtration rate/1.73 sq M.predicted among blacks [Volume Rate/Area] "
    "in Serum, Plasma or Blood by Creatinine-based formula (MDRD)",
    "88293-6": "Glomerular filtration rate/1.73 sq M.predicted among blacks [Volume Rate/Area] "
    "in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)",
    "88294-4": "Glomerular filtration rate/1.73 sq M.predicted among non-blacks [Volume "
    "Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)",
    "50044-7": "Glomerular filtration rate/1.73 sq M.predicted among females [Volume "
    "Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (MDRD)",
    "70969-1": "Glomerular filtration rate/1.73 sq M.predicted among males [Volume Rate/Area] "
    "in Serum, Plasma or Blood by Creatinine-based formula (MDRD)",
    "77147-7": "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, "
    "Plasma or Blood by Creatinine-based formula (MDRD)",
    "76633-7": "Glomerular filtration rate/1.73 sq M.predicted by Creatinine-based formula "
    "(MDRD) in Blood",
    "50384-7": "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, "
    "Plasma or Blood by Creatinine-based formula (Schwartz)",
    "50210-4": "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, "
    "Plasma or Blood by Cystatin-based formula",
    "69405-9": "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, "
    "Plasma or Blood",
}
# Renal function units (UCUM mL/min, mL/min/{1.73_m2}, mL/s and the spellings labs use: "mL/min/
# 1.73m2", "ml/min/1.73 m²"), by how they start once spaces are removed: factor to mL/min.
RENAL_UNITS_ML_MIN = (("ml/min", 1.0), ("ml/(min", 1.0), ("ml/s", 60.0), ("ml/(s", 60.0))
PREGNANCY_STATUS = "82810-3"
# Its LOINC answers (answer list LL4129-4: Pregnant, Not pregnant, Unknown), as the SNOMED CT
# concepts HL7 maps them to (IPS ConceptMap loinc-pregnancy-status-to-snomed-ct-uv-ips, both
# "equivalent"): the rules read SNOMED CT, not LOINC answers. A valueBoolean is read the same
# way (true: pregnant). "Unknown" (LA4489-6) is no status at all.
PREGNANCY_ANSWERS = {
    "LA15173-0": ("77386006", "Pregnant"),
    "LA26683-5": ("60001007", "Not pregnant"),
}
PREGNANCY_UNKNOWN = "LA4489-6"
# UCUM codes and the unit texts EHRs show (compared in lower case too): a text spelled out
# ("pounds") beside the code kg must be read, or the code wins silently and a 20 kg child
# weighs 44 kg.
_LB, _OZ = 0.45359237, 0.028349523125
WEIGHT_TO_KG = {
    "kg": 1.0,
    "kgs": 1.0,
    "kilogram": 1.0,
    "kilograms": 1.0,
    "g": 0.001,
    "gram": 0.001,
    "grams": 0.001,
    "[lb_av]": _LB,
    "lb_av": _LB,
    "lb": _LB,
    "lbs": _LB,
    "pound": _LB,
    "pounds": _LB,
    "[oz_av]": _OZ,
    "oz": _OZ,
    "ounce": _OZ,
    "ounces": _OZ,
}

# Condition statuses (FHIR R4 condition-clinical and condition-ver-status), passed on to the
# rules as read: what a past, refuted or unconfirmed entry means is decided in rules/.
CONDITION_CLINICAL = frozenset(
    {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
)
CONDITION_VERIFICATION = frozenset(
    {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
)
# Statuses that take a resource out of the picture.
MEDICATION_REQUEST_CURRENT = {"active", "on-hold", "draft"}
OBSERVATION_EXCLUDED = {"entered-in-error", "cancelled"}
