"""A WSGI app for the gunicorn multiprocess test: instrumented routes plus /metrics."""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry

from exporter import Instrumentation, TemplateMatcher, WSGIMiddleware, metrics_wsgi_app

inst = Instrumentation(CollectorRegistry())  # multiprocess mode: SLO series are off


def work(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(os.getpid()).encode()]


instrumented = WSGIMiddleware(work, inst, route_resolver=TemplateMatcher(["/work/{n}"]))
metrics = metrics_wsgi_app(inst.exposition_registry())


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/metrics":
        return metrics(environ, start_response)
    return instrumented(environ, start_response)
