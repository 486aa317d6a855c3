"""``slo-gen status``: every SLO's error budget, burn rates and alerts, read from a live
Prometheus-compatible API (Prometheus, VictoriaMetrics, vmalert), and the deploy gate.

Only the recorded ``slo:*`` series are read (cheap instant queries), never the raw counters:
the figures are the rules' own, so the page, the gate and the alerts cannot disagree.

- :mod:`slo.status.api`: the HTTP API client (stdlib only: ``slo-gen`` needs no web stack);
- :mod:`slo.status.targets`: what to ask for each SLO, from the spec and its plan;
- :mod:`slo.status.evaluate`: the figures of one instant, and why a missing one is missing;
- :mod:`slo.status.conditions`: ``--fail-if 'FIELD OP NUMBER'``;
- :mod:`slo.status.report`: the table and the JSON.
"""
