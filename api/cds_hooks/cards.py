"""Alert -> CDS Hooks card, and the cards that say a check could not see everything.

A card carries what the native API returns: `indicator` is the alert's severity,
`source.topic.code` its stable alert code (so an EHR can filter and count cards by alert), and
`detail` gives the numbers, the reasoning and ends with the cited passage. Where the rules
concluded a fix, a suggestion carries it: the one suggested regimen of the check, rendered into
the whole corrected MedicationRequest (spec 2.0.1: an update holds the resource in its
entirety; api/cds_hooks/corrected.py) on every card whose alert it answers, or the removal of
the draft order. Which dose, which alerts and when to remove are the rules' conclusions
(rules/oral/regimen.py, rules/contraindications.py, rules/oral/concurrent.py,
rules/route_and_units.py); this module only writes them.

`source.label` names the document as a person does (rules/sources.py), and `source.url` the
rule's page in the published catalogue on the configured public address. How the order's dose
was read where it took a judgement (the top of a range, a stated maximum, entries that
disagree) is said on the order's alert cards, beside the numbers it explains: an order with no
alert passed at that worst case. The missing-data card says only what could not be read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from uuid import uuid4

from api.cds_hooks.corrected import corrected_order
from api.cds_hooks.models import Action, Card, Coding, Source, Suggestion
from api.cds_hooks.order_check import Gap, OrderCheck
from engine import Alert, Severity
from rules.checker import CheckResult
from rules.release import RULESET_VERSION
from rules.sources import LABELS, PRECEDENCE

TOPIC_SYSTEM = "urn:baclofen-cds:alert-code"
SERVICE = f"Baclofen safety checks {RULESET_VERSION}"
GAP_LABEL = "Data available to the check"
# The published catalogue (the pharmacist console): one page per rule and per alert code.
RULE_PAGE = "/console/rules/{}"
CODE_PAGE = "/console/codes/{}"
MAX_SUMMARY = 139  # spec: "<140-character summary"

# Short headlines for summaries when "order: message" would not fit in 140 characters.
HEADLINES = {
    "ABRUPT_DISCONTINUATION": "stopped or cut by more than half without a taper",
    "CNS_DEPRESSANT_COMEDICATION": "CNS-depressant co-medication",
    "DAILY_DOSE_ABOVE_MAXIMUM": "daily dose above the maximum",
    "DOSE_UNIT_SUSPECT": "dose unit looks wrong (mg vs micrograms)",
    "DOSING_FREQUENCY_OUTSIDE_RANGE": "daily dose not divided into 2-4 doses",
    "DUPLICATE_BACLOFEN_ORDER": "another baclofen order by the same route",
    "ELDERLY_DOSE_ABOVE_RECOMMENDED": "above the dose advised from 65 years",
    "END_STAGE_RENAL_CONTRAINDICATION": "contraindicated in terminal renal failure",
    "INTRATHECAL_ABRUPT_DISCONTINUATION": "intrathecal therapy stopped abruptly",
    "INTRATHECAL_AGE_UNDER_4": "intrathecal use under 4 years not established",
    "INTRATHECAL_DOSE_ABOVE_1000_UG": "intrathecal dose above 1000 micrograms/day",
    "INTRATHECAL_INCREASE_IN_FIRST_24H": "intrathecal increase within the first 24 hours",
    "INTRATHECAL_INCREMENT_TOO_LARGE": "intrathecal increase too large",
    "INTRATHECAL_INCREMENT_TOO_SOON": "intrathecal increase too soon",
    "INTRATHECAL_INITIAL_INFUSION_DOSE": "infusion start dose off the bolus or the initial dose",
    "INTRATHECAL_NON_RESPONDER": "no response to the intrathecal test doses",
    "INTRATHECAL_SCREENING_DOSE": "intrathecal screening dose out of sequence",
    "MISSING_DATA": "a check could not run: data missing",
    "PREGNANCY": "not first line in pregnancy",
    "PUMP_MALFUNCTION_SUSPECTED": "pump or catheter malfunction suspected",
    "RENAL_IMPAIRMENT": "renal impairment: reduce or avoid",
    "ROUTE_NOT_PERMITTED": "route not permitted",
    "SEIZURE_DISORDER_CONTRAINDICATION": "contraindicated in seizure disorder",
    "STARTING_DOSE_ABOVE_RECOMMENDED": "starting dose above the recommended start",
    "TABLET_BELOW_33_KG": "tablets not suitable below 33 kg",
    "TITRATION_TOO_FAST": "dose increased too fast",
    "WEIGHT_BASED_DOSE_ABOVE_RANGE": "dose above the mg/kg/day range",
}

# HL7 non-adherence reason codes (cds-hooks 3.0 vocabulary, suggested for overrideReasons).
REASON_SYSTEM = "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"
CLINICAL_REASONS = (
    ("risk-benefit-ratio", "Recipient assessment of risk/benefit ratio"),
    ("expert-contradicts", "Advice from expert contradicts the recommended action"),
    ("policy-contradicts", "Institutional policy/guideline contradicts the recommended action"),
    ("cds-not-applicable", "PC CDS does not apply to patient"),
)
DATA_REASONS = (
    ("cds-not-applicable", "PC CDS does not apply to patient"),
    ("limited-time", "Could not address recommended action due to limited time"),
)

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|!])")


def md(text: str) -> str:
    """Escape Markdown: condition and product names come from the EHR, not from us."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def _reasons(pairs: Iterable[tuple[str, str]]) -> list[Coding]:
    return [Coding(system=REASON_SYSTEM, code=code, display=display) for code, display in pairs]


def _num(value: float) -> str:
    return f"{value:g}"


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _num(value)
    if isinstance(value, dict):
        label = value.get("label") or value.get("finding")
        basis = value.get("basis")
        if label:
            return f"{label} ({basis})" if basis and basis != label else str(label)
        return ", ".join(f"{k.replace('_', ' ')} {_fmt(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return "; ".join(_fmt(v) for v in value)
    return str(value)


_KEY_NAMES = {
    "daily_mg": "daily dose (mg)",
    "daily_ug": "daily dose (ug)",
    "dose_mg": "dose (mg)",
    "ml_min": "mL/min",
    "mg_per_kg_day": "mg/kg/day",
    "frequency_per_day": "doses a day",
}
_KEY_UNITS = (
    ("_mg_per_kg_day", " (mg/kg/day)"),
    ("_mg_day", " (mg/day)"),
    ("_ug_day", " (ug/day)"),
    ("_ml_min", " (mL/min)"),
    ("_kg", " (kg)"),
    ("_mg", " (mg)"),
    ("_ug", " (ug)"),
    ("_years", " (years)"),
    ("_pct", " (%)"),
    ("_hours", " (h)"),
)


def _key(name: str) -> str:
    if name in _KEY_NAMES:
        return _KEY_NAMES[name]
    for suffix, unit in _KEY_UNITS:
        if name.endswith(suffix):
            return name[: -len(suffix)].replace("_", " ") + unit
    return name.replace("_", " ")


def one_line(text: str) -> str:
    """Text on one line: the EHR's newlines, tabs and runs of spaces (a product name written
    "Baclofen\n20 MG\tOral Tablet") as single spaces. A summary is a one-line banner."""
    return " ".join(text.split())


def summary(label: str, text: str, code: str) -> str:
    """`order: message`, or `order: headline` when that is too long; the order is always named,
    on one line."""
    label, text = one_line(label), one_line(text)
    for tail in (text, HEADLINES.get(code, code.replace("_", " ").lower())):
        candidate = f"{label}: {tail}"
        if len(candidate) <= MAX_SUMMARY:
            return candidate
    room = MAX_SUMMARY - len(tail) - 3
    return f"{label[: max(room, 10)].rstrip()}…: {tail}"[:MAX_SUMMARY]


def _cite(document: str) -> str:
    """The source as a person names it, its weight, and the file the passage is in."""
    label = LABELS.get(document, document)
    return f"**Source:** {md(label)} ({PRECEDENCE.get(document, 'cited')} source, {md(document)})"


def _detail(alert: Alert, check: OrderCheck) -> str:
    """The reasoning, what to do, the values checked, how the order's dose was read where it
    took a judgement, the order, and the passage. Reviewers' notes on how the sources disagree
    stay in the catalogue (source.url): the prescriber sees the rule's conclusion."""
    lines = [f"**{md(alert.message)}**", "", f"**What to do:** {md(alert.suggestion)}"]
    evidence = [
        f"{_key(k)}: {_fmt(v)}" for k, v in alert.evidence.items() if v not in (None, "", [], {})
    ]
    if evidence:
        lines += ["", "**Checked values:** " + md("; ".join(evidence))]
    order_read = [r for r in check.readings if r.field is None]
    if order_read:
        lines += ["", "**How the order was read:** " + md(" ".join(order_read))]
    # The record's values this card checked (by the evidence's key, `weight_kg`).
    record = [r for r in check.readings if r.field and r.field.rsplit(".")[-1] in alert.evidence]
    if record:
        lines += ["", "**From the record:** " + md(" ".join(record))]
    lines += ["", f"**Order:** {md(check.label)} ({md(check.ref)})"]
    lines += ["", f"_{md(SERVICE)}, rule {md(alert.rule_id)}_"]
    lines += ["", _cite(alert.source.document), "", "> " + md(alert.source.excerpt)]
    return "\n".join(lines)


def _url(base: str | None, page: str, name: str) -> str | None:
    """The catalogue's page, on the configured public address only (never the Host header)."""
    return f"{base.rstrip('/')}{page.format(name)}" if base else None


def _suggestions(alert: Alert, check: OrderCheck, result: CheckResult) -> list[Suggestion]:
    rid = check.resource.get("id")
    rx = result.suggested_regimen
    if rx is not None and alert.code in rx.answers:
        fix = corrected_order(check, rx)
        if fix is None:
            return []
        resource, label, description = fix
        return [
            Suggestion(
                label=label,
                uuid=str(uuid4()),
                isRecommended=True,
                actions=[Action(type="update", description=description, resource=prune(resource))],
            )
        ]
    if alert.code in result.remove_order and rid:
        return [
            Suggestion(
                label="Remove this baclofen order",
                uuid=str(uuid4()),
                actions=[
                    Action(
                        type="delete",
                        description=f"Remove the draft order {check.label}.",
                        resourceId=f"{check.resource.get('resourceType')}/{rid}",
                    )
                ],
            )
        ]
    return []


def prune(value: Any) -> Any:
    """Drop nulls and empty strings, lists and objects (spec and FHIR both forbid them)."""
    if isinstance(value, dict):
        out = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        items = [prune(v) for v in value]
        return [v for v in items if v not in (None, "", [], {})]
    return value


# ---- cards -----------------------------------------------------------------------------------


def alert_card(
    alert: Alert, check: OrderCheck, result: CheckResult, base_url: str | None = None
) -> Card:
    suggestions = _suggestions(alert, check, result)
    return Card(
        uuid=str(uuid4()),
        summary=summary(check.label, alert.message, alert.code),
        detail=_detail(alert, check),
        indicator=alert.severity.value,
        source=Source(
            label=LABELS.get(alert.source.document, alert.source.document),
            url=_url(base_url, RULE_PAGE, alert.rule_id),
            topic=Coding(
                system=TOPIC_SYSTEM, code=alert.code, display=HEADLINES.get(alert.code, alert.code)
            ),
        ),
        suggestions=suggestions or None,
        selectionBehavior="at-most-one" if suggestions else None,
        overrideReasons=_reasons(CLINICAL_REASONS),
    )


def _gap(
    label: str,
    items: list[str],
    sources: list[Alert],
    ref: str | None = None,
    summary_text: str | None = None,
    base_url: str | None = None,
    indicator: Severity = Severity.WARNING,
    heading: str = "**Some checks could not run.** Missing data is not a pass: check these "
    "points by hand, or record the data and sign again.",
) -> Card:
    lines = [heading, ""]
    lines += [f"- {md(item)}" for item in items]
    lines += ["", f"**Order:** {md(label)}" + (f" ({md(ref)})" if ref else "")]
    lines += ["", f"_{md(SERVICE)}_"]
    seen = set()
    for alert in sources:
        src = alert.source
        if (src.document, src.excerpt) in seen:
            continue
        seen.add((src.document, src.excerpt))
        lines += ["", _cite(src.document), "", "> " + md(src.excerpt)]
    text = summary_text or (
        items[0] if len(items) == 1 else "some checks could not run because data are missing"
    )
    return Card(
        uuid=str(uuid4()),
        summary=summary(label, text, "MISSING_DATA"),
        detail="\n".join(lines),
        indicator=indicator.value,
        source=Source(
            label=GAP_LABEL,
            url=_url(base_url, CODE_PAGE, "MISSING_DATA"),
            topic=Coding(
                system=TOPIC_SYSTEM, code="MISSING_DATA", display=HEADLINES["MISSING_DATA"]
            ),
        ),
        overrideReasons=_reasons(DATA_REASONS),
    )


def _checks(alert: Alert) -> list[tuple[str, set[str]]]:
    """Each check a MISSING_DATA alert says could not run, with the fields it lacked. The
    engine reports one MISSING_DATA alert per check; when several checks could not run, its
    evidence lists them under `checks`."""
    checks = alert.evidence.get("checks")
    if isinstance(checks, list) and checks:
        return [
            (str(c.get("message")), set(c.get("missing") or []))
            for c in checks
            if isinstance(c, dict)
        ]
    return [(alert.message, set(alert.evidence.get("missing") or []))]


def gap_card(
    check: OrderCheck,
    missing: list[Alert],
    not_yet_written: frozenset[str] = frozenset(),
    base_url: str | None = None,
) -> Card | None:
    """One card per order for everything that could not be checked: the rules' MISSING_DATA
    alerts and what the FHIR data did not let us read. A rule's check about a field that a
    note already explains (the dose was written in tablets of unknown strength) is left out:
    the note says it better than "no dose"; so is one about fields not yet written."""
    explained = {str(n.field) for n in check.gaps if isinstance(n, Gap) and n.field}
    kept: list[Alert] = []
    items: list[str] = []
    for alert in missing:
        said = [
            message
            for message, fields in _checks(alert)
            if not (fields and (fields <= explained or fields <= not_yet_written))
        ]
        if said:
            kept.append(alert)
            items += said
    items += list(check.gaps)
    if not items:
        return None
    if check.case is None:
        return _gap(
            check.label,
            items,
            kept,
            check.ref,
            "not checked: the order could not be read",
            base_url,
        )
    return _gap(check.label, items, kept, check.ref, base_url=base_url)


def unidentified_card(refs: list[str], base_url: str | None = None) -> Card:
    return _gap(
        f"{len(refs)} draft order{'s' if len(refs) > 1 else ''}",
        [
            f"The medication of {ref} could not be identified (no code, text or "
            "retrievable Medication): if it is baclofen, it was not checked."
            for ref in refs
        ],
        [],
        summary_text="not checked: the medication could not be identified",
        base_url=base_url,
    )


def not_given_card(ref: str, label: str, base_url: str | None = None) -> Card:
    """A baclofen order that says doNotPerform forbids baclofen: it has no dose to give, so
    none of the dose checks ran on it. Said (info), for an EHR that meant a dose to give
    would otherwise see no card at all."""
    return _gap(
        label,
        [
            f"{ref} says doNotPerform: none of the dose checks ran on it. If baclofen is to "
            "be given, order it without doNotPerform."
        ],
        [],
        ref,
        summary_text="not checked: a do-not-perform order (doNotPerform)",
        base_url=base_url,
        indicator=Severity.INFO,
        heading="**Not checked.** The order forbids baclofen: it gives no dose to check.",
    )


# At order-select the clinician has just picked the medication: an order without any dose or
# frequency yet is normal there, and order-sign checks it once it is written. Only the
# complete absence is set aside: a dose that is written but unreadable is still said.
NOT_YET_WRITTEN_AT_SELECT = frozenset({"order.dose", "order.frequency_per_day"})


def cards_for(
    check: OrderCheck,
    result: CheckResult,
    *,
    hook: str = "order-sign",
    base_url: str | None = None,
) -> list[Card]:
    """The alerts' cards in the engine's order (most severe first), then the one card about
    missing data. `base_url` is the service's configured public address (CDS_PUBLIC_BASE_URL):
    each card's source links to its rule's page in the published catalogue there, and to none
    when no address is configured."""
    alerts = result.alerts
    missing = [a for a in alerts if a.code == "MISSING_DATA"]
    cards = [alert_card(a, check, result, base_url) for a in alerts if a.code != "MISSING_DATA"]
    gap = gap_card(
        check,
        missing,
        NOT_YET_WRITTEN_AT_SELECT if hook == "order-select" else frozenset(),
        base_url,
    )
    return cards + ([gap] if gap else [])
