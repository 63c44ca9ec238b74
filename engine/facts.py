"""The fact vocabulary: every kind of fact a ruleset reads or writes, declared with typed fields.

A kind is a pydantic model subclassing `Fact` with its `kind` name in the class statement:

    class DailyDose(Fact, kind="daily_dose"):
        mg: float
        route: str | None = None   # may be absent: rules test it with -m.route / +m.route

The start-up lint resolves every field a rule condition, template or declared evidence reads
against these declarations, so a misspelt field (`m.daily_mgg`) refuses to start instead of
never matching. Rule functions receive each matched fact as a read-only record shaped like its
kind (typed as the kind, so mypy checks what they read), and return new facts as instances of
their kinds. A kind declared `result=True` is an answer of the check rather than an input to
further rules: it leaves the engine in `Outcome.results` and no condition may match it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar, cast

from pydantic import BaseModel, ConfigDict

_T = TypeVar("_T")
_F = TypeVar("_F", bound="Fact")

# Keys the engine itself puts on every fact; no kind may declare them.
ENGINE_KEYS = frozenset({"id", "kind", "sid", "$check"})


class Fact(BaseModel):
    """Base of every declared fact kind. Values that are absent are `None` here and missing
    from the fact the engine matches (durable-rules tests absence with `-m.field`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    KIND: ClassVar[str] = ""
    RESULT: ClassVar[bool] = False

    def __init_subclass__(cls, kind: str = "", result: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if kind:
            cls.KIND = kind
            cls.RESULT = result

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        clash = set(cls.model_fields) & ENGINE_KEYS
        if clash:
            raise TypeError(f"fact kind {cls.KIND!r} declares engine keys {sorted(clash)}")

    def as_fact(self) -> dict[str, Any]:
        """The fact as the engine asserts it: its kind, and only the fields that have a value."""
        # Copied whole, then the absent fields dropped: a fact has few, and a copy is one C
        # call where a filtering comprehension is a Python step per field (1.1 against 1.7 µs
        # for a fact of eleven fields; a heavy check derives a dozen).
        out: dict[str, Any] = {"kind": self.KIND, **self.__dict__}
        for name, value in self.__dict__.items():
            if value is None:
                del out[name]
        return out


class Record:
    """A matched fact, read by attribute (`dose.mg`). Built per firing from the engine's JSON
    without validation (it was validated when it was made); an optional field the fact lacks
    reads as None through the class attribute of the same name."""

    KIND: ClassVar[str] = ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Record):
            return self.__dict__ == other.__dict__
        return isinstance(other, Mapping) and self.__dict__ == dict(other)

    __hash__ = None  # type: ignore[assignment]


def _record_type(model: type[Fact] | None, kind: str) -> type[Record]:
    defaults = {} if model is None else dict.fromkeys(model.model_fields)
    name = f"{model.__name__ if model else kind}Record"
    return type(name, (Record,), {**defaults, "KIND": kind})


def record(kind_type: type[Record], fact: Mapping[str, Any]) -> Record:
    """The fact's dict becomes the record's __dict__, shared, not copied: rules never write
    through a binding, and a read is then a plain attribute lookup."""
    rec = object.__new__(kind_type)
    rec.__dict__ = fact if type(fact) is dict else dict(fact)
    return rec


@dataclass(frozen=True)
class Vocabulary:
    """The declared kinds of one ruleset, by name. An empty vocabulary declares nothing and
    checks nothing (the engine's own tests use untyped facts)."""

    kinds: Mapping[str, type[Fact]]

    @classmethod
    def of(cls, kinds: Iterable[type[Fact]]) -> Vocabulary:
        out: dict[str, type[Fact]] = {}
        for model in kinds:
            if not model.KIND:
                raise TypeError(f"{model.__name__} declares no kind")
            if model.KIND in out:
                raise TypeError(f"kind {model.KIND!r} is declared twice")
            out[model.KIND] = model
        return cls(out)

    @property
    def typed(self) -> bool:
        return bool(self.kinds)

    def fields(self, kind: str) -> frozenset[str] | None:
        model = self.kinds.get(kind)
        return None if model is None else frozenset(model.model_fields)

    def is_result(self, kind: str) -> bool:
        model = self.kinds.get(kind)
        return model is not None and model.RESULT

    def record_types(self) -> dict[str, type[Record]]:
        return {kind: _record_type(model, kind) for kind, model in self.kinds.items()}


UNTYPED = Vocabulary({})


def untyped_record_type(kind: str) -> type[Record]:
    return _record_type(None, kind)


def given(value: _T | None) -> _T:
    """A field the rule's condition requires (`+m.field`): typed as present. Raises if it is
    not, which fails the check loudly (the condition and the function disagree)."""
    if value is None:
        raise ValueError("a field the rule's condition requires is absent")
    return value


def read_as(model: type[_F], fact: Mapping[str, Any]) -> _F:
    """A fact (a mapping with its fields) read like a matched one: a record typed as its kind,
    for calling a rule function outside the engine."""
    kind_type = _READ_AS.get(model)
    if kind_type is None:
        kind_type = _READ_AS[model] = _record_type(model, model.KIND)
    return cast(_F, record(kind_type, dict(fact)))


_READ_AS: dict[type[Fact], type[Record]] = {}
