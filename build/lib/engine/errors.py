"""The engine's exceptions.

`EngineError` means a check could not be completed; callers must never turn it into "no alerts".
`RulesetError` means a ruleset is unfit to serve: it is raised at start-up, before any patient.
"""


class EngineError(RuntimeError):
    """A check could not be completed (action raised, engine state broken, budget exceeded)."""


class RulesetError(ValueError):
    """The ruleset breaks one of durable-rules' limits or our own conventions."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("ruleset rejected:\n  - " + "\n  - ".join(problems))
