"""The route and the dose form of an order: from its dosage instructions' routes (SNOMED CT
codes, or text such as "PO" or "Intrathecal"), else from the product's name and form.
"""

from __future__ import annotations

from collections.abc import Iterable

from api.cds_hooks import terminology as t
from api.cds_hooks.fhir.elements import CodeableConcept
from api.cds_hooks.fhir.medication import Product
from api.cds_hooks.fhir.reading import Read, gap
from api.cds_hooks.fhir.resources import MedicationRequest
from api.cds_hooks.order_check import DoseSite


def _route_of_text(text: str) -> str | None:
    whole = text.strip().lower()
    if whole in t.ROUTE_ABBREVIATIONS:
        return t.ROUTE_ABBREVIATIONS[whole]
    hits = {route for pattern, route in t.ROUTE_WORDS if pattern.search(text)}
    return hits.pop() if len(hits) == 1 else None


def route_of_concept(concept: CodeableConcept) -> tuple[str | None, str | None]:
    """(route, the text we could not interpret)."""
    for coding in concept.coding:
        code = (coding.code or "").strip()
        if code in t.ROUTE_CODES and coding.system in (t.SNOMED, None):
            return t.ROUTE_CODES[code], None
    texts = concept.texts()
    for text in texts:
        route = _route_of_text(text)
        if route:
            return route, None
    return None, (texts[0] if texts else None)


def form_of_texts(texts: Iterable[str]) -> str | None:
    for text in texts:
        for pattern, form in t.FORM_WORDS:
            if pattern.search(text):
                return form
    return None


def route_of(request: MedicationRequest, product: Product) -> Read[str]:
    routes, unread = set(), []
    for dosage in request.dosages:
        if dosage.route is not None:
            route, text = route_of_concept(dosage.route)
            if route:
                routes.add(route)
            elif text:
                unread.append(text)
    if len(routes) > 1:
        return Read(
            None,
            (
                gap(
                    "The dosage instructions give different routes ("
                    + ", ".join(sorted(routes))
                    + "): the route-specific checks "
                    "could not run.",
                    "order.route",
                ),
            ),
        )
    if routes:
        return Read(routes.pop())
    if unread:
        return Read(
            None,
            (
                gap(
                    f"The route {unread[0]!r} is not one we recognise (oral, "
                    "intrathecal, intravenous, intramuscular, subcutaneous, "
                    "epidural).",
                    "order.route",
                ),
            ),
        )
    texts = product.texts()
    product_route = {r for x in texts for r in [_route_of_text(x)] if r in ("oral", "intrathecal")}
    if len(product_route) == 1:
        return Read(product_route.pop())
    if form_of_texts(texts) in ("tablet", "oral_solution", "granules"):
        return Read("oral")  # a tablet, oral solution or granules product is taken by mouth
    return Read()


def form_of(route: str | None, product: Product, site: DoseSite | None, label: str) -> Read[str]:
    if route == "intrathecal":
        return Read("intrathecal")
    form = form_of_texts(product.texts())
    if form is None and site is not None:
        form = {"count": "tablet", "volume": "oral_solution" if route == "oral" else None}.get(
            site.kind
        )
    if route == "oral" and form == "intrathecal":
        return Read(
            None,
            (
                gap(
                    f"'{label}' is an intrathecal product but the route is oral: "
                    "check the product and the route."
                ),
            ),
        )
    if route == "oral" and form is None and t.PARENTERAL_PRODUCT.search(" ".join(product.texts())):
        return Read()
    return Read(form)
