"""A demo orchestrator that makes the runbook's PromQL true on a laptop.

The real orchestrator (guest messaging over WhatsApp, a hotel PMS, Gmail, a database and an
audio processor) is not available to a newcomer, yet every runbook query needs its series.
This package is a small stand-in instrumented with :mod:`exporter`, plus the tools around it:

- :mod:`exporter.demo.app`      the Starlette app (webhooks, reservations, admin endpoints)
- :mod:`exporter.demo.server`   one instance: the app on one port, ``/metrics`` on another
- :mod:`exporter.demo.traffic`  a bounded, steady traffic generator with a realistic mix
- :mod:`exporter.demo.stack`    ``make run``: rules, demo, traffic and Prometheus together
- :mod:`exporter.demo.health`   ``make health``
- :mod:`exporter.demo.chaos`    ``make chaos-orchestrator``

Everything binds to 127.0.0.1 unless told otherwise.
"""
