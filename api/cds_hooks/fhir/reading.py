"""What every reader returns: the value it read and the gaps in reading it.

A reader never appends to a list it was handed and never fills a gap with a default: it
returns `Read(value, gaps)`, and whoever combines readings decides the order in which the
gaps reach the card."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from api.cds_hooks.order_check import Gap, ReadAs

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Read(Generic[T]):
    value: T | None = None
    gaps: tuple[Gap, ...] = ()


def gap(text: str, field: str | None = None) -> Gap:
    return Gap(text, field)


def read_as(text: str, field: str | None = None) -> ReadAs:
    """How a value was read where it took a judgement: said on the alert cards (with a
    field, on those that show that field's value)."""
    return ReadAs(text, field)
