"""Code sets and text cues that turn problem-list and medication entries into findings.

One place for a pharmacist to review what counts as a seizure disorder, end-stage renal
disease, CKD stage 4, other renal impairment, pregnancy or alcohol use, and how an entry is
read. The CNS-depressant classes are in rules/drug_classes.py, the syntax of codes in
rules/code_validation.py.

How an entry is read, the same way on both APIs:
1. Status (problem-list entries). Verification `refuted` or `entered-in-error`: not the
   patient's, ignored. `unconfirmed`, `provisional`, `differential`: read as if confirmed and
   shown with its status: a false alarm on a contraindication is cheaper than a miss. Clinical
   status `inactive`, `remission` or `resolved` (on CDS Hooks also an abatement with no
   clinical status): the past. A past seizure disorder still counts (004 contraindicates
   baclofen in "Patients with a history of epilepsy or seizure disorders"); a past end-stage
   renal disease (a transplant recipient), renal impairment (a resolved acute kidney injury),
   pregnancy or alcohol use does not.
2. Code. The system is recognised in its usual spellings (FHIR URI, OID, plain name, trailing
   slash); the code is normalised and validated (NFKC, white space, `id |term|`, the SNOMED CT
   check digit: rules/code_validation.py). An entry with no system is tried as each system
   read for its kind (ICD-10 then SNOMED CT for conditions, RxNorm then ATC for medications).
   A code that fails is reported (MISSING_DATA names the entry): it may hide the coded
   meaning, and the entry is then read by its text alone.
3. The code decides where we can read it. For each finding a code in the finding's set means
   the finding, and a code in its exclusions (codes known not to be the finding: febrile
   convulsions, kidney transplant status, a personal history of pregnancy, the puerperium)
   means it is not, whatever the text says: ICD-10 R56.0 "Febrile convulsions" is not a
   seizure disorder. Any other code says nothing either way, and the text is read as for an
   entry without a code: with no terminology server, a SNOMED CT concept outside our short
   lists ("focal epilepsy") or an unspecific code (ICD-10 R69, Z86.69 "personal history of
   other diseases of the nervous system") cannot tell us what the entry is, and its specific
   text must not be lost.
4. Text. Patterns match at word starts. A match does not count when it is negated right
   before ("no history of epilepsy", "not on dialysis", but not "not well controlled
   epilepsy") or right after ("epilepsy ruled out", "dialysis not required"), about someone
   else ("family history of epilepsy"), a look-alike ("non-epileptic attack disorder",
   "pre-dialysis", "febrile seizures"), or, for the findings where the past does not count,
   about the past ("previously on haemodialysis", "history of dialysis", "s/p dialysis",
   "previous pregnancy", "pregnancy, delivered"). Anything else counts: for a
   contraindication a false alarm is cheaper than a miss.
An entry with neither a code we can read nor text cannot be screened at all: MISSING_DATA
names it instead of letting it pass as "not a seizure disorder".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

from rules.code_validation import clean, read_code
from rules.drug_classes import BRAND_NAMES, CLASSES

ICD10_SYSTEMS = ("http://hl7.org/fhir/sid/icd-10", "http://hl7.org/fhir/sid/icd-10-cm")
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ATC = "http://www.whocc.no/atc"

# Spellings of the same code systems met in real feeds, lower-cased, trailing "/" removed.
_SYSTEM_ALIASES = {
    "icd10": (
        "http://hl7.org/fhir/sid/icd-10",
        "http://hl7.org/fhir/sid/icd-10-cm",
        "urn:oid:2.16.840.1.113883.6.3",
        "urn:oid:2.16.840.1.113883.6.90",
        "2.16.840.1.113883.6.3",
        "2.16.840.1.113883.6.90",
        "icd-10",
        "icd-10-cm",
        "icd10",
        "icd10cm",
        "icd-10cm",
        "icd 10",
        "icd 10 cm",
    ),
    "snomed": (
        SNOMED,
        "https://snomed.info/sct",
        "urn:oid:2.16.840.1.113883.6.96",
        "2.16.840.1.113883.6.96",
        "snomed",
        "snomed ct",
        "snomed-ct",
        "snomedct",
        "sct",
    ),
    "rxnorm": (
        RXNORM,
        "https://www.nlm.nih.gov/research/umls/rxnorm",
        "urn:oid:2.16.840.1.113883.6.88",
        "2.16.840.1.113883.6.88",
        "rxnorm",
    ),
    "atc": (
        ATC,
        "https://www.whocc.no/atc",
        "urn:oid:2.16.840.1.113883.6.73",
        "2.16.840.1.113883.6.73",
        "atc",
        "who-atc",
        "who atc",
    ),
}
_SYSTEM_OF = {alias: name for name, aliases in _SYSTEM_ALIASES.items() for alias in aliases}
SYSTEM_NAMES = {"icd10": "ICD-10", "snomed": "SNOMED CT", "rxnorm": "RxNorm", "atc": "ATC"}
# The systems read for each kind of entry: a medication coded in SNOMED CT and carrying no
# text cannot be screened (our drug classes are RxNorm and ATC), nor a condition in RxNorm.
SYSTEMS_READ = {"condition": ("icd10", "snomed"), "medication": ("rxnorm", "atc")}

PAST_STATUSES = frozenset({"inactive", "remission", "resolved"})
NOT_THE_PATIENTS = frozenset({"refuted", "entered-in-error"})
UNCONFIRMED_STATUSES = frozenset({"unconfirmed", "provisional", "differential"})


@lru_cache(maxsize=1024)
def code_system(system: str | None) -> str | None:
    """ "icd10", "snomed", "rxnorm", "atc", None for no system, or "other" for one we do not
    read.

    National ICD-10 modifications published under the FHIR sid namespace (icd-10-nl,
    icd-10-de, ...) share the WHO chapters and codes we match on."""
    if system is None or not system.strip():
        return None
    key = clean(system).lower().rstrip("/")
    if key in _SYSTEM_OF:
        return _SYSTEM_OF[key]
    if key.startswith("http://hl7.org/fhir/sid/icd-10-"):
        return "icd10"
    return "other"


@dataclass(frozen=True)
class Entry:
    """One problem-list or medication entry as we read it.

    `system` and `code` are set when the code was read (ICD-10 without its dot); `text` is the
    display, or else the term of an `id |term|` code; `problem` says why a code in a system we
    read (`named`) could not be read; `given` is the code as sent, for messages."""

    system: str | None
    code: str | None
    text: str | None
    problem: str | None = None
    given: str | None = None
    named: str | None = None

    @property
    def coded(self) -> bool:
        return self.system is not None

    @property
    def screenable(self) -> bool:
        return self.coded or bool(self.text)

    @property
    def code_label(self) -> str:
        name = SYSTEM_NAMES.get(self.system or self.named or "", "")
        return f"{name} {self.given or self.code}".strip()


def read_entry(kind: str, system: str | None, code: str | None, text: str | None) -> Entry:
    """Read one entry ("condition" or "medication"): see the module docstring, step 2."""
    display = clean(text) if text else None
    given = clean(code) if code else None
    if not given:
        return Entry(None, None, display or None)
    sys_kind = code_system(system)
    candidates = SYSTEMS_READ[kind] if sys_kind is None else (sys_kind,)
    term = None
    for candidate in candidates:
        if candidate not in SYSTEMS_READ[kind]:
            break  # a system we do not read for this kind of entry
        read = read_code(candidate, given)
        term = term or read.term
        if read.problem is None:
            return Entry(candidate, read.code, display or term, None, given)
        if sys_kind is not None:  # the sender named the system: the code is malformed
            return Entry(None, None, display or term, read.problem, given, sys_kind)
    # No system and no reading fits, or a system we do not read: like a local code.
    return Entry(None, None, display or term, None, given)


@dataclass(frozen=True)
class ConditionSet:
    finding: str
    icd10_prefixes: tuple[str, ...]  # without the dot: "N186" covers N18.6 and N186
    snomed: tuple[str, ...]
    text_patterns: tuple[str, ...]  # regular expressions, matched at a word start
    look_alikes: tuple[str, ...] = ()  # text that contains a pattern but is not the finding
    icd10_not: tuple[str, ...] = ()  # codes known not to be the finding; checked first
    snomed_not: tuple[str, ...] = ()
    history_counts: bool = False  # whether a past finding still counts (step 1 and 4)


# Chronic kidney disease in words, and the stage written after it ("stage 4", "G4", ", stage 4").
_CKD = r"(ckd|chronic\s+(kidney|renal)\s+(disease|failure|insufficiency|impairment))"
_STAGE = r"[\s,:-]*(stage\s*)?(g\s*)?"

CONDITION_SETS = (
    ConditionSet(
        finding="seizure_disorder",
        # G40 epilepsy, G41 status epilepticus; R56.1 post-traumatic seizures, R56.8 other
        # convulsions (WHO: seizure NOS), R56.9 unspecified convulsions (ICD-10-CM: seizure
        # disorder NOS, recurrent convulsions); P90 convulsions of newborn.
        icd10_prefixes=("G40", "G41", "R561", "R568", "R569", "P90"),
        snomed=("84757009", "128613002"),  # epilepsy; seizure disorder
        text_patterns=(
            r"epilep",
            r"seizure",
            r"sz\s*(disorder|d/o)",
            r"convuls",
            r"status epilepticus",
            r"infantile spasm",
            r"lennox",
            r"dravet",
            r"west syndrome",
        ),
        look_alikes=(
            r"non[\s-]?epilep",
            r"psychogenic\s+(non[\s-]?epileptic\s+)?seizure",
            r"functional\s+seizure",
            r"dissociative\s+seizure",
            # febrile seizures are not epilepsy; "febrile seizures plus" (GEFS+) is
            r"febrile\s+(seizure|convulsion|fit)s?\b(?!\s*(plus|\+))",
        ),
        # R56.0 febrile convulsions, F44.5 dissociative convulsions, Z82.0 family history of
        # epilepsy; SNOMED CT 41497008 febrile convulsion.
        icd10_not=("R560", "F445", "Z820"),
        snomed_not=("41497008",),
        history_counts=True,
    ),
    ConditionSet(
        finding="end_stage_renal",
        # N18.6 end-stage renal disease; N18.5 CKD stage 5 (GFR < 15 by definition, i.e. the
        # "terminal renal insufficiency" of 002); Z99.2 dependence on renal dialysis; Z49
        # care involving dialysis.
        icd10_prefixes=("N186", "N185", "Z992", "Z49"),
        snomed=("46177005", "433146000"),  # end-stage renal disease; CKD stage 5
        text_patterns=(
            r"end[\s-]*stage\s+(renal|kidney)",
            r"esrd",
            r"esrf",
            r"eskd",
            r"terminal\s+(renal|kidney)",
            r"(haemo|hemo|peritoneal\s+)?dialysis",
            r"renal\s+replacement\s+therapy",
            # CKD 5, CKD5, CKD stage V, CKD G5, CKD 5D, chronic kidney disease, stage 5
            r"(ckd|chronic\s+kidney\s+disease|chronic\s+renal\s+(failure|disease))"
            r"[\s,:-]*(stage\s*)?(g\s*)?(5(?![0-9])|v\b)",
            # the stage written first: Stage 5 CKD, stage V chronic kidney disease
            r"stage\s*(5|v)\s+" + _CKD,
        ),
        look_alikes=(r"pre[\s-]?dialysis",),
        # N18.1-N18.4 CKD stages 1 to 4; Z94.0 kidney transplant status (a transplant
        # recipient "previously on haemodialysis" no longer has terminal renal failure).
        icd10_not=("N181", "N182", "N183", "N184", "Z940"),
    ),
    ConditionSet(
        finding="severe_renal_impairment",
        # CKD stage 4 is a GFR of 15-29 mL/min by definition: 004's "CrCl <30 mL/min" band.
        # Read only when no CrCl/eGFR is given (rules/renal.py); a value decides otherwise.
        icd10_prefixes=("N184",),
        snomed=("431857002",),  # chronic kidney disease stage 4
        text_patterns=(
            # CKD 4, CKD4, CKD stage IV, CKD G4, CKD G4A2, chronic kidney disease, stage 4
            _CKD + _STAGE + r"(4(?![0-9])|iv\b)",
            # the stage written first (Stage 4 chronic kidney disease, Stage IV CKD), and severe
            r"stage\s*(4|iv)\s+" + _CKD,
            r"severe\s+(renal|kidney)\s+(impairment|insufficiency|failure|disease|dysfunction)",
            r"severe\s+" + _CKD,
        ),
        # The other CKD stages, end-stage disease (its own set) and a transplant: not stage 4.
        icd10_not=("N181", "N182", "N183", "N185", "N186", "Z940"),
        snomed_not=("433144002", "433146000", "46177005"),
    ),
    ConditionSet(
        finding="renal_impairment",
        # Renal impairment of unknown clearance: N18.3 CKD stage 3 (GFR 30-59: 004's 30-50
        # band or above it), N18.9 CKD unspecified, N17 acute kidney injury, N19 unspecified
        # kidney failure. Read only when no CrCl/eGFR is given (rules/renal.py: MISSING_DATA).
        icd10_prefixes=("N183", "N189", "N17", "N19"),
        snomed=("433144002",),  # chronic kidney disease stage 3
        text_patterns=(
            _CKD + _STAGE + r"(3(?![0-9])|iii[ab]?\b)",
            # CKD with no stage (a stage 1-2, 4 or 5 is read above or not at all)
            _CKD + r"(?!" + _STAGE + r"([0-9]|i{1,3}[ab]?\b|iv\b|v\b))",
            r"acute\s+(kidney|renal)\s+(injury|failure|insufficiency|impairment)",
            r"aki\b",
            r"(renal|kidney)\s+(impairment|insufficiency|failure|dysfunction)",
            r"(impaired|reduced|decreased)\s+(renal|kidney)\s+function",
        ),
        # End-stage or severe impairment is another finding (the contraindication, or stage 4).
        look_alikes=(
            r"(end[\s-]*stage|terminal|severe)\s+(renal|kidney)\s+"
            r"(impairment|insufficiency|failure|disease|dysfunction)",
        ),
        # N18.1-N18.2 CKD stages 1-2 (GFR 60 or more: no renal limit of 004 applies); N18.4
        # to N18.6 are read by the sets above.
        icd10_not=("N181", "N182", "N184", "N185", "N186"),
        snomed_not=("431857002", "433146000", "46177005"),
    ),
    ConditionSet(
        finding="pregnancy",
        # The O chapter (pregnancy, childbirth and the puerperium, O00-O9A) and Z33 pregnant
        # state, Z34 supervision of normal pregnancy, Z35 (WHO) supervision of high-risk
        # pregnancy, Z36 antenatal screening, Z3A (ICD-10-CM) weeks of gestation, Z32.1 (WHO)
        # pregnancy confirmed, Z32.01 (ICD-10-CM) positive pregnancy test.
        icd10_prefixes=("O", "Z33", "Z34", "Z35", "Z36", "Z3A", "Z321", "Z3201"),
        snomed=("77386006",),  # pregnancy
        text_patterns=(r"pregnan",),
        look_alikes=(
            r"non[\s-]?pregnan",
            r"post[\s-]?pregnan",
            r"pregnancy\s+loss",
            r"loss\s+of\s+pregnancy",
        ),
        # Not a current pregnancy: the pregnancy has ended (O03-O06 abortion, O08
        # complications after an abortive outcome, O72 postpartum haemorrhage, O73 retained
        # placenta, O80-O84 delivery, O85-O92 the puerperium, O94-O97 sequelae and late
        # obstetric death), Z37 outcome of delivery, Z39 postpartum care, Z87.5 personal
        # history of complications of pregnancy, Z86.32 personal history of gestational
        # diabetes. ICD-10-CM subcodes "complicating the puerperium" inside mixed categories
        # (O99.215) are not told apart: they count, the false alarm being the cheaper error.
        icd10_not=(
            "O03",
            "O04",
            "O05",
            "O06",
            "O08",
            "O72",
            "O73",
            "O80",
            "O81",
            "O82",
            "O83",
            "O84",
            "O85",
            "O86",
            "O87",
            "O88",
            "O89",
            "O90",
            "O91",
            "O92",
            "O94",
            "O95",
            "O96",
            "O97",
            "Z37",
            "Z39",
            "Z875",
            "Z8632",
        ),
    ),
    ConditionSet(
        finding="alcohol_use",
        icd10_prefixes=("F10",),  # alcohol-related disorders
        snomed=(),
        text_patterns=(
            r"alcohol[\s-]+(use|abuse|dependence|misuse|excess|withdrawal)",
            r"alcoholism",
            r"alcoholic",
        ),
        look_alikes=(r"non[\s-]?alcoholic",),
        # ICD-10-CM F10.11 alcohol abuse, in remission; F10.21 alcohol dependence, in
        # remission: not current alcohol use.
        icd10_not=("F1011", "F1021"),
    ),
)

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
# The past, right before a match ("previously on haemodialysis", "s/p dialysis") or right
# after it ("dialysis (previously)", "pregnancy, delivered"). Read only for the findings
# where the past does not count. "Past medical history: ESRD" is not a cue (no "of").
_PAST_BEFORE = re.compile(
    r"(\b(history of|hx of|h/o|s/p|status post|previously|formerly|former|prior|previous|"
    r"past|no longer|was|were|had been|used to be)|\bex-)\s*"
    r"((on|a|an|the|of|receiving|required|requiring|needing|needed|treated with|with|in|"
    r"under|undergoing|underwent|had|having|been)\s+)*$"
)
_PAST_AFTER = re.compile(
    r"^\W*(previously|formerly|in the past|no longer|resolved|in remission|historical|abstinent|"
    r"until\b|ended|delivered)"
)
# Someone else's condition: from the clause start up to the match.
_OTHER_PERSON = re.compile(
    r"\b(family history|family hx|fhx|fh|mother|father|sister|brother|sibling|parent)\b"
)
_CLAUSE_END = re.compile(r"[;,.\n()]")
_SENTENCE_END = re.compile(r"[;.\n]")


def _counts(lowered: str, start: int, end: int, past_counts: bool = True) -> bool:
    """Whether the match lowered[start:end] speaks of the patient's own finding (and, unless
    `past_counts`, of a present one)."""
    before = lowered[:start]
    if _NEGATED_BEFORE.search(before):
        return False
    clause_end = _CLAUSE_END.search(lowered, end)
    if _NEGATED_AFTER.search(lowered[end : clause_end.start() if clause_end else None]):
        return False
    sentence_end = _SENTENCE_END.search(lowered, end)
    if not past_counts and (
        _PAST_BEFORE.search(before)
        or _PAST_AFTER.search(lowered[end : sentence_end.start() if sentence_end else None])
    ):
        return False
    sentence_start = max((mm.end() for mm in _SENTENCE_END.finditer(lowered, 0, start)), default=0)
    return not _OTHER_PERSON.search(lowered[sentence_start:start])


@dataclass(frozen=True)
class _Compiled:
    """A set of text patterns compiled once per process (a long problem list reads thousands
    of entries on first sight): each pattern at a word start and to the end of its word, the
    look-alikes as written, and one alternation of every pattern that tells in one search
    whether any of them occurs at all (most entries mention none)."""

    patterns: tuple[re.Pattern[str], ...]
    look_alikes: tuple[re.Pattern[str], ...]
    any_pattern: re.Pattern[str]


@cache
def _compiled(patterns: tuple[str, ...], look_alikes: tuple[str, ...]) -> _Compiled:
    return _Compiled(
        tuple(re.compile(rf"\b(?:{p})\w*") for p in patterns),
        tuple(re.compile(p) for p in look_alikes),
        re.compile(r"\b(?:" + "|".join(f"(?:{p})" for p in patterns) + ")"),
    )


def _mentions(lowered: str, compiled: _Compiled, past_counts: bool) -> bool:
    if not compiled.any_pattern.search(lowered):
        return False
    excluded = [
        (mm.start(), mm.end()) for pat in compiled.look_alikes for mm in pat.finditer(lowered)
    ]
    for pat in compiled.patterns:
        for mm in pat.finditer(lowered):
            if any(s <= mm.start() < e for s, e in excluded):
                continue
            if _counts(lowered, mm.start(), mm.end(), past_counts):
                return True
    return False


def text_mentions(
    text: str,
    patterns: tuple[str, ...],
    look_alikes: tuple[str, ...] = (),
    past_counts: bool = True,
) -> bool:
    """Whether free text states one of the patterns about the patient (see module docstring)."""
    return _mentions(clean(text).lower(), _compiled(patterns, look_alikes), past_counts)


@lru_cache(maxsize=1 << 14)
def text_says(text: str) -> frozenset[str]:
    """The findings a problem-list text states about the patient (step 4), each read as its
    set reads the past. A pure function of the text: the codings of one problem share it."""
    lowered = clean(text).lower()
    return frozenset(
        cset.finding
        for cset in CONDITION_SETS
        if _mentions(lowered, _compiled(cset.text_patterns, cset.look_alikes), cset.history_counts)
    )


def _code_says(cset: ConditionSet, entry: Entry) -> bool | None:
    """True or False where the entry's code decides the finding, None where it says nothing."""
    if entry.system == "icd10" and entry.code:
        if entry.code.startswith(cset.icd10_not):
            return False
        if entry.code.startswith(cset.icd10_prefixes):
            return True
    elif entry.system == "snomed":
        if entry.code in cset.snomed_not:
            return False
        if entry.code in cset.snomed:
            return True
    return None


def entry_findings(
    entry: Entry, clinical_status: str | None = None, verification_status: str | None = None
) -> Iterator[tuple[str, str]]:
    """Yield (finding, basis) for one problem-list entry already read (read_entry)."""
    if verification_status in NOT_THE_PATIENTS:
        return
    past = clinical_status in PAST_STATUSES
    said = text_says(entry.text) if entry.text else frozenset()
    for cset in CONDITION_SETS:
        if past and not cset.history_counts:
            continue
        says = _code_says(cset, entry)
        if says:
            yield cset.finding, entry.code_label
        elif says is None and cset.finding in said:
            yield cset.finding, f"text {entry.text!r}"


def condition_findings(
    system: str | None,
    code: str | None,
    text: str | None,
    *,
    clinical_status: str | None = None,
    verification_status: str | None = None,
) -> Iterator[tuple[str, str]]:
    """Yield (finding, basis) for one problem-list entry."""
    yield from entry_findings(
        read_entry("condition", system, code, text), clinical_status, verification_status
    )


_INGREDIENT_CLASS = {name: dc.label for dc in CLASSES for name, _ in dc.members}
_RXCUI = {rxcui: name for dc in CLASSES for name, rxcui in dc.members if rxcui}
_ATC_CLASS = tuple((prefix, dc.label) for dc in CLASSES for prefix in dc.atc)
_NAMES = tuple(sorted({*_INGREDIENT_CLASS, *BRAND_NAMES}, key=len, reverse=True))
_NAME = re.compile(rf"\b(?:{'|'.join(re.escape(n) for n in _NAMES)})(?![a-z])")
# A name matches only where a word starts with the name's first letters: most medication texts
# have no word that does, and one look at each word start says so before the long alternation
# of every name is tried.
_NAME_HEAD = 4
_NAME_HEADS = frozenset(n[:_NAME_HEAD] for n in _NAMES)
_WORD_START = re.compile(r"\b\w")


def _may_name_a_drug(lowered: str) -> bool:
    return any(
        lowered[mm.start() : mm.start() + _NAME_HEAD] in _NAME_HEADS
        for mm in _WORD_START.finditer(lowered)
    )


def entry_depressant(entry: Entry) -> tuple[str, str] | None:
    """(class, ingredient or code) of a CNS depressant, or None, for a medication entry."""
    if entry.system == "rxnorm" and entry.code in _RXCUI:
        name = _RXCUI[entry.code]
        return _INGREDIENT_CLASS[name], name
    if entry.system == "atc" and entry.code:
        for prefix, label in _ATC_CLASS:
            if entry.code.startswith(prefix):
                return label, entry.text or f"ATC {entry.code}"
    if entry.text:
        lowered = entry.text.lower()
        if not _may_name_a_drug(lowered):
            return None
        for mm in _NAME.finditer(lowered):
            if _counts(lowered, mm.start(), mm.end()):
                name = BRAND_NAMES.get(mm.group(0), mm.group(0))
                return _INGREDIENT_CLASS[name], name
    return None


def depressant_class(
    system: str | None, code: str | None, text: str | None
) -> tuple[str, str] | None:
    """(class, ingredient) of a CNS depressant, or None."""
    return entry_depressant(read_entry("medication", system, code, text))


def readable(
    system: str | None, code: str | None, text: str | None, kind: str = "condition"
) -> bool:
    """Whether an entry can be screened at all: it has text, or a code we can read."""
    return read_entry(kind, system, code, text).screenable
