"""Intrathecal baclofen (001, Adult Screening Phase, Dose-Titration Phase, Adult Maintenance
Therapy, Paediatric population, Delivery regimen), one module per recommendation: screening,
titration, maintenance, pump red flags, discontinuation, and the age and renal cautions. The
steps every module reads (percentage change, hours since the last change, the infusion's age)
are derived in rules/intrathecal/steps.py.

Reading of the input (rules/case.py): `order.dose` is the new daily infusion dose (titration,
maintenance) or the test bolus (screening); `order.intrathecal.history` holds the regimens
before this order, oldest first, each with the clinical effect observed on it.
"""
