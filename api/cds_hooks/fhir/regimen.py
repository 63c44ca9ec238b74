"""What an order gives: the dose of one administration and how many a day, from all its
dosage instructions (sequential steps, concurrent instructions such as a morning and a night
dose, dose ranges, infusion rates).
"""

from __future__ import annotations

from dataclasses import dataclass

from api.cds_hooks.fhir.dose import Dose, dose_and_rates, quantity_dose, rate_dose, zero_amount
from api.cds_hooks.fhir.medication import Product
from api.cds_hooks.fhir.reading import Read, gap
from api.cds_hooks.fhir.resources import MedicationRequest
from api.cds_hooks.fhir.timing import per_day
from api.cds_hooks.order_check import MG_PER, Gap


@dataclass
class Regimen:
    dose: Dose | None
    per_day: int | None

    def daily_mg(self) -> float | None:
        if self.dose is None or self.per_day is None:
            return None
        return round(self.dose.value * MG_PER[self.dose.unit] * self.per_day, 6)


def regimen_of(request: MedicationRequest, product: Product, route: str | None, label: str
               ) -> Read[Regimen]:
    gaps: list[Gap] = []
    # A stopped (discontinued: v2 order status DC) order written with a dose or rate of 0
    # says "no more", not "0 mg": no dose to read, and no gap for not reading it.
    stopping = request.status == "stopped"
    strength = product.strengths()
    dosages = list(enumerate(request.dosages))
    sequences = sorted({d.sequence for _, d in dosages if d.sequence is not None})
    if len(sequences) > 1:
        first = sequences[0]
        gaps.append(gap(f"The order has {len(sequences)} sequential dosage steps; only the "
                        "first was checked. Check the later steps against the maxima."))
        dosages = [(n, d) for n, d in dosages if d.sequence == first]
    parts: list[tuple[Dose, int | None]] = []
    for n, dosage in dosages:
        for dar_index, dar in dose_and_rates(dosage):
            if stopping and zero_amount(dar):
                break
            if dar.doseQuantity is not None:
                dose = quantity_dose(dar.doseQuantity, strength, route, n, dar_index, label)
            elif dar.doseRange is not None and dar.doseRange.high is not None and (
                    dar.doseRange.high.given()):
                dose = quantity_dose(dar.doseRange.high, strength, route, n, None, label)
                if dose.value is not None:
                    dose.value.site = None  # a corrected order would have to rewrite the range
                    dose = Read(dose.value, (*dose.gaps, gap(
                        "The dose is a range; its upper value was checked.")))
            else:
                rated = rate_dose(dar)
                gaps += rated.gaps
                if rated.value is None:
                    continue
                parts.append(rated.value)
                break
            gaps += dose.gaps
            if dose.value is not None:
                frequency = per_day(dosage)
                gaps += frequency.gaps
                parts.append((dose.value, frequency.value))
            break
    if not parts:
        # The schedule is still worth knowing (division checks) when the amount is not.
        freq = per_day(dosages[0][1]).value if len(dosages) == 1 else None
        return Read(Regimen(None, freq), tuple(gaps))
    if len(parts) == 1:
        dose_read, freq = parts[0]
        return Read(Regimen(dose_read, freq), tuple(gaps))
    # Concurrent instructions (e.g. 10 mg morning, 20 mg night): one regimen of their sum.
    if any(f is None for _, f in parts):
        return Read(Regimen(None, None), tuple(gaps))
    total_mg = sum(d.value * MG_PER[d.unit] * (f or 1) for d, f in parts)
    count = sum(f or 1 for _, f in parts)
    if count > 24:
        gaps.append(gap("The dosage instructions add up to more than 24 doses a day: the "
                        "daily-dose checks could not run.", "order.dose"))
        return Read(Regimen(None, None), tuple(gaps))
    return Read(Regimen(Dose(round(total_mg / count, 6), "mg", None), count), tuple(gaps))
