"""Code sets and text cues that turn problem-list and medication entries into findings.

One place for a pharmacist to review what counts as a seizure disorder, end-stage renal
disease, pregnancy, alcohol use or a CNS depressant, and how free text is read.

Codes: the system is recognised in its usual spellings (FHIR URI, OID, plain name, trailing
slash); ICD-10 codes are compared without dots or spaces ("N186" is N18.6). An entry with no
system is tried against both ICD-10 and SNOMED CT (ICD-10 codes are alphanumeric, SNOMED CT
and RxNorm codes numeric, so they cannot be confused). An entry coded in a system we do not
read and carrying no text cannot be screened at all: `readable` says so, and MISSING_DATA
names it instead of letting it pass as "not a seizure disorder".

Text: patterns match at word starts. A match does not count when it is negated right before
("no history of epilepsy", "not on dialysis", but not "not well controlled epilepsy"), negated
right after ("epilepsy ruled out", "pregnancy test negative", "dialysis not required"), about
someone else ("family history of epilepsy"), or a look-alike ("non-epileptic attack disorder",
"pre-dialysis"). Anything else counts: for a contraindication a false alarm is cheaper than a
miss.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

ICD10_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm")
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# Spellings of the same code systems met in real feeds, lower-cased, trailing "/" removed.
_SYSTEM_ALIASES = {
    "icd10": (
        "http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm",
        "urn:oid:2.16.840.1.113883.6.3", "urn:oid:2.16.840.1.113883.6.90",
        "2.16.840.1.113883.6.3", "2.16.840.1.113883.6.90",
        "icd-10", "icd-10-cm", "icd10", "icd10cm", "icd-10cm", "icd 10", "icd 10 cm",
    ),
    "snomed": (
        SNOMED, "https://snomed.info/sct", "urn:oid:2.16.840.1.113883.6.96",
        "2.16.840.1.113883.6.96", "snomed", "snomed ct", "snomed-ct", "snomedct", "sct",
    ),
    "rxnorm": (
        RXNORM, "https://www.nlm.nih.gov/research/umls/rxnorm",
        "urn:oid:2.16.840.1.113883.6.88", "2.16.840.1.113883.6.88", "rxnorm",
    ),
}
_SYSTEM_OF = {alias: name for name, aliases in _SYSTEM_ALIASES.items() for alias in aliases}


def code_system(system: str | None) -> str | None:
    """"icd10", "snomed", "rxnorm", None for no system, or "other" for one we do not read.

    National ICD-10 modifications published under the FHIR sid namespace (icd-10-nl,
    icd-10-de, ...) share the WHO chapters and codes we match on."""
    if system is None or not system.strip():
        return None
    key = system.strip().lower().rstrip("/")
    if key in _SYSTEM_OF:
        return _SYSTEM_OF[key]
    if key.startswith("http://hl7.org/fhir/sid/icd-10-"):
        return "icd10"
    return "other"


def _compact(code: str) -> str:
    """ICD-10 "n18.6 " -> "N186"; SNOMED CT "84757 009" -> "84757009"."""
    return re.sub(r"[\s.]", "", code).upper()


@dataclass(frozen=True)
class ConditionSet:
    finding: str
    icd10_prefixes: tuple[str, ...]  # without the dot: "N186" covers N18.6 and N186
    snomed: tuple[str, ...]
    text_patterns: tuple[str, ...]  # regular expressions, matched at a word start
    look_alikes: tuple[str, ...] = ()  # text that contains a pattern but is not the finding


CONDITION_SETS = (
    ConditionSet(
        finding="seizure_disorder",
        # G40 epilepsy, G41 status epilepticus (issue 2 code set).
        icd10_prefixes=("G40", "G41"),
        snomed=("84757009", "128613002"),  # epilepsy; seizure disorder
        text_patterns=(r"epilep", r"seizure", r"sz\s*(disorder|d/o)", r"convuls",
                       r"status epilepticus", r"infantile spasm", r"lennox", r"dravet",
                       r"west syndrome"),
        look_alikes=(r"non[\s-]?epilep", r"psychogenic\s+(non[\s-]?epileptic\s+)?seizure",
                     r"functional\s+seizure", r"dissociative\s+seizure"),
    ),
    ConditionSet(
        finding="end_stage_renal",
        # N18.6 end-stage renal disease; N18.5 CKD stage 5 (GFR < 15 by definition, i.e. the
        # "terminal renal insufficiency" of 002); Z99.2 dependence on renal dialysis; Z49
        # care involving dialysis.
        icd10_prefixes=("N186", "N185", "Z992", "Z49"),
        snomed=("46177005", "433146000"),  # end-stage renal disease; CKD stage 5
        text_patterns=(
            r"end[\s-]*stage\s+(renal|kidney)", r"esrd", r"esrf", r"eskd",
            r"terminal\s+(renal|kidney)", r"(haemo|hemo|peritoneal\s+)?dialysis",
            r"renal\s+replacement\s+therapy",
            # CKD 5, CKD5, CKD stage V, CKD G5, CKD 5D, chronic kidney disease, stage 5
            r"(ckd|chronic\s+kidney\s+disease|chronic\s+renal\s+(failure|disease))"
            r"[\s,:-]*(stage\s*)?(g\s*)?(5(?![0-9])|v\b)",
        ),
        look_alikes=(r"pre[\s-]?dialysis",),
    ),
    ConditionSet(
        finding="pregnancy",
        # Z33.1 pregnant state; Z34 supervision of normal pregnancy; O09 high-risk pregnancy.
        icd10_prefixes=("Z331", "Z34", "O09"),
        snomed=("77386006",),  # pregnancy
        text_patterns=(r"pregnan",),
    ),
    ConditionSet(
        finding="alcohol_use",
        icd10_prefixes=("F10",),  # alcohol-related disorders
        snomed=(),
        text_patterns=(r"alcohol[\s-]+(use|abuse|dependence|misuse|excess|withdrawal)",
                       r"alcoholism", r"alcoholic"),
        look_alikes=(r"non[\s-]?alcoholic",),
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

# Brand and trade names met on medication lists, read as their ingredient. Names only: a
# branded RxNorm code (SBD/BN) is matched through its display text, which names the brand.
BRAND_NAMES: dict[str, str] = {
    "ms contin": "morphine", "oramorph": "morphine", "sevredol": "morphine",
    "zomorph": "morphine", "kadian": "morphine", "mst continus": "morphine",
    "oxycontin": "oxycodone", "percocet": "oxycodone", "roxicodone": "oxycodone",
    "oxynorm": "oxycodone", "targin": "oxycodone", "endocet": "oxycodone",
    "norco": "hydrocodone", "vicodin": "hydrocodone", "lortab": "hydrocodone",
    "hysingla": "hydrocodone", "zohydro": "hydrocodone",
    "dilaudid": "hydromorphone", "palladone": "hydromorphone", "exalgo": "hydromorphone",
    "duragesic": "fentanyl", "actiq": "fentanyl", "abstral": "fentanyl",
    "ultram": "tramadol", "zydol": "tramadol", "tramal": "tramadol",
    "suboxone": "buprenorphine", "subutex": "buprenorphine", "butrans": "buprenorphine",
    "temgesic": "buprenorphine", "nucynta": "tapentadol", "palexia": "tapentadol",
    "demerol": "pethidine", "tylenol with codeine": "codeine", "tylenol #3": "codeine",
    "co-codamol": "codeine", "methadose": "methadone",
    "valium": "diazepam", "stesolid": "diazepam", "diastat": "diazepam",
    "xanax": "alprazolam", "ativan": "lorazepam", "klonopin": "clonazepam",
    "rivotril": "clonazepam", "restoril": "temazepam", "librium": "chlordiazepoxide",
    "halcion": "triazolam", "onfi": "clobazam", "frisium": "clobazam", "tranxene": "clorazepate",
    "dormicum": "midazolam", "versed": "midazolam", "buccolam": "midazolam",
    "ambien": "zolpidem", "stilnox": "zolpidem", "lunesta": "eszopiclone",
    "imovane": "zopiclone", "sonata": "zaleplon",
    "lyrica": "pregabalin", "neurontin": "gabapentin", "gralise": "gabapentin",
    "horizant": "gabapentin",
    "seroquel": "quetiapine", "zyprexa": "olanzapine", "largactil": "chlorpromazine",
    "zanaflex": "tizanidine", "sirdalud": "tizanidine", "flexeril": "cyclobenzaprine",
    "amrix": "cyclobenzaprine", "soma": "carisoprodol", "robaxin": "methocarbamol",
    "dantrium": "dantrolene", "norflex": "orphenadrine",
    "phenergan": "promethazine", "benadryl": "diphenhydramine", "atarax": "hydroxyzine",
    "vistaril": "hydroxyzine", "unisom": "doxylamine",
    "xyrem": "sodium oxybate", "xywav": "sodium oxybate", "precedex": "dexmedetomidine",
    "luminal": "phenobarbital", "fioricet": "butalbital", "fiorinal": "butalbital",
}

# Negation right before a match: a cue, then only filler words, then the match.
_NEGATED_BEFORE = re.compile(
    r"\b(no|not|denies|denied|without|negative for|free of|never had|never|absence of|"
    r"ruled out|rule out|r/o|excluded|nil)\s+"
    r"((known|history of|hx of|h/o|hx|evidence of|signs? of|symptoms? of|prior|previous|past|"
    r"current|currently|on|any|further|ongoing|active|a|an|the|of|need for|requiring|"
    r"requirement for|diagnosed|diagnosis of|diagnosed with)\s+)*$"
)
# Negation right after a match, in the same clause.
_NEGATED_AFTER = re.compile(
    r"^[\s:-]*((test|screen|screening|status|hcg|b-hcg|urine|serum|was|is|has been|been|now)"
    r"\s*:?\s+)*(ruled out|excluded|negative|neg\b|not required|not needed|not indicated|"
    r"not present|not confirmed|unlikely|absent|denied|discontinued|stopped|ceased)"
)
# Someone else's condition: from the clause start up to the match.
_OTHER_PERSON = re.compile(
    r"\b(family history|family hx|fhx|fh|mother|father|sister|brother|sibling|parent)\b")
_CLAUSE_END = re.compile(r"[;,.\n()]")
_SENTENCE_END = re.compile(r"[;.\n]")


def _counts(lowered: str, start: int, end: int) -> bool:
    """Whether the match lowered[start:end] speaks of the patient's own, present finding."""
    if _NEGATED_BEFORE.search(lowered[:start]):
        return False
    clause_end = _CLAUSE_END.search(lowered, end)
    if _NEGATED_AFTER.search(lowered[end:clause_end.start() if clause_end else None]):
        return False
    sentence_start = max((mm.end() for mm in _SENTENCE_END.finditer(lowered, 0, start)),
                         default=0)
    return not _OTHER_PERSON.search(lowered[sentence_start:start])


def text_mentions(text: str, patterns: tuple[str, ...], look_alikes: tuple[str, ...] = ()
                  ) -> bool:
    """Whether free text states one of the patterns about the patient (see module docstring)."""
    lowered = text.lower()
    excluded = [(mm.start(), mm.end()) for pat in look_alikes
                for mm in re.finditer(pat, lowered)]
    for pat in patterns:
        for mm in re.finditer(rf"\b(?:{pat})\w*", lowered):
            if any(s <= mm.start() < e for s, e in excluded):
                continue
            if _counts(lowered, mm.start(), mm.end()):
                return True
    return False


def condition_findings(system: str | None, code: str | None, text: str | None
                       ) -> Iterator[tuple[str, str]]:
    """Yield (finding, basis) for one problem-list entry."""
    kind = code_system(system)
    compact = _compact(code) if code else ""
    for cset in CONDITION_SETS:
        basis = None
        if compact:
            if kind == "icd10" or (kind is None and not compact.isdigit()):
                if any(compact.startswith(p) for p in cset.icd10_prefixes):
                    basis = f"ICD-10 {code.strip()}"
            if kind in ("snomed", None) and compact in cset.snomed:
                basis = f"SNOMED CT {compact}"
        if basis is None and text and text_mentions(text, cset.text_patterns, cset.look_alikes):
            basis = f"text {text!r}"
        if basis is not None:
            yield cset.finding, basis


_INGREDIENT_CLASS = {name: drug_class for drug_class, members in CNS_DEPRESSANTS.items()
                     for name, _ in members}
_RXCUI = {rxcui: name for members in CNS_DEPRESSANTS.values() for name, rxcui in members
          if rxcui}
_NAMES = tuple(sorted({*_INGREDIENT_CLASS, *BRAND_NAMES}, key=len, reverse=True))
_NAME_PATTERN = "|".join(re.escape(n) for n in _NAMES)


def depressant_class(system: str | None, code: str | None, text: str | None
                     ) -> tuple[str, str] | None:
    """(class, ingredient) of a CNS depressant, or None."""
    if code and code_system(system) in ("rxnorm", None) and _compact(code) in _RXCUI:
        name = _RXCUI[_compact(code)]
        return _INGREDIENT_CLASS[name], name
    if text:
        lowered = text.lower()
        for mm in re.finditer(rf"\b(?:{_NAME_PATTERN})(?![a-z])", lowered):
            if _counts(lowered, mm.start(), mm.end()):
                name = BRAND_NAMES.get(mm.group(0), mm.group(0))
                return _INGREDIENT_CLASS[name], name
    return None


def readable(system: str | None, code: str | None, text: str | None) -> bool:
    """Whether an entry can be screened at all: it has text, or a code in a system we read."""
    return bool(text and text.strip()) or code_system(system) != "other"
