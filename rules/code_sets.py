"""Code sets and text cues that turn problem-list and medication entries into findings.

One place for a pharmacist to review what counts as a seizure disorder, end-stage renal
disease, pregnancy, alcohol use or a CNS depressant. Codes are matched by system when one is
given; an entry with no system is tried against both (ICD-10 codes are alphanumeric, SNOMED CT
and RxNorm codes numeric, so they cannot be confused). Free text is matched on word stems,
and a negation cue before the stem ("no history of epilepsy") cancels the match.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

ICD10_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm")
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


@dataclass(frozen=True)
class ConditionSet:
    finding: str
    icd10_prefixes: tuple[str, ...]
    snomed: tuple[str, ...]
    text_stems: tuple[str, ...]


CONDITION_SETS = (
    ConditionSet(
        finding="seizure_disorder",
        # G40 epilepsy, G41 status epilepticus (issue 2 code set).
        icd10_prefixes=("G40", "G41"),
        snomed=("84757009", "128613002"),  # epilepsy; seizure disorder
        text_stems=("epilep", "seizure", "convulsive disorder", "status epilepticus",
                    "infantile spasm", "lennox", "dravet", "west syndrome"),
    ),
    ConditionSet(
        finding="end_stage_renal",
        # N18.6 end-stage renal disease; N18.5 CKD stage 5 (GFR < 15 by definition, i.e. the
        # "terminal renal insufficiency" of 002); Z99.2 dependence on renal dialysis.
        icd10_prefixes=("N18.6", "N18.5", "Z99.2"),
        snomed=("46177005", "433146000"),  # end-stage renal disease; CKD stage 5
        text_stems=("end stage renal", "end-stage renal", "esrd", "esrf", "terminal renal",
                    "dialysis", "haemodialysis", "hemodialysis", "ckd stage 5", "ckd 5",
                    "chronic kidney disease stage 5"),
    ),
    ConditionSet(
        finding="pregnancy",
        # Z33.1 pregnant state; Z34 supervision of normal pregnancy; O09 high-risk pregnancy.
        icd10_prefixes=("Z33.1", "Z34", "O09"),
        snomed=("77386006",),  # pregnancy
        text_stems=("pregnan",),
    ),
    ConditionSet(
        finding="alcohol_use",
        icd10_prefixes=("F10",),  # alcohol-related disorders
        snomed=(),
        text_stems=("alcohol use", "alcohol abuse", "alcohol dependence", "alcoholism",
                    "alcohol misuse", "alcohol-use"),
    ),
)

# CNS depressants that potentiate baclofen's sedation and respiratory depression (002:
# "other muscle relaxants or central nervous system depressants"; 004: opioids,
# benzodiazepines, alcohol). RxNorm ingredient codes, and names for free text and for product
# codes we do not list (a product's display text names its ingredient).
CNS_DEPRESSANTS: dict[str, tuple[tuple[str, str | None], ...]] = {
    "opioid": (
        ("morphine", "7052"), ("codeine", "2670"), ("oxycodone", "7804"),
        ("hydromorphone", "3423"), ("fentanyl", "4337"), ("methadone", "6813"),
        ("tramadol", "10689"), ("buprenorphine", "1819"), ("hydrocodone", "5489"),
        ("tapentadol", "787390"), ("oxymorphone", None), ("pethidine", None),
        ("meperidine", None), ("dihydrocodeine", None), ("sufentanil", None),
        ("remifentanil", None), ("diamorphine", None), ("heroin", None),
    ),
    "benzodiazepine": (
        ("diazepam", "3322"), ("lorazepam", "6470"), ("alprazolam", "596"),
        ("clonazepam", "2598"), ("midazolam", "6960"), ("temazepam", "10355"),
        ("chlordiazepoxide", "2356"), ("oxazepam", "7781"), ("clobazam", None),
        ("nitrazepam", None), ("triazolam", None), ("bromazepam", None),
        ("lormetazepam", None), ("clorazepate", None),
    ),
    "Z-drug hypnotic": (("zolpidem", "39993"), ("zopiclone", None), ("eszopiclone", None),
                        ("zaleplon", None)),
    "gabapentinoid": (("gabapentin", "25480"), ("pregabalin", "187832")),
    "barbiturate": (("phenobarbital", "8134"), ("phenobarbitone", None),
                    ("butalbital", None)),
    "muscle relaxant": (
        ("tizanidine", "57258"), ("cyclobenzaprine", "21949"), ("carisoprodol", "2101"),
        ("methocarbamol", "6845"), ("dantrolene", None), ("orphenadrine", None),
    ),
    "sedating antihistamine": (("promethazine", "8745"), ("diphenhydramine", "3498"),
                               ("hydroxyzine", "5553"), ("doxylamine", None)),
    "sedating antipsychotic": (("quetiapine", "51272"), ("olanzapine", None),
                               ("chlorpromazine", None)),
    "other sedative": (("dexmedetomidine", None), ("sodium oxybate", None),
                       ("chloral hydrate", None), ("ethanol", None)),
}

_NEGATION = re.compile(
    r"\b(no|not|denies|denied|without|negative for|ruled out|rule out|r/o|free of|"
    r"never|absence of)\b"
)


def _text_hit(text: str, stems: tuple[str, ...]) -> bool:
    lowered = text.lower()
    for stem in stems:
        at = lowered.find(stem)
        if at >= 0 and not _NEGATION.search(lowered[:at]):
            return True
    return False


def _icd(code: str) -> str:
    return code.strip().upper()


def condition_findings(system: str | None, code: str | None, text: str | None
                       ) -> Iterator[tuple[str, str]]:
    """Yield (finding, basis) for one problem-list entry."""
    for cset in CONDITION_SETS:
        basis = None
        if code:
            if system in ICD10_SYSTEMS or (system is None and not code.strip().isdigit()):
                icd = _icd(code)
                if any(icd.startswith(p) for p in cset.icd10_prefixes):
                    basis = f"ICD-10 {icd}"
            if (system == SNOMED or system is None) and code.strip() in cset.snomed:
                basis = f"SNOMED CT {code.strip()}"
        if basis is None and text and _text_hit(text, cset.text_stems):
            basis = f"text {text!r}"
        if basis is not None:
            yield cset.finding, basis


def depressant_class(system: str | None, code: str | None, text: str | None
                     ) -> tuple[str, str] | None:
    """(class, ingredient) of a CNS depressant, or None."""
    for drug_class, members in CNS_DEPRESSANTS.items():
        for name, rxcui in members:
            if code and rxcui and (system in (RXNORM, None)) and code.strip() == rxcui:
                return drug_class, name
            if text and re.search(rf"\b{re.escape(name)}", text.lower()) and not _NEGATION.search(
                text.lower().split(name)[0]
            ):
                return drug_class, name
    return None
