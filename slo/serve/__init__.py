"""``slo-gen serve``: the live SLO status page, server-rendered from the recorded series.

An overview of every SLO (budget remaining as a bar, burn rates, alerts, coloured by state)
and a page per SLO with SVG charts (budget burn-down, SLI, burn rate per window with the alert
tiers' thresholds). Pages refresh themselves with a ``<meta http-equiv="refresh">`` and need no
JavaScript; every query sent is listed on the page.

The figures are :mod:`slo.status`'s: the page, ``slo-gen status`` and the gate agree. The web
app (:mod:`slo.serve.app`) needs Starlette and uvicorn (the ``serve`` extra); nothing else here
does, and ``slo-gen`` imports the app only when ``serve`` runs.
"""
