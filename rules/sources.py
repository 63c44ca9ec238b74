"""The clinical source documents and how rules cite them.

The seed documents are vendored in rules/seeds/ (copied verbatim from the project's shared
seeds) so that every excerpt can be checked against its document by a test, and so that the
API can serve the passage it encodes. Precedence: 000 and 001 are regulatory (SmPC-derived)
and primary; 002 (review) and 003 (Q&A, unreviewed) are secondary; 004 (consumer guide) is
tertiary. Where they disagree the primary text wins and the note says so.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from engine import Source

SEEDS = Path(__file__).parent / "seeds"

PAED_SMPC = "000_f86db95427024694.txt"
ADULT_SMPC = "001_b1a87da4a9cdf50a.txt"
REVIEW = "002_0d402c1eaae74421.txt"
PAED_QA = "003_616e6b1136381f3a.txt"
CONSUMER_GUIDE = "004_7cb5c55ef0d6001d.txt"

PRECEDENCE = {
    PAED_SMPC: "primary",
    ADULT_SMPC: "primary",
    REVIEW: "secondary",
    PAED_QA: "secondary",
    CONSUMER_GUIDE: "tertiary",
}
# What a person calls each document (a card's source, the catalogue, the console): beside its
# precedence, so that the two never drift apart.
LABELS = {
    PAED_SMPC: "Baclofen SmPC, paediatric",
    ADULT_SMPC: "Baclofen SmPC, adults and intrathecal",
    REVIEW: "Baclofen review article",
    PAED_QA: "Paediatric dosing Q&A (cerebral palsy)",
    CONSUMER_GUIDE: "Baclofen consumer drug guide",
}


def Passage(document: str, excerpt: str, note: str | None = None) -> Source:
    """A cited passage. `excerpt` must appear verbatim (whitespace-normalised) in `document`."""
    if document not in PRECEDENCE or document not in LABELS:
        raise ValueError(f"unknown source document {document!r}")
    return Source(document=document, excerpt=excerpt, note=note)


def normalise(text: str) -> str:
    return " ".join(text.replace("\u2019", "'").split())


@cache
def document_text(document: str) -> str:
    return normalise((SEEDS / document).read_text(encoding="utf-8"))
