"""rules/code_validation.py: the Verhoeff check digit, SNOMED CT identifiers, ICD-10, RxNorm
and ATC syntax, and the normalisation of codes as written (NFKC, spaces, `id |term|`)."""

from __future__ import annotations

import itertools

import pytest

from rules.code_validation import (
    read_code,
    snomed_problem,
    verhoeff_check_digit,
    verhoeff_valid,
)


def wide(text: str) -> str:
    """The same characters in their full-width forms (U+FF01 to U+FF5E), as some East Asian
    input methods type them."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# Concept ids of the International Edition (partition 00), as published.
VALID_SCTIDS = [
    "84757009",  # epilepsy
    "128613002",  # seizure disorder
    "46177005",  # end-stage renal disease
    "433146000",  # chronic kidney disease stage 5
    "77386006",  # pregnancy
    "41497008",  # febrile convulsion
    "38341003",  # hypertensive disorder
    "138875005",  # SNOMED CT concept (the root)
    "404684003",  # clinical finding
    "22298006",  # myocardial infarction
]


@pytest.mark.parametrize("sctid", VALID_SCTIDS)
def test_published_concept_ids_are_valid(sctid: str) -> None:
    assert verhoeff_valid(sctid)
    assert snomed_problem(sctid) is None
    assert verhoeff_check_digit(sctid[:-1]) == int(sctid[-1])


@pytest.mark.parametrize(
    ("digits", "check"),
    [
        ("236", 3),  # Verhoeff's textbook example: 2363
        ("1456789", 4),  # 14567894
        ("8475700", 9),  # 84757009
    ],
)
def test_check_digit_known_vectors(digits: str, check: int) -> None:
    assert verhoeff_check_digit(digits) == check
    assert verhoeff_valid(digits + str(check))


@pytest.mark.parametrize("sctid", VALID_SCTIDS)
def test_every_single_digit_error_and_adjacent_transposition_is_caught(sctid: str) -> None:
    """What Verhoeff's check guarantees: each mistyped digit and each swap of two different
    neighbouring digits changes the check."""
    for i, digit in itertools.product(range(len(sctid)), "0123456789"):
        if digit != sctid[i]:
            assert not verhoeff_valid(sctid[:i] + digit + sctid[i + 1 :]), (i, digit)
    for i in range(len(sctid) - 1):
        if sctid[i] != sctid[i + 1]:
            swapped = sctid[:i] + sctid[i + 1] + sctid[i] + sctid[i + 2 :]
            assert not verhoeff_valid(swapped), i


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("84757008", "check digit"),  # last digit wrong
        ("84757090", "partition identifier 09 is reserved"),  # last two swapped
        ("48757009", "check digit"),  # first two swapped
        ("084757009", "leading zero"),
        ("8475", "6 to 18 digits, not 4"),
        ("12345", "6 to 18 digits, not 5"),
        ("1234567890123456789", "6 to 18 digits, not 19"),
        ("84757OO9", "digits only"),  # letter O for zero
        ("84757-009", "digits only"),
        ("", "digits only"),
        ("12345013", "a description id"),  # partition 01 with a valid check digit
        ("12345021", "a relationship id"),  # partition 02 with a valid check digit
        ("12345107", "too short for an extension id"),  # partition 10 without a namespace
        ("999999991000001167", "post-coordinated expression"),  # partition 16
    ],
)
def test_corrupted_or_non_concept_ids_are_refused(code: str, problem: str) -> None:
    got = snomed_problem(code)
    assert got is not None and problem in got, got


def test_the_partition_examples_have_valid_check_digits() -> None:
    """The description, relationship and extension rows above fail for their partition, not
    for a check digit that happens to be wrong."""
    for code in ("12345013", "12345021", "12345107", "999999991000001167"):
        assert verhoeff_valid(code), code


def test_an_extension_concept_id_is_valid() -> None:
    body = "1" + "1000001" + "10"  # item 1, namespace 1000001, partition 10 (a concept)
    sctid = body + str(verhoeff_check_digit(body))
    assert snomed_problem(sctid) is None


def test_check_digit_of_non_digits_is_an_error() -> None:
    with pytest.raises(ValueError, match="decimal digits"):
        verhoeff_check_digit("12a")
    assert not verhoeff_valid(wide("84757009"))  # full-width digits are read after NFKC


@pytest.mark.parametrize(
    ("system", "raw", "code", "term", "readable"),
    [
        # SNOMED CT as written
        ("snomed", "84757009", "84757009", None, True),
        ("snomed", " 84757009\t", "84757009", None, True),
        ("snomed", wide("84757009"), "84757009", None, True),  # full width
        ("snomed", "84757 009", "84757009", None, True),
        ("snomed", "84757009 |Epilepsy|", "84757009", "Epilepsy", True),
        ("snomed", "84757009|Epilepsy (disorder)|", "84757009", "Epilepsy (disorder)", True),
        ("snomed", "84757009 | Epilepsy |", "84757009", "Epilepsy", True),
        ("snomed", "84757008 |Epilepsy|", "84757008", "Epilepsy", False),  # bad check digit
        ("snomed", "|Epilepsy|", "", "Epilepsy", False),
        (
            "snomed",
            "84757009 |Epilepsy| : 246112005 |Severity| = 24484000 |Severe|",
            "84757009 |Epilepsy| : 246112005 |Severity| = 24484000 |Severe|",
            "Epilepsy",
            False,
        ),
        ("snomed", "<<84757009", "<<84757009", None, False),
        # ICD-10 as written
        ("icd10", "G40.909", "G40909", None, True),
        ("icd10", "g40.909", "G40909", None, True),
        ("icd10", wide("G40.9"), "G409", None, True),  # full width
        ("icd10", " G40 .9 ", "G409", None, True),  # stray spaces
        ("icd10", "G40", "G40", None, True),
        ("icd10", "G40.", "G40", None, True),
        ("icd10", "G63.2*", "G632", None, True),  # WHO asterisk code
        ("icd10", "E10.4†", "E104", None, True),  # WHO dagger code
        ("icd10", "Z3A.20", "Z3A20", None, True),  # ICD-10-CM letter in third place
        ("icd10", "O9A.13", "O9A13", None, True),
        ("icd10", "S72.001A", "S72001A", None, True),  # seven characters
        ("icd10", "G4.09", "G409", None, False),  # dot in the wrong place
        ("icd10", "G40.90911", "G4090911", None, False),  # too long
        ("icd10", "4G0.9", "4G09", None, False),
        ("icd10", "GG0.9", "GG09", None, False),
        ("icd10", "G40-9", "G40-9", None, False),
        # RxNorm and ATC
        ("rxnorm", "7052", "7052", None, True),
        ("rxnorm", wide("7052"), "7052", None, True),
        ("rxnorm", "07052", "07052", None, False),
        ("rxnorm", "7052x", "7052x", None, False),
        ("atc", "N05AD01", "N05AD01", None, True),
        ("atc", "n05ad01", "N05AD01", None, True),
        ("atc", "N05A", "N05A", None, True),
        ("atc", "N05AD1", "N05AD1", None, False),
        ("atc", "N5AD01", "N5AD01", None, False),
    ],
)
def test_read_code(system: str, raw: str, code: str, term: str | None, readable: bool) -> None:
    got = read_code(system, raw)
    assert (got.code, got.term, got.problem is None) == (code, term, readable), got
