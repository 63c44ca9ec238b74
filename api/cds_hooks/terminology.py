"""The FHIR vocabulary fhir_in.py reads: which codes and words mean baclofen, a route, a dose
form, a dose unit, a timing or an observation. Mapping only, no thresholds: what a value means
for the patient is decided in rules/.

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

# Dose quantities counted in tablets (UCUM annotations and common unit strings) or measured as
# a volume (factor to mL).
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
}
VOLUME_UNITS_ML = {"ml": 1.0, "l": 1000.0, "cl": 10.0, "dl": 100.0}

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
# HL7 v3 GTSAbbreviation codes (Timing.code): administrations per day. QOD, weekly and
# monthly codes are deliberately absent: not a whole number of doses a day.
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
}

BODY_WEIGHT = "29463-7"
CREATININE_CLEARANCE = "2164-2"
EGFR = ("33914-3", "62238-1", "98979-8")
PREGNANCY_STATUS = "82810-3"
WEIGHT_TO_KG = {
    "kg": 1.0,
    "g": 0.001,
    "[lb_av]": 0.45359237,
    "lb": 0.45359237,
    "lbs": 0.45359237,
    "[oz_av]": 0.028349523125,
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
