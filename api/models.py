"""Response models of the native API (the request model is rules.case.SafetyCheckRequest)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine import Severity, TraceEntry
from rules.checker import CheckResult
from rules.release import RULESET_VERSION


class SourceOut(BaseModel):
    document: str = Field(description="Seed document file name")
    excerpt: str = Field(description="The passage the rule encodes, verbatim")
    note: str | None = Field(default=None, description="Reviewer's note, disagreements")


class AlertOut(BaseModel):
    code: str = Field(description="Stable alert code (public API, never renamed)")
    severity: Severity
    message: str
    suggestion: str
    evidence: dict[str, Any]
    source: SourceOut


class SafetyCheckResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "check_id": "019ad9f3c2d37b4c8e9f0a1b2c3d4e5f",
                    "ruleset_version": RULESET_VERSION,
                    "outcome": "no_alerts",
                    "alerts": [],
                }
            ]
        }
    )

    check_id: str = Field(
        description="This check's id (a UUIDv7, 32 hex digits), also on its log line and its "
        "check log entry: quote it to report the check"
    )
    ruleset_version: str
    outcome: Literal["critical", "warning", "info", "no_alerts"] = Field(
        description="Highest alert severity, or no_alerts when every check ran and passed"
    )
    alerts: list[AlertOut]
    trace: list[TraceEntry] | None = Field(default=None, description="With ?explain=true")

    @classmethod
    def from_result(cls, result: CheckResult, *, explain: bool) -> SafetyCheckResponse:
        return cls(
            check_id=result.check_id,
            ruleset_version=result.ruleset_version,
            outcome=result.outcome,
            alerts=[
                AlertOut.model_validate(a.model_dump(exclude={"rule_id"})) for a in result.alerts
            ],
            trace=list(result.trace) if explain else None,
        )


class ErrorItem(BaseModel):
    field: str
    problem: str


class ErrorResponse(BaseModel):
    error: str
    message: str
    check_id: str | None = None
    errors: list[ErrorItem] | None = None


class RuleOut(BaseModel):
    id: str
    severity: Severity
    description: str
    source: SourceOut


class CatalogueEntry(BaseModel):
    code: str
    severity: Severity = Field(description="Highest severity any of its rules raises")
    rules: list[RuleOut]


class Catalogue(BaseModel):
    """The rule catalogue of the running version (rules.catalog.document)."""

    ruleset_version: str = Field(
        description="Version and fingerprint, as every response and card carries them"
    )
    version: str = Field(description="Semantic version of the clinical content (CHANGELOG.md)")
    fingerprint: str = Field(description="SHA-256 of the knowledge modules (rules/release.py)")
    released: bool = Field(description="Whether the running content is the recorded release")
    codes: list[CatalogueEntry] = Field(description="Every alert code and the rules raising it")
    modules: list[dict[str, Any]] = Field(
        description="Each recommendation module: its "
        "passage and When/Then, its thresholds with units"
    )
    rules: list[dict[str, Any]] = Field(
        description="Every rule: conditions, texts, evidence, source"
    )
    readings: list[dict[str, Any]] = Field(
        description="Knowledge applied while the input becomes facts"
    )


class Health(BaseModel):
    status: Literal["ok"]
    ruleset_version: str
