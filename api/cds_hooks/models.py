"""CDS Hooks 2.0 wire models: hook request, discovery, cards, feedback, OperationOutcome.

Request models are lenient (`extra="allow"`: EHRs send extensions and fields we do not read)
but strict about what the specification requires, so a malformed call is a 400 naming the
field instead of a check that silently saw nothing. FHIR resources inside the request stay
plain JSON here: fhir/ reads the few elements the rules need and tolerates the rest.

Responses are dumped with `exclude_none`; the builders never put an empty string, list or
object in them (the spec allows only `"cards": []`).
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class FhirAuthorization(_Lenient):
    access_token: NonEmpty
    token_type: NonEmpty = "Bearer"
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None


class HookRequest(_Lenient):
    hook: NonEmpty
    hookInstance: NonEmpty
    fhirServer: NonEmpty | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    # Absent key = not supplied; a null value = the client has no data (spec 2.0.1).
    prefetch: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _authorization_needs_server(self) -> HookRequest:
        if self.fhirAuthorization is not None and not self.fhirServer:
            raise ValueError("fhirServer: is required when fhirAuthorization is given (cds-r-1)")
        if self.fhirServer and not self.fhirServer.startswith(("https://", "http://")):
            raise ValueError("fhirServer: must be an absolute http(s) URL")
        return self


class OrderContext(_Lenient):
    """order-sign context; order-select adds `selections` (HL7 cds-hooks-library 1.0)."""

    userId: str | None = None
    patientId: str | None = None
    encounterId: str | None = None
    draftOrders: dict[str, Any]

    @model_validator(mode="after")
    def _bundle(self) -> OrderContext:
        bundle = self.draftOrders
        if bundle.get("resourceType") != "Bundle":
            raise ValueError("draftOrders: must be a FHIR Bundle (resourceType 'Bundle')")
        entries = bundle.get("entry", [])
        if not isinstance(entries, list):
            raise ValueError("draftOrders.entry: must be a list")
        for n, entry in enumerate(entries):
            if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
                raise ValueError(f"draftOrders.entry.{n}: has no resource object")
        return self

    def resources(self) -> list[dict[str, Any]]:
        return [e["resource"] for e in self.draftOrders.get("entry", [])]


class OrderSelectContext(OrderContext):
    selections: Annotated[list[NonEmpty], Field(min_length=1)]


# ---- discovery ------------------------------------------------------------------------------


class Service(BaseModel):
    hook: str
    id: str
    title: str
    description: str
    prefetch: dict[str, str]
    usageRequirements: str | None = None


class Discovery(BaseModel):
    services: list[Service]


# ---- response -------------------------------------------------------------------------------


class Coding(BaseModel):
    system: str
    code: str
    display: str | None = None


class Source(BaseModel):
    label: str
    url: str | None = None
    topic: Coding | None = None


class Action(BaseModel):
    type: Literal["create", "update", "delete"]
    description: str
    resource: dict[str, Any] | None = None
    resourceId: str | None = None


class Suggestion(BaseModel):
    label: str
    uuid: str
    isRecommended: bool | None = None
    actions: list[Action]


def visible(text: str, keep: str = "") -> str:
    """Text without the characters an EHR would not show as themselves: controls (NUL, ESC;
    `keep` lists the ones kept, such as the newlines of Markdown) and format characters
    (zero-width spaces, and the bidirectional overrides that would show the rest of a line,
    numbers included, reversed). EHR text reaches the cards through product names and
    problem-list entries."""
    return "".join(ch for ch in text if ch in keep or unicodedata.category(ch) not in ("Cc", "Cf"))


class Card(BaseModel):
    uuid: str
    summary: Annotated[str, Field(max_length=139), AfterValidator(visible)]
    detail: Annotated[str, AfterValidator(lambda text: visible(text, keep="\n"))]
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = None

    @model_validator(mode="after")
    def _invariants(self) -> Card:
        # cds-resp-6: suggestions require selectionBehavior; cds-resp-4: reasons have a display
        if self.suggestions is not None and self.selectionBehavior is None:
            raise ValueError("selectionBehavior is required with suggestions")
        if any(r.display is None for r in self.overrideReasons or ()):
            raise ValueError("every override reason needs a display")
        return self


class CdsResponse(BaseModel):
    cards: list[Card]


# ---- feedback -------------------------------------------------------------------------------


class FeedbackCoding(_Lenient):
    system: NonEmpty
    code: NonEmpty
    display: str | None = None


class OverrideReason(_Lenient):
    reason: FeedbackCoding | None = None
    userComment: str | None = None

    @model_validator(mode="after")
    def _something(self) -> OverrideReason:
        if self.reason is None and not (self.userComment or "").strip():
            raise ValueError("needs a reason or a userComment (cds-fb-3)")
        return self


class AcceptedSuggestion(_Lenient):
    id: NonEmpty


def _iso_text(value: object) -> object:
    # An instant is written as text (ISO 8601); pydantic would also read a number as seconds
    # since 1970, which no EHR means.
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time with a time zone, as text")
    return value


class Feedback(_Lenient):
    card: NonEmpty
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: Annotated[datetime, BeforeValidator(_iso_text)]

    @model_validator(mode="after")
    def _outcome_fields(self) -> Feedback:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions: is required for an accepted outcome (cds-fb-2)")
        if self.outcome == "accepted" and self.overrideReason is not None:
            raise ValueError("overrideReason: only an overridden outcome has one")
        if self.outcomeTimestamp.tzinfo is None:
            raise ValueError("outcomeTimestamp: needs a time zone (UTC, e.g. ...Z)")
        return self


class FeedbackRequest(_Lenient):
    feedback: Annotated[list[Feedback], Field(min_length=1, max_length=1000)]


class FeedbackStored(BaseModel):
    # Items acknowledged as stored (each once), and how many of them were already there
    # (a retry): the same request posted twice answers the same `stored`.
    stored: int
    duplicates: int = 0


# ---- errors ---------------------------------------------------------------------------------


class Issue(BaseModel):
    severity: Literal["fatal", "error", "warning", "information"] = "error"
    code: str
    diagnostics: str
    expression: list[str] | None = None


class OperationOutcome(BaseModel):
    resourceType: Literal["OperationOutcome"] = "OperationOutcome"
    issue: list[Issue]
