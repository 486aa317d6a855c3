"""The native format's service-level ``alertmanager:`` block, read strictly.

```yaml
alertmanager:
  receivers: {page: pager, ticket: tickets, warning: tickets, default: catch-all}
  timings:
    page: {group_wait: 30s, group_interval: 5m, repeat_interval: 4h}
  inhibit_rules:
    - source: {alertname: PmsCircuitBreakerOpen}
      target: {alertname: OrchestratorRequestsAvailabilityErrorBudgetBurnPage}
      equal: []
      why: the breaker's page names the cause
```

``receivers`` maps ``severity`` label values to receiver names (``default`` is where every
other severity goes); ``timings`` sets a severity's route timings; each inhibition's matchers
map a label to a value, or to a list of values (any of them). An ``alertname`` an inhibition
names must be an alert of the spec: a typo there would silently inhibit nothing. Every
mistake is one problem naming its field.
"""

from __future__ import annotations

from typing import Any

from slo.model.alertmanager import (
    DEFAULT_RECEIVER,
    DEFAULT_RECEIVERS,
    RECEIVER_NAME,
    AlertmanagerSpec,
    Inhibition,
    Matcher,
    Timings,
    default_timings,
    one_of,
)
from slo.model.selectors import LABEL_NAME
from slo.readers.fields import Fields, join, kind

TIMINGS = ("group_wait", "group_interval", "repeat_interval")


def read_alertmanager(fields: Fields, value: Any, path: str,
                      alert_names: frozenset[str] | None) -> AlertmanagerSpec | None:
    """The block at ``path`` (None: every default); ``alert_names`` are the spec's alerts
    (None: not checked, when the SLOs had problems of their own)."""
    if value is None:
        return AlertmanagerSpec()
    m = fields.mapping(value, path, optional=("receivers", "timings", "inhibit_rules"))
    if m is None:
        return None
    before = len(fields.problems)
    receivers = dict(DEFAULT_RECEIVERS)
    default = DEFAULT_RECEIVER
    if "receivers" in m:
        given = _receivers(fields, m["receivers"], join(path, "receivers"))
        default = given.pop("default", DEFAULT_RECEIVER)
        receivers.update(given)
    timings: list[tuple[str, Timings]] = []
    if "timings" in m:
        timings = _timings(fields, m["timings"], join(path, "timings"))
    inhibitions = fields.each(m.get("inhibit_rules", []), join(path, "inhibit_rules"),
                              lambda v, p: _inhibition(fields, v, p, alert_names))
    if len(fields.problems) > before:
        return None
    return AlertmanagerSpec(tuple(sorted(receivers.items())), default, tuple(timings),
                            tuple(inhibitions))


def _severities(fields: Fields, value: Any, path: str) -> dict[str, Any]:
    m = fields.mapping(value, path, optional=tuple(k for k in value if isinstance(k, str))
                       if isinstance(value, dict) else ())
    out: dict[str, Any] = {}
    for key, item in (m or {}).items():
        if not isinstance(key, str) or not key:
            continue
        out[key] = item
    return out


def _receivers(fields: Fields, value: Any, path: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for severity, name in _severities(fields, value, path).items():
        got = fields.string(name, join(path, severity), RECEIVER_NAME,
                            "a receiver name (letters, digits, '_', '.' and '-', at most 63)")
        if got is not None:
            out[severity] = got
    return out


def _timings(fields: Fields, value: Any, path: str) -> list[tuple[str, Timings]]:
    out = []
    for severity, item in sorted(_severities(fields, value, path).items()):
        p = join(path, severity)
        m = fields.mapping(item, p, optional=TIMINGS)
        if m is None:
            continue
        base = default_timings(severity)
        got: dict[str, int] = {}
        for key in TIMINGS:
            if key not in m:
                got[key] = getattr(base, key)
                continue
            seconds = fields.duration(m[key], join(p, key))
            if seconds is not None and seconds <= 0:
                fields.fail(join(p, key), "must be longer than zero")
            elif seconds is not None:
                got[key] = seconds
        if len(got) != len(TIMINGS):
            continue
        if got["repeat_interval"] < got["group_interval"]:
            fields.fail(join(p, "repeat_interval"),
                        "must not be shorter than group_interval (Alertmanager repeats a "
                        "notification only when a group is flushed)")
            continue
        out.append((severity, Timings(**got)))
    return out


def _inhibition(fields: Fields, value: Any, path: str,
                alert_names: frozenset[str] | None) -> Inhibition | None:
    m = fields.mapping(value, path, required=("source", "target"), optional=("equal", "why"))
    if m is None:
        return None
    source = _matchers(fields, m.get("source"), join(path, "source"), alert_names)
    target = _matchers(fields, m.get("target"), join(path, "target"), alert_names)
    equal = _label_list(fields, m.get("equal", []), join(path, "equal"))
    why = fields.text(m["why"], join(path, "why")) if "why" in m else ""
    if source is None or target is None or equal is None or why is None:
        return None
    return Inhibition(source, target, equal, why)


def _matchers(fields: Fields, value: Any, path: str,
              alert_names: frozenset[str] | None) -> tuple[Matcher, ...] | None:
    if isinstance(value, dict) and not value:
        fields.fail(path, "must name at least one label (an empty matcher set matches every "
                    "alert)")
        return None
    m = fields.mapping(value, path, optional=tuple(k for k in value if isinstance(k, str))
                       if isinstance(value, dict) else ())
    if m is None:
        return None
    out: list[Matcher] = []
    ok = True
    for label, want in m.items():
        p = join(path, str(label))
        if not isinstance(label, str) or not LABEL_NAME.fullmatch(label) or label.startswith("__"):
            fields.fail(p, f"{label!r} is not a valid label name")
            ok = False
            continue
        values = want if isinstance(want, list) else [want]
        if not values:
            fields.fail(p, "must list at least one value")
            ok = False
            continue
        texts = []
        for i, v in enumerate(values):
            vp = join(p, i) if isinstance(want, list) else p
            if not isinstance(v, str) or not v:
                fields.fail(vp, f"must be a non-empty string, got {kind(v)}"
                            if not isinstance(v, str) else "must not be empty")
                ok = False
            elif label == "alertname" and alert_names is not None and v not in alert_names:
                fields.fail(vp, f"{v!r} is no alert of this spec (known: "
                            f"{', '.join(sorted(alert_names))})")
                ok = False
            else:
                texts.append(v)
        if texts and ok:
            out.append(one_of(label, texts))
    return tuple(out) if ok else None


def _label_list(fields: Fields, value: Any, path: str) -> tuple[str, ...] | None:
    items = fields.sequence(value, path)
    if items is None:
        return None
    out: list[str] = []
    for i, item in enumerate(items):
        label = fields.string(item, join(path, i))
        if label is None:
            return None
        if not LABEL_NAME.fullmatch(label) or label.startswith("__"):
            fields.fail(join(path, i), f"{label!r} is not a valid label name")
            return None
        if label in out:
            fields.fail(join(path, i), f"{label!r} is listed twice")
            return None
        out.append(label)
    return tuple(out)
