"""promtool unit tests for every alert of every SLO, generated from the same plan as the rules.

For each alert: a scenario that must fire it (with its exact labels) and checks where it must
stay silent; for each SLO: traffic inside the objective, an hour of zero traffic, a counter
reset and uneven traffic whose period ratio must equal the request-weighted truth. Every group
sets ``interval:`` (left out, promtool puts every sample at t=0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

from slo.errors import Problem, UserError
from slo.model.durations import format_duration
from slo.model.naming import NATIVE, Naming
from slo.model.numbers import format_number
from slo.model.spec import AlertRoute, EventsSLI, GoodEventsSLI, LatencySLI, TestInput
from slo.model.synthesis import CALM_ERRORS, MAX_RATE, MIN_TESTABLE
from slo.model.windows import BASE_WINDOW
from slo.rules import promql
from slo.rules.model import ServiceRules, SLORules
from slo.rules.plan import Pair, Plan
from slo.testgen.inputs import Segment, can_synthesize, feeds, gauge_values, recorded_feeds, values

INTERVAL = "1m"
RATE = Decimal(100_000)  # events per minute: error ratios to 1e-5, counters stay exact floats
# CALM_ERRORS, MAX_RATE, MIN_TESTABLE, MAX_OBJECTIVE: slo.model.synthesis (the readers refuse
# an objective the tests could not feed at validate time)
MAX_OBJECTIVE = format_number(100 - 100 * MIN_TESTABLE)  # with no factor below 1: 99.9999999
HEALTHY = 60  # minutes of clean traffic before trouble starts
MAX_HISTORY = 720  # longest healthy history a generated test replays (minutes at 1m steps)
FULL_BUSY = 240  # minutes of each busy phase of the period-ratio scenario when the period allows
SMOOTHING = 4  # minutes: long windows average 5m rates, so they lag the math by ~2.5m
# Minutes a burn-rate "fires by" check allows for chained rules: vmalert (and vmalert-tool)
# evaluates a group's rules in order but a rule reads the previous evaluation of the
# recordings before it, so an alert two recordings down its group fires up to two evaluations
# later than on Prometheus, which sees them within the same evaluation (docs/engines.md).
# The spec's extra alerts keep the time their spec declares (``test.firing_after``).
CHAIN_LAG = 2
AGGREGATIONS = re.compile(r"\b(sum|avg|min|max|count|topk|bottomk|quantile|group|stddev|"
                          r"stdvar|count_values|absent|absent_over_time|label_replace|"
                          r"label_join|vector|scalar)\b\s*(\(|by|without)")

Test = dict[str, Any]


def test_file_document(svc: ServiceRules, rule_file: str, naming: Naming = NATIVE
                  ) -> dict[str, Any]:
    """The test file for the rules of one service, from the rules as built (plans included)."""
    tests: list[Test] = []
    for rules in svc.slos:
        tests += SLOTests(rules, naming).all()
    return {"rule_files": [rule_file], "evaluation_interval": INTERVAL, "tests": tests}


@dataclass(frozen=True)
class PromQLSLINote:
    """An SLO whose SLI is user PromQL: the test file's header says what its tests leave out."""

    service: str
    slo: str
    short_pairs_left_out: bool
    errors_rate: str = promql.ERRORS_RATE
    total_rate: str = promql.TOTAL_RATE


def promql_sli_notes(svc: ServiceRules) -> list[PromQLSLINote]:
    return [PromQLSLINote(svc.service, r.slo.name,
                          not all(_fed(p) for p in r.plan.page + r.plan.ticket))
            for r in svc.slos if not can_synthesize(r.slo.sli)]


def _fed(pair: Pair) -> bool:
    return pair.window.short >= BASE_WINDOW


class SLOTests:
    """The scenarios of one SLO."""

    def __init__(self, rules: SLORules, naming: Naming = NATIVE) -> None:
        self.rules = rules
        self.spec = spec = rules.spec
        self.slo = slo = rules.slo
        self.naming = naming
        self.plan: Plan = rules.plan
        self.ident = dict(rules.identity)
        self.group = {g: "synthetic" for g in slo.group_by}
        self.static = {**dict(rules.static), **self.group}
        self.synthesized = can_synthesize(slo.sli)
        where = f"{spec.source}: slos[{rules.index}].sli"
        self.feeds = (feeds(slo.sli, self.group, where) if self.synthesized
                      else recorded_feeds(self.static))
        # Fed the recorded rates, the raw series never exist: the absent-data alert always fires.
        self.alert_names = [a.alert for a in rules.alerts
                            if self.synthesized or a.kind != "absent"]
        self.budget = slo.error_budget
        # A ratio no alert may react to: half the budget, or half the lowest threshold when a
        # pair's factor is below 1 (then even traffic inside the objective would trip it).
        lowest = min([p.threshold for p in self.plan.page + self.plan.ticket] + [self.budget])
        self.rate = event_rate(lowest, f"{spec.source}: SLO {slo.name!r}", slo.objective)
        self.calm = self._errors(lowest / 2) / self.rate

    def all(self) -> list[Test]:
        tiers = self._testable(self.plan.page + self.plan.ticket)
        tests = [self.tier_fires(p) for p in tiers]
        tests += [self.blip_ignored(p) for p in tiers
                  if p.window.single and self._for(p) >= 120]
        tests += [t for p in tiers if p.window.min_events
                  for t in [self.few_events_silent(p)] if t is not None]
        tests += [self.full_outage_annotations()]
        tests += [self.absent_fires()] if self.synthesized else []
        tests += [self.extra_fires(i) for i in range(len(self.slo.alerts))]
        tests += [self.within_objective(), self.zero_traffic()]
        tests += [self.counter_reset()] if self.synthesized else []
        tests += [self.uneven_traffic()]
        return tests

    def _severity(self, severity: str) -> dict[str, str]:
        return {self.naming.severity: severity} if self.naming.severity else {}

    def _testable(self, pairs: tuple[Pair, ...]) -> tuple[Pair, ...]:
        """Pairs a test can drive: fed the recorded 5m rates, a shorter window (read straight
        from the user's query) sees no input."""
        return pairs if self.synthesized else tuple(p for p in pairs if _fed(p))

    def _route(self, pair: Pair) -> AlertRoute:
        return self.slo.alerting.page if pair.window.severity == "page" else \
            self.slo.alerting.ticket

    def _for(self, pair: Pair) -> int:
        """Seconds the tier's condition must hold: its own ``for``, else its route's."""
        return self._route(pair).for_ if pair.window.for_ is None else pair.window.for_

    def _tier_labels(self, pair: Pair) -> dict[str, str]:
        """Every label the tier's alert carries."""
        return {**self.static, **self._severity(pair.window.severity),
                **dict(self._route(pair).labels), self.naming.tier: pair.window.tier,
                **dict(pair.window.labels)}

    def _tier_firing(self, pair: Pair, minute: int, firing: bool = True) -> Test:
        """This tier's alert firing with exactly its labels (or, ``firing=False``, not firing:
        pending is allowed), selected by the tier label so the other tiers cannot stand in."""
        name = self._route(pair).name
        if firing:
            return _firing(name, minute, self._tier_labels(pair),
                           {self.naming.tier: pair.window.tier})
        from slo.model.selectors import quote

        return {"expr": f'ALERTS{{alertname="{name}",alertstate="firing",'
                        f'{self.naming.tier}={quote(pair.window.tier)}}}',
                "eval_time": _t(minute), "exp_samples": []}

    # -- scenarios ---------------------------------------------------------------------------

    def tier_fires(self, pair: Pair) -> Test:
        """An error ratio between this tier's threshold and the next stricter one's (of the same
        severity): the tier stays silent until its window can reach the threshold and its
        ``for`` has passed, then fires with exactly its labels."""
        pairs = self.plan.page if pair.window.severity == "page" else self.plan.ticket
        stricter = [p.threshold for p in pairs if p.threshold > pair.threshold]
        ratio = self._above(pair.threshold, (pair.threshold + min(stricter)) / 2) \
            if stricter else Decimal(1)
        long = pair.window.long // 60
        history = max(10, long if long <= MAX_HISTORY else HEALTHY)
        hold = -(-self._for(pair) // 60)
        fire_at = history + _detect(ratio, pair, history) + SMOOTHING + CHAIN_LAG + hold
        # the earliest minute the long window can reach the threshold, then the ``for``
        earliest = history + max(1, _minutes_to_reach(ratio, pair.threshold, pair.window.long,
                                                      history) - 1) + hold
        segments = [Segment(history, self.rate, Decimal(0)),
                    Segment(fire_at - history + 1, self.rate, self._errors(ratio))]
        w = pair.window
        windows = format_duration(w.long) if w.single else \
            f"{format_duration(w.long)}/{format_duration(w.short)}"
        held = f" held {format_duration(self._for(pair))}" if self._for(pair) else ""
        name = (f"{self.slo.name}: {self._route(pair).name} tier {w.tier} fires at "
                f"{_pct(ratio)} errors ({windows} at {_pct(pair.threshold)}{held})")
        exprs = [self._tier_firing(pair, history - 1, firing=False)]
        # a lower bound only where the history fills the long window: a window holding less
        # (a day-long window after an hour) reaches the threshold as soon as its data does
        if earliest - 1 > history - 1 and long <= history:
            exprs.append(self._tier_firing(pair, earliest - 1, firing=False))
        exprs.append(self._tier_firing(pair, fire_at))
        return self._group(name, segments, exprs=exprs)

    def blip_ignored(self, pair: Pair) -> Test:
        """A single-window tier lets a blip shorter than its ``for`` pass: ``k`` minutes at 1.5x
        its threshold (under twice it, so no engine's window sees the blip for more than ``k``
        evaluations), ``k`` as long as the hold: pending from the blip's first minute, it has
        held ``k - 1`` minutes at its last."""
        hold = self._for(pair) // 60
        k = hold
        ratio = min(Decimal(1), self._errors(pair.threshold * Decimal("1.5")) / self.rate)
        history = 10
        after = 10
        segments = [Segment(history, self.rate, Decimal(0)),
                    Segment(k, self.rate, self._errors(ratio)),
                    Segment(after, self.rate, Decimal(0))]
        exprs = [self._tier_firing(pair, m, firing=False)
                 for m in range(history, history + k + after)]
        return self._group(f"{self.slo.name}: tier {pair.window.tier} ignores a {k}-minute blip "
                           f"of {_pct(ratio)} errors (held "
                           f"{format_duration(self._for(pair))})", segments, exprs=exprs)

    def few_events_silent(self, pair: Pair) -> Test | None:
        """Every request failing, but fewer than ``min_events`` in the long window (at most
        half when it can, and at most 80%: counters count whole events, one a minute at least):
        the tier stays silent where, with enough traffic, it fires. ``None`` when even one
        event a minute fills the window past that."""
        long = pair.window.long // 60
        whole = max(1, pair.window.min_events // (2 * long))
        if whole * long * 5 > pair.window.min_events * 4:
            return None
        per_minute = Decimal(whole)
        history = max(10, long if long <= MAX_HISTORY else HEALTHY)
        hold = -(-self._for(pair) // 60)
        would_fire = history + _detect(Decimal(1), pair, history) + SMOOTHING + CHAIN_LAG + hold
        segments = [Segment(history, per_minute, Decimal(0)),
                    Segment(would_fire - history + 10, per_minute, per_minute)]
        exprs = [self._tier_firing(pair, m, firing=False)
                 for m in (would_fire, would_fire + 5, would_fire + 10)]
        return self._group(f"{self.slo.name}: tier {pair.window.tier} stays silent with fewer "
                           f"than {pair.window.min_events} events in its "
                           f"{format_duration(pair.window.long)} window, all failing",
                           segments, exprs=exprs)

    def absent_fires(self) -> Test:
        route = self.slo.alerting.absent
        segments = [Segment(10, self.rate, Decimal(0))]
        stop = 10 + 5  # the last sample goes stale after 5 minutes
        fire_at = stop + route.for_ // 60 + 2
        labels = {**self.static, **dict(route.labels)}
        labels = {k: v for k, v in labels.items() if k not in self.group}
        labels.update(self._absent_labels())
        annotations = self._annotations(route.name)
        return self._group(f"{self.slo.name}: {route.name} fires when the SLI disappears",
                           segments, extend_to=fire_at, alert_checks=[
                               _silent(route.name, 9),
                               _firing_exactly(route.name, fire_at, labels, annotations)])

    def full_outage_annotations(self) -> Test:
        """Errors only, from the first minute: every window's ratio is exactly 1, so the
        annotations' ``$value`` is known and every tier's whole alert can be compared."""
        tiers = [p for p in self._testable(self.plan.page + self.plan.ticket)
                 if self.rate * p.window.long // 60 >= 2 * p.window.min_events]
        minutes = 10
        at = minutes + max([-(-self._for(p) // 60) for p in tiers], default=0)
        by_name: dict[str, list[Test]] = {}
        for pair in tiers:
            labels = self._tier_labels(pair)
            name = self._route(pair).name
            by_name.setdefault(name, []).append(
                {"exp_labels": labels,
                 "exp_annotations": self._annotations(name, "100%", labels)})
        # one check per alert name and time lists every alert expected
        checks = [{"eval_time": _t(at), "alertname": name, "exp_alerts": alerts}
                  for name, alerts in by_name.items()]
        segments = [Segment(at + 1, self.rate, self.rate)]
        return self._group(f"{self.slo.name}: full outage from the start, whole alerts compared",
                           segments, alert_checks=checks)

    def _annotations(self, alert: str, value: str = "", labels: dict[str, str] | None = None
                     ) -> dict[str, str]:
        rule = next(a for a in self.rules.alerts if a.alert == alert and (
            labels is None or all(labels.get(k) == v for k, v in a.labels)))
        return {k: v.replace("{{ $value | humanizePercentage }}", value)
                for k, v in rule.annotations}

    def extra_fires(self, index: int) -> Test:
        extra = self.slo.alerts[index]
        ratio = extra.test.error_ratio
        after = extra.test.firing_after // 60
        segments = [Segment(HEALTHY, self.rate, Decimal(0)),
                    Segment(after + 1, self.rate, self._errors(ratio))]
        at = HEALTHY + after
        expr = next(a.expr for a in self.rules.alerts if a.alert == extra.alert)
        inferred = self._result_labels(expr)
        if extra.test.inputs:
            test = self._inputs_group(extra.alert, extra.test.inputs, after)
            inferred = None
        else:
            test = self._group(f"{self.slo.name}: {extra.alert} fires at {_pct(ratio)} errors",
                               segments, alert_checks=[_silent(extra.alert, HEALTHY - 1)])
        if inferred is not None:
            labels = {**inferred, **self.static, **dict(extra.labels)}
            test["promql_expr_test"] = [_firing(extra.alert, at, labels)]
        else:
            test["promql_expr_test"] = [{
                "expr": f'count(ALERTS{{alertname="{extra.alert}",alertstate="firing"}})',
                "eval_time": _t(at), "exp_samples": [{"labels": "{}", "value": 1}]}]
        return test

    def _inputs_group(self, alert: str, inputs: tuple[TestInput, ...], after: int) -> Test:
        """The spec's own input series: healthy for an hour (the alert stays silent), then in
        trouble for ``after`` minutes and one more."""
        series = []
        for i in inputs:
            h, t = _num(i.healthy), _num(i.trouble)
            if i.counter:
                first = _num(i.healthy * (HEALTHY - 1) + i.trouble)
                text = f"0+{h}x{HEALTHY - 1} {first}+{t}x{after}"
            else:
                text = f"{h}x{HEALTHY - 1} {t}x{after}"
            series.append({"series": i.selector.render(), "values": text})
        return {"name": f"{self.slo.name}: {alert} fires when "
                        + ", ".join(f"{i.selector.render()} goes from {_num(i.healthy)} to "
                                    f"{_num(i.trouble)}{' a minute' if i.counter else ''}"
                                    for i in inputs),
                "interval": INTERVAL, "input_series": series,
                "alert_rule_test": [_silent(alert, HEALTHY - 1)]}

    def within_objective(self) -> Test:
        """A calm error ratio for three hours: nothing may fire, ever."""
        ratio = self.calm
        minutes = 180
        segments = [Segment(minutes, self.rate, self._errors(ratio))]
        checks = [_silent(n, t) for t in (30, 90, minutes) for n in self.alert_names]
        return self._group(f"{self.slo.name}: traffic inside the objective fires nothing",
                           segments, alert_checks=checks)

    def zero_traffic(self) -> Test:
        """Two healthy hours, then an hour without a single request."""
        ratio = self.calm
        segments = [Segment(120, self.rate, self._errors(ratio)),
                    Segment(60, Decimal(0), Decimal(0))]
        end = 180
        checks = [_silent(n, t) for t in (150, end) for n in self.alert_names]
        exprs = [self._no_nan(name, end) for name in self._record_names()]
        exprs.append(self._close_to(promql.error_ratio_name(self.slo.period), ratio, end))
        exprs.append({"expr": promql.series(promql.error_ratio_name(BASE_WINDOW),
                                            self.ident),
                      "eval_time": _t(end), "exp_samples": []})
        return self._group(f"{self.slo.name}: an hour of zero traffic is not an outage",
                           segments, alert_checks=checks, exprs=exprs)

    def counter_reset(self) -> Test:
        ratio = self.calm
        segments = [Segment(60, self.rate, self._errors(ratio)),
                    Segment(60, self.rate, self._errors(ratio), reset=True)]
        checks = [_silent(n, t) for t in (62, 70, 120) for n in self.alert_names]
        exprs = [self._close_to(promql.error_ratio_name(BASE_WINDOW), ratio, 70),
                 {"expr": f"{promql.series(promql.TOTAL_RATE, self.ident)} < 0",
                  "eval_time": _t(62), "exp_samples": []}]
        return self._group(f"{self.slo.name}: a counter reset raises no alert", segments,
                           alert_checks=checks, exprs=exprs)

    def uneven_traffic(self) -> Test:
        """The period ratio weighs requests, on every engine: series that start late and busy,
        a counter reset in the busy traffic, then a 300x drop to quiet and failing, then idle.

        Three checks at the end, none a number only one engine's range semantics produce:

        1. the period ratio equals the request-weighted ratio of the very 5m rate samples the
           engine recorded (``sum_over_time`` of each over the period), to 1e-9;
        2. it is within ``tolerance`` of the counters' true totals (errors over requests).
           Engines differ only in ``rate()`` at counter edges (a series start, a reset):
           Prometheus 3 loses up to half a minute of the rate there (its windows are
           left-open and it never extrapolates a counter below zero), VictoriaMetrics counts
           up to two minutes more at a series start. A scenario four busy hours long keeps
           that under 1e-3; shorter periods hold a shorter scenario and a looser bound. Both
           edges fall in busy traffic on purpose: there every counter of the SLI (a latency
           SLI's count and bucket) loses the same share, while a young counter surging from
           quiet to busy would lose more of its good events than of its total and overstate
           the errors derived from them on Prometheus 3;
        3. a mean of the 5m ratios (Sloth's shape) would be off by more than 10x.
        """
        period = self.slo.period // 60
        step = -(-(self.plan.period_step or 0) // 60)
        # idle at the end: the last 5m rates reach zero and every rate sample is in as many
        # step sums as any other, so the sums weigh every minute alike
        idle = BASE_WINDOW // 60 + step + 5
        start = min(30, period // 16)
        quiet_minutes = min(120, period // 4)
        busy_minutes = min(FULL_BUSY, (period - start - quiet_minutes - idle - 1) // 2)
        busy, quiet = Decimal(90_000), Decimal(300)  # events per minute: a 300x swing
        busy_errors, quiet_errors = Decimal(90), Decimal(60)  # 0.1% and 20%
        segments = [Segment(busy_minutes, busy, busy_errors),
                    Segment(busy_minutes, busy, busy_errors, reset=True),
                    Segment(quiet_minutes, quiet, quiet_errors),
                    Segment(idle, Decimal(0), Decimal(0))]
        errors = 2 * busy_minutes * busy_errors + quiet_minutes * quiet_errors
        requests = 2 * busy_minutes * busy + quiet_minutes * quiet
        # the reset's first sample is 0: a counter loses that minute's events
        errors -= busy_errors if self.synthesized else 0
        requests -= busy if self.synthesized else 0
        truth = errors / requests
        tolerance = format_number(Decimal("1e-3") * FULL_BUSY / max(busy_minutes, 1))
        end = start + sum(s.minutes for s in segments)
        w = self.naming.window
        ratio = promql.series(promql.error_ratio_name(self.slo.period), self.ident)
        rates = [f"sum_over_time({promql.series(name, self.ident)}"
                 f"[{format_duration(self.slo.period)}])"
                 for name in (promql.ERRORS_RATE, promql.TOTAL_RATE)]
        five = promql.series(promql.error_ratio_name(BASE_WINDOW), self.ident)
        mean = f"avg_over_time({five}[{format_duration(self.slo.period)}])"
        v = format_number(truth)
        period_labels = {**self.static, w: format_duration(self.slo.period)}
        exprs = [
            {"expr": f"abs(1 - {ratio} / ignoring ({w}) ({rates[0]} / {rates[1]})) < bool 1e-9",
             "eval_time": _t(end), "exp_samples": [{"labels": _labels_text(self.static),
                                                    "value": 1}]},
            {"expr": f"abs({ratio} - {v}) / {v} < bool {tolerance}", "eval_time": _t(end),
             "exp_samples": [{"labels": _labels_text(period_labels), "value": 1}]},
            {"expr": f"abs({mean} - {v}) / {v} > bool 10", "eval_time": _t(end),
             "exp_samples": [{"labels": _labels_text({**self.static,
                                                      w: format_duration(BASE_WINDOW)}),
                              "value": 1}]},
        ]
        return self._group(f"{self.slo.name}: period ratio is request-weighted across a series "
                           "start, a counter reset and a 300x traffic swing", segments,
                           exprs=exprs, start=start)

    # -- pieces ------------------------------------------------------------------------------

    def _errors(self, ratio: Decimal) -> Decimal:
        """Whole error events per minute: fractional counters drift in promtool's float sums,
        and a drift downwards reads as a counter reset."""
        return (self.rate * ratio).to_integral_value(ROUND_HALF_EVEN)

    def _above(self, threshold: Decimal, ratio: Decimal) -> Decimal:
        """``ratio`` as whole errors a minute, at least one error more than ``threshold``:
        rounded down to the threshold, a tier's window would never pass it."""
        errors = max(self._errors(ratio),
                     (self.rate * threshold).to_integral_value(ROUND_FLOOR) + 1)
        return min(errors, self.rate) / self.rate

    def _group(self, name: str, segments: list[Segment], alert_checks: list[Test] | None = None,
               exprs: list[Test] | None = None, extend_to: int | None = None,
               start: int = 0) -> Test:
        """A test group; the input series appear at minute ``start`` (absent before)."""
        series = []
        for feed in self.feeds:
            text = (gauge_values if feed.per_second else values)(tuple(segments), feed.share)
            if start:
                text = f"_x{start} {text}"
            if extend_to is not None:
                text += f" _x{extend_to}"
            series.append({"series": feed.selector_text, "values": text})
        test: Test = {"name": name, "interval": INTERVAL, "input_series": series}
        if alert_checks:
            test["alert_rule_test"] = alert_checks
        if exprs:
            test["promql_expr_test"] = exprs
        return test

    def _record_names(self) -> list[str]:
        return list(dict.fromkeys(r.record for r in self.rules.recordings))

    def _no_nan(self, name: str, at: int) -> Test:
        sel = name if not name.startswith("slo:") else promql.series(name, self.ident)
        return {"expr": f"count({sel} != {sel})", "eval_time": _t(at), "exp_samples": []}

    def _close_to(self, name: str, value: Decimal, at: int, tolerance: str = "1e-9") -> Test:
        sel = promql.series(name, self.ident)
        v = format_number(value)
        labels = {**self.static, self.naming.window: name.rsplit("ratio_rate", 1)[-1]}
        return {"expr": f"abs({sel} - {v}) / {v} < bool {tolerance}", "eval_time": _t(at),
                "exp_samples": [{"labels": _labels_text(labels), "value": 1}]}

    def _absent_labels(self) -> dict[str, str]:
        sli = self.slo.sli
        assert isinstance(sli, EventsSLI | GoodEventsSLI | LatencySLI), "only synthesized SLIs"
        sel = sli.histogram if isinstance(sli, LatencySLI) else sli.total
        return {m.label: m.value for m in sel.matchers if m.op == "="}

    def _result_labels(self, expr: str) -> dict[str, str] | None:
        """Labels of an extra alert's result when they follow from the series it reads."""
        return infer_labels(expr, self._known_labels())

    def _known_labels(self) -> dict[str, dict[str, str]]:
        """Labels of every recorded series an extra rule can read, in rule order."""
        known: dict[str, dict[str, str]] = {}
        for w in self.plan.windows:
            known[promql.error_ratio_name(w)] = {**self.static,
                                                self.naming.window: format_duration(w)}
        exprs = {r.record: r.expr for r in self.rules.recordings if not r.labels}
        for s in self.slo.series:
            labels = infer_labels(exprs[s.record], known)
            if labels is not None:
                known[s.record] = labels
        return known


def infer_labels(expr: str, known: dict[str, dict[str, str]]) -> dict[str, str] | None:
    """The result labels of an expression that only filters or does arithmetic on known series;
    ``None`` when it aggregates or mixes label sets, and the test falls back to counting."""
    if AGGREGATIONS.search(expr):
        return None
    found = [known[n] for n in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr) if n in known]
    distinct = {tuple(sorted(d.items())) for d in found}
    return dict(distinct.pop()) if len(distinct) == 1 else None


def event_rate(lowest: Decimal, where: str = "", objective: Decimal | None = None) -> Decimal:
    """Events per minute of an SLO's generated traffic: RATE, or the least power of ten above
    it that feeds half the lowest threshold as at least CALM_ERRORS whole errors a minute.
    UserError (naming ``where`` and the objective) when that would pass MAX_RATE."""
    rate = RATE
    while rate * lowest / 2 < CALM_ERRORS:
        rate *= 10
        if rate > MAX_RATE:
            shown = f"objective {format_number(objective)}%" if objective is not None \
                else "the lowest burn threshold"
            raise UserError(Problem(where, "", f"{shown} leaves too small an error ratio to "
                                    f"test (its lowest threshold is {format_number(lowest)}): "
                                    f"the generated tests count whole events and cannot feed "
                                    f"less than {format_number(MIN_TESTABLE)}; use an "
                                    f"objective of at most {MAX_OBJECTIVE}%"))
    return rate


def _detect(ratio: Decimal, pair: Pair, history: int) -> int:
    return max(_minutes_to_reach(ratio, pair.threshold, w, history)
               for w in (pair.window.long, pair.window.short))


def _minutes_to_reach(ratio: Decimal, threshold: Decimal, window: int, healthy: int) -> int:
    """Minutes of a constant error ratio until a window (holding only the data there is) reaches
    the threshold, after ``healthy`` clean minutes."""
    w = window // 60
    if healthy + 0 >= w:
        t = threshold * w / ratio
    else:
        t = threshold * healthy / (ratio - threshold)
        if healthy + t > w:
            t = threshold * w / ratio
    return int(t) + 1


def _silent(name: str, minute: int) -> Test:
    return {"eval_time": _t(minute), "alertname": name, "exp_alerts": []}


def _firing(name: str, minute: int, labels: dict[str, str], select: dict[str, str] | None = None
            ) -> Test:
    """The alert is firing with exactly these labels (annotations are checked elsewhere: their
    ``$value`` depends on where in the window the check lands). ``select`` narrows the query
    when another alert shares the name (Sloth's page and ticket alerts)."""
    from slo.model.selectors import quote

    full = {"__name__": "ALERTS", "alertname": name, "alertstate": "firing", **labels}
    extra = "".join(f",{k}={quote(v)}" for k, v in sorted((select or {}).items()))
    return {"expr": f'ALERTS{{alertname="{name}",alertstate="firing"{extra}}}',
            "eval_time": _t(minute),
            "exp_samples": [{"labels": _labels_text(full), "value": 1}]}


def _firing_exactly(name: str, minute: int, labels: dict[str, str],
                    annotations: dict[str, str]) -> Test:
    return {"eval_time": _t(minute), "alertname": name,
            "exp_alerts": [{"exp_labels": labels, "exp_annotations": annotations}]}


def _labels_text(labels: dict[str, str]) -> str:
    from slo.model.selectors import quote

    name = labels.get("__name__", "")
    inner = ", ".join(f"{k}={quote(v)}" for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{inner}}}"


def _t(minutes: int) -> str:
    return format_duration(minutes * 60) if minutes > 0 else "0s"


def _num(value: Decimal) -> str:
    return format_number(value)


def _pct(ratio: Decimal) -> str:
    return f"{format_number(ratio * 100)}%"
