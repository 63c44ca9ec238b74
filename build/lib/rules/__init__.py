"""Baclofen prescribing knowledge: facts from a case, derivations, and alert rules."""
