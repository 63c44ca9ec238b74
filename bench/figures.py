"""How a figure is printed beside its target's verdict.

A verdict compares the unrounded figure, and the figure beside it is rounded as the tables
round it: 1,999.6 feedback items/s printed "NOT MET: ... (2,000)" read as a contradiction
(`python -m bench.feedback`, 2026-12-02 03:58). The figure keeps as many more decimals as it
takes for what is printed to fall on the same side of the target as the verdict.
"""

from __future__ import annotations

# Beyond three more decimals a figure this close to its target is printed as it is: no
# benchmark here measures that finely.
_MORE_PLACES = 3


def beside(
    value: float,
    target: float,
    *,
    at_most: bool = False,
    places: int = 0,
    scale: float = 1.0,
    unit: str = "",
) -> str:
    """`value` as printed beside the verdict `value >= target` (`value <= target` when
    `at_most`): `places` decimals of `value * scale`, then `unit`, with more decimals while
    the rounded figure would meet a target the value misses, or miss one it meets."""

    def meets(x: float) -> bool:
        return x <= target if at_most else x >= target

    met = meets(value)
    for more in range(_MORE_PLACES + 1):
        shown = round(value * scale, places + more)
        if meets(shown / scale) == met:
            return f"{value * scale:,.{places + more}f}{unit}"
    return f"{value * scale:,.{places + _MORE_PLACES}f}{unit}"
