"""CDS Hooks feedback items as the store keeps them (api/store/): one record per item, keyed
by card, outcome and outcome timestamp, with the item's canonical JSON to tell a retry (the
same content) from a conflict (other content under the same key)."""

from __future__ import annotations

from datetime import UTC

from api.cds_hooks.models import Feedback
from api.store import FeedbackRecord


def records(service_id: str, items: list[Feedback], client: str | None) -> list[FeedbackRecord]:
    out = []
    for item in items:
        reason = item.overrideReason.reason if item.overrideReason else None
        out.append(
            FeedbackRecord(
                service_id=service_id,
                card=item.card,
                outcome=item.outcome,
                outcome_timestamp=item.outcomeTimestamp,
                accepted_suggestions=tuple(s.id for s in item.acceptedSuggestions)
                if item.acceptedSuggestions
                else None,
                reason_system=reason.system if reason else None,
                reason_code=reason.code if reason else None,
                reason_display=reason.display if reason else None,
                user_comment=item.overrideReason.userComment if item.overrideReason else None,
                client=client,
                raw=_canonical(item),
            )
        )
    return out


def _canonical(item: Feedback) -> str:
    """The item as JSON with its timestamp in UTC: the same instant written with another
    offset is the same content."""
    utc = item.model_copy(update={"outcomeTimestamp": item.outcomeTimestamp.astimezone(UTC)})
    return utc.model_dump_json(exclude_none=True)
