"""The pump type, read from the implanted device when the order does not state it (001,
Dose-Titration Phase).

001: "If a programmable pump is used the dose should be increased only once every 24 hours; for
non-programmable multi-dose reservoir pumps intervals of 48 hours between dose adjustments are
recommended."

When the order gives no pump type and the record lists the patient's devices, Then a device
that names itself non-programmable, constant-flow or fixed-rate (or is a model that is) is a
non-programmable pump, and one that names itself programmable (or is a model that is) a
programmable pump. Two devices that disagree, or none that says, leave the type unknown, and
the interval check that depends on it says so (MISSING_DATA, rules/intrathecal/maintenance.py).

No SNOMED CT concept for a programmable or a fixed-rate implantable infusion pump could be
verified against a published source, so the type is read from the words a device record
carries (its type's text and displays, its name, manufacturer and model), never from a
code alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

from rules.case import Coding
from rules.readings import Reading
from rules.sources import ADULT_SMPC, Passage

PumpType = Literal["programmable", "non_programmable"]

# Checked in this order: "non-programmable" contains "programmable".
NON_PROGRAMMABLE = re.compile(
    r"\bnon[- ]?programmable\b|\bconstant[- ]?(flow|rate)\b|\bfixed[- ]?rate\b"
    # CODMAN 3000 Constant Flow Pump (J&J MedTech patient information: "flow at a constant
    # rate without the use of a battery").
    r"|\bcodman\s*3000\b",
    re.IGNORECASE,
)
PROGRAMMABLE = re.compile(
    r"\bprogrammable\b"
    # Medtronic SynchroMed II ("SynchroMed II programmable infusion system", Medtronic product
    # page); Prometra ("Prometra Programmable Pump", its FDA-approved patient guide).
    r"|\bsynchromed\b|\bprometra\b",
    re.IGNORECASE,
)

PUMP_SOURCE = Passage(
    ADULT_SMPC,
    "If a programmable pump is used the dose should be increased only once every 24 hours; for "
    "non-programmable multi-dose reservoir pumps intervals of 48 hours between dose adjustments "
    "are recommended.",
    note="The pump type decides the interval. A device record is read by its words (type, "
    "name, model): non-programmable, constant flow or fixed rate (the CODMAN 3000 constant "
    "flow pump), or programmable (SynchroMed, Prometra). No SNOMED CT code for either type "
    "could be verified, so a code alone says nothing here. An order's own pump type wins.",
)

PUMP = Reading(
    id="intrathecal.pump",
    when="order.intrathecal.pump is not given and order.intrathecal.devices lists devices",
    then="The pump type the devices name: non-programmable (non-programmable, constant flow, "
    "fixed rate, CODMAN 3000) or programmable (programmable, SynchroMed, Prometra); unknown "
    "when none says or two disagree.",
    source=PUMP_SOURCE,
    where="rules.intrathecal.pump.pump_of",
)


def _type(device: Coding) -> PumpType | None:
    text = " ".join(x for x in (device.display, device.code) if x)
    if NON_PROGRAMMABLE.search(text):
        return "non_programmable"
    if PROGRAMMABLE.search(text):
        return "programmable"
    return None


def pump_of(devices: Iterable[Coding]) -> tuple[PumpType, str] | None:
    """(the pump type, the device that says so) by the reading PUMP, or None."""
    found = {kind: d for d in devices for kind in [_type(d)] if kind is not None}
    if len(found) != 1:
        return None
    ((kind, device),) = found.items()
    return kind, (device.display or device.code or "device")[:120]
