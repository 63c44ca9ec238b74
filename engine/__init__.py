"""Generic forward-chaining runtime on durable-rules. Knows nothing about any drug."""

from engine.errors import EngineError, RulesetError
from engine.facts import Fact, Vocabulary, given
from engine.model import (
    Alert,
    AlertRule,
    Derivation,
    Merge,
    Outcome,
    Rule,
    Severity,
    Source,
    TraceEntry,
)
from engine.runtime import Engine, c, m

__all__ = [
    "Alert",
    "AlertRule",
    "Derivation",
    "Engine",
    "EngineError",
    "Fact",
    "Merge",
    "Outcome",
    "Rule",
    "RulesetError",
    "Severity",
    "Source",
    "TraceEntry",
    "Vocabulary",
    "c",
    "given",
    "m",
]
