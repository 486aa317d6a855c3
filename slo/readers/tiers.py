"""Alert tiers in the native format: the fast page's tiers and the per-tier ``tiers:`` overrides.

Windows say *when* an error ratio is a problem; ``alerting.tiers`` says how each tier is
delivered (``for``, labels, annotations, ``min_events``, or ``enabled: false``), by tier name,
so the workbook's default windows can be tuned without restating their maths.

The fast page (``alerting.fast_page``, on by default) adds two single-window tiers over 2m,
where holding the condition for a while, not a second window, tells a sustained error rate
from a blip. A blip of length ``S`` and error ratio ``A`` keeps a ``W``-long window at or
above a threshold ``T`` for ``S + W - 2·W·T/A`` (while ``T·W/A <= S``), and a sustained ratio
``r`` reaches ``T`` after ``W·T/r``; a tier pages when its condition held ``for`` long. With
``W = 2m`` (the shortest window a once-a-minute scrape can rate, :data:`MIN_WINDOW`):

- ``page-outage``: ``T = 40x`` the budget, ``for: 2m``. It ignores a 2-minute blip of any
  ratio below ``2T`` (``4 - 4T/A < 2``), and a full outage pages after ``2·T + 2`` minutes
  (2.4 min at 99.5%, where ``T`` is 20%).
- ``page-fast``: ``T = 6x``, ``for: 4m``. A 2-minute blip of 30% stays above it for
  ``4 - 4T/0.3`` minutes (3.6 at 99.5%, so ``for: 4m`` lets it pass), and 10% errors page
  after ``20T + 4`` (4.6 min at 99.5%).

A tier whose threshold is an error ratio of 1 or more (40x of a budget over 2.5%) can never
fire and is left out: the user did not ask for it by name.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from slo.model import burnrate
from slo.model.naming import RESERVED
from slo.model.spec import BurnWindow
from slo.readers.common import for_duration
from slo.readers.fields import Fields, join

FAST_WINDOW = burnrate.MIN_WINDOW
#: (tier, factor, for) of the fast page, fastest first.
FAST_PAGE: tuple[tuple[str, Decimal, int], ...] = (
    ("page-outage", Decimal(40), 120),
    ("page-fast", Decimal(6), 240),
)
OVERRIDES = ("for", "labels", "annotations", "min_events", "enabled")


def fast_page_tiers(budget: Decimal, period: int) -> list[BurnWindow]:
    """The fast page's tiers that can fire for this budget."""
    if period < FAST_WINDOW:
        return []
    return [BurnWindow("page", FAST_WINDOW, FAST_WINDOW, factor, name=name, for_=for_)
            for name, factor, for_ in FAST_PAGE if burnrate.can_fire(factor, budget)]


def fast_page_enabled(fields: Fields, value: Any, path: str) -> bool:
    if value is None:
        return True
    if not isinstance(value, bool):
        fields.fail(path, "must be true or false")
        return False
    return value


def apply_overrides(fields: Fields, value: Any, path: str,
                    windows: tuple[BurnWindow, ...]) -> tuple[BurnWindow, ...] | None:
    """``alerting.tiers``: per-tier settings by tier name; a name no tier has is a problem."""
    by_name: dict[str, BurnWindow] = {}
    for i, w in enumerate(windows):
        if w.tier in by_name:
            fields.fail(join(join(path.rsplit(".", 1)[0], "windows"), i),
                        f"tier {w.tier!r} is named twice; give one of them a 'name'")
            return None
        by_name[w.tier] = w
    if value is None:
        return windows
    m = fields.mapping(value, path, optional=tuple(by_name))
    if m is None:
        return None
    out = dict(by_name)
    for name, settings in m.items():
        if name not in by_name:
            continue  # reported by mapping() with the tiers that exist
        tier = _override(fields, settings, join(path, name), by_name[name])
        if tier is None:
            out.pop(name)
        else:
            out[name] = tier
    return tuple(out.values())


def _override(fields: Fields, value: Any, path: str, tier: BurnWindow) -> BurnWindow | None:
    """The tier with its settings applied; ``None`` when ``enabled: false`` (or on a problem)."""
    m = fields.mapping(value, path, optional=OVERRIDES)
    if m is None:
        return tier
    enabled = m.get("enabled", True)
    if not isinstance(enabled, bool):
        fields.fail(join(path, "enabled"), "must be true or false")
    changes: dict[str, Any] = {}
    if "for" in m:
        changes["for_"] = for_duration(fields, m["for"], join(path, "for"))
    if "labels" in m:
        changes["labels"] = tuple(sorted(
            fields.labels(m["labels"], join(path, "labels"), RESERVED).items()))
    if "annotations" in m:
        changes["annotations"] = tuple(sorted(
            fields.labels(m["annotations"], join(path, "annotations")).items()))
    if "min_events" in m:
        n = fields.number(m["min_events"], join(path, "min_events"))
        if n is not None and (n < 0 or n != n.to_integral_value()):
            fields.fail(join(path, "min_events"), "must be a whole number of events, 0 or more")
        elif n is not None:
            changes["min_events"] = int(n)
    if enabled is False:
        return None
    return replace(tier, **{k: v for k, v in changes.items() if v is not None})
