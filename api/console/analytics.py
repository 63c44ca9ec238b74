"""Override analytics: the check log and the feedback of a date range, counted per alert code
and severity, per week, and per override reason; and the same as CSV.

Definitions (also on the page):
- **shown**: alerts answered by the native API plus cards answered by the CDS Hooks service,
  in checks made in the range;
- **accepted / overridden**: CDS Hooks cards shown in the range whose latest feedback says so
  (whenever it arrived): an EHR may override a card and later accept it;
- **override rate**: overridden / (accepted + overridden), over cards with feedback: cards
  without feedback, and native alerts (which get none), are not counted as either;
- feedback on cards the check log does not hold (purged, or answered before it existed) is
  counted apart, by the day the feedback was given.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from api.store import CheckCounts

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
MAX_DAYS = 3660
# Dates the analytics may be asked about: a check log cannot be older, and the calendar
# arithmetic of a range (a day after its end, twelve weeks before) stays within datetime's.
EARLIEST = date(1970, 1, 1)
LATEST = date(2999, 12, 31)


@dataclass
class Tally:
    shown: int = 0
    cards: int = 0
    accepted: int = 0
    overridden: int = 0

    @property
    def with_feedback(self) -> int:
        return self.accepted + self.overridden

    @property
    def no_feedback(self) -> int:
        return max(self.cards - self.with_feedback, 0)

    @property
    def override_rate(self) -> float | None:
        return self.overridden / self.with_feedback if self.with_feedback else None


@dataclass
class CodeRow(Tally):
    code: str = ""
    severity: str = ""


@dataclass
class Week(Tally):
    start: date = date.min
    by_severity: Counter[str] = field(default_factory=Counter)


@dataclass
class Reason:
    system: str | None
    code: str | None
    display: str | None
    count: int = 0
    alert_codes: Counter[str] = field(default_factory=Counter)

    @property
    def label(self) -> str:
        return self.display or self.code or "(no reason given)"


@dataclass
class Report:
    start: date
    end: date  # inclusive
    code: str | None  # the alert code the weekly trend is limited to, if any
    checks: Counter[str]  # by outcome
    checks_by_endpoint: Counter[str]
    rows: list[CodeRow]
    weeks: list[Week]
    reasons: list[Reason]
    total: Tally
    unmatched: Counter[str]  # outcome -> feedback on cards not in the check log


def date_range(
    start: date | None, end: date | None, today: date | None = None
) -> tuple[date, date]:
    """The range asked for (inclusive days, UTC); by default the last 12 weeks. A range
    given backwards is put the right way round; it is never longer than MAX_DAYS."""
    today = today or datetime.now(UTC).date()
    end = end or today
    start = start or end - timedelta(days=83)
    if start > end:
        start, end = end, start
    if (end - start).days > MAX_DAYS:
        start = end - timedelta(days=MAX_DAYS)
    return start, end


def bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00 UTC, the day after end 00:00 UTC)."""
    return (
        datetime.combine(start, time.min, UTC),
        datetime.combine(end + timedelta(days=1), time.min, UTC),
    )


def monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def report(counts: CheckCounts, start: date, end: date, code: str | None = None) -> Report:
    rows: dict[tuple[str, str], CodeRow] = {}
    weeks = {
        monday(start) + timedelta(weeks=n): Week(start=monday(start) + timedelta(weeks=n))
        for n in range((monday(end) - monday(start)).days // 7 + 1)
    }
    total = Tally()

    def row(alert: str, severity: str) -> CodeRow:
        return rows.setdefault((alert, severity), CodeRow(code=alert, severity=severity))

    def week(day: str) -> Week:
        start_of = monday(date.fromisoformat(day))
        return weeks.setdefault(start_of, Week(start=start_of))

    checks: Counter[str] = Counter()
    by_endpoint: Counter[str] = Counter()
    for _, endpoint, outcome, n in counts.checks:
        checks[outcome] += n
        by_endpoint[endpoint] += n
    for day, alert, severity, n, cards in counts.shown:
        for tally in (row(alert, severity), total):
            tally.shown += n
            tally.cards += cards
        if code in (None, alert):
            w = week(day)
            w.shown += n
            w.cards += cards
            w.by_severity[severity] += n
    reasons: dict[tuple[str | None, str | None, str | None], Reason] = {}
    for day, alert, severity, outcome, r_system, r_code, r_display, n in counts.outcomes:
        tallies: list[Tally] = [row(alert, severity), total]
        if code in (None, alert):
            tallies.append(week(day))
        for tally in tallies:
            if outcome == "accepted":
                tally.accepted += n
            elif outcome == "overridden":
                tally.overridden += n
        if outcome == "overridden":
            reason = reasons.setdefault(
                (r_system, r_code, r_display), Reason(r_system, r_code, r_display)
            )
            reason.count += n
            reason.alert_codes[alert] += n
    unmatched: Counter[str] = Counter()
    for _, outcome, _, _, _, n in counts.unmatched:
        unmatched[outcome] += n
    return Report(
        start=start,
        end=end,
        code=code,
        checks=checks,
        checks_by_endpoint=by_endpoint,
        rows=sorted(
            rows.values(), key=lambda r: (-r.shown, SEVERITY_ORDER.get(r.severity, 9), r.code)
        ),
        weeks=[weeks[k] for k in sorted(weeks)],
        reasons=sorted(reasons.values(), key=lambda r: (-r.count, r.label)),
        total=total,
        unmatched=unmatched,
    )


def rate_text(rate: float | None) -> str:
    return "" if rate is None else f"{rate * 100:.1f} %"


def _rate_csv(rate: float | None) -> str:
    return "" if rate is None else f"{rate:.4f}"


def _csv(header: list[str], rows: Iterable[list[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def codes_csv(rep: Report) -> str:
    return _csv(
        [
            "code",
            "severity",
            "shown",
            "cds_hooks_cards",
            "accepted",
            "overridden",
            "no_feedback",
            "override_rate",
        ],
        (
            [
                r.code,
                r.severity,
                r.shown,
                r.cards,
                r.accepted,
                r.overridden,
                r.no_feedback,
                _rate_csv(r.override_rate),
            ]
            for r in rep.rows
        ),
    )


def weeks_csv(rep: Report) -> str:
    return _csv(
        ["week_starting", "shown", "cds_hooks_cards", "accepted", "overridden", "override_rate"],
        (
            [
                w.start.isoformat(),
                w.shown,
                w.cards,
                w.accepted,
                w.overridden,
                _rate_csv(w.override_rate),
            ]
            for w in rep.weeks
        ),
    )


def reasons_csv(rep: Report) -> str:
    return _csv(
        ["reason_system", "reason_code", "reason_display", "overridden", "alert_codes"],
        (
            [
                r.system or "",
                r.code or "",
                r.display or "",
                r.count,
                " ".join(f"{c}:{n}" for c, n in r.alert_codes.most_common()),
            ]
            for r in rep.reasons
        ),
    )


CSV = {"codes": codes_csv, "weeks": weeks_csv, "reasons": reasons_csv}


def by_week_rate(weeks: Iterable[Week]) -> list[tuple[date, float | None]]:
    return [(w.start, w.override_rate) for w in weeks]


def severity_totals(weeks: Iterable[Week]) -> dict[str, int]:
    out: defaultdict[str, int] = defaultdict(int)
    for w in weeks:
        for severity, n in w.by_severity.items():
            out[severity] += n
    return dict(out)
