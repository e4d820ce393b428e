"""Which destinations an escalation goes to."""
from __future__ import annotations

from collections.abc import Mapping, Sequence


def escalation_destinations(
    brand_id: str,
    level: int,
    explicit: Sequence[str],
    routing: Mapping[str, Mapping[int, Sequence[str]]],
) -> list[str]:
    """Explicit destinations win; else the brand's routing for the level; else the default's.

    A level above the highest configured one uses the highest configured level, so a deeper
    escalation is never silently dropped.
    """
    if explicit:
        return list(dict.fromkeys(explicit))
    for scope in (brand_id, "default"):
        levels = routing.get(scope)
        if not levels:
            continue
        if level in levels:
            return list(dict.fromkeys(levels[level]))
        lower = [lvl for lvl in levels if lvl <= level]
        if lower:
            return list(dict.fromkeys(levels[max(lower)]))
    return []
