"""The CNS-depressant classes (rules/drug_classes.py) are consistent data: every ingredient,
brand, RxNorm and ATC code reads as its class, and the ATC groups it borrows from do not drag
in their non-sedating neighbours."""

from __future__ import annotations

import pytest

from rules.code_sets import depressant_class
from rules.code_validation import atc_problem, rxnorm_problem
from rules.drug_classes import BRAND_NAMES, CLASSES

MEMBERS = [(dc.label, name, rxcui) for dc in CLASSES for name, rxcui in dc.members]
ATC = "http://www.whocc.no/atc"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def test_each_ingredient_is_in_one_class() -> None:
    names = [name for _, name, _ in MEMBERS]
    assert len(names) == len(set(names))


def test_each_rxcui_names_one_ingredient_or_its_synonym() -> None:
    by_code: dict[str, set[str]] = {}
    for _, name, rxcui in MEMBERS:
        if rxcui:
            assert rxnorm_problem(rxcui) is None, name
            by_code.setdefault(rxcui, set()).add(name)
    assert {frozenset(v) for v in by_code.values() if len(v) > 1} == {
        frozenset({"dosulepin", "dothiepin"})
    }


def test_every_brand_is_read_as_a_listed_ingredient() -> None:
    ingredients = {name for _, name, _ in MEMBERS}
    assert set(BRAND_NAMES.values()) <= ingredients


@pytest.mark.parametrize(("label", "name", "rxcui"), MEMBERS, ids=[m[1] for m in MEMBERS])
def test_every_ingredient_reads_as_its_class(label: str, name: str, rxcui: str | None) -> None:
    assert depressant_class(None, None, f"{name.capitalize()} 10 mg") == (label, name)
    if rxcui:
        assert depressant_class(RXNORM, rxcui, None) is not None


@pytest.mark.parametrize("brand", sorted(BRAND_NAMES))
def test_every_brand_reads_as_its_ingredient(brand: str) -> None:
    hit = depressant_class(None, None, f"{brand.upper()} tablets")
    assert hit is not None and hit[1] == BRAND_NAMES[brand]


@pytest.mark.parametrize("code", sorted({c for dc in CLASSES for c in dc.atc}))
def test_atc_codes_are_well_formed(code: str) -> None:
    assert atc_problem(code) is None


@pytest.mark.parametrize(
    "code",
    [
        "M03BX01",  # baclofen itself
        "N05AN01",  # lithium
        "N06AB06",  # sertraline (SSRI)
        "N06AX12",  # bupropion
        "N06AX16",  # venlafaxine
        "N03AX14",  # levetiracetam
        "R06AE07",  # cetirizine
        "R06AX13",  # loratadine
        "R06AX26",  # fexofenadine
        "A04AD12",  # aprepitant
        "N02BE01",  # paracetamol
        "R05DA09",  # dextromethorphan
        "M03AX01",  # botulinum toxin
        "N07BC04",  # lofexidine (not an opioid)
    ],
)
def test_non_sedating_neighbours_are_not_depressants(code: str) -> None:
    assert depressant_class(ATC, code, None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Oxycodone discontinued", None),
        ("No oxycodone; paracetamol", None),
        ("Somatropin 1 mg", None),
        ("Carbamazepine 200 mg", None),  # contains no listed name
        ("Chloral hydrate 500 mg", ("other sedative", "chloral hydrate")),
    ],
)
def test_text(text: str, expected: tuple[str, str] | None) -> None:
    assert depressant_class(None, None, text) == expected
