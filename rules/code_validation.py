"""Reading a code as written: Unicode normalisation, the SNOMED CT `id |term|` form, and the
syntax of the code systems we read, so that a malformed code is reported instead of passing
as "no finding".

What is normalised, because it can be read one way only: Unicode NFKC (a full-width G40.9 is
G40.9), surrounding and inner white space, letter case (ICD-10, ATC), the WHO ICD-10
dagger and asterisk marks ("G63.2*"), and the SNOMED CT compositional grammar's `id |term|`
("84757009 |Epilepsy|": the id is the code, the term may serve as display text).

What is refused, because the code may stand for another concept than the one meant:
- SNOMED CT (SNOMED CT Release File Specification, 6 "SNOMED CT Identifiers", International
  Edition, docs.snomed.org): an SCTID is 6 to 18 decimal digits with no leading zero; its
  last digit is a check digit computed with Verhoeff's dihedral D5 check (6.4 "Check-digit",
  6.4.2 "Check-digit Computation"); the two digits before it are the partition identifier
  (6.5 "Partition Identifier"): 00 is a concept of the International Edition, 10 a concept of
  an extension (long format, with a 7-digit namespace before the partition), 01/11 a
  description, 02/12 a relationship, 16 a post-coordinated expression; all other values are
  reserved. A problem-list entry needs a concept id: anything else cannot be read.
- ICD-10 (WHO and national modifications such as ICD-10-CM): a letter, a digit, a digit or
  letter (ICD-10-CM uses "Z3A", "O9A"), then an optional dot and up to 4 characters.
- RxNorm: an RxCUI is a positive whole number (digits, no leading zero).
- ATC (WHO Collaborating Centre for Drug Statistics Methodology): a letter, then optionally
  two digits, a letter, a letter and two digits (levels 1 to 5: N, N05, N05A, N05AD, N05AD01).

Pure functions only; the code sets themselves are in rules/code_sets.py.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

# Verhoeff's tables as printed in the SNOMED CT specification (6.4.2): the dihedral D5
# multiplication, the permutation F(i, j) = F(i - 1, F(1, j)) for positions 0 to 7, and the
# inverse (the column of each row's zero).
_D5 = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_F = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)
_INVERSE = (0, 4, 3, 2, 1, 5, 6, 7, 8, 9)


def _verhoeff_sum(digits: str, offset: int) -> int:
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _D5[check][_F[(position + offset) % 8][int(digit)]]
    return check


def verhoeff_valid(digits: str) -> bool:
    """Whether the last digit of `digits` is the Verhoeff check digit of the ones before it."""
    if not digits.isascii() or not digits.isdigit():
        return False
    return _verhoeff_sum(digits, 0) == 0


def verhoeff_check_digit(digits: str) -> int:
    """The Verhoeff check digit to append to `digits` (the SCTID without its check digit)."""
    if not digits.isascii() or not digits.isdigit():
        raise ValueError(f"{digits!r} is not a string of decimal digits")
    return _INVERSE[_verhoeff_sum(digits, 1)]


SCTID_MIN_DIGITS, SCTID_MAX_DIGITS = 6, 18
LONG_FORMAT_MIN_DIGITS = 11  # item (1+) + namespace (7) + partition (2) + check digit (1)
_PARTITIONS = {
    "00": None,
    "10": None,  # concepts: what a problem-list entry must carry
    "01": "a description id, not a concept id",
    "11": "a description id, not a concept id",
    "02": "a relationship id, not a concept id",
    "12": "a relationship id, not a concept id",
    "16": "the id of a post-coordinated expression, not a concept id",
}


def snomed_problem(code: str) -> str | None:
    """Why `code` (already normalised) is not a SNOMED CT concept id, or None if it is one."""
    if not code.isascii() or not code.isdigit():
        return "a SNOMED CT id is decimal digits only"
    if code.startswith("0"):
        return "a SNOMED CT id has no leading zero"
    if not SCTID_MIN_DIGITS <= len(code) <= SCTID_MAX_DIGITS:
        return (
            f"a SNOMED CT id has {SCTID_MIN_DIGITS} to {SCTID_MAX_DIGITS} digits, not {len(code)}"
        )
    partition = code[-3:-1]
    if partition not in _PARTITIONS:
        return f"partition identifier {partition} is reserved: not a SNOMED CT id"
    if _PARTITIONS[partition]:
        return f"{_PARTITIONS[partition]} (partition identifier {partition})"
    if partition == "10" and len(code) < LONG_FORMAT_MIN_DIGITS:
        return "too short for an extension id, which carries a 7-digit namespace"
    if not verhoeff_valid(code):
        return "its check digit does not match, so a digit may be mistyped"
    return None


_ICD10 = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4}|\.)?")


def icd10_problem(code: str) -> str | None:
    if _ICD10.fullmatch(code):
        return None
    return "an ICD-10 code is a letter, a digit, a digit or letter, then up to 4 characters"


def rxnorm_problem(code: str) -> str | None:
    if code.isascii() and code.isdigit() and not code.startswith("0"):
        return None
    return "an RxNorm code is a whole number with no leading zero"


_ATC = re.compile(r"[A-Z](?:[0-9]{2}(?:[A-Z](?:[A-Z](?:[0-9]{2})?)?)?)?")


def atc_problem(code: str) -> str | None:
    if _ATC.fullmatch(code):
        return None
    return "an ATC code reads like N05, N05AD or N05AD01"


def clean(text: str) -> str:
    """NFKC-normalised, with runs of white space (any kind) made one space, and trimmed."""
    return " ".join(unicodedata.normalize("NFKC", text).split())


_ID_TERM = re.compile(r"(?P<id>[^|]*?)\s*\|(?P<term>[^|]*)\|")
_ICD10_MARKS = "†‡*+!"  # WHO dagger/asterisk (and their ASCII stand-ins), secondary-code mark


@dataclass(frozen=True)
class ReadCode:
    """A code as we read it: `code` normalised (ICD-10 without its dot), `term` from the
    `id |term|` form, `problem` why it cannot be read (None when it can)."""

    code: str
    term: str | None = None
    problem: str | None = None


@lru_cache(maxsize=1 << 14)
def read_code(system: str, raw: str) -> ReadCode:
    """Read `raw` as a code of `system` ("icd10", "snomed", "rxnorm" or "atc"). A pure
    function of its arguments: an entry's code is read when it is listed and again when its
    findings are derived, and a code recorded across many patients once per process."""
    text = clean(raw)
    term = None
    match = _ID_TERM.match(text)
    if match:
        term = clean(match["term"]) or None
        if match.end() < len(text):
            # More than one `id |term|`: a post-coordinated expression we cannot evaluate.
            return ReadCode(text, term, "a post-coordinated expression, not a single concept id")
        text = match["id"]
    if system == "icd10":
        code = "".join(text.split()).upper().rstrip(_ICD10_MARKS)
        return ReadCode(code.replace(".", ""), term, icd10_problem(code))
    if system == "atc":
        code = "".join(text.split()).upper()
        return ReadCode(code, term, atc_problem(code))
    code = "".join(text.split())
    if system == "snomed":
        return ReadCode(code, term, snomed_problem(code))
    return ReadCode(code, term, rxnorm_problem(code))
