"""Sloth-shaped rules for the shipped 99.5%/30d SLO, the peer the alert tables compare with.

Written after the shapes Sloth (v0.11) generates for an events SLI: each window's error ratio
straight from the raw counters (``sum(rate(errors[w])) / sum(rate(total[w]))``), and the
workbook's page (5m/1h at 14.4x, 30m/6h at 6x) and ticket (2h/1d at 3x, 6h/3d at 1x) pairs with
a strict ``>`` and no ``for``. Sloth's own label set (``sloth_id``, ``sloth_window``) keeps
these series apart from ours when both rule files are loaded into one promtool test.
"""

from __future__ import annotations

import yaml

SLO_ID = "orchestrator-requests-availability"
IDENTITY = {"sloth_id": SLO_ID, "sloth_service": "orchestrator",
            "sloth_slo": "requests-availability"}
WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
PAGE = "SlothRequestsAvailabilityPage"
TICKET = "SlothRequestsAvailabilityTicket"
BUDGET = "0.005"


def _sel(window: str) -> str:
    inner = ", ".join(f'{k}="{v}"' for k, v in IDENTITY.items())
    return f"slo:sli_error:ratio_rate{window}{{{inner}}}"


def _pair(short: str, long: str, factor: str) -> str:
    return (f"(max({_sel(short)} > ({factor} * {BUDGET})) without (sloth_window)\n"
            f" and\n max({_sel(long)} > ({factor} * {BUDGET})) without (sloth_window))")


def rules(errors: str = "orchestrator_errors_total",
          total: str = "orchestrator_requests_total") -> str:
    sli = [{"record": f"slo:sli_error:ratio_rate{w}",
            "expr": f"(sum(rate({errors}[{w}])))\n/\n(sum(rate({total}[{w}])))",
            "labels": {**IDENTITY, "sloth_window": w}} for w in WINDOWS]
    labels = {"sloth_service": "orchestrator", "sloth_slo": "requests-availability"}
    alerts = [
        {"alert": PAGE, "expr": f"{_pair('5m', '1h', '14.4')}\nor\n{_pair('30m', '6h', '6')}",
         "labels": {**labels, "sloth_severity": "page"}},
        {"alert": TICKET, "expr": f"{_pair('2h', '1d', '3')}\nor\n{_pair('6h', '3d', '1')}",
         "labels": {**labels, "sloth_severity": "ticket"}},
    ]
    doc = {"groups": [
        {"name": f"sloth-slo-sli-recordings-{SLO_ID}", "rules": sli},
        {"name": f"sloth-slo-alerts-{SLO_ID}", "rules": alerts},
    ]}
    return yaml.safe_dump(doc, sort_keys=False, width=100_000)
