"""Oral baclofen, one module per recommendation of 000 (children) and 001 (adults): the tablet
weight limit, the daily maxima, the mg/kg/day range, the starting dose, the advice from 65
years, titration, dividing a child's dose, discontinuation, and the one regimen a check
suggests under every limit that fired."""
