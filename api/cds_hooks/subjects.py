"""Which patient a FHIR resource is about, read from the resource alone.

Both the hook request's own check (a draft order for another patient than the call's) and
the prefetch filter (another patient's data set aside) need it, so it lives apart from both.
"""

from __future__ import annotations

import re
from typing import Any

# "Patient/p1", "https://ehr/fhir/Patient/p1", "Patient/p1/_history/3" (FHIR R4 References).
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/(?P<id>[A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?$")


def patient_named(resource: dict[str, Any]) -> str | None:
    """The id of the patient a resource is about (a Patient's own id; the Patient its
    `subject` or `patient` references, relative or absolute), or None when it names none."""
    if resource.get("resourceType") == "Patient":
        rid = resource.get("id")
        return rid if isinstance(rid, str) and rid else None
    for key in ("subject", "patient"):
        ref = resource.get(key)
        ref = ref.get("reference") if isinstance(ref, dict) else None
        named = _PATIENT_REFERENCE.search(ref) if isinstance(ref, str) else None
        if named:
            return named["id"]
    return None
