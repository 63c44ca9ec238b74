"""Generic forward-chaining runtime on durable-rules. Knows nothing about any drug."""

from engine.errors import EngineError, RulesetError
from engine.model import (
    Alert,
    AlertRule,
    Bindings,
    Derivation,
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
    "Bindings",
    "Derivation",
    "Engine",
    "EngineError",
    "Outcome",
    "Rule",
    "RulesetError",
    "Severity",
    "Source",
    "TraceEntry",
    "c",
    "m",
]
