"""The patient's devices, as the Case's `order.intrathecal.devices`: each Device's type codes
and every word it carries (type text and displays, names, manufacturer, model). Which device
is an implanted pump and of which type is the rules' reading (rules/intrathecal/pump.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.cds_hooks import intrathecal_terminology as it
from api.cds_hooks.fhir.elements import CodeableConcept, Element, Many, Opt, Text
from api.cds_hooks.fhir.medication import clip
from api.cds_hooks.fhir.reading import Read, gap
from api.cds_hooks.fhir.resources import Resource, entries, read_all
from rules.case import MAX_DEVICES


class DeviceName(Element):
    name: Text = None


class Device(Resource):
    status: Text = None
    type: Opt[CodeableConcept] = None
    deviceName: Many[DeviceName] = Field(default_factory=list)
    manufacturer: Text = None
    modelNumber: Text = None

    def words(self) -> list[str]:
        out = self.type.texts() if self.type else []
        out += [n.name for n in self.deviceName if n.name]
        return out + [x for x in (self.manufacturer, self.modelNumber) if x]


def devices(value: Any) -> Read[list[dict[str, Any]]]:
    """Every device in use (not inactive or entered in error), each once."""
    out: list[dict[str, Any]] = []
    for device in read_all(Device, entries(value)):
        if device.status in it.DEVICE_EXCLUDED:
            continue
        display = clip("; ".join(dict.fromkeys(device.words())))
        codings = [c for c in device.type.coding if c.code] if device.type else []
        first = codings[0] if codings else None
        entry = {
            k: v
            for k, v in (
                ("system", clip(first.system) if first else None),
                ("code", clip(first.code) if first else None),
                ("display", display),
            )
            if v
        }
        if entry and entry not in out:
            out.append(entry)
    if len(out) > MAX_DEVICES:
        return Read(
            out[:MAX_DEVICES],
            (
                gap(
                    f"The record lists {len(out)} devices; the first {MAX_DEVICES} were read "
                    "for the implanted pump."
                ),
            ),
        )
    return Read(out)
