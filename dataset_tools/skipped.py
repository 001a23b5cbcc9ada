"""The skipped-files report the converters share: built once for summary.json, shown briefly as text.

Bad input never aborts a conversion; each skipped file is counted under a reason and named, so the
summary says what was left out and why. The text shows the first few names of each reason; the JSON
keeps them all.
"""
from __future__ import annotations

from typing import Mapping

SHOWN_ITEMS = 5
"""Names printed per reason (and de-duplication drops printed) in a summary's text."""


def skip_report(skipped: Mapping[str, list[str]], why: Mapping[str, str] | None = None) -> dict[str, dict]:
    """``{reason: {"count", "why" (when known), "items"}}`` for the summary JSON."""
    return {
        reason: {"count": len(items), **({"why": why[reason]} if why and reason in why else {}), "items": items}
        for reason, items in skipped.items()
    }


def format_skipped(report: Mapping[str, dict]) -> list[str]:
    """Text lines of a ``skip_report``: the total, then each non-empty reason with its first names."""
    lines = [f"skipped: {sum(entry['count'] for entry in report.values())}"]
    for reason, entry in report.items():
        if not entry["count"]:
            continue
        why = f" ({entry['why']})" if "why" in entry else ""
        lines.append(f"  {reason}{why}: {entry['count']}")
        lines.extend(f"    {item}" for item in entry["items"][:SHOWN_ITEMS])
        if entry["count"] > SHOWN_ITEMS:
            lines.append(f"    ... {entry['count'] - SHOWN_ITEMS} more")
    return lines
