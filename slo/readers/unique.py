"""Names that must not repeat across every spec read together, checked after reading.

Prometheus tells rules apart by name *and* labels. Every rule an SLO renders carries the SLO's
identity labels (service and SLO name, which users cannot override), so an alert name two
services share (Sloth's multifile example) is two distinct alerts and is fine. What does clash:

- the same SLO (service and name) twice: every one of its series and alerts would repeat;
- a native spec's extra series (``series[].record``), recorded without identity labels: the
  same record name in two SLOs is the same series;
- within one SLO, an extra alert (``alerts[].alert``) named like another of its alerts with
  the same labels (burn-rate tiers always differ by ``slo_tier``).

Each problem names the later place (file, document, field as the input spells it) and the
earlier one, never the same place twice: a file given twice is read once (:mod:`.load`).
"""

from __future__ import annotations

from slo.errors import Problem
from slo.model.spec import ServiceSpec


def _place(spec: ServiceSpec, index: int, field: str) -> str:
    return f"{spec.slo_path(index)}.{field}"


def check_unique(specs: list[ServiceSpec]) -> list[Problem]:
    problems: list[Problem] = []
    seen_slo: dict[tuple[str, str], str] = {}
    seen_record: dict[str, str] = {}
    for spec in specs:
        for i, slo in enumerate(spec.slos):
            where = _place(spec, i, "name")
            key = (spec.service, slo.name)
            if key in seen_slo:
                problems.append(Problem(spec.source, where,
                                        f"SLO {slo.name!r} of service {spec.service!r} is "
                                        f"already defined in {seen_slo[key]}"))
                continue  # its series and alerts, named after it, are that problem too
            seen_slo[key] = f"{spec.source}: {where}"
            for j, series in enumerate(slo.series):
                place = _place(spec, i, f"series[{j}].record")
                if series.record in seen_record:
                    problems.append(Problem(spec.source, place,
                                            f"series {series.record!r} is already recorded in "
                                            f"{seen_record[series.record]}: both would write "
                                            "the same series (it has no SLO labels)"))
                else:
                    seen_record[series.record] = f"{spec.source}: {place}"
            own = {(slo.alerting.absent.name, slo.alerting.absent.labels): "the absent-data alert"}
            for j, alert in enumerate(slo.alerts):
                place = _place(spec, i, f"alerts[{j}].alert")
                got = (alert.alert, alert.labels)
                if got in own:
                    problems.append(Problem(spec.source, place,
                                            f"alert {alert.alert!r} with the same labels is "
                                            f"already {own[got]} of this SLO"))
                else:
                    own[got] = f"alerts[{j}]"
    return problems
