"""In-process SLO series computed from the same spec as the recording rules.

Each SLO the exporter can feed gets a :class:`SLOTracker`: the request (or dependency call) is
turned into the counter increments it causes (``{metric: labels}``), and the SLO's selectors are
applied to those increments. So the tracker counts exactly what ``sum(rate(errors))`` and
``sum(rate(total))`` would count from this process's series, and the ratios agree with the
generator's recordings for a single instance.

These series are a per-instance view: behind a load balancer each process sees its share of the
traffic. The fleet truth is the recording rules, which sum across instances before dividing.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from exporter.metrics import (
    DEPENDENCIES,
    DURATION,
    ERRORS,
    HTTP_REQUESTS,
    REQUESTS,
)
from exporter.windows import RatioWindows
from slo.model.durations import format_duration
from slo.model.selectors import Matcher, Selector
from slo.model.spec import SLO, EventsSLI, LatencySLI, ServiceSpec
from slo.model.windows import slo_windows

log = logging.getLogger("exporter")

Increments = Mapping[str, Mapping[str, str]]

REQUEST_SOURCE = "request"

#: Labels each produced counter carries; matchers on other labels (``job``, ``instance``) are
#: target labels Prometheus adds at scrape time, so they cannot exclude anything in-process.
_REQUEST_LABELS: dict[str, frozenset[str]] = {
    REQUESTS: frozenset({"endpoint", "method"}),
    ERRORS: frozenset({"endpoint", "error_type"}),
    HTTP_REQUESTS: frozenset({"endpoint", "method", "status"}),
    f"{DURATION}_count": frozenset({"endpoint", "method"}),
}


def _metric_sources() -> dict[str, tuple[str, frozenset[str]]]:
    out = {name: (REQUEST_SOURCE, labels) for name, labels in _REQUEST_LABELS.items()}
    for p in DEPENDENCIES:
        out[f"{p}_requests_total"] = (p, frozenset({"operation"}))
        out[f"{p}_errors_total"] = (p, frozenset({"operation", "error_type"}))
    return out


METRIC_SOURCES = _metric_sources()


class _Match:
    """A selector compiled for in-process label sets."""

    def __init__(self, selector: Selector, known: frozenset[str]) -> None:
        self.metric = selector.metric
        self._tests: list[tuple[str, Callable[[str], bool]]] = [
            (m.label, _test(m)) for m in selector.matchers if m.label in known
        ]

    def __call__(self, labels: Mapping[str, str]) -> bool:
        return all(test(labels.get(label, "")) for label, test in self._tests)


def _test(m: Matcher) -> Callable[[str], bool]:
    if m.op == "=":
        return lambda v: v == m.value
    if m.op == "!=":
        return lambda v: v != m.value
    pattern = re.compile(m.value)  # PromQL regexes are anchored at both ends
    if m.op == "=~":
        return lambda v: pattern.fullmatch(v) is not None
    return lambda v: pattern.fullmatch(v) is None


class SLOTracker:
    """Windows of one SLO plus the rule that turns a request's increments into an event."""

    def __init__(
        self,
        slo: SLO,
        source: str,
        clock: Callable[[], float],
        lock: threading.Lock | None = None,
    ) -> None:
        self.slo = slo
        self.source = source
        self.windows = RatioWindows(slo_windows(slo), clock=clock, lock=lock)
        self.budget = float(slo.error_budget)
        self.objective = float(slo.objective_ratio)
        self.le: float | None = None
        if isinstance(slo.sli, LatencySLI):
            self.le = float(slo.sli.le)
            self._latency = _Match(slo.sli.histogram, _REQUEST_LABELS[REQUESTS])
        elif isinstance(slo.sli, EventsSLI):
            self._total = _Match(slo.sli.total, METRIC_SOURCES[slo.sli.total.metric][1])
            self._errors = _Match(slo.sli.errors, METRIC_SOURCES[slo.sli.errors.metric][1])
        else:  # _source_of lets only events and latency SLIs through
            raise TypeError(f"SLO {slo.name!r}: {type(slo.sli).__name__} cannot be tracked "
                            "in-process")

    def event(self, increments: Increments) -> tuple[int, int] | None:
        """(total, errors) this set of counter increments adds, or None when it adds nothing."""
        total_labels = increments.get(self._total.metric)
        error_labels = increments.get(self._errors.metric)
        total = int(total_labels is not None and self._total(total_labels))
        errors = int(error_labels is not None and self._errors(error_labels))
        return (total, errors) if total or errors else None

    def latency_applies(self, labels: Mapping[str, str]) -> bool:
        """Whether a request with these ``endpoint``/``method`` labels is in the latency SLI."""
        return self._latency(labels)


def _source_of(slo: SLO) -> str | None:
    """Which part of the exporter produces the SLI's series, or None if nothing does."""
    sli = slo.sli
    if isinstance(sli, LatencySLI):
        return REQUEST_SOURCE if sli.histogram.metric == DURATION else None
    if not isinstance(sli, EventsSLI):  # PromQL or good/total SLIs: the rules' job only
        return None
    total = METRIC_SOURCES.get(sli.total.metric)
    errors = METRIC_SOURCES.get(sli.errors.metric)
    if total is None or errors is None or total[0] != errors[0]:
        return None
    return total[0]


class SLOSet(Collector):
    """All trackers built from the specs, and the collector exposing their series.

    ``lock``, when given, guards every tracker's windows (see :attr:`RatioWindows.lock`).
    """

    def __init__(
        self,
        specs: Iterable[ServiceSpec],
        clock: Callable[[], float] = time.monotonic,
        lock: threading.Lock | None = None,
    ) -> None:
        self.clock = clock
        self.trackers: list[SLOTracker] = []
        seen: set[str] = set()
        for spec in specs:
            for slo in spec.slos:
                source = _source_of(slo)
                if source is None:
                    log.warning("in-process SLO series: skipping SLO %r of %s: its SLI uses "
                                "series this exporter does not produce", slo.name, spec.source)
                    continue
                if slo.name in seen:
                    log.warning("in-process SLO series: skipping SLO %r of %s: an SLO of that "
                                "name is already tracked", slo.name, spec.source)
                    continue
                seen.add(slo.name)
                self.trackers.append(SLOTracker(slo, source, clock, lock))

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def _families(self) -> tuple[GaugeMetricFamily, ...]:
        return (
            GaugeMetricFamily("orchestrator_slo_success_ratio",
                              "Share of good events over the window, this process only.",
                              labels=["slo", "window"]),
            GaugeMetricFamily("orchestrator_slo_burn_rate",
                              "Error ratio over the window divided by the error budget, "
                              "this process only.", labels=["slo", "window"]),
            GaugeMetricFamily("orchestrator_slo_error_budget_remaining_ratio",
                              "1 - error ratio over the period / error budget, this process "
                              "only (1 without events; negative once overspent).",
                              labels=["slo"]),
            GaugeMetricFamily("orchestrator_slo_objective_ratio",
                              "The SLO's objective as a ratio.", labels=["slo"]),
        )

    def collect(self) -> Iterator[Metric]:
        success, burn, remaining, objective = self._families()
        now = self.clock()
        for t in self.trackers:
            name = t.slo.name
            sums = t.windows.sums(now)
            for w, (total, errors) in sums.items():
                if total == 0:
                    continue  # no events: no sample, never NaN
                ratio = errors / total
                success.add_metric([name, format_duration(w)], 1.0 - ratio)
                burn.add_metric([name, format_duration(w)], ratio / t.budget)
            total, errors = sums[t.slo.period]
            remaining.add_metric([name], 1.0 - (errors / total) / t.budget if total else 1.0)
            objective.add_metric([name], t.objective)
        yield from (success, burn, remaining, objective)
