"""FHIR in: hook request + prefetch -> one Case per baclofen draft order (orders.py), read
from lenient models of the resources (resources.py, elements.py) by one module per thing
read: medication, route, dose, timing, regimen, labs, conditions, patient."""

from api.cds_hooks.fhir.orders import SelectionError, Translator, selections, translate

__all__ = ["SelectionError", "Translator", "selections", "translate"]
