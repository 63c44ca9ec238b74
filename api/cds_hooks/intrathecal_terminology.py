"""The codes and words the intrathecal reading (fhir/intrathecal.py) looks for: spasticity
scores and withdrawal signs. Mapping only: what a score or a sign means for the patient (which
regimen had an effect, whether a sign is recent enough to count) is decided in
rules/intrathecal/.

One code set each, used in the prefetch templates, in the FHIR queries and when reading. Each
code below was checked against a published source (named beside it); a concept whose code
could not be verified is read by its words only.

How EHRs record spasticity: the Modified Ashworth Scale per muscle group and the Penn Spasm
Frequency Scale are flowsheet rows (Epic SmartData elements with the values 0, 1, 1.5 for
"1+", 2, 3, 4, and 5 for "not assessed", per the Cerebral Palsy Research Network's registry
elements CPRN0061/CPRN0371/CPRN0706), usually exported as Observations under the EHR's own
codes. No LOINC term for either scale was found in LOINC's published pages; SNOMED CT has the
assessment scale concept for the Modified Ashworth Scale. Observations under local codes are
read when their code's text or display names the scale; an EHR that wants them queried by
the service must map them to this code set (or send them in the `spasticity_scores` prefetch).
"""

from __future__ import annotations

import re

from api.cds_hooks.terminology import LOINC, SNOMED

# Observation.code -> the Case's instrument (rules/case.py SpasticityInstrument).
SPASTICITY_SCORE_CODES = {
    # 765771006 |Modified Ashworth Scale (assessment scale)|: HL7 Portugal, Terminologias IG
    # 1.0.0, ValueSet cpe-scale-vs (designation "Modified Ashworth Scale (assessment scale)").
    (SNOMED, "765771006"): "modified_ashworth",
}
# The scale a code's text or display names, when its code is the EHR's own. Checked in order:
# "Modified Ashworth" before "Ashworth".
SPASTICITY_SCORE_WORDS = (
    (re.compile(r"\bmodified\s+ashworth\b|\bMAS\b", re.IGNORECASE), "modified_ashworth"),
    (re.compile(r"\bashworth\b", re.IGNORECASE), "ashworth"),
    (re.compile(r"\bpenn\b.*\bspasm|\bPSFS\b", re.IGNORECASE), "penn_spasm_frequency"),
)
# A grade written as text ("1+", "2 - More marked increase ..."): the grade, 1+ as 1.5.
GRADE_TEXT = re.compile(r"^\s*([0-4])(\+?)(?:\s|$|[-:(])")

# The symptom observation of the FHIR Symptoms IG: Observation.code LOINC 75325-1 "Symptom",
# the symptom itself in valueCodeableConcept (HL7 FHIR R4 Symptoms IG, example FeverSymptom).
SYMPTOM = (LOINC, "75325-1")

# Withdrawal signs (rules/case.py WITHDRAWAL_SIGNS) by SNOMED CT finding, on a Condition's code,
# an Observation's code, or a symptom Observation's value. Sources of each code:
WITHDRAWAL_SIGN_CODES = {
    # Human Phenotype Ontology HP:0000989 "Pruritus", cross-reference SNOMEDCT_US:418290006.
    "418290006": "pruritus",
    # Fever (finding): the code given for fever in CQL and FHIR examples across public
    # repositories, and UMLS C0015967 "Fever" for 50177009, the concept of elevated body
    # temperature (NLM UMLS mappings in public SNOMED CT annotations).
    "386661006": "fever",
    "50177009": "fever",
    # Low blood pressure / hypotension (finding): HL7 FHIR value sets (e.g. "Low blood pressure
    # / hypotension") and OMOP's SNOMED concept 45007003 "Low blood pressure".
    "45007003": "hypotension",
    # Paresthesia (finding): HL7 Germany FSH examples, SNOMED ONCO mappings.
    "91019004": "paraesthesia",
    # Altered mental status (finding): ICD-10 R41.82 crosswalks and FHIR examples.
    "419284004": "altered_mental_status",
    # Not 221360009 |Spasticity| (HL7 Switzerland CH EMS IG; Genomics England SNOMED CT to HPO
    # map, HP:0001257): it is the reason for the pump, on every such patient's problem list;
    # only a rebound ("rebound spasticity", "increased spasticity") is a sign, read by words.
    # Seizure (finding): Genomics England SNOMED CT to HPO map (HP:0001250 Seizure, equivalent).
    "91175000": "seizures",
}
# No SNOMED CT code for muscle rigidity could be verified: it is read by its words, as are
# the others when a record names them without a code ("Pruritus", "Rebound spasticity").
SIGN_WORDS = {
    "pruritus": "pruritus",
    "itching": "pruritus",
    "itch": "pruritus",
    "fever": "fever",
    "pyrexia": "fever",
    "hyperthermia": "hyperthermia",
    "hypotension": "hypotension",
    "low blood pressure": "hypotension",
    "paraesthesia": "paraesthesia",
    "paresthesia": "paraesthesia",
    "altered mental status": "altered_mental_status",
    "confusion": "altered_mental_status",
    "rebound spasticity": "rebound_spasticity",
    "increased spasticity": "rebound_spasticity",
    "spasticity increased": "rebound_spasticity",
    "muscle rigidity": "muscle_rigidity",
    "rigidity": "muscle_rigidity",
    "seizure": "seizures",
    "seizures": "seizures",
}

# What a dosage's text says about the order (an explicit phase; a single bolus).
PHASE_WORDS = (
    (re.compile(r"\b(test\s+(dose|bolus)|screening)\b", re.IGNORECASE), "screening"),
    (re.compile(r"\btitration\b", re.IGNORECASE), "titration"),
    (re.compile(r"\bmaintenance\b", re.IGNORECASE), "maintenance"),
)
BOLUS_WORDS = re.compile(r"\b(bolus|test\s+dose|single\s+dose|once)\b", re.IGNORECASE)
BOLUS_TIMING_CODES = {"ONCE", "ONE TIME", "STAT"}
# The origin of the spasticity, where the order's reason says it in words ("Spasticity of
# spinal origin", "Cerebral palsy"): read literally, never inferred from a diagnosis.
ORIGIN_WORDS = (
    (re.compile(r"\bspinal\b", re.IGNORECASE), "spinal"),
    (re.compile(r"\bcerebral\b", re.IGNORECASE), "cerebral"),
)

# Statuses that take a record out of the picture.
ADMINISTRATION_EXCLUDED = {"entered-in-error", "not-done", "unknown"}
DEVICE_EXCLUDED = {"inactive", "entered-in-error"}
HISTORY_STATUSES = {"active", "completed", "stopped"}
