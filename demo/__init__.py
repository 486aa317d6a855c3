"""A demo orchestrator that makes the runbook's PromQL true on a laptop.

The real orchestrator (guest messaging over WhatsApp, a hotel PMS, Gmail, a database and an
audio processor) is not available to a newcomer, yet every runbook query needs its series.
This package is a small stand-in instrumented with :mod:`exporter`, plus the tools around it.

It is a program of this repository, not part of the library: it lives outside the ``exporter``
package, is left out of the wheel (pyproject's wheel ``packages`` are ``slo`` and ``exporter``),
and runs from the checkout (``make run``, ``python -m demo.stack``), so installing the exporter
never brings Starlette, uvicorn or httpx along. It needs the ``demo`` extra.

- :mod:`demo.app`      the Starlette app (webhooks, reservations, admin endpoints)
- :mod:`demo.server`   ``python -m demo``: the app on one port, ``/metrics`` on another
- :mod:`demo.traffic`  a bounded, steady traffic generator with a realistic mix
- :mod:`demo.stack`    ``make run``: rules, demo, traffic, Prometheus and Alertmanager together
- :mod:`demo.alertmanager`  how Alertmanager is configured and started (Debian's template)
- :mod:`demo.notifications` the webhook receiver standing in for the on-call
- :mod:`demo.health`   ``make health``
- :mod:`demo.chaos`    ``make chaos-orchestrator``

Everything binds to 127.0.0.1 unless told otherwise.
"""
