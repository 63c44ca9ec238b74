"""FHIR dateTime values as the intrathecal reading needs them: an instant with its offset, or
a date that says only the day. Intervals of 24 and 48 hours decide alerts, so a value without a
time of day is never silently given one: the reader that meets it decides, and says so."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Moment:
    instant: datetime | None  # with an offset
    day: date | None  # a date only, or the day of the instant


def moment(value: str | None) -> Moment | None:
    """A FHIR dateTime or instant: an instant when it has a time and an offset (a time
    without an offset is read as UTC, as FHIR requires a zone on any time); a day when it is a
    date only; None when it is neither."""
    if not value:
        return None
    text = value.strip()
    if _DATE.match(text):
        try:
            return Moment(None, date.fromisoformat(text))
        except ValueError:
            return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return Moment(parsed, parsed.date())


def iso(instant: datetime) -> str:
    return instant.isoformat()
